"""Admin writes go through the same services as the portal pages.

For each app one representative act is done twice on twin objects: once on the portal
page, once in Django admin. Both must write the same history rows: the same kind and
action, by the same person (or the same role, across twin worlds), on the same behalf,
from and to the same state, with the same comment and the same kinds of parameters.
An admin that saved the model itself, or ran a django-fsm-2 transition on it, would
write no row or a different one.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import reverse

from collab.models import Department, User
from collab.services import user_sync_access
from requests_app import services as request_services
from requests_app.choices import EventKind, RequestState
from requests_app.models import CollabRequest, RequestEvent
from review_app.admin.acceptance import SEAT_PARAM
from review_app.choices import Verdict
from review_app.services import acceptance as acceptance_services
from tasks_app.choices import TaskState
from tasks_app.models import Task, TaskEvent
from tests.factories import DepartmentFactory, make_approved_request, make_head, make_request
from tests.helpers import admin_form_data
from tests.review_acceptance_fixtures import (
    answerer,
    make_world,
    open_round,
    seat,
    submit,
)

pytestmark = pytest.mark.django_db


def _rows(queryset, after: int, name) -> list[tuple]:
    """Return the history rows after pk `after` as comparable tuples; `name` maps a user
    or a department to how the row names it (itself, or its role in a twin world)."""
    return [
        (
            row.kind,
            row.transition,
            row.from_state,
            row.to_state,
            name(row.by),
            name(row.on_behalf_of),
            name(getattr(row, "department", None)),
            row.comment,
            sorted(row.params),
        )
        for row in queryset.filter(pk__gt=after).order_by("pk")
    ]


def _last_pk(model) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _same(user):
    return user


# --- requests_app: the request's transitions -------------------------------------------


@pytest.fixture
def org(department, head, staff, pmo):
    tech = DepartmentFactory()
    return SimpleNamespace(mkt=department, tech=tech, mkt_head=head, tech_head=make_head(tech))


def _agreed(org, staff) -> CollabRequest:
    """A submitted request that every department agreed to: 確認立項 may follow."""
    req = make_request(initiator=staff, departments=[org.mkt, org.tech], lead=org.mkt)
    req = request_services.request_submit(request=req, by=staff)
    heads = {org.mkt.pk: org.mkt_head, org.tech.pk: org.tech_head}
    for review in req.reviews.all():
        request_services.review_decide(review=review, by=heads[review.department_id], approve=True)
    return CollabRequest.objects.get(pk=req.pk)


def _request_rows(req, after) -> list[tuple]:
    return _rows(RequestEvent.objects.filter(request=req), after, _same)


@pytest.mark.parametrize(
    ("name", "page_data", "admin_data", "kind", "to_state"),
    [
        # A button of the change page (no form): 確認立項.
        ("confirm", {"comment": ""}, None, EventKind.CONFIRMED, RequestState.APPROVED),
        # A transition with a form (the reason): 取消.
        (
            "cancel",
            {"reason": "預算凍結"},
            {"reason": "預算凍結"},
            EventKind.CANCELLED,
            "cancelled",
        ),
    ],
)
def test_request_transition_in_admin_writes_what_the_page_writes(
    org, staff, pmo, client_for, name, page_data, admin_data, kind, to_state
):
    on_page, in_admin = _agreed(org, staff), _agreed(org, staff)
    client = client_for(pmo)

    before = _last_pk(RequestEvent)
    response = client.post(
        reverse(f"requests_app:{name}", args=[on_page.pk]),
        {**page_data, "expected_state": RequestState.PENDING},
    )
    assert response.status_code == 302
    page_rows = _request_rows(on_page, before)

    before = _last_pk(RequestEvent)
    expected = {"_fsm_expected_state": RequestState.PENDING}
    if admin_data is None:
        url = reverse("admin:requests_app_collabrequest_change", args=[in_admin.pk])
        response = client.post(url, {"_fsm_transition_to": name, **expected})
    else:
        url = reverse("admin:requests_app_collabrequest_transition", args=[in_admin.pk, name])
        response = client.post(url, {**admin_data, **expected})
    assert response.status_code == 302
    admin_rows = _request_rows(in_admin, before)

    assert page_rows and page_rows[0][0] == kind
    assert page_rows[0][2:5] == (RequestState.PENDING, to_state, pmo)
    assert admin_rows == page_rows
    assert CollabRequest.objects.get(pk=in_admin.pk).state == to_state


# --- tasks_app: editing and removing a task of the breakdown ----------------------------


@pytest.fixture
def twins(department, head, staff, pmo):
    """Two requests 已立項 with the same people, each with a task of each department and
    marketing's signature given (which a change voids)."""
    from tasks_app import services as task_services

    partner = DepartmentFactory()
    make_head(partner)
    made = []
    for _ in range(2):
        req = make_approved_request(
            initiator=staff, departments=[department, partner], lead=department, pmo=pmo
        )
        task_services.breakdown_sign(request=req, by=head, department=department)
        made.append(req)
    return made


