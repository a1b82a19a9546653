"""Who may see and do what with a request. Every view, download, PDF and admin page
asks here; nothing else decides.

Visibility: the initiating department and the collaborating departments see a request;
PMO, executives and superusers see all; anyone else only through a per-object grant
in django-guardian's direct-foreign-key table (e.g. a RACI role, granted by tasks_app).
The department rule reads indexed foreign keys, not a row per person in guardian's
tables, so it stays cheap at scale (guardian's performance page); visible_requests says
how the rules become one query that uses those indexes.
An archived case (歸檔) is a reference for all active staff unless it is confidential;
a confidential one keeps the rules above. That is one more term on the request's own
columns, so it adds no join.

Seeing is not taking part. The guardian grant and the archive give sight only: the
people who take part in a request (participating_requests: its departments' members,
heads and today's deputies, the initiator, PMO, executives and superusers) write on
it; someone who sees it only through a RACI role on one of its tasks writes on that
task alone (tasks_app.permissions.writable_tasks), never on the request.

Every can_* below says no for an archived case: it is read-only for everyone.
"""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from collab import selectors as org
from collab.models import User
from collab.permissions import get_or_404
from collab.selectors import Actor

from .choices import EDITABLE_STATES, OPEN_STATES, RequestState, ReviewDecision
from .models import (
    CollabRequest,
    CollabRequestUserObjectPermission,
    DepartmentReview,
    RequestDepartment,
)

VIEW_PERMISSION = "view_collabrequest"


def visible_requests(user: User, queryset: QuerySet | None = None) -> QuerySet[CollabRequest]:
    """Return the requests `user` may see; every list and lookup starts here.

    The query shape matters at scale (10k requests, `make bench`): the tests on the
    request's own columns come first, and the two ways of seeing a request through
    another table (a collaborating department, a guardian grant) are one `IN` over a
    UNION ALL of two index scans. PostgreSQL evaluates that set once per query, and
    only when a row's own columns have not answered already (a lookup by pk seldom
    needs it). An EXISTS per row for each of them instead made the planner's estimate
    so high that PostgreSQL compiled every such query with JIT (+20 ms each).
    """
    queryset = CollabRequest.objects.all() if queryset is None else queryset
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.sees_everything:
        return queryset
    departments = _departments_of(user)
    granted = CollabRequestUserObjectPermission.objects.filter(
        user=user, permission__codename=VIEW_PERMISSION
    ).values("content_object_id")
    rule = Q(initiator=user) | Q(is_archived=True, is_confidential=False)
    if departments:
        collaborates = RequestDepartment.objects.filter(department_id__in=departments).values(
            "request_id"
        )
        rule |= Q(initiating_department_id__in=departments) | Q(
            pk__in=granted.order_by().union(collaborates.order_by(), all=True)
        )
    else:
        rule |= Q(pk__in=granted)
    return queryset.filter(rule)


def _departments_of(user: User) -> list[int]:
    """Return the departments `user` belongs to, leads, or acts for as a deputy today.

    A deputy sees (and takes part in) what the head's departments do while the
    delegation runs.
    """
    return list(
        org.user_department_ids(user)
        | set(org.departments_actable(user=user).values_list("pk", flat=True))
    )


def participating_requests(user: User, queryset: QuerySet | None = None) -> QuerySet[CollabRequest]:
    """Return the requests `user` takes part in, and so may write on.

    visible_requests without its two ways of seeing a request only to read it: the
    guardian grant a RACI role gives (sight of the whole request, for context) and the
    archive's reference for all staff.
    """
    queryset = CollabRequest.objects.all() if queryset is None else queryset
    if not _active(user):
        return queryset.none()
    if user.sees_everything:
        return queryset
    departments = _departments_of(user)
    rule = Q(initiator=user)
    if departments:
        collaborates = RequestDepartment.objects.filter(department_id__in=departments).values(
            "request_id"
        )
        rule |= Q(initiating_department_id__in=departments) | Q(pk__in=collaborates)
    return queryset.filter(rule)


def takes_part(user: User, request: CollabRequest) -> bool:
    """Whether `user` takes part in `request` (more than a RACI role's sight of it)."""
    return participating_requests(user).filter(pk=request.pk).exists()


def get_visible_or_404(user: User, pk, queryset: QuerySet | None = None) -> CollabRequest:
    """Return the request if `user` may see it; otherwise 404, so its existence stays hidden."""
    return get_or_404(visible_requests(user, queryset), pk)


def can_view(user: User, request: CollabRequest) -> bool:
    return visible_requests(user).filter(pk=request.pk).exists()


def _active(user: User) -> bool:
    """Only a signed-in, active account may act; a deactivated PMO is nobody."""
    return user.is_authenticated and user.is_active


def can_create(user: User) -> bool:
    """Anyone who belongs to a department may file a request for it."""
    return user.is_authenticated and user.is_active and user.department_id is not None


def can_edit(user: User, request: CollabRequest) -> bool:
    """The initiator edits while the request is a draft or sent back; so does the PMO."""
    if not _active(user) or request.state not in EDITABLE_STATES or request.is_archived:
        return False
    return request.initiator_id == user.pk or user.is_pmo or user.is_superuser


def can_submit(user: User, request: CollabRequest) -> bool:
    return can_edit(user, request)


def can_attach(user: User, request: CollabRequest) -> bool:
    """People who take part in an open request may add files or versions to it.

    Someone who sees the request only through a RACI role on one of its tasks reads
    its files but adds none: their writes belong to their own tasks.
    """
    return request.is_open and not request.is_archived and takes_part(user, request)


def review_actor(user: User, review: DepartmentReview) -> Actor | None:
    """Return how `user` may answer this review (as head or deputy), or None."""
    if (
        review.request.is_archived
        or review.decision != ReviewDecision.PENDING
        or review.round != review.request.review_round
        or review.request.state != RequestState.PENDING
    ):
        return None
    return org.department_actor(user=user, department=review.department)


def can_confirm(user: User, request: CollabRequest | None = None) -> bool:
    """The PMO (and platform admins) confirm a request as a project."""
    if request is not None and request.is_archived:
        return False
    return _active(user) and (user.is_pmo or user.is_platform_admin)


def can_start(user: User, request: CollabRequest) -> bool:
    if request.is_archived:
        return False
    return _active(user) and (
        user.is_pmo or user.is_platform_admin or request.initiator_id == user.pk
    )


def can_complete(user: User, request: CollabRequest) -> bool:
    return can_start(user, request)


def can_cancel(user: User, request: CollabRequest) -> bool:
    """The initiator or the PMO cancel an open request."""
    if not _active(user) or request.state not in OPEN_STATES or request.is_archived:
        return False
    return request.initiator_id == user.pk or user.is_pmo or user.is_platform_admin


def can_transition(user: User, request: CollabRequest, name: str) -> bool:
    """Answer for a transition by name; django-fsm's permission hook calls this."""
    rule = {
        "submit": can_submit,
        "confirm": can_confirm,
        "start": can_start,
        "complete": can_complete,
        "cancel": can_cancel,
    }.get(name)
    return bool(rule and user.is_authenticated and not request.is_archived and rule(user, request))


def reviews_actable(user: User) -> QuerySet[DepartmentReview]:
    """Return the open reviews waiting on `user` as head or as an active deputy."""
    return DepartmentReview.objects.filter(
        decision=ReviewDecision.PENDING,
        request__state=RequestState.PENDING,
        department__in=org.departments_actable(user=user),
        round=F("request__review_round"),
    )
