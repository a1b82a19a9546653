"""Reads: Feedback 協作反饋表 and process-improvement suggestions 流程優化建議.

Who is a participant of a case (and so is asked for feedback at completion) is decided
here, in `feedback_participants`; the lists start from the permission-filtered querysets
of review_app.permissions.feedback and fetch their related rows up front.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from collab.models import Department, User
from requests_app.models import CollabRequest, DepartmentReview, RequestDepartment
from tasks_app.models import TaskAssignment

from ..choices import FeedbackKind, SuggestionState
from ..models import (
    AcceptanceVerdict,
    Feedback,
    FeedbackInvitation,
    FinalSignature,
    Suggestion,
    SuggestionEvent,
)
from ..permissions import feedback as permissions

# --- participants ----------------------------------------------------------------------


def involved_department_ids(request: CollabRequest) -> set[int]:
    """Return the case's departments: the initiating one and the collaborating ones."""
    ids = set(
        RequestDepartment.objects.filter(request_id=request.pk).values_list(
            "department_id", flat=True
        )
    )
    ids.add(request.initiating_department_id)
    return ids


def involved_departments(request: CollabRequest) -> QuerySet[Department]:
    """Return the case's departments (initiating and collaborating), by code."""
    return Department.objects.filter(pk__in=involved_department_ids(request)).order_by("code")


def feedback_participants(request: CollabRequest) -> QuerySet[User]:
    """Return the active people asked for feedback when the case completes, once each.

    Exactly: the initiator; everyone with a RACI role (R, A, C or I) on the case's
    tasks; the acceptance reviewers (the person seats of every round, and whoever
    answered any seat, a head's seat included); whoever answered a department review of
    the request; whoever signed the final acceptance; and today's heads of every
    involved department (the collaborating departments and the initiating one).
    Deputies are asked only where they acted themselves (their answers name them).
    PMO, executives and other departments' staff are not participants as such.
    One query, whatever the size of the case.
    """
    uid = OuterRef("pk")
    raci = TaskAssignment.objects.filter(task__request_id=request.pk, user=uid)
    verdicts = AcceptanceVerdict.objects.filter(acceptance__task__request_id=request.pk).filter(
        Q(reviewer=uid) | Q(decided_by=uid)
    )
    reviews = DepartmentReview.objects.filter(request_id=request.pk, decided_by=uid)
    signatures = FinalSignature.objects.filter(final__request_id=request.pk, signed_by=uid)
    departments = RequestDepartment.objects.filter(request_id=request.pk).values("department_id")
    heads = Department.heads.through.objects.filter(user=uid).filter(
        Q(department_id__in=departments) | Q(department_id=request.initiating_department_id)
    )
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(pk=request.initiator_id)
            | Exists(raci)
            | Exists(verdicts)
            | Exists(reviews)
            | Exists(signatures)
            | Exists(heads)
        )
        .select_related("department")
        .order_by("department__code", "username")
    )


# --- invitations and feedback ----------------------------------------------------------


def invitation_for(*, user: User, request: CollabRequest) -> FeedbackInvitation | None:
    """Return `user`'s invitation to give feedback on the case, if they were asked."""
    if not user.is_authenticated:
        return None
    return FeedbackInvitation.objects.filter(request_id=request.pk, user_id=user.pk).first()


def invitations_of(user: User) -> QuerySet[FeedbackInvitation]:
    """Return the feedback forms `user` was sent, unanswered first, newest first."""
    return (
        FeedbackInvitation.objects.filter(user_id=user.pk)
        .select_related("request__initiating_department")
        # The forms still waiting on the person lead the list.
        .order_by(F("answered_at").desc(nulls_first=True), "-created_at", "-pk")
    )


def pending_invitations(user: User) -> QuerySet[FeedbackInvitation]:
    """Return the forms waiting on `user`: not answered, case still open to feedback."""
    return (
        FeedbackInvitation.objects.filter(
            user_id=user.pk, answered_at__isnull=True, request__is_archived=False
        )
        .select_related("request__initiating_department")
        .order_by("created_at", "pk")
    )


def _with_feedback_rows(queryset: QuerySet[Feedback]) -> QuerySet[Feedback]:
    """Fetch what a feedback row shows: case, author, handler and departments concerned."""
    return queryset.select_related("request", "author__department", "handled_by").prefetch_related(
        Prefetch("departments", queryset=Department.objects.order_by("code"))
    )


def feedback_given_by(user: User) -> QuerySet[Feedback]:
    return _with_feedback_rows(Feedback.objects.filter(author_id=user.pk))


