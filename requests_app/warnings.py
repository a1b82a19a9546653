"""The request rules of the warning engine (collab.warnings), registered in ready()."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collab import selectors as org
from collab.models import User
from collab.warnings import DAILY, Hit, RuleSpec, register

from .choices import RequestState, ReviewDecision
from .models import DepartmentReview


def scan_review_overdue(rule, now):
    """Department reviews of the current round still unanswered after their due date.

    The due date is stored at submission (3 working days) and recomputed when an
    administrator changes the calendar.
    """
    today = timezone.localdate(now)
    reviews = (
        DepartmentReview.objects.filter(
            decision=ReviewDecision.PENDING,
            request__state=RequestState.PENDING,
            due_date__lt=today,
        )
        .select_related("request__initiator", "department")
        .prefetch_related(
            Prefetch("department__heads", queryset=User.objects.filter(is_active=True))
        )
    )
    deputies = {}
    for delegation in org.delegations_active(on=today).select_related("deputy"):
        deputies.setdefault(delegation.head_id, []).append(delegation)
    for review in reviews:
        if review.round != review.request.review_round:
            continue
        heads = list(review.department.heads.all())
        acting = [
            d.deputy
            for head in heads
            for d in deputies.get(head.pk, [])
            if d.department_id in (None, review.department_id)
        ]
        yield Hit(
            obj=review,
            people={"head": heads + acting, "initiator": [review.request.initiator]},
            url=review.request.get_absolute_url(),
            context={"days": (today - review.due_date).days},
        )


def recompute_review_due_dates() -> int:
    """Recompute the due date of every open review from its submission day.

    Called when an administrator adds or changes a holiday or a make-up workday, so a
    review's 3-working-day deadline follows the corrected calendar.
    """
    from collab import calendar

    from .services import REVIEW_WORKING_DAYS

    changed = 0
    for review in DepartmentReview.objects.filter(decision=ReviewDecision.PENDING):
        start = timezone.localdate(review.created_at)
        due = calendar.add_working_days(start, REVIEW_WORKING_DAYS)
        if due != review.due_date:
            DepartmentReview.objects.filter(pk=review.pk).update(due_date=due)
            changed += 1
    return changed


def register_rules() -> None:
    register(
        RuleSpec(
            code="review_overdue",
            label=_("Review not answered in time"),
            cadence=DAILY,
            scan=scan_review_overdue,
            defaults={"to_head": True, "to_pmo": True},
        )
    )
