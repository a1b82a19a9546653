"""The task rules of the warning engine (collab.warnings), registered in ready().

Each scan is one query over tasks selected by state and deadline (indexed on state,
due_at) plus prefetches for the people, whatever the number of tasks.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collab import calendar
from collab import selectors as org
from collab.models import User
from collab.warnings import DAILY, HOURLY, Hit, RuleSpec, register
from requests_app.choices import Priority, RequestState

from .choices import AskStatus, RaciRole, TaskState
from .models import CollabAsk, Task, TaskAssignment

WORKING = [TaskState.TODO, TaskState.IN_PROGRESS]


def _tasks(queryset: QuerySet[Task]) -> QuerySet[Task]:
    return (
        queryset.filter(request__state=RequestState.IN_PROGRESS)
        .select_related("request__initiator", "responsible_department")
        .prefetch_related(
            Prefetch("assignments", queryset=TaskAssignment.objects.select_related("user")),
            Prefetch("responsible_department__heads", queryset=User.objects.filter(is_active=True)),
        )
    )


def _deputies(now) -> org.ActingHeads:
    """An escalation to a head who is away reaches the deputy acting for them."""
    return org.ActingHeads(on=timezone.localdate(now))


def _people(task: Task, deputies: org.ActingHeads) -> dict[str, list[User]]:
    roles: dict[str, list[User]] = {"responsible": [], "accountable": []}
    for assignment in task.assignments.all():
        if assignment.role == RaciRole.RESPONSIBLE:
            roles["responsible"].append(assignment.user)
        elif assignment.role == RaciRole.ACCOUNTABLE:
            roles["accountable"].append(assignment.user)
    roles["head"] = deputies.of(
        task.responsible_department_id, list(task.responsible_department.heads.all())
    )
    roles["initiator"] = [task.request.initiator]
    return roles


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
    deps = _deputies(now)
    for task in due_soon_tasks(rule, now):
        yield Hit(obj=task, people=_people(task, deps), url=task.get_absolute_url())


def scan_stale(rule, now):
    """Tasks in progress with no progress update for N days (since start if none yet)."""
    deps = _deputies(now)
    days = rule.days if rule.days is not None else 3
    cutoff = now - dt.timedelta(days=days)
    tasks = _tasks(
        Task.objects.filter(state=TaskState.IN_PROGRESS).filter(
            Q(last_progress_at__lt=cutoff) | Q(last_progress_at__isnull=True, started_at__lt=cutoff)
        )
    )
    for task in tasks:
        since = task.last_progress_at or task.started_at
        yield Hit(
            obj=task,
            people=_people(task, deps),
            url=task.get_absolute_url(),
            context={"days": (now - since).days},
        )


def overdue_tasks(now) -> QuerySet[Task]:
    """Return the tasks past due and not delivered at `now` (on the state, due_at index)."""
    return _tasks(Task.objects.filter(state__in=WORKING, due_at__lt=now))


def scan_overdue(rule, now):
    """Tasks past due and not delivered: every day they stay so, the head hears of it."""
    deps = _deputies(now)
    for task in overdue_tasks(now):
        yield Hit(
            obj=task,
            people=_people(task, deps),
            url=task.get_absolute_url(),
            context={"days": (timezone.localdate(now) - timezone.localdate(task.due_at)).days},
        )


def scan_last_hours(rule, now):
    """Tasks due within the next N hours and not submitted; once per task and due time."""
    deps = _deputies(now)
    hours = rule.hours if rule.hours is not None else 6
    tasks = _tasks(
        Task.objects.filter(
            state__in=WORKING, due_at__gt=now, due_at__lte=now + dt.timedelta(hours=hours)
        )
    )
    for task in tasks:
        yield Hit(
            obj=task,
            people=_people(task, deps),
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
