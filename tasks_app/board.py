"""Reads for the 需求看板 board of a request and for its two PDFs (任務分工表, 進度跟蹤表).

Each entry point starts from requests_app.permissions.get_visible_or_404, so a department
that takes no part gets a 404, and fetches the related rows up front: the number of
queries does not grow with the number of tasks, people or progress updates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from collab.models import Department, User
from requests_app import permissions as request_permissions
from requests_app.models import CollabRequest, Milestone, RequestDepartment

from . import hooks
from .choices import RaciRole, RiskLevel, TaskState
from .deadlines import Deadlines
from .models import Breakdown, BreakdownSignature, ProgressUpdate, Task
from .selectors import raci_of, tasks_with_people

# People per RACI matrix table in the PDF: more columns would not fit a landscape A4.
RACI_COLUMNS_PER_TABLE = 12
# Progress updates printed per task in the 進度跟蹤表 (the newest ones).
PROGRESS_HISTORY_LIMIT = 10

# --- the totals ----------------------------------------------------------------------


@dataclass(frozen=True)
class BoardTotals:
    """The board's headline, as in seed 004: "10 tasks, 6 done, 3 in progress, 1 late".

    Every task is counted in exactly one of done / in_progress / late / todo, so they
    add up to total: a task that is late (tasks_app.deadlines: overdue, or behind its
    even-pace plan) counts as late only. in_progress includes the tasks awaiting
    acceptance (待驗收), also given on their own as `submitted`.
    """

    total: int = 0
    done: int = 0
    in_progress: int = 0
    submitted: int = 0
    late: int = 0
    todo: int = 0
    average_percent: int = 0

    @property
    def done_percent(self) -> int:
        """Return the share of tasks done, in percent (0 when there are no tasks)."""
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def in_progress_only(self) -> int:
        """Return the tasks in progress that are not awaiting acceptance."""
        return self.in_progress - self.submitted


def task_bucket(task: Task, deadlines: Deadlines) -> str:
    """Return the one headline bucket of a task: done, late, in_progress or todo."""
    if task.state == TaskState.DONE:
        return "done"
    if deadlines.is_late(task):
        return "late"
    if task.state in (TaskState.IN_PROGRESS, TaskState.SUBMITTED):
        return "in_progress"
    return "todo"


def board_totals(tasks: Iterable[Task], deadlines: Deadlines | None = None) -> BoardTotals:
    """Count tasks into the board's buckets and average their completion percent."""
    deadlines = deadlines or Deadlines()
    counts = {"done": 0, "late": 0, "in_progress": 0, "todo": 0}
    submitted = total = percent_sum = 0
    for task in tasks:
        bucket = task_bucket(task, deadlines)
        counts[bucket] += 1
        submitted += bucket == "in_progress" and task.state == TaskState.SUBMITTED
        total += 1
        percent_sum += 100 if task.state == TaskState.DONE else task.progress_percent
    return BoardTotals(
        total=total,
        submitted=submitted,
        average_percent=round(percent_sum / total) if total else 0,
        **counts,
    )


@dataclass
class DepartmentLoad:
    """One responsible department's share of the request's tasks."""

    department: Department
    totals: BoardTotals


def department_loads(tasks: Sequence[Task], deadlines: Deadlines) -> list[DepartmentLoad]:
    """Return the totals per responsible department, in the order tasks first name them."""
    grouped: dict[int, list[Task]] = {}
    departments: dict[int, Department] = {}
    for task in tasks:
        grouped.setdefault(task.responsible_department_id, []).append(task)
        departments[task.responsible_department_id] = task.responsible_department
    return [
        DepartmentLoad(department=departments[pk], totals=board_totals(rows, deadlines))
        for pk, rows in grouped.items()
    ]


# --- the board -----------------------------------------------------------------------


@dataclass
class BoardTask:
    """A task as the board lists it, with its RACI people already sorted out, and its
    timing badges as `task.badges` (tasks_app.deadlines, as every task list shows them)."""

    task: Task
    responsible: User | None
    accountable: User | None
    bucket: str


@dataclass
class Board:
    request: CollabRequest
    tasks: list[BoardTask]
    totals: BoardTotals
    departments: list[DepartmentLoad]
    milestones: list[Milestone]
    gantt: dict = field(default_factory=dict)
    # What later stages show next to the tasks (tasks_app.hooks.board_context): the
    # meetings' action items; the page's context.
    extras: dict = field(default_factory=dict)


