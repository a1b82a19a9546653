"""The task rules of the warning engine (collab.warnings), registered in ready().

Each scan is one query over tasks selected by state and deadline (indexed on state,
due_at), with the ids of each task's people, plus three queries for the people
themselves (_People), whatever the number of tasks.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collab import calendar
from collab import selectors as org
from collab.models import Department, User
from collab.warnings import DAILY, HOURLY, Hit, RuleSpec, register
from requests_app.choices import Priority, RequestState

from .choices import AskStatus, RaciRole, TaskState
from .models import CollabAsk, Task, TaskAssignment

WORKING = [TaskState.TODO, TaskState.IN_PROGRESS]


# What the texts, the links and the people of a warning read of a task; the other
# columns stay in the database (`make bench` scans 100k tasks).
TASK_FIELDS = (
    "request_id",
    "responsible_department_id",
    "number",
    "name",
    "state",
    "importance",
    "due_at",
    "progress_percent",
    "last_progress_at",
    "started_at",
)


def _holder(role: str) -> Subquery:
    """The one person with `role` on the task (a task has exactly one R and one A)."""
    return Subquery(
        TaskAssignment.objects.filter(task=OuterRef("pk"), role=role)
        .order_by()
        .values("user_id")[:1]
    )


def _tasks(queryset: QuerySet[Task]) -> QuerySet[Task]:
    """Narrow to tasks of ongoing requests, with the ids of their R, A and initiator."""
    return (
        queryset.filter(request__state=RequestState.IN_PROGRESS)
        .only(*TASK_FIELDS)
        .annotate(
            responsible_id=_holder(RaciRole.RESPONSIBLE),
            accountable_id=_holder(RaciRole.ACCOUNTABLE),
            initiator_id=F("request__initiator_id"),
        )
    )


class _People:
    """Who plays which role for the tasks a scan found: the people in one query, the
    departments' heads in another and today's deputies in a third, however many tasks
    (rather than a User row per task and role: a prefetch costs a model per row).
    """

    def __init__(self, tasks: list[Task], now):
        self.deputies = org.ActingHeads(on=timezone.localdate(now))
        head_ids: dict[int, list[int]] = defaultdict(list)
        for department_id, user_id in Department.heads.through.objects.filter(
            department_id__in={t.responsible_department_id for t in tasks}
        ).values_list("department_id", "user_id"):
            head_ids[department_id].append(user_id)
        ids = {u for users in head_ids.values() for u in users}
        for task in tasks:
            ids |= {task.responsible_id, task.accountable_id, task.initiator_id}
        self.users = User.objects.in_bulk(ids - {None})
        self.heads = {
            department_id: [self.users[u] for u in users if self.users[u].is_active]
            for department_id, users in head_ids.items()
        }

    def _one(self, user_id) -> list[User]:
        return [self.users[user_id]] if user_id in self.users else []

    def of(self, task: Task) -> dict[str, list[User]]:
        department = task.responsible_department_id
        return {
            "responsible": self._one(task.responsible_id),
            "accountable": self._one(task.accountable_id),
            "head": self.deputies.of(department, self.heads.get(department, [])),
            "initiator": self._one(task.initiator_id),
        }


def _hits(tasks: QuerySet[Task], now):
    """Yield (task, its people) for the tasks of a scan."""
    tasks = list(tasks)
    people = _People(tasks, now)
    for task in tasks:
        yield task, people.of(task)


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def due_soon_tasks(rule, now) -> QuerySet[Task]:
    """Return the tasks the due-soon rule selects at `now` (on the state, due_at index)."""
    today = timezone.localdate(now)
    windows = {
        Priority.NORMAL: rule.days if rule.days is not None else 1,
        Priority.IMPORTANT: rule.important_days if rule.important_days is not None else 2,
        Priority.URGENT: rule.urgent_days if rule.urgent_days is not None else 3,
    }
    condition = Q()
    for importance, days in windows.items():
        limit = _end_of(calendar.add_working_days(today, days))
        condition |= Q(importance=importance, due_at__lte=limit)
    return _tasks(Task.objects.filter(condition, state__in=WORKING, due_at__gt=now))


def scan_due_soon(rule, now):
    """Tasks not done whose due date is within N working days (more for urgent ones)."""
    for task, people in _hits(due_soon_tasks(rule, now), now):
        yield Hit(obj=task, people=people, url=task.get_absolute_url())


def scan_stale(rule, now):
    """Tasks in progress with no progress update for N days (since start if none yet)."""
    days = rule.days if rule.days is not None else 3
    cutoff = now - dt.timedelta(days=days)
    tasks = _tasks(
        Task.objects.filter(state=TaskState.IN_PROGRESS).filter(
            Q(last_progress_at__lt=cutoff) | Q(last_progress_at__isnull=True, started_at__lt=cutoff)
        )
    )
    for task, people in _hits(tasks, now):
        since = task.last_progress_at or task.started_at
        yield Hit(
            obj=task,
            people=people,
            url=task.get_absolute_url(),
            context={"days": (now - since).days},
        )


def overdue_tasks(now) -> QuerySet[Task]:
    """Return the tasks past due and not delivered at `now` (on the state, due_at index)."""
    return _tasks(Task.objects.filter(state__in=WORKING, due_at__lt=now))


def scan_overdue(rule, now):
    """Tasks past due and not delivered: every day they stay so, the head hears of it."""
    for task, people in _hits(overdue_tasks(now), now):
        yield Hit(
            obj=task,
            people=people,
            url=task.get_absolute_url(),
            context={"days": (timezone.localdate(now) - timezone.localdate(task.due_at)).days},
        )


def scan_last_hours(rule, now):
    """Tasks due within the next N hours and not submitted; once per task and due time."""
    hours = rule.hours if rule.hours is not None else 6
    tasks = _tasks(
        Task.objects.filter(
            state__in=WORKING, due_at__gt=now, due_at__lte=now + dt.timedelta(hours=hours)
        )
    )
    for task, people in _hits(tasks, now):
        yield Hit(
            obj=task,
            people=people,
            url=task.get_absolute_url(),
            period=f"due {timezone.localtime(task.due_at):%Y-%m-%dT%H:%M}",
        )


def scan_asks_overdue(rule, now):
    """協作請求 still open after their expected date: the person or department asked
    (as "responsible"), that department's heads, and the asker (as "initiator")."""
    asks = (
        CollabAsk.objects.filter(
            status=AskStatus.OPEN,
            expected_date__lt=timezone.localdate(now),
            # A cancelled or completed request, or an accepted task, needs no more help.
            task__request__state__in=[RequestState.APPROVED, RequestState.IN_PROGRESS],
        )
        .exclude(task__state=TaskState.DONE)
        .select_related("task", "asked_by", "to_user", "to_department")
        .prefetch_related(
            Prefetch("to_department__heads", queryset=User.objects.filter(is_active=True))
        )
    )
    for ask in asks:
        heads = list(ask.to_department.heads.all()) if ask.to_department_id else []
        asked = [ask.to_user] if ask.to_user_id else heads
        yield Hit(
            obj=ask,
            people={"responsible": asked, "head": heads, "initiator": [ask.asked_by]},
            url=ask.task.get_absolute_url(),
        )


