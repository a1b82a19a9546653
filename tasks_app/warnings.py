"""The task rules of the warning engine (collab.warnings), registered in ready().

Each scan is one query over tasks selected by state and deadline (indexed on state,
due_at), with the ids of each task's people, plus at most three for who is active,
who heads which department and who deputises today (collab.warnings.People, shared by
the rules of a run), whatever the number of tasks. Rows come as named tuples, not
models, and people as ids: `make bench` scans 100k open tasks.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from collab.warnings import (
    HOURLY,
    Hit,
    People,
    RuleSpec,
    day_text,
    link,
    moment_text,
    register,
)
from requests_app.choices import RequestState

from . import deadlines
from .choices import AskStatus, RaciRole, TaskState
from .deadlines import Deadlines
from .models import CollabAsk, Task, TaskAssignment

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


def _hits(tasks: QuerySet, now, values=None, *, period=None):
    """Yield a Hit per task row of a scan: who plays which role (collab.warnings.People),
    its text's values (the task's name, number, due moment and percentage, and what
    `values(row)` adds) and its link. The loop is written for 100k rows (`make bench`):
    nothing in it that can be settled once per scan."""
    rows = list(tasks)
    heads = People(
        users=[
            u for row in rows for u in (row.responsible_id, row.accountable_id, row.initiator_id)
        ],
        departments={row.responsible_department_id for row in rows},
        on=timezone.localdate(now),
    ).heads_by_department()
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
        # An id may be None (no A yet): the engine sends to active users only.
        people = {
            "responsible": (row.responsible_id,),
            "accountable": (row.accountable_id,),
            "head": heads.get(row.responsible_department_id, ()),
            "initiator": (row.initiator_id,),
        }
        yield Hit(row.pk, people, text, url(row.pk), period(row) if period else None)


def _deadlines(rule, now) -> Deadlines:
    """The verdicts at `now` with the thresholds of `rule`, the row the engine read."""
    return Deadlines(now=now, rules={rule.code: rule})


def due_soon_tasks(rule, now) -> QuerySet[Task]:
    """Return the tasks the due-soon rule selects at `now` (on the state, due_at index)."""
    return _tasks(Task.objects.filter(_deadlines(rule, now).due_soon_q()))


def scan_due_soon(rule, now):
    """Tasks not done whose due date is within N working days (more for important and
    urgent ones, as set below); meetings' action items alike.

    The rule admin shows the paragraph above; the definition is tasks_app.deadlines'.
    The action items' scan is meetings_app's, chained by the engine (register_extra)."""
    return _hits(due_soon_tasks(rule, now), now)


def scan_stale(rule, now):
    """Tasks in progress with no progress update for N working days (since the start if
    none yet; important and urgent tasks may have their own N); meetings' action items
    alike.

    The rule admin shows the paragraph above; the definition is tasks_app.deadlines'.
    The text says for how many working days."""
    verdicts = _deadlines(rule, now)
    tasks = _tasks(
        Task.objects.filter(verdicts.stale_q()),
        "last_progress_at",
        "started_at",
    )
    local = timezone.get_current_timezone()  # once: a lookup per row costs more than SQL

    def days(row) -> dict:
        last = row.last_progress_at or row.started_at
        return {"days": verdicts.days_since(last.astimezone(local).date())}

    return _hits(tasks, now, days)


def overdue_tasks(now) -> QuerySet:
    """Return the overdue tasks (tasks_app.deadlines) the owner has not delivered yet, at
    `now` (on the state, due_at index). A delivery awaiting acceptance is the acceptors'
    to answer (review_app's acceptance_overdue), however late it came."""
    return _tasks(Task.objects.filter(deadlines.overdue_q(now, awaiting_acceptance=False)))


def scan_overdue(rule, now):
    """Tasks past due and not delivered: every day they stay so, the head hears of it;
    meetings' action items alike."""
    today = timezone.localdate(now)
    local = timezone.get_current_timezone()  # once: a lookup per row costs more than SQL
    late: dict[dt.datetime, int] = {}  # days late by due moment (they repeat)

    def days(row) -> dict:
        if row.due_at not in late:
            late[row.due_at] = (today - row.due_at.astimezone(local).date()).days
        return {"days": late[row.due_at]}

    return _hits(overdue_tasks(now), now, days)


def scan_last_hours(rule, now):
    """Tasks due within the next N hours and not submitted; once per task and due time."""
    hours = rule.hours if rule.hours is not None else 6
    tasks = _tasks(
        Task.objects.filter(
            state__in=deadlines.WORKING, due_at__gt=now, due_at__lte=now + dt.timedelta(hours=hours)
        )
    )
    return _hits(
        tasks,
        now,
        period=lambda row: f"due {timezone.localtime(row.due_at):%Y-%m-%dT%H:%M}",
    )


def scan_asks_overdue(rule, now):
    """協作請求 still open after their expected date: the person or department asked
    (as "responsible"; a department's heads and their acting deputies), that
    department's heads (as "head"), and the asker (as "initiator")."""
    today = timezone.localdate(now)
    asks = list(
        CollabAsk.objects.filter(
            status=AskStatus.OPEN,
            expected_date__lt=today,
            # A cancelled or completed request, or an accepted task, needs no more help.
            task__request__state__in=[RequestState.APPROVED, RequestState.IN_PROGRESS],
        )
        .exclude(task__state=TaskState.DONE)
        .order_by()
        .values_list(
            "pk",
            "task_id",
            "task__number",
            "expected_date",
            "content",
            "asked_by_id",
            "to_user_id",
            "to_department_id",
            named=True,
        )
    )
    people = People(
        users=[u for ask in asks for u in (ask.asked_by_id, ask.to_user_id)],
        departments={ask.to_department_id for ask in asks},
        on=today,
    )
    url = link("tasks_app:detail")
    for ask in asks:
        heads = people.heads(ask.to_department_id)
        yield Hit(
            ask.pk,
            {
                "responsible": people.one(ask.to_user_id) if ask.to_user_id else heads,
                "head": heads,
                "initiator": people.one(ask.asked_by_id),
            },
            {
                "number": ask.task__number,
                "date": day_text(ask.expected_date),
                "content": Truncator(" ".join(ask.content.split())).chars(40),
            },
            url(ask.task_id),
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
            code=deadlines.DUE_SOON_RULE,
            label=_("Task due soon"),
            model=Task,
            scan=scan_due_soon,
            message=due_soon_message,
            defaults={**deadlines.DUE_SOON_DEFAULTS, **task_people},
        ),
        RuleSpec(
            code=deadlines.STALE_RULE,
            label=_("No progress update"),
            model=Task,
            scan=scan_stale,
            message=stale_message,
            count="days",
            defaults={**deadlines.STALE_DEFAULTS, **task_people},
        ),
        RuleSpec(
            code="task_overdue",
            label=_("Task overdue"),
            model=Task,
            scan=scan_overdue,
            message=overdue_message,
            count="days",
            defaults=task_people,
        ),
        RuleSpec(
            code="task_last_hours",
            label=_("Due within hours and not submitted"),
            cadence=HOURLY,
            model=Task,
            scan=scan_last_hours,
            message=last_hours_message,
            defaults={"hours": 6, "to_responsible": True, "to_head": True},
        ),
        RuleSpec(
            code="ask_overdue",
            label=_("Collaboration ask past its expected date"),
            model=CollabAsk,
            scan=scan_asks_overdue,
            message=ask_overdue_message,
            defaults={"to_responsible": True, "to_initiator": True},
        ),
    )
