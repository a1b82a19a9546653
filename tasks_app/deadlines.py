"""When a task is overdue, behind plan, late, due soon or stale: one definition each.

DOMAIN §2 and §4. Every surface asks this module: the badges of the task page, 我的任務
and the department page, the board, the department totals, the dashboard and the
analysis report (through its metrics), and the warning rules. Each verdict is written
twice, side by side: as a check on one task (a model instance, or any row with the
fields it reads, such as the warning scans' named tuples) and as a queryset condition
(`Q`) that selects the same tasks, so that a count always equals its list and a badge
always agrees with the warning.

- Overdue (延期): past its due time and not delivered; a delivery awaiting acceptance
  is overdue only when it was submitted after the due time (the wait is then the
  acceptors', not the owner's). Done is never overdue.
- Behind plan (滯後): to do or in progress, and the plan of an even pace from the start
  date (09:00) to the due time is more than BEHIND_TOLERANCE points ahead of the
  reported progress.
- Late (延期 / 滯後, what the board and the dashboard count): overdue or behind plan.
- Due soon: to do or in progress, not yet due, and due by the end of the Nth working
  day after today.
- Stale: in progress, and N working days of time have passed since the last progress
  update (since the start when there is none). Only the hours of working days count:
  an update on Monday 09:00 makes the task stale on Thursday 09:00 with N = 3, and an
  update on Friday 15:00 on Wednesday 15:00.

N comes from the administrator's rows of the warning rules task_due_soon and
task_stale (collab.models.WarningRule): `days` for normal tasks, `important_days` and
`urgent_days` for those importances; an empty field falls back to the rule's default
below, then to `days`. Working days are collab.calendar's (Taiwan's holidays plus the
administrators' days). A Deadlines object reads the rules and the calendar once, on
first use, and is built once per page or scan: the checks make no query per task.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from django.apps import apps
from django.db import connection
from django.db.models import (
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Q,
    Value,
)
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

from collab.calendar import WorkingDays
from collab.models import WarningRule
from requests_app.choices import Priority

from .choices import TaskState

# Percentage points a task may trail its even-pace plan before it counts as behind (滯後).
BEHIND_TOLERANCE = 20
# The plan of a task starts at this local time of its start date.
PLAN_START_TIME = dt.time(9, 0)
# The states in which the owner still works on a task (not yet delivered).
WORKING = (TaskState.TODO, TaskState.IN_PROGRESS)

DUE_SOON_RULE = "task_due_soon"
STALE_RULE = "task_stale"
# The thresholds in working days when the administrator's row leaves a field empty
# (tasks_app.warnings registers the rules with these defaults, and the rule's admin page
# offers the fields named here). None: as for normal tasks.
DUE_SOON_DEFAULTS = {"days": 1, "important_days": 2, "urgent_days": 3}
STALE_DEFAULTS = {"days": 3, "important_days": None, "urgent_days": None}
# The WarningRule field holding each importance's threshold.
TIER_FIELDS = {
    Priority.NORMAL: "days",
    Priority.IMPORTANT: "important_days",
    Priority.URGENT: "urgent_days",
}


# --- thresholds ------------------------------------------------------------------------


def tier_days(rule: WarningRule | None, defaults: Mapping[str, int]) -> dict[str, int]:
    """Return the working days of each importance under `rule` (None: no row yet)."""

    def value(name: str) -> int | None:
        days = getattr(rule, name, None)
        return defaults.get(name) if days is None else days

    normal = value("days")
    days = {}
    for importance, name in TIER_FIELDS.items():
        own = value(name)
        days[importance] = normal if own is None else own
    return days


@dataclass(frozen=True)
class Thresholds:
    """Working days by importance: how early a task is due soon, how long until stale."""

    due_soon: Mapping[str, int]
    stale: Mapping[str, int]

    @classmethod
    def read(cls, rules: Mapping[str, WarningRule] | None = None) -> Thresholds:
        """Return the thresholds of the administrator's rule rows (one query unless
        `rules`, code -> row, is given, as the warning engine holds them)."""
        if rules is None:
            rules = {
                rule.code: rule
                for rule in WarningRule.objects.filter(code__in=[DUE_SOON_RULE, STALE_RULE])
            }
        return cls(
            due_soon=tier_days(rules.get(DUE_SOON_RULE), DUE_SOON_DEFAULTS),
            stale=tier_days(rules.get(STALE_RULE), STALE_DEFAULTS),
        )


def _tier(days: Mapping[str, int], importance: str) -> int:
    return days.get(importance, days[Priority.NORMAL])


# --- overdue, behind plan, late: no threshold but the moment ---------------------------


def is_overdue(task, now: dt.datetime) -> bool:
    """Past due and not delivered; delivered after the due time while awaiting acceptance."""
    if task.state == TaskState.DONE:
        return False
    if task.state == TaskState.SUBMITTED and task.submitted_at:
        return task.submitted_at > task.due_at
    return task.due_at < now


def overdue_q(now: dt.datetime, *, awaiting_acceptance: bool = True) -> Q:
    """is_overdue as a query condition (on the state, due_at index); without the
    deliveries awaiting acceptance when `awaiting_acceptance` is False (the overdue
    warning: the owner has nothing left to do on those)."""
    working = Q(state__in=WORKING, due_at__lt=now)
    if not awaiting_acceptance:
        return working
    waiting = Q(state=TaskState.SUBMITTED, due_at__lt=now) & (
        Q(submitted_at__isnull=True) | Q(submitted_at__gt=F("due_at"))
    )
    return working | waiting


def plan_start(task) -> dt.datetime:
    """Return the moment the even-pace plan of a task starts: its start date, 09:00."""
    return timezone.make_aware(dt.datetime.combine(task.start_date, PLAN_START_TIME))


def expected_percent(task, now: dt.datetime) -> int:
    """Return how far the task should be at `now` if work ran evenly from start to due
    (rounded, for display: is_behind compares the exact plan)."""
    start = plan_start(task)
    total = (task.due_at - start).total_seconds()
    if total <= 0:
        return 100
    elapsed = (now - start).total_seconds()
    return max(0, min(100, round(100 * elapsed / total)))


def is_behind(task, now: dt.datetime) -> bool:
    """To do or in progress, and the plan (capped at 100%) is more than
    BEHIND_TOLERANCE points ahead of the reported progress.

    Written without division so that behind_q can say exactly the same in SQL:
    plan - progress > T  <=>  progress < 100 - T and 100 * elapsed > (T + progress) * total
    (for total > 0; a task due before its plan starts has a plan of 100%).
    """
    if task.state not in WORKING or task.progress_percent >= 100 - BEHIND_TOLERANCE:
        return False
    start = plan_start(task)
    total = task.due_at - start
    if total <= dt.timedelta(0):
        return True
    return 100 * (now - start) > (BEHIND_TOLERANCE + task.progress_percent) * total


class _PlanStart(Func):
    """SQL for plan_start: ((start_date + '09:00'::time) AT TIME ZONE <portal zone>)."""

    output_field = DateTimeField()

    def __init__(self):
        super().__init__(F("start_date"))

    def as_sql(self, compiler, connection, **extra):
        date_sql, params = compiler.compile(self.source_expressions[0])
        zone = timezone.get_current_timezone_name()
        return (
            f"(({date_sql} + %s::time) AT TIME ZONE %s)",
            (*params, PLAN_START_TIME.isoformat(), zone),
        )


def behind_q(now: dt.datetime, *, model=None) -> Q:
    """is_behind as a query condition (on a Task queryset, or one of `model`, which has
    the fields this module reads: meetings_app's ActionItem).

    PostgreSQL says it in SQL. Elsewhere (SQLite: `make run`'s demo) date arithmetic in
    SQL differs by engine, so the condition is the ids is_behind picks among the open
    rows: one query, right for a demo's few hundred tasks, not for production.
    """
    if connection.vendor != "postgresql":
        return Q(pk__in=_behind_ids(now, model))
    start = _PlanStart()
    elapsed = ExpressionWrapper(
        Value(100) * (Value(now, output_field=DateTimeField()) - start),
        output_field=DurationField(),
    )
    planned = ExpressionWrapper(
        (Value(BEHIND_TOLERANCE) + F("progress_percent")) * (F("due_at") - start),
        output_field=DurationField(),
    )
    return Q(state__in=WORKING, progress_percent__lt=100 - BEHIND_TOLERANCE) & (
        Q(LessThanOrEqual(F("due_at"), start)) | Q(GreaterThan(elapsed, planned))
    )


def _behind_ids(now: dt.datetime, model=None) -> list[int]:
    # By name: tasks_app.models imports this module for Task's verdicts.
    candidates = (
        (model or apps.get_model("tasks_app", "Task"))
        .objects.filter(state__in=WORKING, progress_percent__lt=100 - BEHIND_TOLERANCE)
        .only("pk", "state", "progress_percent", "start_date", "due_at")
    )
    return [task.pk for task in candidates if is_behind(task, now)]


def is_late(task, now: dt.datetime) -> bool:
    """延期 / 滯後: overdue or behind plan. Shown, never a state."""
    return is_overdue(task, now) or is_behind(task, now)


def late_q(now: dt.datetime, *, model=None) -> Q:
    """is_late as a query condition (on a queryset of `model`, as behind_q)."""
    return overdue_q(now) | behind_q(now, model=model)


# --- due soon and stale: the administrator's thresholds, in working days --------------


@dataclass(frozen=True)
class Badges:
    """What a task shows about its timing: 延期, 滯後, due soon, stale."""

    overdue: bool = False
    behind: bool = False
    due_soon: bool = False
    stale: bool = False
    stale_days: int = STALE_DEFAULTS["days"]  # the threshold that applies to the task

    @property
    def late(self) -> bool:
        return self.overdue or self.behind


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class Deadlines:
    """Every verdict at one moment, with the thresholds of the rule rows.

    Build one per page or scan (`rules`: the rows when the caller holds them already);
    the rules and the calendar are read on first use of due soon or stale, once.
    """

    def __init__(
        self,
        *,
        now: dt.datetime | None = None,
        rules: Mapping[str, WarningRule] | None = None,
        thresholds: Thresholds | None = None,
    ):
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)
        self._rules = rules
        self._thresholds = thresholds
        self._days_since: dict[dt.date, int] = {self.today: 0}
        self._walked = self.today  # days_since is known from here to today

    @cached_property
    def thresholds(self) -> Thresholds:
        return self._thresholds or Thresholds.read(self._rules)

    @cached_property
    def calendar(self) -> WorkingDays:
        return WorkingDays(self.today)

    # The moments the checks and the conditions compare with, per number of days.

    @cached_property
    def _due_soon_limits(self) -> dict[int, dt.datetime]:
        return {
            days: _end_of(self.calendar.add(self.today, days))
            for days in set(self.thresholds.due_soon.values())
        }

    @cached_property
    def _stale_cutoffs(self) -> dict[int, dt.datetime]:
        return {days: self._stale_cutoff(days) for days in set(self.thresholds.stale.values())}

    def _stale_cutoff(self, days: int) -> dt.datetime:
        """Return the moment `days` working days of time before now: a task whose last
        update is at or before it is stale. Only the hours of working days count."""
        if days == 0:
            return self.now
        day = self.calendar.subtract(self.today, days)
        if self.calendar.is_workday(self.today):
            # Today's hours so far, the whole working days between, and the rest of `day`.
            now = timezone.localtime(self.now).time()
            return timezone.make_aware(dt.datetime.combine(day, now))
        return _start_of(day)

    def due_soon_by(self, importance: str) -> dt.datetime:
        """Return the last moment a task of `importance` may be due and be due soon."""
        return self._due_soon_limits[_tier(self.thresholds.due_soon, importance)]

    def stale_days(self, importance: str) -> int:
        return _tier(self.thresholds.stale, importance)

    def stale_since(self, importance: str) -> dt.datetime:
        """Return the moment at or before which a last update leaves a task stale."""
        return self._stale_cutoffs[self.stale_days(importance)]

    def days_since(self, day: dt.date) -> int:
        """Return the working days after `day` up to today: how many days a task has
        gone without an update since one on `day` (Tuesday's is 3 days old on Friday).
        A scan asks for many tasks' days: the count is walked back from today once, a day
        at a time, as far as the earliest day asked, and remembered for every day passed
        (days_since(d - 1) = days_since(d) + 1 if d is a working day)."""
        if day >= self.today:
            return 0
        walked, count = self._walked, self._days_since[self._walked]
        while walked > day:
            count += self.calendar.is_workday(walked)
            walked -= dt.timedelta(days=1)
            self._days_since[walked] = count
        self._walked = min(self._walked, walked)
        return self._days_since[day]

    # --- the checks ---

    def is_overdue(self, task) -> bool:
        return is_overdue(task, self.now)

    def is_behind(self, task) -> bool:
        return is_behind(task, self.now)

    def is_late(self, task) -> bool:
        return is_late(task, self.now)

    def is_due_soon(self, task) -> bool:
        """To do or in progress, not yet due, and due within the importance's days."""
        return task.state in WORKING and self.now <= task.due_at <= self.due_soon_by(
            task.importance
        )

    def is_stale(self, task) -> bool:
        """In progress, and no progress update for the importance's working days."""
        if task.state != TaskState.IN_PROGRESS:
            return False
        last = task.last_progress_at or task.started_at
        return last is not None and last <= self.stale_since(task.importance)

    def badges(self, task) -> Badges:
        return Badges(
            overdue=self.is_overdue(task),
            behind=self.is_behind(task),
            due_soon=self.is_due_soon(task),
            stale=self.is_stale(task),
            stale_days=self.stale_days(task.importance),
        )

    def mark(self, tasks: Iterable) -> list:
        """Set `badges` on each task and return them as a list.

        The thresholds and the calendar are read for any non-empty list, whether or not
        a task needs them, so that a page runs as many queries whatever its tasks are.
        """
        tasks = list(tasks)
        if tasks:
            self._due_soon_limits, self._stale_cutoffs  # noqa: B018
        for task in tasks:
            task.badges = self.badges(task)
        return tasks

    # --- the matching conditions ---

    def overdue_q(self) -> Q:
        return overdue_q(self.now)

    def behind_q(self) -> Q:
        return behind_q(self.now)

    def late_q(self) -> Q:
        return late_q(self.now)

    def due_soon_q(self) -> Q:
        """is_due_soon as a query condition (on the state, due_at index)."""
        by_limit: dict[dt.datetime, list[str]] = {}
        for importance in TIER_FIELDS:
            by_limit.setdefault(self.due_soon_by(importance), []).append(importance)
        return Q(state__in=WORKING, due_at__gte=self.now) & _by_importance(
            by_limit, lambda limit: Q(due_at__lte=limit)
        )

    def stale_q(self) -> Q:
        """is_stale as a query condition."""
        by_cutoff: dict[dt.datetime, list[str]] = {}
        for importance in TIER_FIELDS:
            by_cutoff.setdefault(self.stale_since(importance), []).append(importance)
        return Q(state=TaskState.IN_PROGRESS) & _by_importance(
            by_cutoff,
            lambda cutoff: (
                Q(last_progress_at__lte=cutoff)
                | Q(last_progress_at__isnull=True, started_at__lte=cutoff)
            ),
        )


def _by_importance(groups: dict, condition) -> Q:
    """OR of condition(moment) per group of importances sharing the moment. The normal
    tasks' group is "any importance but the others'", as _tier falls back to normal;
    with one group for all, no importance is tested at all."""
    if len(groups) == 1:
        (moment,) = groups
        return condition(moment)
    q = Q()
    for moment, importances in groups.items():
        if Priority.NORMAL in importances:
            others = [i for i in TIER_FIELDS if i not in importances]
            q |= ~Q(importance__in=others) & condition(moment)
        else:
            q |= Q(importance__in=importances) & condition(moment)
    return q