def _request_for(user: User, pk, *prefetch) -> CollabRequest:
    queryset = CollabRequest.objects.select_related(
        "initiating_department", "initiator"
    ).prefetch_related(*prefetch)
    return request_permissions.get_visible_or_404(user, pk, queryset)


def _department_links() -> Prefetch:
    return Prefetch(
        "department_links", queryset=RequestDepartment.objects.select_related("department")
    )


def _tasks_of(request: CollabRequest, *extra_prefetch) -> list[Task]:
    tasks = list(
        tasks_with_people(request.tasks.all())
        .prefetch_related(*extra_prefetch)
        .order_by("sequence")
    )
    for task in tasks:
        task.request = request  # the permission-checked instance, with its prefetches
    return tasks


def _first(people: list[User]) -> User | None:
    return people[0] if people else None


def request_board(*, user: User, request_pk) -> Board:
    """Return the 需求看板 of a request `user` may see (else 404)."""
    request = _request_for(user, request_pk, "milestones")
    deadlines = Deadlines()
    tasks = deadlines.mark(_tasks_of(request))
    rows = []
    for task in tasks:
        raci = raci_of(task)
        rows.append(
            BoardTask(
                task=task,
                responsible=_first(raci[RaciRole.RESPONSIBLE]),
                accountable=_first(raci[RaciRole.ACCOUNTABLE]),
                bucket=task_bucket(task, deadlines),
            )
        )
    milestones = list(request.milestones.all())
    board = Board(
        request=request,
        tasks=rows,
        totals=board_totals(tasks, deadlines),
        departments=department_loads(tasks, deadlines),
        milestones=milestones,
    )
    board.gantt = gantt_data(rows, milestones)
    board.extras = hooks.board_context(request, user, deadlines)
    return board


def _iso_date(day: dt.date) -> str:
    return day.isoformat()


def gantt_data(rows: Sequence[BoardTask], milestones: Sequence[Milestone]) -> dict:
    """Return what static/js/board.js draws: one bar per task, its predecessors, milestones.

    Times are local ISO strings; labels are left to the template (translated there).
    """
    ids = {row.task.pk for row in rows}
    tasks = []
    for row in rows:
        task = row.task
        due = timezone.localtime(task.due_at)
        tasks.append(
            {
                "id": task.pk,
                "number": task.number,
                "name": task.name,
                "url": reverse("tasks_app:detail", args=[task.pk]),
                "start": _iso_date(task.start_date),
                "end": due.isoformat(),
                "due": due.strftime("%Y-%m-%d %H:%M"),
                "state": task.state,
                "state_label": str(task.get_state_display()),
                "percent": 100 if task.state == TaskState.DONE else task.progress_percent,
                "late": row.bucket == "late",
                "overdue": task.badges.overdue,
                "behind": task.badges.behind,
                "department": str(task.responsible_department),
                "responsible": str(row.responsible) if row.responsible else "",
                "depends_on": [p.pk for p in task.depends_on.all() if p.pk in ids],
            }
        )
    return {
        "tasks": tasks,
        "milestones": [{"name": m.name, "date": _iso_date(m.date)} for m in milestones],
        "today": _iso_date(timezone.localdate()),
    }


# --- the 任務分工表 PDF -----------------------------------------------------------------


@dataclass
class RaciRow:
    task: Task
    responsible: User | None
    cells: list[str]  # one per person of the matrix: "", "R", "A", "C", "I" or "R/A"…


@dataclass
class RaciMatrix:
    people: list[User]
    rows: list[RaciRow]


@dataclass
class SignatureBlock:
    """A collaborating department's place on the sheet; `signature` is None if unsigned."""

    department: Department
    is_lead: bool
    signature: BreakdownSignature | None


@dataclass
class BreakdownSheet:
    request: CollabRequest
    breakdown: Breakdown | None
    tasks: list[Task]
    matrices: list[RaciMatrix]
    signatures: list[SignatureBlock]

    @property
    def version(self) -> int | None:
        return self.breakdown.version if self.breakdown else None

    @property
    def signed_count(self) -> int:
        return sum(1 for block in self.signatures if block.signature is not None)


_ROLE_ORDER = {role: index for index, role in enumerate(RaciRole.values)}