def _task_rows(req, after_request: int, after_task: int) -> tuple[list, list]:
    task_rows = _rows(TaskEvent.objects.filter(task__request=req), after_task, _same)
    return _request_rows(req, after_request), task_rows


def _first_task(req) -> Task:
    return req.tasks.order_by("sequence").first()


def test_task_edit_in_admin_writes_what_the_breakdown_page_writes(twins, pmo, client_for):
    on_page, in_admin = twins
    client = client_for(pmo)

    task = _first_task(on_page)
    marks = _last_pk(RequestEvent), _last_pk(TaskEvent)
    edit = reverse("tasks_app:task-edit", args=[on_page.pk, task.pk])
    initial = client.get(edit).context["form"].initial
    data = {k: v for k, v in initial.items() if v is not None}
    data.update(
        name="需求評審與開發",
        start_date=initial["start_date"].isoformat(),
        due_date=initial["due_date"].isoformat(),
        due_time=initial["due_time"].strftime("%H:%M"),
    )
    assert client.post(edit, data).status_code == 302
    page_rows = _task_rows(on_page, *marks)

    task = _first_task(in_admin)
    marks = _last_pk(RequestEvent), _last_pk(TaskEvent)
    change = reverse("admin:tasks_app_task_change", args=[task.pk])
    data = admin_form_data(client.get(change))
    data.update(name="需求評審與開發", _save="1")
    response = client.post(change, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    admin_rows = _task_rows(in_admin, *marks)

    assert page_rows[1] and page_rows[1][0][0] == "edited"
    assert admin_rows == page_rows
    assert _first_task(in_admin).name == "需求評審與開發"


def test_task_removal_in_admin_writes_what_the_breakdown_page_writes(twins, pmo, client_for):
    on_page, in_admin = twins
    client = client_for(pmo)

    before = _last_pk(RequestEvent)
    task = _first_task(on_page)
    response = client.post(reverse("tasks_app:task-remove", args=[on_page.pk, task.pk]))
    assert response.status_code == 302
    page_rows = _request_rows(on_page, before)

    before = _last_pk(RequestEvent)
    task = _first_task(in_admin)
    response = client.post(reverse("admin:tasks_app_task_delete", args=[task.pk]), {"post": "yes"})
    assert response.status_code == 302
    admin_rows = _request_rows(in_admin, before)

    assert page_rows
    assert admin_rows == page_rows
    assert not Task.objects.filter(pk=task.pk).exists()


# --- review_app: a deputy's last 通過 of an acceptance round -------------------------------


def _world_with_a_deputy_in_admin(pmo):
    """make_world's task submitted, every seat but tech's passed; tech's head's deputy
    heads a department of their own, so that they work in admin too."""
    w = make_world(pmo)
    submit(w)
    own = DepartmentFactory()
    own.heads.add(w.tech_deputy)
    user_sync_access(w.tech_deputy)
    for verdict in open_round(w.task).verdicts.exclude(department=w.tech):
        acceptance_services.acceptance_answer(
            verdict=verdict, by=answerer(verdict), decision=Verdict.PASSED
        )
    return w


def _role_in(w):
    """Name the world's people and departments by their attribute in `w`."""
    names = {
        (type(value), value.pk): name
        for name, value in vars(w).items()
        if isinstance(value, User | Department)
    }
    return lambda obj: None if obj is None else names[(type(obj), obj.pk)]


def test_acceptance_answer_in_admin_writes_what_the_task_page_writes(pmo, client_for):
    """The deputy's answer is by the deputy on behalf of the head, on the page and in
    admin alike; being the last 通過, it completes the task through the procedure."""
    on_page, in_admin = _world_with_a_deputy_in_admin(pmo), _world_with_a_deputy_in_admin(pmo)

    verdict = seat(on_page.task, department=on_page.tech)
    before = _last_pk(TaskEvent), _last_pk(RequestEvent)
    response = client_for(on_page.tech_deputy).post(
        reverse("review_app:acceptance-answer", args=[verdict.pk]),
        {f"seat{verdict.pk}-decision": Verdict.PASSED},
    )
    assert response.status_code == 302
    page_rows = (
        _rows(TaskEvent.objects.filter(task=on_page.task), before[0], _role_in(on_page)),
        _rows(RequestEvent.objects.filter(request=on_page.request), before[1], _role_in(on_page)),
    )

    verdict = seat(in_admin.task, department=in_admin.tech)
    acceptance = open_round(in_admin.task)
    before = _last_pk(TaskEvent), _last_pk(RequestEvent)
    response = client_for(in_admin.tech_deputy).post(
        reverse("admin:review_app_taskacceptance_change", args=[acceptance.pk]),
        {SEAT_PARAM: verdict.pk, f"seat{verdict.pk}-decision": Verdict.PASSED},
    )
    assert response.status_code == 302
    admin_rows = (
        _rows(TaskEvent.objects.filter(task=in_admin.task), before[0], _role_in(in_admin)),
        _rows(RequestEvent.objects.filter(request=in_admin.request), before[1], _role_in(in_admin)),
    )

    task_rows = page_rows[0]
    assert [row[0] for row in task_rows] == ["verdict", "accept"]
    assert task_rows[1][2:6] == (TaskState.SUBMITTED, TaskState.DONE, "tech_deputy", "tech_head")
    assert admin_rows == page_rows
    assert Task.objects.get(pk=in_admin.task.pk).state == TaskState.DONE


# --- one base for the refusals ----------------------------------------------------------


def test_every_service_refusal_is_a_service_error():
    """Views and admin catch collab.errors.ServiceError: every app's refusal derives
    from its Conflict (someone acted first) or its Refused (not possible now), and an
    archived case is both a Refused and a ValidationError (forms and model saves)."""
    from django.core.exceptions import ValidationError

    from collab import errors
    from requests_app.models import CaseArchived
    from review_app.services import closing, feedback
    from tasks_app import services as task_services

    conflicts = [
        request_services.RequestConflict,
        task_services.TaskConflict,
        acceptance_services.AcceptanceConflict,
        closing.ClosingConflict,
        feedback.FeedbackConflict,
        feedback.SuggestionConflict,
    ]
    refusals = [
        request_services.TransitionRefused,
        task_services.TaskRefused,
        closing.ClosingRefused,
        feedback.SuggestionRefused,
        CaseArchived,
    ]
    assert all(issubclass(cls, errors.Conflict) for cls in conflicts)
    assert all(issubclass(cls, errors.Refused) for cls in refusals)
    archived = CaseArchived()
    assert isinstance(archived, ValidationError) and archived.code == "archived"
    assert errors.messages(archived) == archived.messages
    assert errors.message(task_services.TaskConflict("有人先動了")) == "有人先動了"
