"""The task rules of the warning engine (collab.warnings), registered in ready().

Each scan is one query over tasks selected by state and deadline (indexed on state,
due_at), with the ids of each task's people, plus three queries for the people
themselves (_People), whatever the number of tasks. Rows come as named tuples, not
models, and the texts are the engine's: `make bench` scans 100k open tasks.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from collab import calendar
from collab import selectors as org
from collab.models import Department, User
from collab.warnings import DAILY, HOURLY, Hit, RuleSpec, day_text, link, moment_text, register
from requests_app.choices import Priority, RequestState

from .choices import AskStatus, RaciRole, TaskState
from .models import CollabAsk, Task, TaskAssignment

WORKING = [TaskState.TODO, TaskState.IN_PROGRESS]


# What the texts, the links and the people of a warning read of a task; the other
# columns stay in the database (`make bench` scans 100k open tasks).
TASK_FIELDS = (
    "pk",
    "number",
    "name",
    "due_at",
    "progress_percent",
    "responsible_department_id",
    "responsible_id",
    "accountable_id",
    "initiator_id",
)


def _holder(role: str) -> Subquery:
    """The one person with `role` on the task (a task has exactly one R and one A)."""
    return Subquery(
        TaskAssignment.objects.filter(task=OuterRef("pk"), role=role)
        .order_by()
        .values("user_id")[:1]
    )


def _tasks(queryset: QuerySet[Task], *extra: str) -> QuerySet:
    """Narrow to tasks of ongoing requests: rows of TASK_FIELDS (and `extra`), with the
    ids of their R, A and initiator."""
    return (
        queryset.filter(request__state=RequestState.IN_PROGRESS)
        .annotate(
            responsible_id=_holder(RaciRole.RESPONSIBLE),
            accountable_id=_holder(RaciRole.ACCOUNTABLE),
            initiator_id=F("request__initiator_id"),
        )
        .order_by()  # the engine needs no order: run() sorts what it inserts
        .values_list(*TASK_FIELDS, *extra, named=True)
    )


class _People:
    """Who plays which role for the tasks a scan found: the people in one query, the
    departments' heads in another and today's deputies in a third, however many tasks
    (rather than a User row per task and role: a prefetch costs a model per row).
    Each person's one-element tuple and each department's heads with their deputies are
    made once and shared by the hits (`make bench` scans 100k open tasks).
    """

    def __init__(self, tasks: list, now):
        deputies = org.ActingHeads(on=timezone.localdate(now))
        head_ids: dict[int, list[int]] = defaultdict(list)
        for department_id, user_id in Department.heads.through.objects.filter(
            department_id__in={t.responsible_department_id for t in tasks}
        ).values_list("department_id", "user_id"):
            head_ids[department_id].append(user_id)
        ids = {u for users in head_ids.values() for u in users}
        for task in tasks:
            ids |= {task.responsible_id, task.accountable_id, task.initiator_id}
        users = User.objects.in_bulk(ids - {None})
        self.one = {pk: (user,) for pk, user in users.items()}
        self.heads = {
            department_id: tuple(
                deputies.of(department_id, [users[u] for u in ids if users[u].is_active])
            )
            for department_id, ids in head_ids.items()
        }

    def of(self, task) -> dict[str, tuple[User, ...]]:
        one = self.one
        return {
            "responsible": one.get(task.responsible_id, ()),
            "accountable": one.get(task.accountable_id, ()),
            "head": self.heads.get(task.responsible_department_id, ()),
            "initiator": one.get(task.initiator_id, ()),
        }


def _hits(tasks: QuerySet, now, values=None, *, period=None):
    """Yield a Hit per task row of a scan: its people, its text's values (the task's
    name, number, due moment and percentage, and what `values(row)` adds) and link."""
    rows = list(tasks)
    people = _People(rows, now)
    url = link("tasks_app:detail")
    for row in rows:
        text = {
            "name": row.name,
            "number": row.number,
            "due": moment_text(row.due_at),
            "percent": row.progress_percent,
        }
        if values is not None:
            text.update(values(row))
        yield Hit(row.pk, people.of(row), text, url(row.pk), period(row) if period else None)


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
    return _hits(due_soon_tasks(rule, now), now)


def scan_stale(rule, now):
    """Tasks in progress with no progress update for N days (since start if none yet)."""
    days = rule.days if rule.days is not None else 3
    cutoff = now - dt.timedelta(days=days)
    tasks = _tasks(
        Task.objects.filter(state=TaskState.IN_PROGRESS).filter(
            Q(last_progress_at__lt=cutoff) | Q(last_progress_at__isnull=True, started_at__lt=cutoff)
        ),
        "last_progress_at",
        "started_at",
    )
    return _hits(
        tasks, now, lambda row: {"days": (now - (row.last_progress_at or row.started_at)).days}
    )


def overdue_tasks(now) -> QuerySet:
    """Return the tasks past due and not delivered at `now` (on the state, due_at index)."""
    return _tasks(Task.objects.filter(state__in=WORKING, due_at__lt=now))


def scan_overdue(rule, now):
    """Tasks past due and not delivered: every day they stay so, the head hears of it."""
    today = timezone.localdate(now)
    local = timezone.get_current_timezone()  # once: a lookup per row costs more than SQL
    return _hits(
        overdue_tasks(now),
        now,
        lambda row: {"days": (today - row.due_at.astimezone(local).date()).days},
    )


def scan_last_hours(rule, now):
    """Tasks due within the next N hours and not submitted; once per task and due time."""
    hours = rule.hours if rule.hours is not None else 6
    tasks = _tasks(
        Task.objects.filter(
            state__in=WORKING, due_at__gt=now, due_at__lte=now + dt.timedelta(hours=hours)
        )
    )
    return _hits(
        tasks,
        now,
        period=lambda row: f"due {timezone.localtime(row.due_at):%Y-%m-%dT%H:%M}",
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
    url = link("tasks_app:detail")
    for ask in asks:
        heads = list(ask.to_department.heads.all()) if ask.to_department_id else []
        asked = [ask.to_user] if ask.to_user_id else heads
        yield Hit(
            object_id=ask.pk,
            people={"responsible": asked, "head": heads, "initiator": [ask.asked_by]},
            values={
                "number": ask.task.number,
                "date": day_text(ask.expected_date),
                "content": Truncator(ask.content).chars(40),
            },
            url=url(ask.task_id),
        )


# The texts: msgids as the warnings have always had them (their zh-Hant is in the catalog).
def due_soon_message(n=None) -> str:
    return gettext(
        "Task “%(name)s” (%(number)s) is due on %(due)s; it is %(percent)s%% done. "
        "Please follow up."
    )


def stale_message(days: int) -> str:
    return ngettext(
        "Task “%(name)s” (%(number)s) has had no progress update for %(days)s day; it is "
        "%(percent)s%% done.",
        "Task “%(name)s” (%(number)s) has had no progress update for %(days)s days; it is "
        "%(percent)s%% done.",
        days,
    )


def overdue_message(days: int) -> str:
    return ngettext(
        "Task “%(name)s” (%(number)s) was due on %(due)s and is %(days)s day overdue; it is "
        "%(percent)s%% done.",
        "Task “%(name)s” (%(number)s) was due on %(due)s and is %(days)s days overdue; it is "
        "%(percent)s%% done.",
        days,
    )


def last_hours_message(n=None) -> str:
    return gettext(
        "Task “%(name)s” (%(number)s) is due at %(due)s and has not been submitted; it is "
        "%(percent)s%% done."
    )


def ask_overdue_message(n=None) -> str:
    return gettext(
        "A collaboration ask on %(number)s expected by %(date)s is still open: %(content)s"
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
            model=Task,
            scan=scan_due_soon,
            message=due_soon_message,
            defaults={"days": 1, "important_days": 2, "urgent_days": 3, **task_people},
        )
    )
    register(
        RuleSpec(
            code="task_stale",
            label=_("No progress update"),
            cadence=DAILY,
            model=Task,
            scan=scan_stale,
            message=stale_message,
            count="days",
            defaults={"days": 3, **task_people},
        )
    )
    register(
        RuleSpec(
            code="task_overdue",
            label=_("Task overdue"),
            cadence=DAILY,
            model=Task,
            scan=scan_overdue,
            message=overdue_message,
            count="days",
            defaults=task_people,
        )
    )
    register(
        RuleSpec(
            code="task_last_hours",
            label=_("Due within hours and not submitted"),
            cadence=HOURLY,
            model=Task,
            scan=scan_last_hours,
            message=last_hours_message,
            defaults={"hours": 6, "to_responsible": True, "to_head": True},
        )
    )
    register(
        RuleSpec(
            code="ask_overdue",
            label=_("Collaboration ask past its expected date"),
            cadence=DAILY,
            model=CollabAsk,
            scan=scan_asks_overdue,
            message=ask_overdue_message,
            defaults={"to_responsible": True, "to_initiator": True},
        )
    )