def feedback_concerning(user: User) -> QuerySet[Feedback]:
    """Return the feedback about the departments `user` heads (or deputises for) today,
    other than their own."""
    from collab.selectors import departments_actable

    actable = departments_actable(user=user).values("pk")
    concerned = Feedback.departments.through.objects.filter(
        feedback_id=OuterRef("pk"), department_id__in=actable
    )
    queryset = Feedback.objects.filter(Exists(concerned)).exclude(author_id=user.pk)
    return _with_feedback_rows(permissions.visible_feedback(user, queryset))


def feedback_of_case(*, user: User, request: CollabRequest) -> QuerySet[Feedback]:
    """Return the case's feedback that `user` may read."""
    queryset = Feedback.objects.filter(request_id=request.pk)
    return _with_feedback_rows(permissions.visible_feedback(user, queryset))


@dataclass(frozen=True)
class FeedbackFilters:
    """The PMO list's filters; empty values filter nothing."""

    kind: str = ""
    handled: str = ""  # "yes" / "no" / ""
    department: int | None = None
    month: dt.date | None = None  # the first day of the month


def feedback_list(*, user: User, filters: FeedbackFilters) -> QuerySet[Feedback]:
    """Return the feedback `user` may see, filtered, newest first."""
    queryset = Feedback.objects.all()
    if filters.kind in FeedbackKind.values:
        queryset = queryset.filter(kind=filters.kind)
    if filters.handled == "yes":
        queryset = queryset.filter(handled_at__isnull=False)
    elif filters.handled == "no":
        queryset = queryset.filter(handled_at__isnull=True)
    if filters.department:
        concerned = Feedback.departments.through.objects.filter(
            feedback_id=OuterRef("pk"), department_id=filters.department
        )
        queryset = queryset.filter(Exists(concerned))
    if filters.month:
        start = timezone.make_aware(dt.datetime.combine(filters.month, dt.time.min))
        following = (filters.month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        end = timezone.make_aware(dt.datetime.combine(following, dt.time.min))
        queryset = queryset.filter(created_at__gte=start, created_at__lt=end)
    return _with_feedback_rows(permissions.visible_feedback(user, queryset)).order_by(
        "-created_at", "-pk"
    )


def feedback_awaiting_handling() -> QuerySet[Feedback]:
    """Return the feedback nobody handled yet, on cases still open to it, oldest first."""
    return (
        Feedback.objects.filter(handled_at__isnull=True, request__is_archived=False)
        .select_related("request", "author")
        .order_by("created_at", "pk")
    )


def feedback_page(*, user: User, pk) -> Feedback:
    """Return one piece of feedback `user` may read, with what its page shows; or 404."""
    queryset = _with_feedback_rows(Feedback.objects.all()).prefetch_related(
        Prefetch("suggestions", queryset=Suggestion.objects.order_by("-created_at", "-pk"))
    )
    return permissions.get_visible_feedback_or_404(user, pk, queryset)


def participation(request: CollabRequest) -> list[FeedbackInvitation]:
    """Return who was asked for feedback on the case and whether they answered."""
    return list(
        FeedbackInvitation.objects.filter(request_id=request.pk)
        .select_related("user__department")
        .order_by("user__department__code", "user__username")
    )


# --- suggestions -----------------------------------------------------------------------


@dataclass(frozen=True)
class SuggestionFilters:
    state: str = ""
    mine: bool = False


def suggestion_list(*, user: User, filters: SuggestionFilters) -> QuerySet[Suggestion]:
    """Return the suggestions `user` may see, filtered, newest first."""
    queryset = Suggestion.objects.all()
    if filters.state in SuggestionState.values:
        queryset = queryset.filter(state=filters.state)
    if filters.mine:
        queryset = queryset.filter(proposer_id=user.pk)
    return (
        permissions.visible_suggestions(user, queryset)
        .select_related("department", "proposer", "request")
        .order_by("-created_at", "-pk")
    )


def suggestions_awaiting_evaluation() -> QuerySet[Suggestion]:
    """Return the suggestions the PMO still has to decide on (已提交 and 評估中)."""
    return (
        Suggestion.objects.filter(state__in=[SuggestionState.SUBMITTED, SuggestionState.EVALUATING])
        .select_related("department", "proposer")
        .order_by("created_at", "pk")
    )


def suggestion_page(*, user: User, pk) -> Suggestion:
    """Return a suggestion `user` may see, with its history and sources; or 404."""
    queryset = Suggestion.objects.select_related(
        "department",
        "proposer",
        "request",
        "source_action",
        "source_feedback",
    ).prefetch_related(
        Prefetch("events", queryset=SuggestionEvent.objects.select_related("by").order_by("at"))
    )
    return permissions.get_visible_suggestion_or_404(user, pk, queryset)


def suggestions_of_case(*, user: User, request: CollabRequest) -> QuerySet[Suggestion]:
    return (
        permissions.visible_suggestions(user, Suggestion.objects.filter(request_id=request.pk))
        .select_related("proposer", "department")
        .order_by("-created_at", "-pk")
    )
