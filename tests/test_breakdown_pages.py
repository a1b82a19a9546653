"""The 任務分工表 pages in the browser's shoes: the breakdown with its RACI and signature
panel, the task form, removing a task and the heads' 簽署, for every role.

The request is taken to 已立項 by the factories (two departments each commit a task).
The UI text is translated separately, so the assertions look at status codes, the
database, element ids and data attributes, and user-typed Chinese text.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from requests_app import services as request_services
from requests_app.choices import RequestState
from tasks_app import services
from tasks_app.choices import RaciRole
from tasks_app.models import Breakdown, BreakdownSignature, Task
from tests.factories import UserFactory, make_approved_request, make_request
from tests.helpers import assert_constant_queries

pytestmark = pytest.mark.django_db


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
def partner_staff(partner):
    return UserFactory(department=partner, full_name="林工程師")


def url(name, req, task=None):
    args = [req.pk] if task is None else [req.pk, task.pk]
    return reverse(f"tasks_app:{name}", args=args)


def sent(response, level=None) -> list[str]:
    return [
        str(m) for m in get_messages(response.wsgi_request) if level is None or m.level == level
    ]


def tasks_of(req) -> list[Task]:
    return list(req.tasks.order_by("sequence"))


def version_of(req) -> int:
    return Breakdown.objects.get(request=req).version


def task_data(*, department, responsible, accountable, **extra) -> dict:
    """Return the POST data of the task form, as a browser sends it."""
    start = timezone.localdate()
    data = {
        "name": "推廣活動策劃",
        "description": "",
        "responsible_department": department.pk,
        "start_date": start.isoformat(),
        "due_date": (start + dt.timedelta(days=14)).isoformat(),
        "due_time": "17:00",
        "deliverable": "《推廣活動方案》",
        "acceptance_criteria": "包含用戶裂變與激勵設計",
        "importance": "important",
        "buffer_days": "3",
        "responsible": responsible.pk,
        "accountable": accountable.pk,
    }
    data.update(extra)
    return data


def sign(client, req, department, version=None):
    data = {"department": department.pk}
    if version is not None:
        data["version"] = version
    return client.post(url("sign", req), data)


# --- the page, for each role ---------------------------------------------------------

# role → (status, may edit, departments the role may sign for)
PAGE_ROLES = {
    "staff": (200, True, set()),  # the initiator
    "pmo": (200, True, set()),
    "head": (200, False, {"department"}),
    "deputy": (200, False, {"department"}),
    "partner_head": (200, False, {"partner"}),
    "executive": (200, False, set()),
    "outsider": (404, False, set()),
}


@pytest.mark.parametrize("role", list(PAGE_ROLES))
def test_breakdown_page_for_each_role(role, request, approved, client_for, deputy):
    """Whoever sees the request sees its breakdown; the initiator and the PMO get the edit
    controls, each head (or deputy) a 簽署 button for their own department; others 404."""
    status, may_edit, signs_for = PAGE_ROLES[role]
    user = request.getfixturevalue(role)
    response = client_for(user).get(url("breakdown", approved))
    assert response.status_code == status
    if status != 200:
        return
    html = response.content.decode()
    assert response.context["can_edit"] is may_edit
    assert ('id="action-add-task"' in html) is may_edit
    assert ("data-edit=" in html) is may_edit
    expected = {request.getfixturevalue(name).pk for name in signs_for}
    offered = {
        row["department"].pk for row in response.context["panel"]["departments"] if row["actor"]
    }
    assert offered == expected
    for pk in expected:
        assert f'data-sign-department="{pk}"' in html
    for task in tasks_of(approved):
        assert f'data-number="{task.number}"' in html


@pytest.mark.parametrize("role", list(PAGE_ROLES))
def test_task_form_for_each_role(role, request, approved, client_for, deputy):
    """Only the initiator and the PMO open the task form; heads are refused, others 404."""
    status = {"staff": 200, "pmo": 200, "outsider": 404}.get(role, 403)
    user = request.getfixturevalue(role)
    client = client_for(user)
    task = tasks_of(approved)[0]
    assert client.get(url("task-create", approved)).status_code == status
    assert client.get(url("task-edit", approved, task)).status_code == status


def test_page_shows_the_breakdown_like_the_template(approved, staff, client_for, department):
    """Each row holds the number, the departments, R/A/C/I, the dates with the due time,
    the deliverable, the criteria, importance, buffer, dependencies and state."""
    first, second = tasks_of(approved)
    partner_staff = UserFactory(department=second.responsible_department, full_name="林工程師")
    services.task_save(
        request=approved,
        by=staff,
        task=second,
        data={"deliverable": "《用戶需求匯總報告》", "buffer_days": 2},
        raci={"R": partner_staff, "A": staff, "C": [first.assignments.get(role="R").user], "I": []},
        supporting=[department],
        depends_on=[first],
    )
    response = client_for(staff).get(url("breakdown", approved))
    html = response.content.decode()
    row = next(r for r in response.context["rows"] if r["task"].pk == second.pk)
    assert [u.pk for u in row["raci"]["R"]] == [partner_staff.pk]
    assert row["has_dependents"] is False
    assert next(r for r in response.context["rows"] if r["task"].pk == first.pk)["has_dependents"]
    assert "林工程師" in html and "《用戶需求匯總報告》" in html
    assert f'data-depends="{first.number}"' in html
    assert 'data-buffer="2"' in html
    due = timezone.localtime(second.due_at).strftime("%Y-%m-%d 17:00")
    assert due in html
    assert 'data-task-state="todo"' in html


def test_breakdown_page_queries_do_not_grow_with_tasks(
    approved, staff, head, department, partner, partner_staff, client_for
):
    """The table prefetches departments, RACI people and dependencies (no N+1)."""
    client = client_for(staff)
    services.breakdown_sign(request=approved, by=head, department=department)
    made: list[Task] = list(tasks_of(approved))

    def make_rows(n):
        for _ in range(n):
            made.append(
                services.task_save(
                    request=approved,
                    by=staff,
                    data={
                        "name": f"任務{len(made)}",
                        "responsible_department": partner,
                        "start_date": timezone.localdate(),
                        "due_at": services.due_at(timezone.localdate() + dt.timedelta(days=5)),
                        "deliverable": "報告",
                    },
                    raci={"R": partner_staff, "A": staff, "C": [head], "I": [staff, head]},
                    supporting=[department],
                    depends_on=made[-2:],
                )
            )

    assert_constant_queries(make_rows, lambda: client.get(url("breakdown", approved)))


def test_task_form_queries_do_not_grow_with_tasks(
    approved, staff, partner, partner_staff, client_for
):
    """The form lists the other tasks as possible predecessors in one query."""
    client = client_for(staff)
    first = tasks_of(approved)[0]

    def make_rows(n):
        for _ in range(n):
            services.task_save(
                request=approved,
                by=staff,
                data={
                    "name": "任務",
                    "responsible_department": partner,
                    "start_date": timezone.localdate(),
                    "due_at": services.due_at(timezone.localdate() + dt.timedelta(days=5)),
                },
                raci={"R": partner_staff, "A": staff, "I": [partner_staff]},
                depends_on=[first],
            )

    assert_constant_queries(make_rows, lambda: client.get(url("task-edit", approved, first)))


def test_page_of_a_request_not_yet_confirmed(staff, department, head, client_for):
    """Before 立項 the page explains that the breakdown comes with the confirmation."""
    draft = make_request(initiator=staff, departments=[department])
    response = client_for(staff).get(url("breakdown", draft))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="breakdown-not-yet"' in html
    assert 'id="signatures"' not in html
    assert response.context["can_edit"] is False


# --- adding and editing tasks --------------------------------------------------------


def test_initiator_adds_a_task_with_raci(
    approved, staff, department, partner, partner_staff, partner_head, pmo, client_for
):
    """A posted task is saved through the service with its RACI, departments, dependency
    and due time; it gets the next number and the page lists it."""
    first = tasks_of(approved)[0]
    client = client_for(staff)
    form = client.get(url("task-create", approved)).context["form"]
    assert form["due_time"].value() == dt.time(17, 0)
    data = task_data(
        department=partner,
        responsible=partner_staff,
        accountable=staff,
        supporting_departments=[department.pk],
        depends_on=[first.pk],
        consulted=[pmo.pk],
        informed=[partner_head.pk],
        due_time="18:30",
    )
    response = client.post(url("task-create", approved), data)
    assert response.status_code == 302
    task = approved.tasks.get(name="推廣活動策劃")
    assert response.url == url("breakdown", approved) + f"#task-{task.pk}"
    assert task.number == f"{approved.number}-03"
    assert task.responsible_department == partner
    assert list(task.supporting_departments.all()) == [department]
    assert list(task.depends_on.all()) == [first]
    assert timezone.localtime(task.due_at).time() == dt.time(18, 30)
    assert task.buffer_days == 3 and task.importance == "important"
    roles = {(a.role, a.user_id) for a in task.assignments.all()}
    assert roles == {
        ("R", partner_staff.pk),
        ("A", staff.pk),
        ("C", pmo.pk),
        ("I", partner_head.pk),
    }
    html = client.get(url("breakdown", approved)).content.decode()
    assert f'data-number="{task.number}"' in html and "推廣活動策劃" in html


def test_pmo_edits_a_task(approved, pmo, partner_staff, staff, client_for):
    """The PMO changes a task; the form starts from the saved values."""
    task = tasks_of(approved)[1]
    client = client_for(pmo)
    form = client.get(url("task-edit", approved, task)).context["form"]
    assert form.initial["name"] == task.name
    assert form.initial["responsible"] == task.assignments.get(role="R").user_id
    data = task_data(
        department=task.responsible_department,
        responsible=partner_staff,
        accountable=staff,
        name="需求評審與開發",
    )
    response = client.post(url("task-edit", approved, task), data)
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.name == "需求評審與開發"
    assert task.assignments.get(role=RaciRole.RESPONSIBLE).user == partner_staff
    assert task.events.filter(kind="edited", by=pmo).exists()


def test_form_requires_exactly_one_responsible_and_accountable(
    approved, staff, department, head, partner_head, client_for
):
    """No R, no A, or a second R posted: the form refuses and nothing is saved; what was
    typed stays on the page."""
    client = client_for(staff)
    before = approved.tasks.count()
    base = task_data(department=department, responsible=head, accountable=staff, name="漏填責任人")
    cases = {
        "responsible": {**base, "responsible": ""},
        "accountable": {**base, "accountable": ""},
    }
    for field, data in cases.items():
        response = client.post(url("task-create", approved), data)
        assert response.status_code == 200
        assert field in response.context["form"].errors
        assert "漏填責任人" in response.content.decode()
    # Two Responsible people posted for one task: refused, not silently merged.
    response = client.post(
        url("task-create", approved), {**base, "responsible": [head.pk, staff.pk]}
    )
    assert response.status_code == 200
    assert "responsible" in response.context["form"].errors
    assert approved.tasks.count() == before


def test_responsible_outside_the_departments_is_refused(
    approved, staff, department, partner_staff, outsider, client_for
):
    """R must be of the responsible or a supporting department: an outsider is not even
    offered, and a person of another collaborating department is refused by the service,
    whose message shows on the R field."""
    client = client_for(staff)
    before = approved.tasks.count()
    response = client.post(
        url("task-create", approved),
        task_data(department=department, responsible=outsider, accountable=staff),
    )
    assert response.status_code == 200
    assert "responsible" in response.context["form"].errors
    offered = set(
        response.context["form"].fields["responsible"].queryset.values_list("pk", flat=True)
    )
    assert outsider.pk not in offered
    response = client.post(
        url("task-create", approved),
        task_data(department=department, responsible=partner_staff, accountable=staff),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["responsible"]
    assert approved.tasks.count() == before
    # With the partner department supporting, the same person may be R.
    response = client.post(
        url("task-create", approved),
        task_data(
            department=department,
            responsible=partner_staff,
            accountable=staff,
            supporting_departments=[partner_staff.department_id],
        ),
    )
    assert response.status_code == 302
    assert approved.tasks.count() == before + 1


def test_consulted_cannot_repeat_the_responsible(approved, staff, department, head, client_for):
    """A person who holds R or A is not listed again as C or I, and the responsible
    department is not also a supporting one."""
    before = approved.tasks.count()
    response = client_for(staff).post(
        url("task-create", approved),
        task_data(
            department=department,
            responsible=head,
            accountable=staff,
            consulted=[head.pk],
            supporting_departments=[department.pk],
        ),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "consulted" in errors and "supporting_departments" in errors
    assert approved.tasks.count() == before


def test_a_dependency_cycle_is_refused(approved, staff, client_for):
    """A task cannot wait, through any chain, on itself: the service's error shows on the
    dependencies field and nothing changes."""
    first, second = tasks_of(approved)
    client = client_for(staff)

    def post(task, depends_on):
        data = client.get(url("task-edit", approved, task)).context["form"].initial
        raci = {"responsible": data["responsible"], "accountable": data["accountable"]}
        return client.post(
            url("task-edit", approved, task),
            {
                **{k: v for k, v in data.items() if v is not None and k not in raci},
                **raci,
                "start_date": data["start_date"].isoformat(),
                "due_date": data["due_date"].isoformat(),
                "due_time": data["due_time"].strftime("%H:%M"),
                "depends_on": [t.pk for t in depends_on],
            },
        )

    assert post(second, [first]).status_code == 302
    version = version_of(approved)
    response = post(first, [second])
    assert response.status_code == 200
    errors = response.context["form"].errors["depends_on"]
    assert errors and all(errors)
    assert not first.depends_on.exists()
    assert version_of(approved) == version


def test_date_errors_from_the_service_show_on_the_due_date(
    approved, staff, department, head, client_for
):
    """A due date before the start is refused on the due-date field; input is kept."""
    start = timezone.localdate()
    response = client_for(staff).post(
        url("task-create", approved),
        task_data(
            department=department,
            responsible=head,
            accountable=staff,
            start_date=start.isoformat(),
            due_date=(start - dt.timedelta(days=1)).isoformat(),
        ),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["due_date"]


def test_head_cannot_add_or_edit_tasks(approved, head, department, staff, client_for):
    """A head signs the breakdown but does not edit it: a crafted POST is refused."""
    client = client_for(head)
    before = approved.tasks.count()
    data = task_data(department=department, responsible=head, accountable=staff)
    assert client.post(url("task-create", approved), data).status_code == 403
    task = tasks_of(approved)[0]
    assert client.post(url("task-edit", approved, task), data).status_code == 403
    assert client.post(url("task-remove", approved, task)).status_code == 403
    assert approved.tasks.count() == before


def test_outsider_gets_404_everywhere(approved, outsider, department, staff, client_for):
    client = client_for(outsider)
    task = tasks_of(approved)[0]
    data = task_data(department=department, responsible=outsider, accountable=staff)
    assert client.post(url("task-create", approved), data).status_code == 404
    assert client.post(url("task-edit", approved, task), data).status_code == 404
    assert client.post(url("task-remove", approved, task)).status_code == 404
    assert client.post(url("sign", approved), {"department": department.pk}).status_code == 404
    assert approved.tasks.count() == 2


def test_task_of_another_request_is_not_found(approved, staff, department, head, pmo, client_for):
    """A task number in the URL must belong to the request in the URL."""
    other = make_approved_request(initiator=staff, departments=[department], pmo=pmo)
    foreign = tasks_of(other)[0]
    client = client_for(staff)
    assert client.get(url("task-edit", approved, foreign)).status_code == 404
    assert client.post(url("task-remove", approved, foreign)).status_code == 404


def test_form_keeps_input_when_the_request_moved_on(
    approved, staff, head, partner_head, department, partner, client_for
):
    """If the last head signed while the form was open, the save is refused with a
    message and the typed text stays on the page."""
    client = client_for(staff)
    services.breakdown_sign(request=approved, by=head, department=department)
    services.breakdown_sign(request=approved, by=partner_head, department=partner)
    data = task_data(department=department, responsible=head, accountable=staff, name="晚到的任務")
    response = client.post(url("task-create", approved), data)
    assert response.status_code == 200
    assert "晚到的任務" in response.content.decode()
    assert sent(response, messages.ERROR)
    assert not approved.tasks.filter(name="晚到的任務").exists()
    # Opening the form now leads back to the breakdown with the reason.
    response = client.get(url("task-create", approved))
    assert response.status_code == 302 and response.url == url("breakdown", approved)


# --- removing ------------------------------------------------------------------------


def test_initiator_removes_a_task(approved, staff, head, department, client_for):
    """Remove asks first (data-confirm), then the service takes the task out and voids
    the signatures given; the number is not reused."""
    task = tasks_of(approved)[1]
    client = client_for(staff)
    services.breakdown_sign(request=approved, by=head, department=department)
    html = client.get(url("breakdown", approved)).content.decode()
    assert f'data-remove="{task.pk}"' in html and "data-confirm=" in html
    response = client.post(url("task-remove", approved, task))
    assert response.status_code == 302 and response.url == url("breakdown", approved)
    assert not Task.objects.filter(pk=task.pk).exists()
    assert sent(response, messages.SUCCESS) and sent(response, messages.WARNING)
    assert not BreakdownSignature.objects.filter(voided_at__isnull=True).exists()
    assert client.get(url("task-remove", approved, tasks_of(approved)[0])).status_code == 405


def test_a_task_others_depend_on_is_not_removed(approved, staff, client_for):
    """The service refuses; the page says why and offers no remove button for it."""
    first, second = tasks_of(approved)
    raci = {"R": second.assignments.get(role="R").user, "A": staff}
    services.task_save(
        request=approved, by=staff, task=second, data={}, raci=raci, depends_on=[first]
    )
    client = client_for(staff)
    assert (
        f'data-remove="{first.pk}"' not in client.get(url("breakdown", approved)).content.decode()
    )
    response = client.post(url("task-remove", approved, first))
    assert response.status_code == 302
    assert sent(response, messages.ERROR)
    assert Task.objects.filter(pk=first.pk).exists()


# --- signing -------------------------------------------------------------------------


def test_head_and_deputy_sign_and_the_request_starts(
    approved, head, deputy, partner_head, department, partner, client_for
):
    """The deputy signs on behalf of the head (recorded), the partner's head signs last,
    and the request moves to 進行中 with a message; the page shows who signed when."""
    response = sign(client_for(deputy), approved, department, version_of(approved))
    assert response.status_code == 302
    signature = BreakdownSignature.objects.get(department=department)
    assert signature.signed_by == deputy and signature.on_behalf_of == head
    assert signature.version == version_of(approved)
    approved.refresh_from_db()
    assert approved.state == RequestState.APPROVED

    client = client_for(partner_head)
    html = client.get(url("breakdown", approved)).content.decode()
    assert 'data-deputy="1"' in html
    assert f'data-department="{department.pk}" data-signed="1"' in html
    response = sign(client, approved, partner, version_of(approved))
    assert len(sent(response, messages.SUCCESS)) == 2
    approved.refresh_from_db()
    assert approved.state == RequestState.IN_PROGRESS
    signature = BreakdownSignature.objects.get(department=partner)
    assert signature.signed_by == partner_head and signature.on_behalf_of is None

    response = client.get(url("breakdown", approved))
    html = response.content.decode()
    assert 'data-status="started"' in html
    assert response.context["panel"]["all_signed"] is True
    assert "data-sign-department" not in html
    assert response.context["can_edit"] is False


def test_head_signs_in_own_name(approved, head, department, client_for):
    response = sign(client_for(head), approved, department)
    assert response.status_code == 302 and sent(response, messages.SUCCESS)
    signature = BreakdownSignature.objects.get(department=department)
    assert signature.signed_by == head and signature.on_behalf_of is None


def test_an_edit_voids_the_signatures_and_the_page_shows_it(
    approved, staff, head, department, client_for
):
    """After a head signed, the editor is warned that saving voids the signature; once
    saved, the head's cell is unsigned again and the old signature is history."""
    sign(client_for(head), approved, department)
    client = client_for(staff)
    html = client.get(url("breakdown", approved)).content.decode()
    assert 'id="edit-voids-warning" data-count="1"' in html
    task = tasks_of(approved)[0]
    response = client.get(url("task-edit", approved, task))
    assert 'id="void-warning" data-count="1"' in response.content.decode()
    form = response.context["form"]
    data = {k: v for k, v in form.initial.items() if v not in (None, [])}
    data.update(
        name="用戶需求收集",
        start_date=form.initial["start_date"].isoformat(),
        due_date=form.initial["due_date"].isoformat(),
        due_time="17:00",
    )
    version = version_of(approved)
    response = client.post(url("task-edit", approved, task), data)
    assert response.status_code == 302
    assert sent(response, messages.WARNING)
    assert version_of(approved) == version + 1
    signature = BreakdownSignature.objects.get(department=department)
    assert signature.voided_at is not None

    response = client_for(head).get(url("breakdown", approved))
    html = response.content.decode()
    assert f'data-department="{department.pk}" data-signed="0"' in html
    assert 'id="signature-history"' in html
    assert f'data-signature="{signature.pk}" data-version="{version}"' in html
    assert f'data-sign-department="{department.pk}"' in html


