"""The meeting numbers (issue 15 §6): when minutes are late, and what the dashboard counts.

Each condition is written once, as a `Q`, and used by every surface that needs it: the
warning rule minutes_overdue (meetings_app.warnings), the to-do page's "minutes to
write" due dates, and the dashboard's figures.

- Minutes are due by the end of the Nth working day after the meeting's day (seed 003:
  「會後2個工作日內」; N is the `days` of the administrator's row of minutes_overdue,
  MINUTES_DAYS when empty). Working days are collab.calendar's. A meeting is on one day:
  its day is its start's local date.
- Meetings held in a period: started in it, not cancelled, over by now. Their minutes
  were filed on time when version 1 was filed by the due moment; the on-time rate is
  out of those whose minutes are filed or overdue (as the tasks' rate is out of those
  done or overdue: minutes still within their days have not told yet).
- Action items count by responsible department, due in the period (as the dashboard
  counts tasks), filed ones only: open, late (tasks_app.deadlines' 延期 / 滯後, the same
  verdict as a task's) and escalated (需升級, whatever became of them since).

department_figures() answers the dashboard in a fixed number of queries, whatever the
data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from collab.calendar import WorkingDays
from collab.models import WarningRule
from requests_app.choices import OPEN_STATES
from tasks_app import deadlines

from .choices import OPEN_ACTION_STATES, ActionState, MeetingState
from .models import ActionItem, Meeting

MINUTES_RULE = "minutes_overdue"
# Seed 003: the minutes go out within 2 working days of the meeting.
MINUTES_DAYS = 2


def minutes_days(rule: WarningRule | None = None) -> int:
    """Return N of the minutes' deadline: the rule row's days (read unless given)."""
    if rule is None:
        rule = WarningRule.objects.filter(code=MINUTES_RULE).first()
    days = getattr(rule, "days", None)
    return MINUTES_DAYS if days is None else days


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def minutes_due_by(calendar: WorkingDays, day: dt.date, days: int) -> dt.datetime:
    """Return the last moment the minutes of a meeting held on `day` are on time."""
    return _end_of(calendar.add(day, days))


def watched_q(prefix: str = "") -> Q:
    """The meetings (or, with prefix "meeting__", their items) whose deadlines are
    watched: of a request still open (a kick-off's while 已立項 too) or of none. A
    completed, cancelled or archived case's are not (nobody can act on them)."""
    return Q(**{f"{prefix}request__isnull": True}) | Q(
        **{f"{prefix}request__state__in": OPEN_STATES}
    )


def minutes_overdue_q(calendar: WorkingDays, today: dt.date, days: int) -> Q:
    """The meetings whose minutes are overdue on `today`: none filed yet (the meeting is
    still scheduled) and its due moment passed, that is, held before the Nth working
    day before today (today > add(d, N) <=> d < subtract(today, N))."""
    return Q(state=MeetingState.SCHEDULED, starts_at__lt=_start_of(calendar.subtract(today, days)))


def minutes_on_time_q(calendar: WorkingDays, first: dt.date, last: dt.date, days: int) -> Q:
    """The meetings held from `first` to `last` whose minutes were filed on time: one
    range of meeting days per due day (the days before a weekend share theirs)."""
    groups: dict[dt.date, list[dt.date]] = {}
    day = first
    while day <= last:
        groups.setdefault(calendar.add(day, days), []).append(day)
        day += dt.timedelta(days=1)
    if not groups:
        return Q(pk__in=[])
    q = Q()
    for due, held in groups.items():
        q |= Q(
            starts_at__gte=_start_of(held[0]),
            starts_at__lt=_start_of(held[-1] + dt.timedelta(days=1)),
            minutes_filed_at__lte=_end_of(due),
        )
    return Q(state=MeetingState.MINUTES_FILED) & q


def held_q(now: dt.datetime) -> Q:
    """The meetings that took place: not cancelled, and over."""
    return ~Q(state=MeetingState.CANCELLED) & Q(ends_at__lte=now)


# The states of a filed action item (a draft's belong to minutes not filed yet).
FILED_ACTION_STATES = [state for state in ActionState.values if state != ActionState.DRAFT]


def action_open_q() -> Q:
    return Q(state__in=OPEN_ACTION_STATES)


def action_late_q(now: dt.datetime) -> Q:
    """延期 / 滯後 as tasks_app.deadlines says it of a task."""
    return deadlines.late_q(now, model=ActionItem)


def action_escalated_q() -> Q:
    return Q(escalated_at__isnull=False)


# --- the dashboard ------------------------------------------------------------------------


@dataclass
class Figures:
    """The meeting numbers of one department, or of all those in scope."""

    held: int = 0
    minutes_told: int = 0  # held, and minutes filed or overdue
    minutes_on_time: int = 0
    actions_open: int = 0
    actions_late: int = 0
    actions_escalated: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """Percent of minutes filed on time, out of those filed or overdue."""
        if not self.minutes_told:
            return None
        return round(100 * self.minutes_on_time / self.minutes_told, 1)


def _in_period(field_name: str, first: dt.date, last: dt.date) -> Q:
    return Q(
        **{
            f"{field_name}__gte": _start_of(first),
            f"{field_name}__lt": _start_of(last + dt.timedelta(days=1)),
        }
    )


def base_meetings(first: dt.date, last: dt.date, department_ids: Collection[int] | None):
    """The meetings held from `first` to `last` of the departments (None: all meetings).

    Every state is listed so that PostgreSQL reads the (state, starts_at) index."""
    meetings = Meeting.objects.filter(
        _in_period("starts_at", first, last), state__in=MeetingState.values
    )
    if department_ids is not None:
        of = Meeting.departments.through.objects.filter(
            meeting_id=OuterRef("pk"), department_id__in=department_ids
        )
        meetings = meetings.filter(Exists(of))
    return meetings


def base_actions(
    first: dt.date, last: dt.date, department_ids: Collection[int] | None
) -> QuerySet[ActionItem]:
    """The filed action items due from `first` to `last` of the responsible departments."""
    actions = ActionItem.objects.filter(
        _in_period("due_at", first, last), state__in=FILED_ACTION_STATES
    )
    if department_ids is not None:
        actions = actions.filter(responsible_department_id__in=department_ids)
    return actions


def department_figures(
    *,
    first: dt.date,
    last: dt.date,
    department_ids: Collection[int] | None,
    now: dt.datetime | None = None,
) -> tuple[Figures, dict[int, Figures]]:
    """Return the figures of the period over the departments (None: every department),
    and per department, in 5 queries: the rule row, the calendar, the meetings' totals,
    the meetings per department, the action items per department.

    A meeting of several departments counts once in the total and once for each of its
    departments; an action item has one responsible department."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = minutes_days()
    # One read of the administrators' days around today and the whole period.
    reach = max(abs((today - first).days), abs((last - today).days)) + 60
    calendar = WorkingDays(today, reach=reach)
    held = held_q(now)
    meeting_counts = {
        "held": Count("pk", filter=held),
        "minutes_told": Count(
            "pk",
            filter=held
            & (Q(state=MeetingState.MINUTES_FILED) | minutes_overdue_q(calendar, today, days)),
        ),
        "minutes_on_time": Count(
            "pk", filter=held & minutes_on_time_q(calendar, first, last, days)
        ),
    }
    meetings = base_meetings(first, last, department_ids)
    total = Figures(**meetings.aggregate(**meeting_counts))
    per_department: dict[int, Figures] = {}
    for row in meetings.values("departments").annotate(**meeting_counts).order_by():
        department = row.pop("departments")
        if department is not None and (department_ids is None or department in department_ids):
            per_department[department] = Figures(**row)
    action_counts = {
        "actions_open": Count("pk", filter=action_open_q()),
        "actions_late": Count("pk", filter=action_late_q(now)),
        "actions_escalated": Count("pk", filter=action_escalated_q()),
    }
    for row in (
        base_actions(first, last, department_ids)
        .values("responsible_department")
        .annotate(**action_counts)
        .order_by()
    ):
        department = row.pop("responsible_department")
        figures = per_department.setdefault(department, Figures())
        for key, value in row.items():
            setattr(figures, key, value)
            setattr(total, key, getattr(total, key) + value)
    return total, per_department
