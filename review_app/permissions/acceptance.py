"""Who may see and do what: Task acceptance 成果驗收 (verdicts 通過 / 需整改 / 不通過).

Seats (AcceptanceVerdict rows) are made when a round opens
(review_app.services.acceptance.acceptance_seats). Here is who may answer one:

- a person's seat (the task's A, the request's initiator): that person;
- a department's seat: any head of the department, or a deputy acting today for one
  of its heads (collab.selectors.department_actor), answering on that head's behalf;
- never the task's Responsible person (R): nobody accepts their own deliverable, not
  as a head, not through a deputy acting for them.

Seeing the acceptance (rounds, answers, files) follows the task: whoever may see the
task (tasks_app.permissions) sees its acceptance; the case page follows the request.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from collab import selectors as org
from collab.models import User
from collab.selectors import Actor
from tasks_app import permissions as task_permissions
from tasks_app.choices import RaciRole, TaskState
from tasks_app.models import Task, TaskAssignment

from ..choices import AcceptanceOutcome, Verdict
from ..models import AcceptanceVerdict


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def responsible_id(task: Task) -> int | None:
    """Return the id of the task's Responsible person (from prefetched rows if any)."""
    for assignment in task.assignments.all():
        if assignment.role == RaciRole.RESPONSIBLE:
            return assignment.user_id
    return None


def can_view(user: User, task: Task) -> bool:
    """The acceptance of a task is seen by whoever may see the task."""
    return task_permissions.can_view(user, task)


def seat_actor(user: User, verdict: AcceptanceVerdict, *, responsible: int | None) -> Actor | None:
    """Return how `user` may answer this seat, or None; whatever the round's state.

    `responsible` is the id of the task's R, who never answers. The caller checks that
    the round is open and the seat unanswered (services.acceptance does, under lock).
    """
    if not _active(user) or user.pk == responsible:
        return None
    if verdict.reviewer_id is not None:
        return Actor(user=user) if verdict.reviewer_id == user.pk else None
    actor = org.department_actor(user=user, department=verdict.department)
    if (
        actor is not None
        and actor.on_behalf_of is not None
        and actor.on_behalf_of.pk == responsible
    ):
        return None  # a deputy of the R would accept the R's own deliverable
    return actor


def is_open(verdict: AcceptanceVerdict) -> bool:
    """The seat waits for an answer in a round still open."""
    return (
        verdict.decision == Verdict.PENDING and verdict.acceptance.outcome == AcceptanceOutcome.OPEN
    )


def acting_for(user: User) -> dict[int, User | None]:
    """The departments `user` may answer a department seat for today (collab's rule)."""
    if not _active(user):
        return {}
    return org.acting_for(user)


def answerable_verdicts(user: User, *, acting: dict | None = None) -> QuerySet[AcceptanceVerdict]:
    """Return the seats waiting on `user`: their person seats and the department seats
    they may answer today, in open rounds of submitted tasks they are not R of.

    Each row is annotated with `responsible_id`; the caller drops department seats a
    deputy holds only on the R's behalf (see `keep_answerable`).
    """
    if not _active(user):
        return AcceptanceVerdict.objects.none()
    acting = acting_for(user) if acting is None else acting
    own_task = TaskAssignment.objects.filter(
        task=OuterRef("acceptance__task"), user=user, role=RaciRole.RESPONSIBLE
    )
    responsible = TaskAssignment.objects.filter(
        task=OuterRef("acceptance__task"), role=RaciRole.RESPONSIBLE
    ).values("user_id")[:1]
    return (
        AcceptanceVerdict.objects.filter(
            decision=Verdict.PENDING,
            acceptance__outcome=AcceptanceOutcome.OPEN,
            acceptance__task__state=TaskState.SUBMITTED,
        )
        .filter(Q(reviewer=user) | Q(department_id__in=list(acting)))
        .exclude(Exists(own_task))
        .annotate(responsible_id=Subquery(responsible))
    )


def keep_answerable(verdicts, acting: dict) -> list[AcceptanceVerdict]:
    """Drop department seats whose only way in is acting for the R; mark `acting_for`."""
    kept = []
    for verdict in verdicts:
        verdict.acting_for = None
        if verdict.department_id is not None:
            head = acting.get(verdict.department_id)
            if head is not None and head.pk == verdict.responsible_id:
                continue
            verdict.acting_for = head
        kept.append(verdict)
    return kept


def can_answer(user: User, task: Task) -> bool:
    """`user` holds a seat of the task's open round that still waits for an answer."""
    if not _active(user):
        return False
    verdicts = AcceptanceVerdict.objects.filter(
        acceptance__task=task,
        acceptance__outcome=AcceptanceOutcome.OPEN,
        decision=Verdict.PENDING,
    ).select_related("acceptance", "department")
    responsible = responsible_id(task)
    return any(seat_actor(user, v, responsible=responsible) is not None for v in verdicts)