def test_saving_an_unchanged_task_keeps_the_signatures(
    approved, staff, head, department, client_for
):
    """Pressing save without a change makes no new version and voids nothing."""
    sign(client_for(head), approved, department)
    client = client_for(staff)
    task = tasks_of(approved)[0]
    form = client.get(url("task-edit", approved, task)).context["form"]
    data = {k: v for k, v in form.initial.items() if v not in (None, [])}
    data.update(
        start_date=form.initial["start_date"].isoformat(),
        due_date=form.initial["due_date"].isoformat(),
        due_time=form.initial["due_time"].strftime("%H:%M"),
    )
    version = version_of(approved)
    response = client.post(url("task-edit", approved, task), data)
    assert response.status_code == 302
    assert version_of(approved) == version
    assert BreakdownSignature.objects.get(department=department).voided_at is None


def test_signing_a_version_not_seen_is_refused(approved, staff, head, department, client_for):
    """The button posts the version shown; if the breakdown changed since, no signature."""
    seen = version_of(approved)
    task = tasks_of(approved)[0]
    raci = {"R": task.assignments.get(role="R").user, "A": staff}
    services.task_save(request=approved, by=staff, task=task, data={"buffer_days": 4}, raci=raci)
    response = sign(client_for(head), approved, department, seen)
    assert response.status_code == 302
    assert sent(response, messages.ERROR)
    assert not BreakdownSignature.objects.exists()