def raci_people(tasks: Iterable[Task]) -> list[User]:
    """Return everyone with a RACI role on the tasks, by department, then name."""
    people: dict[int, User] = {}
    for task in tasks:
        for assignment in task.assignments.all():
            people.setdefault(assignment.user_id, assignment.user)
    # One query for everyone's department (the matrix heading shows it).
    departments = Department.objects.in_bulk({u.department_id for u in people.values()} - {None})
    for user in people.values():
        if user.department_id is not None:
            user.department = departments[user.department_id]
    return sorted(
        people.values(),
        key=lambda u: (u.department.code if u.department_id else "~", str(u), u.pk),
    )


def raci_matrices(tasks: Sequence[Task], *, columns: int = RACI_COLUMNS_PER_TABLE):
    """Return the RACI matrix (rows = tasks, columns = people), split every `columns` people."""
    people = raci_people(tasks)
    roles_of: dict[tuple[int, int], list[str]] = {}
    for task in tasks:
        for assignment in task.assignments.all():
            roles_of.setdefault((task.pk, assignment.user_id), []).append(assignment.role)
    matrices = []
    for start in range(0, max(len(people), 1), columns):
        chunk = people[start : start + columns]
        rows = [
            RaciRow(
                task=task,
                responsible=_first(raci_of(task)[RaciRole.RESPONSIBLE]),
                cells=[
                    "/".join(sorted(roles_of.get((task.pk, user.pk), []), key=_ROLE_ORDER.get))
                    for user in chunk
                ],
            )
            for task in tasks
        ]
        matrices.append(RaciMatrix(people=chunk, rows=rows))
    return matrices


def signature_blocks(request: CollabRequest, breakdown: Breakdown | None) -> list[SignatureBlock]:
    """Return one block per collaborating department with its valid signature, if any.

    Only signatures of the breakdown's current version that were not voided count.
    """
    signed: dict[int, BreakdownSignature] = {}
    if breakdown is not None:
        for signature in breakdown.signatures.filter(
            version=breakdown.version, voided_at__isnull=True
        ).select_related("signed_by", "on_behalf_of", "department"):
            signed.setdefault(signature.department_id, signature)
    return [
        SignatureBlock(
            department=link.department,
            is_lead=link.is_lead,
            signature=signed.get(link.department_id),
        )
        for link in request.department_links.all()
    ]


def breakdown_sheet(*, user: User, request_pk) -> BreakdownSheet:
    """Return the 任務分工表 of a request `user` may see (else 404)."""
    request = _request_for(user, request_pk, _department_links())
    breakdown = Breakdown.objects.filter(request=request).first()
    tasks = _tasks_of(request)
    return BreakdownSheet(
        request=request,
        breakdown=breakdown,
        tasks=tasks,
        matrices=raci_matrices(tasks) if tasks else [],
        signatures=signature_blocks(request, breakdown),
    )


# --- the 進度跟蹤表 PDF ----------------------------------------------------------------


@dataclass
class ProgressRow:
    task: Task
    responsible: User | None
    latest: ProgressUpdate | None
    updates: list[ProgressUpdate]  # the newest PROGRESS_HISTORY_LIMIT, newest first
    earlier: int  # how many older updates are left out

    @property
    def has_risk(self) -> bool:
        latest = self.latest
        return latest is not None and (
            latest.risk_level != RiskLevel.NONE or bool(latest.risk_note)
        )


@dataclass
class ProgressSheet:
    request: CollabRequest
    rows: list[ProgressRow]
    totals: BoardTotals
    history_limit: int


def progress_sheet(
    *, user: User, request_pk, history_limit: int = PROGRESS_HISTORY_LIMIT
) -> ProgressSheet:
    """Return the 進度跟蹤表 of a request `user` may see (else 404)."""
    request = _request_for(user, request_pk)
    tasks = _tasks_of(
        request,
        Prefetch(
            "progress_updates",
            queryset=ProgressUpdate.objects.select_related("author").order_by("-created_at", "-pk"),
        ),
    )
    rows = []
    for task in tasks:
        updates = list(task.progress_updates.all())
        rows.append(
            ProgressRow(
                task=task,
                responsible=_first(raci_of(task)[RaciRole.RESPONSIBLE]),
                latest=updates[0] if updates else None,
                updates=updates[:history_limit],
                earlier=max(0, len(updates) - history_limit),
            )
        )
    return ProgressSheet(
        request=request, rows=rows, totals=board_totals(tasks), history_limit=history_limit
    )
