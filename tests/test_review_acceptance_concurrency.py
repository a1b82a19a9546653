"""Reviewers answering the same acceptance round at the same moment, on real PostgreSQL.

Each racer runs in its own thread and connection, loads the seat its page showed, waits
at a barrier and answers. The first to hold the task's lock is slowed down inside its
transaction, so the other really arrives while it works. A round closes once; whoever
comes too late to a closed round gets AcceptanceConflict with a message saying so.
"""

from __future__ import annotations

import pytest

from collab.models import User
from review_app.choices import AcceptanceOutcome, Verdict
from review_app.models import AcceptanceVerdict, TaskAcceptance
from review_app.services import acceptance as services
from tasks_app import services as task_services
from tasks_app.choices import TaskEventKind, TaskState
from tasks_app.models import Task, TaskEvent
from tests.concurrency import race, slow
from tests.review_acceptance_fixtures import later, make_world, seat, submit

pytestmark = pytest.mark.django_db(transaction=True)


def _answerer(verdict_id: int, user_id: int, decision: str, **extra):
    def racer(wait):
        verdict = AcceptanceVerdict.objects.get(pk=verdict_id)
        user = User.objects.get(pk=user_id)
        wait()
        return services.acceptance_answer(verdict=verdict, by=user, decision=decision, **extra)

    return racer


def test_rectify_and_fail_at_once_close_the_round_once(pmo, monkeypatch):
    """The initiator's 需整改 and the A's 不通過 arrive together: one closes the round and
    sends the task back once; the other is refused with a conflict naming the outcome."""
    w = make_world(pmo)
    task = submit(w)
    slow(monkeypatch, task_services, "task_event_log")
    results = race(
        _answerer(
            seat(task, person=w.initiator).pk,
            w.initiator.pk,
            Verdict.RECTIFY,
            reason="補資料",
            rectify_due_at=later(3),
            earlier_confirmed=True,
        ),
        _answerer(
            seat(task, person=w.accountable).pk, w.accountable.pk, Verdict.FAILED, reason="重做"
        ),
    )
    assert sorted(kind for kind, _value in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, services.AcceptanceConflict) and str(error).strip()
    acceptance = TaskAcceptance.objects.get(task=task)
    assert acceptance.outcome in (AcceptanceOutcome.RECTIFY, AcceptanceOutcome.FAILED)
    assert str(acceptance.get_outcome_display()) in str(error)
    assert Task.objects.get(pk=task.pk).state == TaskState.IN_PROGRESS
    moves = TaskEvent.objects.filter(
        task=task, kind__in=[TaskEventKind.RECTIFY, TaskEventKind.FAIL]
    )
    assert moves.count() == 1
    assert TaskEvent.objects.filter(task=task, kind=TaskEventKind.VERDICT).count() == 1
    assert acceptance.verdicts.exclude(decision=Verdict.CLOSED).count() == 1


def test_the_last_two_passes_at_once_complete_the_task_once(pmo, monkeypatch):
    """Two remaining seats pass together: both answers are kept and the task becomes
    已完成 exactly once, whoever is last."""
    w = make_world(pmo)
    task = submit(w)
    for person in (w.accountable, w.initiator):
        services.acceptance_answer(verdict=seat(task, person=person), by=person, decision="passed")
    slow(monkeypatch, task_services, "task_event_log")
    results = race(
        _answerer(seat(task, department=w.tech).pk, w.tech_head.pk, Verdict.PASSED),
        _answerer(seat(task, department=w.design).pk, w.design_head.pk, Verdict.PASSED),
    )
    assert [kind for kind, _value in results] == ["ok", "ok"], results
    assert Task.objects.get(pk=task.pk).state == TaskState.DONE
    assert TaskEvent.objects.filter(task=task, kind=TaskEventKind.ACCEPT).count() == 1
    acceptance = TaskAcceptance.objects.get(task=task)
    assert acceptance.outcome == AcceptanceOutcome.PASSED
    assert set(acceptance.verdicts.values_list("decision", flat=True)) == {Verdict.PASSED}


def test_the_same_seat_answered_twice_at_once_records_one_answer(pmo, monkeypatch):
    """A deputy and the head answer tech's seat from two pages at once: one answer is
    kept, the other is told the seat was answered."""
    w = make_world(pmo)
    task = submit(w)
    verdict = seat(task, department=w.tech)
    slow(monkeypatch, task_services, "task_event_log")
    results = race(
        _answerer(verdict.pk, w.tech_head.pk, Verdict.PASSED),
        _answerer(verdict.pk, w.tech_deputy.pk, Verdict.FAILED, reason="不行"),
    )
    assert sorted(kind for kind, _value in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, services.AcceptanceConflict)
    assert TaskEvent.objects.filter(task=task, kind=TaskEventKind.VERDICT).count() == 1
