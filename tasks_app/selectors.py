"""Reads over tasks: the breakdown's signatures, and lists used by several pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from collab import selectors as org
from collab.models import Department, User
from collab.selectors import Actor
from requests_app.choices import RequestState
from requests_app.models import CollabRequest, RequestDepartment

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


@dataclass(frozen=True)
class SignatureTodo:
    """A department's 簽署 of a breakdown that waits on someone, and how they act."""

    link: RequestDepartment
    actor: Actor

    @property
    def request(self) -> CollabRequest:
        return self.link.request

    @property
    def department(self) -> Department:
        return self.link.department


def breakdowns_awaiting_signature(user: User) -> list[SignatureTodo]:
    """Return the 任務分工表 waiting for `user`'s 簽署, longest waiting first.

    One row per request 已立項 (not archived) with tasks and per collaborating
    department that has not signed the current version, where `user` may sign for that
    department today: as its head, or as a deputy (the rule of
    collab.selectors.ActingHeads, as services.breakdown_sign checks it). Three queries,
    whatever the number of rows.
    """
    if not (user.is_authenticated and user.is_active):
        return []
    acting = org.ActingHeads()
    # The departments led by the user or by a head they deputise for: a superset that
    # ActingHeads.actor narrows to the departments their delegations cover.
    heads = {user.pk} | acting.heads_deputised_by(user.pk)
    led = Department.heads.through.objects.filter(user_id__in=heads).values("department_id")
    signed = BreakdownSignature.objects.filter(
        breakdown__request=OuterRef("request"),
        department=OuterRef("department"),
        version=OuterRef("request__breakdown__version"),
        voided_at__isnull=True,
    )
    links = (
        RequestDepartment.objects.filter(
            request__state=RequestState.APPROVED,
            request__is_archived=False,
            department_id__in=led,
        )
        .filter(Exists(Task.objects.filter(request=OuterRef("request"))))
        .exclude(Exists(signed))
        .select_related("request__initiating_department", "request__breakdown", "department")
        .prefetch_related("department__heads")
        .order_by("request__approved_at", "request__number", "pk")
    )
    rows = []
    for link in links:
        actor = acting.actor(user, link.department_id, list(link.department.heads.all()))
        if actor is not None:
            rows.append(SignatureTodo(link=link, actor=actor))
    return rows


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
        Prefetch(
            "depends_on", queryset=Task.objects.only("pk", "sequence", "number", "name", "state")
        ),
    )


def raci_of(task: Task) -> dict[str, list]:
    """Return {"R": [user], "A": [user], "C": [...], "I": [...]} from prefetched rows."""
    roles: dict[str, list] = {role: [] for role in RaciRole.values}
    for assignment in task.assignments.all():
        roles[assignment.role].append(assignment.user)
    return roles
