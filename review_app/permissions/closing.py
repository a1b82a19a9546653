"""Who may see and do what: Final acceptance 成果驗收確認單 and the retrospective 復盤報告.

Seeing: whoever can see the request (requests_app.permissions) sees its final acceptance,
its retrospective and both PDFs.

The final acceptance: the initiator (or the PMO) opens it while the request is 進行中;
each involved department signs or refuses it through its head or a deputy acting for
that head today (collab.selectors.department_actor).

The retrospective: the initiator and the PMO write all of it and file it. A head (or
an acting deputy) of an involved department writes their own department's contribution
too, while the retrospective is a draft: the department knows best what it did, and
the initiator keeps the rest of the report. Nobody writes once it is filed or archived.
"""

from __future__ import annotations

from collections.abc import Iterable

from collab import selectors as org
from collab.models import User
from collab.selectors import Actor
from requests_app import permissions as request_permissions
from requests_app.choices import RequestState
from requests_app.models import CollabRequest

from ..choices import FinalOutcome, RetrospectiveState, SignatureDecision
from ..models import FinalSignature, Retrospective


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_view(user: User, request: CollabRequest) -> bool:
    """Whoever can see the request sees its closing (panels, retrospective, PDFs)."""
    return request_permissions.can_view(user, request)


def get_visible_or_404(user: User, pk, queryset=None) -> CollabRequest:
    """Return the request if `user` may see it, else 404 (its existence stays hidden)."""
    return request_permissions.get_visible_or_404(user, pk, queryset)


# --- final acceptance ----------------------------------------------------------------


def may_open_final(user: User, request: CollabRequest) -> bool:
    """The initiator or the PMO, whatever the request's state (the service says why not)."""
    return _active(user) and (request.initiator_id == user.pk or user.is_pmo)


def can_open_final(user: User, request: CollabRequest) -> bool:
    """The initiator or the PMO open the final acceptance of a request 進行中."""
    return (
        request.state == RequestState.IN_PROGRESS
        and not request.is_archived
        and may_open_final(user, request)
    )


def signing_actor(user: User, signature: FinalSignature) -> Actor | None:
    """Return how `user` may sign or refuse this department's signature, or None.

    Only a pending signature of an open round of a request 進行中 can be answered, by the
    department's head or a deputy acting for that head today.
    """
    if (
        not _active(user)
        or signature.decision != SignatureDecision.PENDING
        or signature.final.outcome != FinalOutcome.OPEN
        or signature.final.request.state != RequestState.IN_PROGRESS
    ):
        return None
    return org.department_actor(user=user, department=signature.department)


def actors_by_department(user: User, departments: Iterable) -> dict[int, Actor]:
    """Return {department id: Actor} for the departments `user` may act for today.

    The rule of collab.selectors.ActingHeads, as the to-do page's breakdown signatures
    use it: one query of today's delegations whatever the number of departments. The
    departments must have their heads prefetched (`heads`).
    """
    departments = list(departments)
    if not (_active(user) and departments):
        return {}
    acting = org.ActingHeads()
    actors: dict[int, Actor] = {}
    for department in departments:
        actor = acting.actor(user, department.pk, list(department.heads.all()))
        if actor is not None:
            actors[department.pk] = actor
    return actors


# --- retrospective -------------------------------------------------------------------


def _retrospective_open(retrospective: Retrospective) -> bool:
    return retrospective.state == RetrospectiveState.DRAFT and not retrospective.request.is_archived


def may_edit_retrospective(user: User, request: CollabRequest) -> bool:
    """The initiator or the PMO, whatever the retrospective's state."""
    return _active(user) and (request.initiator_id == user.pk or user.is_pmo)


def can_edit_retrospective(user: User, retrospective: Retrospective) -> bool:
    """The initiator and the PMO write the whole retrospective while it is a draft."""
    return _retrospective_open(retrospective) and may_edit_retrospective(
        user, retrospective.request
    )


def can_file_retrospective(user: User, retrospective: Retrospective) -> bool:
    return can_edit_retrospective(user, retrospective)


def contribution_departments(user: User, retrospective: Retrospective) -> set[int]:
    """Return the ids of the departments whose contribution `user` may write now.

    The initiator and the PMO: every department of the retrospective. A head or an
    acting deputy: the departments they act for. Nobody once it is filed or archived.
    """
    if not _active(user) or not _retrospective_open(retrospective):
        return set()
    listed = {c.department_id for c in retrospective.contributions.all()}
    if can_edit_retrospective(user, retrospective):
        return listed
    actable = set(org.departments_actable(user=user).values_list("pk", flat=True))
    return listed & actable


def can_write_retrospective(user: User, retrospective: Retrospective) -> bool:
    """Whether `user` may open the edit page (all of it, or some contributions)."""
    return bool(contribution_departments(user, retrospective))
