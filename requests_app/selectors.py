"""Reads for the request pages. Every one starts from permissions.visible_requests or
permissions.reviews_actable, so no page can show what its user may not see, and each
fetches its related rows up front, so the number of queries does not grow with rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from collab import selectors as org
from collab.models import User

from . import permissions
from .choices import RequestState, ReviewDecision
from .models import (
    Attachment,
    AttachmentVersion,
    CollabRequest,
    DepartmentReview,
    RequestDepartment,
    RequestEvent,
    ResourceNeed,
)

SCOPE_ALL, SCOPE_MINE, SCOPE_DEPARTMENT = "all", "mine", "department"
_STATE_LABELS = dict(RequestState.choices)


def request_list(
    *, user: User, scope: str = SCOPE_ALL, state: str = "", search: str = ""
) -> QuerySet[CollabRequest]:
    """Return the requests `user` sees, narrowed by scope, state and a search text.

    scope "mine": filed by the user; "department": initiated by or involving one of
    the user's departments; anything else: all the user may see. The search matches a
    substring of the name or the number (Chinese included: icontains is a LIKE).
    """
    queryset = permissions.visible_requests(user)
    if scope == SCOPE_MINE:
        queryset = queryset.filter(initiator=user)
    elif scope == SCOPE_DEPARTMENT:
        departments = list(org.user_department_ids(user))
        involved = RequestDepartment.objects.filter(
            request=OuterRef("pk"), department_id__in=departments
        )
        queryset = queryset.filter(Q(initiating_department_id__in=departments) | Exists(involved))
    if state:
        queryset = queryset.filter(state=state)
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(number__icontains=search))
    return (
        queryset.select_related("initiating_department", "initiator")
        .prefetch_related(
            Prefetch(
                "department_links",
                queryset=RequestDepartment.objects.select_related("department"),
            )
        )
        .order_by("-updated_at", "-pk")
    )


@dataclass
class DepartmentRow:
    """A collaborating department with its answer in the current review round."""

    link: RequestDepartment
    review: DepartmentReview | None


@dataclass
class RequestPage:
    """Everything the detail page shows about one request."""

    request: CollabRequest
    departments: list[DepartmentRow]
    current_reviews: list[DepartmentReview]
    past_rounds: list[tuple[int, list[DepartmentReview]]]
    events: list[RequestEvent]
    attachments: list[Attachment] = field(default_factory=list)


def request_page(*, user: User, pk) -> RequestPage:
    """Return the detail page's data for request `pk`, or 404 if `user` may not see it."""
    queryset = CollabRequest.objects.select_related(
        "initiating_department", "initiator"
    ).prefetch_related(
        Prefetch(
            "department_links", queryset=RequestDepartment.objects.select_related("department")
        ),
        "goals",
        "milestones",
        Prefetch("resource_needs", queryset=ResourceNeed.objects.select_related("department")),
        Prefetch("attachments", queryset=_attachments()),
        Prefetch(
            "events",
            queryset=RequestEvent.objects.select_related("by", "on_behalf_of", "department"),
        ),
        Prefetch(
            "reviews",
            queryset=DepartmentReview.objects.select_related(
                "department", "decided_by", "on_behalf_of"
            ),
        ),
    )
    request = permissions.get_visible_or_404(user, pk, queryset)
    reviews = list(request.reviews.all())
    for review in reviews:
        review.request = request  # permissions.review_actor reads it; no query
    current = [r for r in reviews if r.round == request.review_round and request.review_round]
    by_department = {r.department_id: r for r in current}
    past = sorted(
        (r for r in reviews if r.round < request.review_round), key=lambda r: (-r.round, r.pk)
    )
    events = list(request.events.all())
    for event in events:
        event.from_label = _STATE_LABELS.get(event.from_state, event.from_state)
        event.to_label = _STATE_LABELS.get(event.to_state, event.to_state)
    return RequestPage(
        request=request,
        departments=[
            DepartmentRow(link=link, review=by_department.get(link.department_id))
            for link in request.department_links.all()
        ],
        current_reviews=current,
        past_rounds=[(n, list(rows)) for n, rows in groupby(past, key=lambda r: r.round)],
        events=events,
        attachments=list(request.attachments.all()),
    )


def _attachments() -> QuerySet[Attachment]:
    return Attachment.objects.select_related("created_by").prefetch_related(
        Prefetch("versions", queryset=AttachmentVersion.objects.select_related("uploaded_by"))
    )


def attachments_of(*, request: CollabRequest) -> list[Attachment]:
    """Return a request's attachments, each with all its versions, newest first."""
    return list(_attachments().filter(request=request))


def review_for_request(*, request: CollabRequest, review_pk) -> DepartmentReview | None:
    """Return the review `review_pk` of `request`, or None if it belongs elsewhere."""
    review = (
        DepartmentReview.objects.select_related("department", "decided_by", "on_behalf_of")
        .filter(request=request, pk=review_pk)
        .first()
    )
    if review is not None:
        review.request = request
    return review


def reviews_todo(*, user: User) -> list[DepartmentReview]:
    """Return the reviews waiting on `user`, soonest due first.

    Each carries `acting_for`: the head the user stands in for when the review is
    theirs only through a delegation (None when the user heads the department).
    """
    reviews = list(
        permissions.reviews_actable(user)
        .select_related("request", "request__initiating_department", "department")
        .order_by("due_date", "request__number", "pk")
    )
    if not reviews:
        return reviews
    acting_for = org.acting_for(user)
    for review in reviews:
        review.acting_for = acting_for.get(review.department_id)
    return reviews


def requests_awaiting_confirmation(*, user: User) -> QuerySet[CollabRequest]:
    """Return the pending requests every department agreed to, for those who confirm."""
    if not permissions.can_confirm(user):
        return CollabRequest.objects.none()
    current = DepartmentReview.objects.filter(
        request=OuterRef("pk"), round=OuterRef("review_round")
    )
    return (
        permissions.visible_requests(user)
        .filter(state=RequestState.PENDING)
        .filter(Exists(current))
        .exclude(Exists(current.exclude(decision=ReviewDecision.APPROVED)))
        .select_related("initiating_department", "initiator")
        .order_by("submitted_at", "pk")
    )


def requests_to_revise(*, user: User) -> QuerySet[CollabRequest]:
    """Return the user's own requests sent back for revision."""
    return (
        permissions.visible_requests(user)
        .filter(initiator=user, state=RequestState.REVISION)
        .select_related("initiating_department")
        .order_by("-updated_at", "pk")
    )
