"""The acceptance-overdue warning rule, owned by review_app (collab.warnings).

One rule warns about acceptance: review_app's "acceptance_overdue", which reports each
seat still unanswered after its round's due date to whoever may answer it. The old
tasks_app rule (submitted tasks after N working days) is retired. The day-by-day
calendar cases are in test_warning_rules.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from collab import warnings as engine
from review_app.choices import Verdict
from review_app.models import TaskAcceptance
from review_app.services import acceptance as services
from tests.helpers import assert_constant_queries
from tests.review_acceptance_fixtures import later, make_world, seat, submit

pytestmark = pytest.mark.django_db


def _found(days_after_due: int = 1) -> dict[int, set[int]]:
    """Return {task id: recipient ids} of the rule `days_after_due` days after the due date."""
    acceptance = TaskAcceptance.objects.order_by("-pk").first()
    day = acceptance.due_date + dt.timedelta(days=days_after_due)
    now = timezone.make_aware(dt.datetime.combine(day, dt.time(6, 0)))
    hits: dict[int, set[int]] = {}
    for item in engine.collect(now=now, cadences=(engine.DAILY,)):
        if item.rule == "acceptance_overdue":
            hits.setdefault(item.object_id, set()).add(item.recipient_id)
    return hits


def test_one_acceptance_rule_owned_by_review_app():
    """review_app registers acceptance_overdue; tasks_app's old rule is gone."""
    registry = engine.registry()
    assert "acceptance_overdue" in registry
    assert registry["acceptance_overdue"].scan is services.scan_acceptance_overdue
    assert "task_acceptance_overdue" not in registry


def test_overdue_seats_warn_their_reviewers_and_acting_deputies(pmo):
    """Past the due date: the A, the initiator, the heads of the task's departments and
    the deputy acting for the tech head; not the R, C or anyone else. Not on the due
    date itself."""
    w = make_world(pmo)
    task = submit(w)
    assert _found(days_after_due=0) == {}
    assert _found() == {
        task.pk: {
            w.accountable.pk,
            w.initiator.pk,
            w.tech_head.pk,
            w.tech_deputy.pk,
            w.design_head.pk,
        }
    }


def test_answered_seats_and_closed_rounds_stop_warning(pmo):
    w = make_world(pmo)
    task = submit(w)
    services.acceptance_answer(
        verdict=seat(task, department=w.tech), by=w.tech_deputy, decision=Verdict.PASSED
    )
    assert _found() == {task.pk: {w.accountable.pk, w.initiator.pk, w.design_head.pk}}
    services.acceptance_answer(
        verdict=seat(task, person=w.initiator),
        by=w.initiator,
        decision=Verdict.RECTIFY,
        reason="補上測試報告",
        rectify_due_at=later(3),
        earlier_confirmed=True,
    )
    assert _found() == {}


def test_the_warning_text_names_the_task_and_the_round(pmo):
    w = make_world(pmo)
    task = submit(w)
    acceptance = TaskAcceptance.objects.get(task=task)
    now = timezone.make_aware(
        dt.datetime.combine(acceptance.due_date + dt.timedelta(days=2), dt.time(6, 0))
    )
    items = [
        i
        for i in engine.collect(now=now, cadences=(engine.DAILY,))
        if i.rule == "acceptance_overdue"
    ]
    assert items and all(task.number in i.text and task.name in i.text for i in items)
    assert all(i.url.endswith("#acceptance") for i in items)


def test_the_scan_runs_a_constant_number_of_queries(pmo):
    """Reviewers, departments, heads and deputies are read in bulk."""
    rule = engine.rules_ensure()["acceptance_overdue"]

    def make_rows(n):
        for _ in range(n):
            submit(make_world(pmo))

    def fetch():
        due = TaskAcceptance.objects.order_by("-due_date").first().due_date
        now = timezone.make_aware(dt.datetime.combine(due + dt.timedelta(days=1), dt.time(6)))
        hits = list(services.scan_acceptance_overdue(rule, now))
        assert hits
        return [
            (h.object_id, sorted(u for users in h.people.values() for u in users)) for h in hits
        ]

    assert_constant_queries(make_rows, fetch, small=1, large=4)
