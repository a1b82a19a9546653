"""Who may see and do what with risk reports. Every view, PDF and admin page of this app
asks here; nothing else decides.

- Seeing: a risk report is visible to whoever may see its request
  (requests_app.permissions.visible_requests), to its reporter and response owner, and
  to the heads (and today's deputies) of the departments a high risk affects (it tells
  them at once).
- Reporting: whoever takes part in the request (its departments, the initiator, today's
  deputies) or holds a RACI role on one of its tasks, and the PMO, while the request is
  已立項 or 進行中 and not archived.
- Responding: the PMO (and platform administrators) organise the response (an owner, a
  deadline, a plan) and close a report as not relevant; the PMO or the response owner
  mark it resolved or occurred.
Nothing changes on an archived case.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from collab import selectors as org
from collab.models import User
from collab.permissions import get_or_404
from requests_app import permissions as request_permissions
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from tasks_app.models import Task

from .choices import RiskLevel, RiskState
from .models import Risk

REPORTABLE_STATES = (RequestState.APPROVED, RequestState.IN_PROGRESS)


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def _manager(user: User) -> bool:
    return user.is_pmo or user.is_platform_admin


def visible_risks(user: User, queryset: QuerySet | None = None) -> QuerySet[Risk]:
    """Return the risk reports `user` may see; every list and lookup starts here."""
    queryset = Risk.objects.all() if queryset is None else queryset
    if not _active(user):
        return queryset.none()
    if user.sees_everything:
        return queryset
    requests = request_permissions.visible_requests(user).values("pk")
    rule = Q(request__in=requests) | Q(reported_by=user) | Q(owner=user)
    led = list(org.departments_actable(user=user).values_list("pk", flat=True))
    if led:
        # The heads (and today's deputies) of a department a high risk affects: it tells
        # them at once (services.risk_report), and they read what they were told of.
        affected = Risk.affected_departments.through.objects.filter(
            risk_id=OuterRef("pk"), department_id__in=led
        )
        rule |= Q(Exists(affected), level=RiskLevel.HIGH)
    return queryset.filter(rule)


def get_visible_or_404(user: User, pk, queryset: QuerySet | None = None) -> Risk:
    return get_or_404(visible_risks(user, queryset), pk)


def _on_a_task(user: User, request: CollabRequest) -> bool:
    return Task.objects.filter(request=request, assignments__user=user).exists()


def can_report(user: User, request: CollabRequest) -> bool:
    """Whether `user` may file a risk report on `request` now."""
    if not _active(user) or request.is_archived or request.state not in REPORTABLE_STATES:
        return False
    if _manager(user):
        return True
    return request_permissions.takes_part(user, request) or _on_a_task(user, request)


def reportable_requests(user: User) -> QuerySet[CollabRequest]:
    """The requests `user` may file a risk report on (the form's choice)."""
    rows = CollabRequest.objects.filter(state__in=REPORTABLE_STATES, is_archived=False)
    if not _active(user):
        return rows.none()
    if _manager(user):
        return rows
    # A subquery, not a join through the tasks: a join would repeat the request once per
    # RACI row of its tasks.
    on_a_task = Task.objects.filter(assignments__user=user).values("request_id")
    return request_permissions.participating_requests(user, rows) | rows.filter(pk__in=on_a_task)


def can_edit_matrix(user: User) -> bool:
    """The PMO and platform administrators set the scoring matrix's levels."""
    return _active(user) and _manager(user)


def can_organise(user: User, risk: Risk) -> bool:
    """The PMO names the owner, the deadline and the plan, and closes a report as not
    relevant."""
    return _active(user) and _manager(user) and not risk.request.is_archived


def can_conclude(user: User, risk: Risk) -> bool:
    """The PMO or the response owner mark a risk resolved or occurred."""
    if not _active(user) or risk.request.is_archived or risk.state != RiskState.RESPONDING:
        return False
    return _manager(user) or risk.owner_id == user.pk


def can_transition(user: User, risk: Risk, name: str) -> bool:
    if name in ("resolve", "occur"):
        return can_conclude(user, risk)
    return can_organise(user, risk)
