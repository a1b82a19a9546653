"""Reads over tasks: the breakdown's signatures, the task pages' lists, and the asks.

The views parse input, call these and render; each function says what it reads and,
for the list pages, in how many queries (tests pin those counts).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    When,
)
from django.db.models import Value as V
from django.shortcuts import get_object_or_404

from collab import selectors as org
from collab.models import Department, User
from collab.selectors import Actor
from requests_app.choices import RequestState
from requests_app.models import CollabRequest, RequestDepartment

from . import permissions
from .choices import OPEN_TASK_STATES, AskStatus, RaciRole, TaskState
from .models import (
    Breakdown,
    BreakdownSignature,
    CollabAsk,
    DueDateChange,
    ProgressUpdate,
    Task,
    TaskAssignment,
    TaskComment,
    TaskDeliverable,
    TaskEvent,
)

if TYPE_CHECKING:
    from .deadlines import Deadlines


def breakdown_departments(breakdown: Breakdown) -> list[Department]:
    """Return the departments whose heads must sign: the request's collaborating ones."""
    return [link.department for link in breakdown.request.department_links.all()]


def breakdown_valid_signatures(breakdown: Breakdown) -> QuerySet[BreakdownSignature]:
    return breakdown.signatures.filter(version=breakdown.version, voided_at__isnull=True)


def breakdown_missing_signatures(breakdown: Breakdown) -> list[Department]:
    """Return the involved departments that have not signed the current version."""
    signed = set(breakdown_valid_signatures(breakdown).values_list("department_id", flat=True))
    return [d for d in breakdown_departments(breakdown) if d.pk not in signed]


def breakdown_signed(request: CollabRequest) -> bool:
    """The request's breakdown has tasks and a valid signature from every involved head.

    Registered with requests_app.guards as the condition of 已立項 → 進行中.
    """
    breakdown = getattr(request, "breakdown", None)
    if breakdown is None or not request.tasks.exists():
        return False
    return not breakdown_missing_signatures(breakdown)


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


# --- 我的任務 -------------------------------------------------------------------------


def user_holds_role(user: User, roles) -> Exists:
    """Return an Exists over a task queryset: `user` holds one of `roles` on the task."""
    return Exists(TaskAssignment.objects.filter(task=OuterRef("pk"), user=user, role__in=roles))


def tasks_responsible(user: User) -> QuerySet[Task]:
    """Return the tasks `user` is Responsible for, with what 我的任務 shows."""
    return tasks_with_people(permissions.tasks_held(user, [RaciRole.RESPONSIBLE]))


def tasks_watched(user: User) -> QuerySet[Task]:
    """Return the open tasks where `user` is A, C or I but not R, soonest due first."""
    queryset = (
        permissions.tasks_held(user, [RaciRole.ACCOUNTABLE, RaciRole.CONSULTED, RaciRole.INFORMED])
        .filter(state__in=OPEN_TASK_STATES)
        .exclude(user_holds_role(user, [RaciRole.RESPONSIBLE]))
    )
    return tasks_with_people(queryset).order_by("due_at", "number")


def task_for_card(user: User, pk) -> Task:
    """Return a task `user` may see, with what its 我的任務 card shows, or raise Http404."""
    return permissions.get_visible_or_404(user, pk, tasks_with_people(Task.objects.all()))


def roles_of(user: User, task: Task) -> list[str]:
    """Return the user's RACI roles on a task, from its prefetched assignments."""
    return [a.role for a in task.assignments.all() if a.user_id == user.pk]


def unfinished_predecessors(task: Task) -> list[Task]:
    """Return the task's predecessors that are not done, from its prefetched depends_on."""
    return [p for p in task.depends_on.all() if p.state != TaskState.DONE]


def start_blocker(task: Task) -> str:
    """Return why a to-do task cannot start yet ("" when it can), from prefetched rows.

    "request" while the request is not 進行中; "predecessors" while a predecessor is not
    done and the Accountable person has not let the task start anyway.
    """
    if task.state != TaskState.TODO:
        return ""
    if task.request.state != RequestState.IN_PROGRESS:
        return "request"
    if not task.dependency_override.strip() and unfinished_predecessors(task):
        return "predecessors"
    return ""


# --- the task page --------------------------------------------------------------------


def task_links() -> QuerySet[Task]:
    """Return tasks as the dependency lists show them: number, name and state."""
    return Task.objects.only("pk", "number", "name", "state").order_by("sequence")


