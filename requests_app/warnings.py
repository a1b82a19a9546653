"""The request rules of the warning engine (collab.warnings), registered in ready()."""

from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from collab.warnings import Hit, People, RuleSpec, day_text, link, register

from .choices import RequestState, ReviewDecision
from .models import CollabRequest, DepartmentReview


def scan_review_overdue(rule, now):
    """Department reviews of the current round still unanswered after their due date.

    The due date is stored at submission (3 working days) and recomputed when an
    administrator changes the calendar.
    """
    today = timezone.localdate(now)
    reviews = list(
        DepartmentReview.objects.filter(
            decision=ReviewDecision.PENDING,
            request__state=RequestState.PENDING,
            due_date__lt=today,
            # Only the current round: an earlier round's unanswered rows stay pending.
            round=F("request__review_round"),
        )
        .order_by()
        .values_list(
            "pk",
            "due_date",
            "department_id",
            "department__name",
            "request_id",
            "request__number",
            "request__name",
            "request__initiator_id",
            named=True,
        )
    )
    people = People(
        users={r.request__initiator_id for r in reviews},
        departments={r.department_id for r in reviews},
        on=today,
    )
    url = link("requests_app:detail")
    for review in reviews:
        yield Hit(
            review.pk,
            {
                "head": people.heads(review.department_id),
                "initiator": people.one(review.request__initiator_id),
            },
            {
                "department": review.department__name,
                "number": review.request__number,
                "name": review.request__name,
                "due": day_text(review.due_date),
                "days": (today - review.due_date).days,
            },
            url(review.request_id),
        )


def scan_retrospective_overdue(rule, now):
    """Requests completed more than N days ago (7 by default) without a retrospective.

    Whether a retrospective exists is review_app's to say: it registers a queryset
    filter as guards "without_retrospective". Until then no retrospective can exist,
    so every such request is reported.
    """
    from . import guards

    days = rule.days if rule.days is not None else 7
    requests = CollabRequest.objects.filter(
        state=RequestState.COMPLETED,
        completed_at__lt=now - dt.timedelta(days=days),
        is_archived=False,
    )
    # Only what the text and the link read (after three years there are a few hundred
    # such requests, `make bench`, of a few people).
    requests = list(
        guards.without_retrospective(requests)
        .order_by()
        .values_list("pk", "number", "name", "completed_at", "initiator_id", named=True)
    )
    people = People(
        users={r.initiator_id for r in requests}, departments=(), on=timezone.localdate(now)
    )
    url = link("requests_app:detail")
    for request in requests:
        yield Hit(
            request.pk,
            {"initiator": people.one(request.initiator_id)},
            {
                "number": request.number,
                "name": request.name,
                "done": day_text(request.completed_at),
            },
            url(request.pk),
        )


def recompute_review_due_dates() -> int:
    """Recompute the due date of every open review from its submission day.

    Called when an administrator adds or changes a holiday or a make-up workday, so a
    review's 3-working-day deadline follows the corrected calendar. One calendar lookup
    per submission day and one UPDATE per new due date, however many reviews are open.
    """
    from collab import calendar

    from .services import review_working_days

    return calendar.due_dates_follow(
        DepartmentReview.objects.filter(decision=ReviewDecision.PENDING),
        start="created_at",
        days=review_working_days(),
    )


# The texts: msgids as the warnings have always had them (their zh-Hant is in the catalog).
def review_overdue_message(n=None) -> str:
    return gettext("%(department)s has not answered request %(number)s “%(name)s”, due on %(due)s.")


def retrospective_overdue_message(n=None) -> str:
    return gettext(
        "Request %(number)s “%(name)s” was completed on %(done)s; its retrospective has not "
        "been filed."
    )


def register_rules() -> None:
    register(
        RuleSpec(
            code="review_overdue",
            label=_("Review not answered in time"),
            model=DepartmentReview,
            scan=scan_review_overdue,
            message=review_overdue_message,
            defaults={"days": 3, "to_head": True, "to_pmo": True},
        ),
        RuleSpec(
            code="retrospective_overdue",
            label=_("Retrospective not filed"),
            model=CollabRequest,
            scan=scan_retrospective_overdue,
            message=retrospective_overdue_message,
            defaults={"days": 7, "to_initiator": True, "to_pmo": True},
        ),
    )
