"""Reads over tasks: the breakdown's signatures, and lists used by several pages."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from collab.models import Department

from .choices import RaciRole
from .models import Breakdown, BreakdownSignature, Task, TaskAssignment


def breakdown_departments(breakdown: Breakdown) -> list[Department]:
    """Return the departments whose heads must sign: the request's collaborating ones."""
    return [link.department for link in breakdown.request.department_links.all()]


def breakdown_valid_signatures(breakdown: Breakdown) -> QuerySet[BreakdownSignature]:
    return breakdown.signatures.filter(version=breakdown.version, voided_at__isnull=True)


def breakdown_missing_signatures(breakdown: Breakdown) -> list[Department]:
    """Return the involved departments that have not signed the current version."""
    signed = set(breakdown_valid_signatures(breakdown).values_list("department_id", flat=True))
    return [d for d in breakdown_departments(breakdown) if d.pk not in signed]


def tasks_with_people(queryset: QuerySet[Task]) -> QuerySet[Task]:
    """Add what task lists show: departments, RACI people and predecessors, in few queries."""
    return queryset.select_related("request", "responsible_department").prefetch_related(
        "supporting_departments",
        Prefetch(
            "assignments",
            queryset=TaskAssignment.objects.select_related("user__department").order_by(
                "role", "pk"
            ),
        ),
        Prefetch("depends_on", queryset=Task.objects.only("pk", "number", "name", "state")),
    )


def raci_of(task: Task) -> dict[str, list]:
    """Return {"R": [user], "A": [user], "C": [...], "I": [...]} from prefetched rows."""
    roles: dict[str, list] = {role: [] for role in RaciRole.values}
    for assignment in task.assignments.all():
        roles[assignment.role].append(assignment.user)
    return roles
