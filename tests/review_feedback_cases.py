"""Builders of the feedback and suggestion tests: a case taken to 已完成, step by step.

The case is built through the services up to 進行中 (Tech's review answered by a
deputy), then the acceptance and final-acceptance rows are written directly (their own
tests drive them through their services) and the request is completed through
requests_app.services.request_complete_unchecked (as the final acceptance does), which
runs the feedback hook. The people come from the `cast` fixture in
tests/review_feedback_fixtures.py.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from requests_app import services as request_services
from review_app.choices import FinalOutcome, Seat, SignatureDecision, Verdict
from review_app.models import (
    AcceptanceVerdict,
    FinalAcceptance,
    FinalSignature,
    Retrospective,
    RetrospectiveAction,
    TaskAcceptance,
)
from tasks_app import services as task_services
from tasks_app.models import Task
from tests.factories import make_request


def participants_of(cast) -> set:
    """The people the completed case must ask for feedback, exactly."""
    return {
        cast.initiator,
        cast.responsible,
        cast.accountable,
        cast.consulted,
        cast.informed,
        cast.acc_reviewer,
        cast.seat_holder,
        cast.mkt_deputy,
        cast.tech_deputy,
        cast.tech_signer,
        cast.plan_head,
        cast.mkt_head,
        cast.tech_head,
    }


def build_in_progress(cast):
    """Take the request to 進行中 with one task whose RACI has R, A, C and two I."""
    req = make_request(initiator=cast.initiator, departments=[cast.mkt, cast.tech], lead=cast.mkt)
    req = request_services.request_submit(request=req, by=cast.initiator)
    for review in req.reviews.select_related("department"):
        by = cast.tech_deputy if review.department_id == cast.tech.pk else cast.mkt_head
        request_services.review_decide(review=review, by=by, approve=True, committed_tasks="甲")
    req.refresh_from_db()
    req = request_services.request_confirm(request=req, by=cast.pmo)
    for task in list(req.tasks.all()):
        task_services.task_remove(task=task, by=cast.initiator)
    start = timezone.localdate()
    task = task_services.task_save(
        request=req,
        by=cast.initiator,
        data={
            "name": "主視覺圖初稿",
            "responsible_department": cast.tech,
            "start_date": start,
            "due_at": task_services.due_at(start + dt.timedelta(days=10)),
        },
        raci={
            "R": cast.responsible,
            "A": cast.accountable,
            "C": [cast.consulted],
            "I": [cast.informed, cast.leaver],
        },
    )
    for link in req.department_links.select_related("department"):
        task_services.breakdown_sign(
            request=req, by=link.department.heads.first(), department=link.department
        )
    req.refresh_from_db()
    return req, task


def complete(cast, req, task, *, by=None):
    """Write the acceptance and final-acceptance rows, then complete through the service."""
    now = timezone.now()
    acceptance = TaskAcceptance.objects.create(
        task=task,
        round=1,
        completion_note="初稿完成。",
        submitted_by=cast.responsible,
        due_date=timezone.localdate(),
        outcome="passed",
        closed_at=now,
    )
    AcceptanceVerdict.objects.create(
        acceptance=acceptance,
        seat=Seat.ACCOUNTABLE,
        reviewer=cast.acc_reviewer,
        decision=Verdict.PASSED,
        decided_by=cast.acc_reviewer,
        decided_at=now,
    )
    AcceptanceVerdict.objects.create(
        acceptance=acceptance,
        seat=Seat.INITIATOR,
        reviewer=cast.seat_holder,
        decision=Verdict.CLOSED,
    )
    AcceptanceVerdict.objects.create(
        acceptance=acceptance,
        seat=Seat.HEAD,
        department=cast.mkt,
        decision=Verdict.PASSED,
        decided_by=cast.mkt_deputy,
        on_behalf_of=cast.mkt_head,
        decided_at=now,
    )
    Task.objects.filter(request=req).update(state="done", completed_at=now)
    final = FinalAcceptance.objects.create(
        request=req,
        round=1,
        summary="全部成果已交付。",
        opened_by=cast.initiator,
        outcome=FinalOutcome.SIGNED,
        closed_at=now,
    )
    FinalSignature.objects.create(
        final=final,
        department=cast.tech,
        decision=SignatureDecision.SIGNED,
        signed_by=cast.tech_signer,
        signed_at=now,
    )
    cast.leaver.is_active = False
    cast.leaver.save(update_fields=["is_active"])
    return request_services.request_complete_unchecked(request=req, by=by or cast.initiator)


def retrospective_action(req, description="需求發起階段增加可行性評估環節。"):
    """Return an improvement action of the case's retrospective (created if needed)."""
    retrospective, _created = Retrospective.objects.get_or_create(
        request=req, defaults={"due_date": timezone.localdate() + dt.timedelta(days=7)}
    )
    return RetrospectiveAction.objects.create(retrospective=retrospective, description=description)
