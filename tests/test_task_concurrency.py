"""Two people acting on the same breakdown or task at the same moment, on real PostgreSQL.

Each racer runs in its own thread with its own database connection: it loads what its
page showed, waits at a barrier so all start together, then calls the service. Whoever
gets the row lock first is slowed down inside its transaction, so the others really
arrive while it is still at work. Exactly one transition may happen; anyone who comes
too late gets TaskConflict (or TaskRefused) with a message saying what to do.
"""

from __future__ import annotations

import pytest

from collab.models import User
from requests_app import services as request_services
from requests_app.choices import EventKind, RequestState
from requests_app.models import CollabRequest, RequestEvent
from tasks_app import selectors, services
from tasks_app.choices import TaskEventKind, TaskState
from tasks_app.models import Breakdown, BreakdownSignature, Task, TaskEvent
from tasks_app.services import TaskConflict, TaskRefused
from tests.concurrency import race
from tests.concurrency import slow as _slow
from tests.factories import DepartmentFactory, UserFactory, make_approved_request, make_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(pmo):
    """A 已立項 request between b and c, with one generated task each and one more task
    owned by a member of b."""
    b, c = DepartmentFactory(), DepartmentFactory()
    b_head, c_head = UserFactory(department=b), UserFactory(department=c)
    b.heads.add(b_head)
    c.heads.add(c_head)
    initiator = UserFactory(department=b)
    owner = UserFactory(department=b)
    req = make_approved_request(
        initiator=initiator, departments=[b, c], lead=b, pmo=pmo, committed="準備資料"
    )
    task = make_task(request=req, responsible=owner, accountable=b_head, department=b)
    return {
        "request": req,
        "b": b,
        "c": c,
        "b_head": b_head,
        "c_head": c_head,
        "initiator": initiator,
        "owner": owner,
        "task": task,
    }


def _signer(request_id: int, user_id: int, department_id: int):
    def racer(wait):
        req = CollabRequest.objects.get(pk=request_id)
        user = User.objects.get(pk=user_id)
        department = user.headed_departments.get(pk=department_id)
        wait()
        return services.breakdown_sign(request=req, by=user, department=department)

    return racer


def _sign_all(world) -> None:
    req = world["request"]
    services.breakdown_sign(request=req, by=world["b_head"], department=world["b"])
    services.breakdown_sign(request=req, by=world["c_head"], department=world["c"])


def test_last_two_heads_signing_at_once_start_the_request_once(world, monkeypatch):
    """The two last signatures arrive together: both are kept, and the request moves to
    進行中 exactly once (one "start" event), whoever ends up last."""
    _slow(monkeypatch, request_services, "event_log")
    req = world["request"]
    results = race(
        _signer(req.pk, world["b_head"].pk, world["b"].pk),
        _signer(req.pk, world["c_head"].pk, world["c"].pk),
    )
    assert [kind for kind, _value in results] == ["ok", "ok"], results
    assert CollabRequest.objects.get(pk=req.pk).state == RequestState.IN_PROGRESS
    assert RequestEvent.objects.filter(request=req, kind=EventKind.STARTED).count() == 1
    assert RequestEvent.objects.filter(request=req, kind=EventKind.SIGNED).count() == 2
    breakdown = Breakdown.objects.get(request=req)
    assert not selectors.breakdown_missing_signatures(breakdown)


def test_same_head_signing_twice_at_once_signs_once(world, monkeypatch):
    """A double click: one signature, the other attempt is told it is already signed."""
    _slow(monkeypatch, request_services, "event_log")
    req = world["request"]
    results = race(
        _signer(req.pk, world["b_head"].pk, world["b"].pk),
        _signer(req.pk, world["b_head"].pk, world["b"].pk),
    )
    kinds = sorted(kind for kind, _value in results)
    assert kinds == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, TaskConflict) and str(error).strip()
    assert BreakdownSignature.objects.filter(department=world["b"]).count() == 1


def test_edit_racing_a_signature_never_leaves_a_signature_on_an_old_version(world, monkeypatch):
    """The initiator edits while a head signs: either the signature comes first and is
    voided by the edit, or it comes second and is for the new version."""
    _slow(monkeypatch, request_services, "event_log")
    req = world["request"]
    task_id, initiator_id = world["task"].pk, world["initiator"].pk
    owner_id, accountable_id = world["owner"].pk, world["b_head"].pk

    def editor(wait):
        task = Task.objects.get(pk=task_id)
        by, owner, accountable = (
            User.objects.get(pk=pk) for pk in (initiator_id, owner_id, accountable_id)
        )
        wait()
        return services.task_save(
            request=task.request,
            by=by,
            task=task,
            data={"name": "準備資料(修訂)"},
            raci={"R": owner, "A": accountable},
        )

    results = race(editor, _signer(req.pk, world["c_head"].pk, world["c"].pk))
    assert [kind for kind, _value in results] == ["ok", "ok"], results
    breakdown = Breakdown.objects.get(request=req)
    for signature in BreakdownSignature.objects.filter(breakdown=breakdown):
        assert signature.voided_at is not None or signature.version == breakdown.version


def _starter(task_id: int, user_id: int):
    def racer(wait):
        task = Task.objects.get(pk=task_id)
        user = User.objects.get(pk=user_id)
        wait()
        return services.task_start(task=task, by=user)

    return racer


def test_starting_the_same_task_twice_at_once_starts_it_once(world, monkeypatch):
    """Two tabs (or two clicks) start the task together: one start is recorded, the other
    gets a conflict saying the task moved on."""
    _sign_all(world)
    _slow(monkeypatch, services, "task_event_log")
    task, owner = world["task"], world["owner"]
    results = race(_starter(task.pk, owner.pk), _starter(task.pk, owner.pk))
    kinds = sorted(kind for kind, _value in results)
    assert kinds == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, (TaskConflict, TaskRefused)), error
    assert str(error).strip()
    assert str(TaskState.IN_PROGRESS.label) in str(error)
    assert TaskEvent.objects.filter(task=task, kind=TaskEventKind.START).count() == 1
    assert Task.objects.get(pk=task.pk).state == TaskState.IN_PROGRESS


def test_accept_and_reject_at_once_make_one_transition(world, monkeypatch):
    """The acceptance procedure's two movers (accept, send back) run on the same
    delivery at once: exactly one of them happens; the other is told to reload. (Two
    reviewers answering at once: test_review_acceptance_concurrency.py.)"""
    _sign_all(world)
    task, owner = world["task"], world["owner"]
    task = services.task_start(task=task, by=owner)
    task = services.task_submit(task=task, by=owner, completion_note="資料已備齊")
    _slow(monkeypatch, services, "task_event_log")
    initiator_id, accountable_id = world["initiator"].pk, world["b_head"].pk

    def accepter(wait):
        t, user = Task.objects.get(pk=task.pk), User.objects.get(pk=initiator_id)
        wait()
        return services.task_accept_unchecked(task=t, by=user)

    def rejecter(wait):
        t, user = Task.objects.get(pk=task.pk), User.objects.get(pk=accountable_id)
        wait()
        return services.task_reject_delivery_unchecked(task=t, by=user, reason="缺少附件")

    results = race(accepter, rejecter)
    assert sorted(kind for kind, _value in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, TaskConflict) and str(error).strip()
    moves = TaskEvent.objects.filter(
        task=task, kind__in=[TaskEventKind.ACCEPT, TaskEventKind.REJECT]
    )
    assert moves.count() == 1
    assert Task.objects.get(pk=task.pk).state == moves.get().to_state
