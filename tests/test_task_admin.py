"""The Django admin of tasks: scoping per role, the RACI inline, saving and removing
through the services, the read-only signatures and the request page's task list.

Heads view the tasks of the requests their departments take part in; the PMO edits
them (and their RACI) while the request is 已立項. Every save goes through
services.task_save, so a refused save leaves nothing changed and shows why on the
form the person filled in.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from requests_app.choices import RequestState
from tasks_app import services
from tasks_app.models import Breakdown, BreakdownSignature, Task
from tests.factories import UserFactory, make_admin_org, make_approved_request
from tests.helpers import admin_form_data, assert_constant_queries
from tests.helpers import changelist_pks as listed
from tests.helpers import messages_at as sent

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:tasks_app_task_changelist"


def change_url(task):
    return reverse("admin:tasks_app_task_change", args=[task.pk])


@pytest.fixture
def org(department, head, staff, pmo):
    """Marketing (the initiator's) and tech share a project; ops has its own."""
    org = make_admin_org(mkt=department, mkt_head=head, staff=staff, pmo=pmo)
    org.tech_staff = UserFactory(department=org.tech)
    org.project = make_approved_request(
        initiator=staff, departments=[department, org.tech], lead=department, pmo=pmo
    )
    org.ops_project = make_approved_request(initiator=org.ops_staff, departments=[org.ops], pmo=pmo)
    return org


def tasks_of(req) -> list[Task]:
    return list(req.tasks.order_by("sequence"))


def _raci_rows(data: dict) -> dict[str, str]:
    """Return {row index: role} of the RACI rows in posted data."""
    return {
        key.split("-")[1]: value
        for key, value in data.items()
        if key.startswith("assignments-") and key.endswith("-role") and value
    }


# --- who sees what -------------------------------------------------------------------


def test_changelist_is_scoped_per_role(org, client_for):
    """A head lists the tasks of their departments' requests only; the PMO lists all."""
    project, ops_project = (
        {t.pk for t in tasks_of(org.project)},
        {t.pk for t in tasks_of(org.ops_project)},
    )
    for user, expected in (
        (org.mkt_head, project),
        (org.tech_head, project),
        (org.ops_head, ops_project),
        (org.pmo, project | ops_project),
    ):
        response = client_for(user).get(reverse(CHANGELIST))
        assert response.status_code == 200
        assert listed(response) == expected
    # Staff do not use admin at all.
    response = client_for(org.staff).get(reverse(CHANGELIST))
    assert response.status_code == 302


def test_changelist_search_and_filters(org, client_for):
    """Search by number or name; filter by state, importance and department."""
    client = client_for(org.pmo)
    first = tasks_of(org.project)[0]
    response = client.get(reverse(CHANGELIST), {"q": first.number})
    assert listed(response) == {first.pk}
    response = client.get(reverse(CHANGELIST), {"responsible_department__id__exact": org.ops.pk})
    assert listed(response) == {t.pk for t in tasks_of(org.ops_project)}
    response = client.get(reverse(CHANGELIST), {"state": "todo", "importance": "normal"})
    assert response.status_code == 200 and len(listed(response)) == 3


def test_head_views_a_task_read_only_with_its_raci(org, client_for):
    """A head opens their project's task: no editing, but the RACI rows are shown."""
    task = tasks_of(org.project)[0]
    client = client_for(org.tech_head)
    response = client.get(change_url(task))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False
    inline = response.context["inline_admin_formsets"][0]
    assert inline.formset.model.__name__ == "TaskAssignment"
    assert {f.instance.role for f in inline.formset.forms} == {"R", "A"}
    assert client.post(change_url(task), {"name": "改名", "_save": "1"}).status_code == 403
    task.refresh_from_db()
    assert task.name == "任務甲"


def test_head_of_another_department_gets_not_found(org, client_for):
    task = tasks_of(org.project)[0]
    response = client_for(org.ops_head).get(change_url(task))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_changelist_queries_do_not_grow_with_tasks(org, client_for):
    client = client_for(org.pmo)

    def make_rows(n):
        for i in range(n):
            services.task_save(
                request=org.project,
                by=org.staff,
                data={
                    "name": f"任務{i}",
                    "responsible_department": org.tech,
                    "start_date": timezone.localdate(),
                    "due_at": services.due_at(timezone.localdate() + dt.timedelta(days=3)),
                },
                raci={"R": org.tech_staff, "A": org.staff},
            )

    assert_constant_queries(make_rows, lambda: client.get(reverse(CHANGELIST)))


# --- editing through the service -----------------------------------------------------


def test_pmo_edits_a_task_and_its_raci_through_the_service(org, client_for):
    """A change in admin is a breakdown change: new version, voided signature, history."""
    services.breakdown_sign(request=org.project, by=org.mkt_head, department=org.mkt)
    task = next(t for t in tasks_of(org.project) if t.responsible_department == org.tech)
    client = client_for(org.pmo)
    response = client.get(change_url(task))
    assert response.context["has_change_permission"] is True
    data = admin_form_data(response)
    data["name"] = "需求評審與開發"
    r_row = next(i for i, role in _raci_rows(data).items() if role == "R")
    data[f"assignments-{r_row}-user"] = org.tech_staff.pk
    data["_save"] = "1"
    version = Breakdown.objects.get(request=org.project).version
    response = client.post(change_url(task), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    task.refresh_from_db()
    assert task.name == "需求評審與開發"
    assert task.assignments.get(role="R").user == org.tech_staff
    assert Breakdown.objects.get(request=org.project).version == version + 1
    assert BreakdownSignature.objects.get(department=org.mkt).voided_at is not None
    assert task.events.filter(kind="edited", by=org.pmo).exists()
    assert LogEntry.objects.filter(object_id=str(task.pk)).exists()


def test_saving_an_unchanged_task_in_admin_voids_nothing(org, client_for):
    """Pressing save without a change makes no new version and keeps the signatures."""
    services.breakdown_sign(request=org.project, by=org.mkt_head, department=org.mkt)
    task = tasks_of(org.project)[0]
    client = client_for(org.pmo)
    data = admin_form_data(client.get(change_url(task)))
    data["_save"] = "1"
    version = Breakdown.objects.get(request=org.project).version
    response = client.post(change_url(task), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert Breakdown.objects.get(request=org.project).version == version
    assert BreakdownSignature.objects.get(department=org.mkt).voided_at is None


def test_raci_inline_holds_exactly_one_r_and_one_a(org, client_for):
    """Two R rows, or no A row, are refused by the inline; nothing changes."""
    task = tasks_of(org.project)[0]
    client = client_for(org.pmo)
    base = admin_form_data(client.get(change_url(task)))
    base["_save"] = "1"
    rows = _raci_rows(base)
    a_row = next(i for i, role in rows.items() if role == "A")
    extra = str(int(base["assignments-TOTAL_FORMS"]) - 1)  # the empty extra row

    second_r = {**base, f"assignments-{extra}-role": "R", f"assignments-{extra}-user": org.staff.pk}
    no_a = {**base, f"assignments-{a_row}-DELETE": "on"}
    twice = {**base, f"assignments-{extra}-role": "A", f"assignments-{extra}-user": org.staff.pk}
    for data in (second_r, no_a, twice):
        response = client.post(change_url(task), {**data, "name": "不該存下"})
        assert response.status_code == 200
        assert response.context["inline_admin_formsets"][0].formset.non_form_errors()
    task.refresh_from_db()
    assert task.name == "任務甲"
    assert task.assignments.filter(role="R").count() == 1


def test_service_refusal_is_shown_on_the_form(org, client_for):
    """R outside the responsible and supporting departments: the service refuses, the
    form comes back with the reason and the typed name, and nothing is logged."""
    task = tasks_of(org.project)[0]
    client = client_for(org.pmo)
    data = admin_form_data(client.get(change_url(task)))
    r_row = next(i for i, role in _raci_rows(data).items() if role == "R")
    data[f"assignments-{r_row}-user"] = org.ops_staff.pk
    data.update(name="不該存下的名稱", _save="1")
    response = client.post(change_url(task), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert "不該存下的名稱" in response.content.decode()
    task.refresh_from_db()
    assert task.name == "任務甲"
    assert not LogEntry.objects.filter(object_id=str(task.pk)).exists()


def test_cycle_is_refused_in_admin(org, client_for):
    first, second = tasks_of(org.project)
    raci = {"R": second.assignments.get(role="R").user, "A": org.staff}
    services.task_save(
        request=org.project, by=org.staff, task=second, data={}, raci=raci, depends_on=[first]
    )
    client = client_for(org.pmo)
    data = admin_form_data(client.get(change_url(first)))
    data.update(depends_on=[second.pk], _save="1")
    response = client.post(change_url(first), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["depends_on"]
    assert not first.depends_on.exists()


def test_pmo_adds_a_task_in_admin(org, client_for):
    """The add page saves through the service: the next number, R and A from the inline."""
    client = client_for(org.pmo)
    response = client.get(reverse("admin:tasks_app_task_add"))
    assert response.status_code == 200
    start = timezone.localdate()
    data = {
        "request": org.project.pk,
        "name": "推廣活動策劃",
        "responsible_department": org.mkt.pk,
        "start_date": start.isoformat(),
        "due_at_0": (start + dt.timedelta(days=10)).isoformat(),
        "due_at_1": "17:00:00",
        "importance": "urgent",
        "buffer_days": "3",
        "assignments-TOTAL_FORMS": "2",
        "assignments-INITIAL_FORMS": "0",
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
        "assignments-0-role": "R",
        "assignments-0-user": org.staff.pk,
        "assignments-1-role": "A",
        "assignments-1-user": org.mkt_head.pk,
        "_save": "1",
    }
    response = client.post(reverse("admin:tasks_app_task_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    task = org.project.tasks.get(name="推廣活動策劃")
    assert task.number == f"{org.project.number}-03"
    assert {(a.role, a.user_id) for a in task.assignments.all()} == {
        ("R", org.staff.pk),
        ("A", org.mkt_head.pk),
    }
    # Without an A row the inline refuses and nothing is added.
    data.update(name="缺審批人", **{"assignments-1-role": "", "assignments-1-user": ""})
    response = client.post(reverse("admin:tasks_app_task_add"), data)
    assert response.status_code == 200
    assert not org.project.tasks.filter(name="缺審批人").exists()


def test_task_is_read_only_once_work_started(org, client_for):
    """After every head signed (進行中) the admin no longer edits or removes tasks."""
    services.breakdown_sign(request=org.project, by=org.mkt_head, department=org.mkt)
    services.breakdown_sign(request=org.project, by=org.tech_head, department=org.tech)
    org.project.refresh_from_db()
    assert org.project.state == RequestState.IN_PROGRESS
    task = tasks_of(org.project)[0]
    client = client_for(org.pmo)
    response = client.get(change_url(task))
    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False
    assert "state" not in response.context["adminform"].form.fields
    delete = reverse("admin:tasks_app_task_delete", args=[task.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Task.objects.filter(pk=task.pk).exists()


def test_task_is_removed_only_through_the_service(org, client_for):
    """Deleting in admin is services.task_remove: new version, the number kept; a task
    others depend on is refused with the service's message."""
    first, second = tasks_of(org.project)
    client = client_for(org.pmo)
    assert client.get(reverse(CHANGELIST)).context["action_form"] is None  # no bulk delete
    raci = {"R": second.assignments.get(role="R").user, "A": org.staff}
    services.task_save(
        request=org.project, by=org.staff, task=second, data={}, raci=raci, depends_on=[first]
    )
    response = client.post(reverse("admin:tasks_app_task_delete", args=[first.pk]), {"post": "yes"})
    assert response.status_code == 302 and response.url == change_url(first)
    assert sent(response, messages.ERROR)
    assert Task.objects.filter(pk=first.pk).exists()
    version = Breakdown.objects.get(request=org.project).version
    response = client.post(
        reverse("admin:tasks_app_task_delete", args=[second.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Task.objects.filter(pk=second.pk).exists()
    assert Breakdown.objects.get(request=org.project).version == version + 1


# --- signatures and the request's page -----------------------------------------------


def test_signatures_are_read_only_and_scoped(org, deputy, client_for):
    """Heads and the PMO read the signatures, voided ones too; nobody changes them."""
    services.breakdown_sign(request=org.project, by=deputy, department=org.mkt)
    services.breakdown_sign(request=org.ops_project, by=org.ops_head, department=org.ops)
    mine = BreakdownSignature.objects.get(department=org.mkt)
    assert mine.on_behalf_of == org.mkt_head
    changelist = reverse("admin:tasks_app_breakdownsignature_changelist")
    for user, expected in (
        (org.tech_head, {mine.pk}),
        (org.ops_head, {BreakdownSignature.objects.get(department=org.ops).pk}),
        (org.pmo, set(BreakdownSignature.objects.values_list("pk", flat=True))),
    ):
        response = client_for(user).get(changelist)
        assert response.status_code == 200
        assert listed(response) == expected
    client = client_for(org.pmo)
    response = client.get(reverse("admin:tasks_app_breakdownsignature_change", args=[mine.pk]))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert client.get(reverse("admin:tasks_app_breakdownsignature_add")).status_code == 403


def test_request_admin_lists_its_tasks_read_only(org, client_for):
    """The request's admin page shows its tasks with R, due and state, without editing."""
    client = client_for(org.tech_head)
    response = client.get(reverse("admin:requests_app_collabrequest_change", args=[org.project.pk]))
    assert response.status_code == 200
    inline = next(i for i in response.context["inline_admin_formsets"] if i.formset.model is Task)
    assert {f.instance.pk for f in inline.formset.forms} == {t.pk for t in tasks_of(org.project)}
    assert inline.has_change_permission is False and inline.has_add_permission is False
    html = response.content.decode()
    for task in tasks_of(org.project):
        assert change_url(task) in html