def register_rules() -> None:
    """Register the task rules. Acceptance answers overdue is review_app's rule
    (acceptance_overdue): it knows each reviewer's seat and due date."""
    task_people = {"to_responsible": True, "to_head": True, "to_initiator": True}
    register(
        RuleSpec(
            code="task_due_soon",
            label=_("Task due soon"),
            cadence=DAILY,
            scan=scan_due_soon,
            defaults={"days": 1, "important_days": 2, "urgent_days": 3, **task_people},
        )
    )
    register(
        RuleSpec(
            code="task_stale",
            label=_("No progress update"),
            cadence=DAILY,
            scan=scan_stale,
            defaults={"days": 3, **task_people},
        )
    )
    register(
        RuleSpec(
            code="task_overdue",
            label=_("Task overdue"),
            cadence=DAILY,
            scan=scan_overdue,
            defaults=task_people,
        )
    )
    register(
        RuleSpec(
            code="task_last_hours",
            label=_("Due within hours and not submitted"),
            cadence=HOURLY,
            scan=scan_last_hours,
            defaults={"hours": 6, "to_responsible": True, "to_head": True},
        )
    )
    register(
        RuleSpec(
            code="ask_overdue",
            label=_("Collaboration ask past its expected date"),
            cadence=DAILY,
            scan=scan_asks_overdue,
            defaults={"to_responsible": True, "to_initiator": True},
        )
    )