def test_signing_in_the_wrong_state_is_refused(
    approved, staff, head, partner_head, department, partner, client_for
):
    """Once the request is 進行中, or before it is 已立項, a signature is refused with a
    message and nothing is recorded."""
    services.breakdown_sign(request=approved, by=partner_head, department=partner)
    client = client_for(head)
    sign(client, approved, department)
    approved.refresh_from_db()
    assert approved.state == RequestState.IN_PROGRESS
    count = BreakdownSignature.objects.count()
    response = sign(client, approved, department)
    assert response.status_code == 302 and sent(response, messages.ERROR)
    assert BreakdownSignature.objects.count() == count

    pending = request_services.request_submit(
        request=make_request(initiator=staff, departments=[department]), by=staff
    )
    response = sign(client, pending, department)
    assert response.status_code == 302 and sent(response, messages.ERROR)
    assert BreakdownSignature.objects.count() == count


def test_signing_twice_or_for_another_department_is_refused(
    approved, head, partner_head, department, partner, executive, client_for
):
    """A head signs once per version and only for a department they act for."""
    client = client_for(head)
    sign(client, approved, department)
    response = sign(client, approved, department)
    assert sent(response, messages.ERROR)
    assert BreakdownSignature.objects.filter(department=department).count() == 1
    assert sign(client, approved, partner).status_code == 403
    response = client.post(url("sign", approved), {"department": "x"})
    assert response.status_code == 302 and sent(response, messages.ERROR)
    assert sign(client_for(executive), approved, partner).status_code == 403
    assert not BreakdownSignature.objects.filter(department=partner).exists()


# --- the request page links here -----------------------------------------------------


def test_request_page_links_to_the_breakdown_board_and_pdfs(
    approved, staff, department, client_for
):
    """An approved request links to its breakdown, board and PDFs; a draft does not."""
    client = client_for(staff)
    html = client.get(reverse("requests_app:detail", args=[approved.pk])).content.decode()
    for name in ("breakdown", "board", "breakdown-pdf", "progress-pdf"):
        assert f'href="{url(name, approved)}"' in html
    draft = make_request(initiator=staff, departments=[department])
    html = client.get(reverse("requests_app:detail", args=[draft.pk])).content.decode()
    assert url("breakdown", draft) not in html