def task_for_page(user: User, pk) -> Task:
    """Return a task `user` may see, with everything its page shows, or raise Http404.

    Every list on the page is prefetched here, so the page's queries do not grow with
    its history, files or dependencies.
    """
    queryset = Task.objects.select_related("request", "responsible_department").prefetch_related(
        "supporting_departments",
        Prefetch(
            "assignments",
            queryset=TaskAssignment.objects.select_related("user__department").order_by(
                "role", "pk"
            ),
        ),
        Prefetch("depends_on", queryset=task_links()),
        Prefetch("dependents", queryset=task_links()),
        Prefetch("progress_updates", queryset=ProgressUpdate.objects.select_related("author")),
        Prefetch("due_changes", queryset=DueDateChange.objects.select_related("changed_by")),
        Prefetch("events", queryset=TaskEvent.objects.select_related("by", "on_behalf_of")),
        Prefetch(
            "deliverables",
            queryset=TaskDeliverable.objects.select_related("uploaded_by").order_by(
                "-round", "-uploaded_at", "-pk"
            ),
        ),
    )
    return permissions.get_visible_or_404(user, pk, queryset)


def task_events(task: Task) -> list[TaskEvent]:
    """Return the task's history, from its prefetched events, with the state labels shown."""
    labels = dict(TaskState.choices)
    events = list(task.events.all())
    for event in events:
        event.from_label = labels.get(event.from_state, event.from_state)
        event.to_label = labels.get(event.to_state, event.to_state)
    return events


def task_deliverable(task: Task, pk) -> TaskDeliverable:
    """Return one of the task's deliverable files, or raise Http404."""
    return get_object_or_404(TaskDeliverable, pk=pk, task=task)


# --- a head's department page -----------------------------------------------------------


def departments_overseen(user: User) -> list[Department]:
    """Return the departments `user` heads or deputises for today, by name."""
    return list(org.departments_actable(user=user).order_by("name"))


def department_requests(departments) -> QuerySet:
    """Return (pk, number, name) of the requests with tasks in `departments`, newest first.

    Lazy: the department page's filter form reads it when it builds its choices.
    """
    return (
        CollabRequest.objects.filter(tasks__responsible_department__in=departments)
        .distinct()
        .order_by("-number")
        .values_list("pk", "number", "name")
    )


def tasks_of_departments(
    user: User,
    departments,
    *,
    department: int | None = None,
    request: int | None = None,
    states: Collection[str] | None = None,
) -> QuerySet[Task]:
    """Return the tasks of `departments` that `user` may see, soonest due first.

    `department` narrows to one of them (ignored when it is not one of them), `request`
    to one request's tasks, and `states` to those states (None: every state).
    """
    department_ids = [d.pk for d in departments]
    if department in department_ids:
        department_ids = [department]
    queryset = Task.objects.filter(responsible_department_id__in=department_ids)
    if request:
        queryset = queryset.filter(request_id=request)
    if states is not None:
        queryset = queryset.filter(state__in=states)
    return tasks_with_people(permissions.visible_tasks(user, queryset)).order_by("due_at", "number")


def department_totals(user: User, departments, deadlines: Deadlines) -> dict:
    """Count the departments' tasks `user` may see by state, and the overdue ones, in one
    query."""
    queryset = Task.objects.filter(responsible_department__in=departments)
    return permissions.visible_tasks(user, queryset).aggregate(
        todo=Count("pk", filter=Q(state=TaskState.TODO)),
        in_progress=Count("pk", filter=Q(state=TaskState.IN_PROGRESS)),
        submitted=Count("pk", filter=Q(state=TaskState.SUBMITTED)),
        done=Count("pk", filter=Q(state=TaskState.DONE)),
        overdue=Count("pk", filter=deadlines.overdue_q()),
    )


# --- comments and 協作請求 (asks) --------------------------------------------------------

# Open asks first, then answered, then closed; the soonest expected first within each.
ASK_ORDER = (
    Case(
        When(status=AskStatus.OPEN, then=V(0)),
        When(status=AskStatus.ANSWERED, then=V(1)),
        default=V(2),
        output_field=IntegerField(),
    ),
    "expected_date",
    "-created_at",
    "-pk",
)


def task_for_discussion(user: User, pk) -> Task:
    """Return a task `user` may see, with its request (the discussion's rules read its
    archive flag), or raise Http404."""
    return permissions.get_visible_or_404(
        user, pk, Task.objects.select_related("request", "responsible_department")
    )


def task_ask(task: Task, pk) -> CollabAsk:
    """Return one of the task's asks, or raise Http404."""
    return get_object_or_404(CollabAsk, pk=pk, task=task)


def task_comments(task: Task) -> list[TaskComment]:
    """Return the task's comments, oldest first, with their authors and mentions."""
    return list(
        task.comments.select_related("author", "author__department").prefetch_related("mentions")
    )


def task_asks(task: Task) -> list[CollabAsk]:
    """Return the task's asks in ASK_ORDER, with the people they name."""
    return list(asks_with_people(task.asks.all()).order_by(*ASK_ORDER))


def ask_departments(department_ids) -> QuerySet[Department]:
    """Return the departments an ask may go to (the request's), by code."""
    return Department.objects.filter(pk__in=department_ids).order_by("code")


def asks_answerable(user: User, *, department_ids: set[int] | None = None) -> QuerySet[CollabAsk]:
    """Return the asks `user` may answer by permissions.can_answer_ask, as one query.

    The person asked; for an ask to a department, its members, heads and their deputies.
    `department_ids`, when the caller has them, saves reading the user's departments.
    """
    if not (user.is_authenticated and user.is_active):
        return CollabAsk.objects.none()
    if department_ids is None:
        # The same departments as permissions.can_answer_ask: own, led, deputised.
        department_ids = org.user_department_ids(user) | set(
            org.departments_actable(user=user).values_list("pk", flat=True)
        )
    return CollabAsk.objects.filter(
        Q(to_user=user) | Q(to_user__isnull=True, to_department_id__in=department_ids),
        task__request__is_archived=False,  # an archived case is read-only
    )


def open_asks_answerable(
    user: User, *, department_ids: set[int] | None = None, **filters
) -> set[int]:
    """Return the pks of the open asks `user` may answer among those `filters` select
    (task=..., pk__in=...), in one query (two without `department_ids`)."""
    return set(
        asks_answerable(user, department_ids=department_ids)
        .filter(**filters, status=AskStatus.OPEN)
        .values_list("pk", flat=True)
    )


def asks_visible(user: User, asks: QuerySet[CollabAsk]) -> QuerySet[CollabAsk]:
    """Keep the asks on tasks `user` can see (an ask never reveals a hidden task)."""
    if user.sees_everything:
        return asks
    return asks.filter(task__in=permissions.visible_tasks(user).values("pk"))


def asks_with_people(asks: QuerySet[CollabAsk]) -> QuerySet[CollabAsk]:
    """Add what an ask's row shows: its task and request, and the people and department."""
    return asks.select_related(
        "task",
        "task__request",
        "asked_by",
        "asked_by__department",
        "to_user",
        "to_user__department",
        "to_department",
        "answered_by",
    )


def asks_waiting_on(user: User) -> list[CollabAsk]:
    """Return the open asks to `user` or their departments, soonest expected first."""
    asks = asks_visible(user, asks_answerable(user).filter(status=AskStatus.OPEN))
    return list(asks_with_people(asks).order_by("expected_date", "created_at", "pk"))


def asks_for_inbox(
    *, user: User, box: str, status: str = "", department_ids: set[int] | None = None
) -> tuple[QuerySet[CollabAsk], dict[str, int]]:
    """Return one inbox tab's asks (open first, soonest expected first) and the number
    of open asks in each tab.

    `box` is "to_me", "departments" (asked of a department of the user's, not of a
    person) or "mine" (asked by the user); `status` an AskStatus value or "" for all.
    """
    if department_ids is None:
        department_ids = org.user_department_ids(user)
    filters = {
        "to_me": Q(to_user=user),
        "departments": Q(to_user__isnull=True, to_department_id__in=department_ids),
        "mine": Q(asked_by=user),
    }
    visible = asks_visible(user, CollabAsk.objects.all())
    counts = visible.aggregate(
        **{
            name: Count("pk", filter=condition & Q(status=AskStatus.OPEN))
            for name, condition in filters.items()
        }
    )
    asks = visible.filter(filters[box])
    if status:
        asks = asks.filter(status=status)
    return asks_with_people(asks).order_by(*ASK_ORDER), counts
