"""Reads of the PMO dashboard 儀表板 and of the monthly analysis 協作分析報告.

Every number on the dashboard is a *metric*: a named filter over one base set (the
requests, tasks or department reviews of a department scope and a period). The same
`Q` counts the number (an aggregate with `filter=`) and selects the rows of the list
behind it (`queryset.filter(q)`), so the list a number opens always holds that many rows.

Scope. The PMO, executives and platform admins see every department; a head (or a deputy
while a delegation runs) sees the departments they act for: tasks their departments are
Responsible for, requests their departments filed or collaborate on, and their
departments' review answers. A department filter narrows the scope further.

Period. Requests count in the period they were submitted in (by their current state),
were confirmed in, or were completed in (cycle time); tasks in the period they are due
in; review answers in the period they were given in. Each base set is a range on one
indexed column (plus the department), so the work grows with the period's rows, not with
the size of the whole database (`make bench`).

Queries: the summary takes a fixed number of queries whatever the data (tested).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import (
    Avg,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from collab import selectors as org
from collab.models import Department, User
from meetings_app import metrics as meeting_metrics
from requests_app import permissions as request_permissions
from requests_app.choices import RequestState, ReviewDecision
from requests_app.models import CollabRequest, DepartmentReview, RequestDepartment
from tasks_app import deadlines
from tasks_app import permissions as task_permissions
from tasks_app.choices import OPEN_TASK_STATES, RaciRole, RiskLevel, TaskState
from tasks_app.models import Task, TaskAssignment

# --- the period ------------------------------------------------------------------------

PERIOD_MONTH = "month"
PERIOD_LAST_MONTH = "last_month"
PERIOD_QUARTER = "quarter"
PERIOD_LAST_QUARTER = "last_quarter"
PERIOD_YEAR = "year"
PERIOD_LAST_YEAR = "last_year"
PERIOD_CUSTOM = "custom"
DEFAULT_PERIOD = PERIOD_QUARTER

PERIOD_CHOICES = [
    (PERIOD_MONTH, _("This month")),
    (PERIOD_LAST_MONTH, _("Last month")),
    (PERIOD_QUARTER, _("This quarter")),
    (PERIOD_LAST_QUARTER, _("Last quarter")),
    (PERIOD_YEAR, _("This year")),
    (PERIOD_LAST_YEAR, _("Last year")),
    (PERIOD_CUSTOM, _("Custom dates")),
]


def month_start(day: dt.date) -> dt.date:
    """Return the first day of `day`'s month."""
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """Return the first day of the month `months` after (or before) `day`'s."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Whole days from `start` to `end`, both included, in the portal's time zone."""

    start: dt.date
    end: dt.date
    key: str = PERIOD_CUSTOM

    @classmethod
    def month(cls, month: dt.date) -> Period:
        """The calendar month `month` falls in."""
        first = month_start(month)
        return cls(first, add_months(first, 1) - dt.timedelta(days=1), PERIOD_CUSTOM)

    @classmethod
    def preset(cls, key: str, *, today: dt.date | None = None) -> Period:
        today = today or timezone.localdate()
        month = month_start(today)
        quarter = add_months(month, -((month.month - 1) % 3))
        starts = {
            PERIOD_MONTH: (month, 1),
            PERIOD_LAST_MONTH: (add_months(month, -1), 1),
            PERIOD_QUARTER: (quarter, 3),
            PERIOD_LAST_QUARTER: (add_months(quarter, -3), 3),
            PERIOD_YEAR: (dt.date(today.year, 1, 1), 12),
            PERIOD_LAST_YEAR: (dt.date(today.year - 1, 1, 1), 12),
        }
        start, months = starts.get(key, starts[DEFAULT_PERIOD])
        key = key if key in starts else DEFAULT_PERIOD
        return cls(start, add_months(start, months) - dt.timedelta(days=1), key)

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as [start, end) aware datetimes, for range filters on timestamps."""
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.start, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return start, end

    def query(self) -> dict:
        if self.key != PERIOD_CUSTOM:
            return {"period": self.key}
        return {"period": PERIOD_CUSTOM, "from": self.start.isoformat(), "to": self.end.isoformat()}


# --- who sees what -------------------------------------------------------------------


def dashboard_scope(user: User) -> tuple[int, ...] | None:
    """Return the department ids `user` sees on the dashboard; None means all of them."""
    if user.sees_everything:
        return None
    return tuple(org.departments_actable(user=user).order_by("pk").values_list("pk", flat=True))


def scope_departments(scope: tuple[int, ...] | None) -> QuerySet[Department]:
    """Return the departments a scope offers in the department filter, by name."""
    queryset = Department.objects.filter(is_active=True)
    if scope is not None:
        queryset = Department.objects.filter(pk__in=scope)
    return queryset.order_by("name")


@dataclass(frozen=True)
class DashboardFilter:
    """What the dashboard and its lists show: a department scope and a period."""

    scope: tuple[int, ...] | None  # the viewer's departments; None means every department
    period: Period
    department: Department | None = None  # one department picked within the scope
    user: User | None = None  # the viewer; None for the company-wide analysis report

    @property
    def department_ids(self) -> tuple[int, ...] | None:
        if self.department is not None:
            return (self.department.pk,)
        return self.scope

    def query(self, **extra) -> str:
        """The filter as a query string for the links of the dashboard and its lists."""
        params = dict(self.period.query())
        if self.department is not None:
            params["department"] = self.department.pk
        params.update({k: v for k, v in extra.items() if v not in (None, "")})
        return urlencode(params)


def company_filter(period: Period) -> DashboardFilter:
    """The whole company over `period`: the monthly analysis report's view."""
    return DashboardFilter(scope=None, period=period)


# --- base sets and metrics ------------------------------------------------------------


def in_period(field_name: str, period: Period) -> Q:
    start, end = period.bounds
    return Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})


def base_tasks(f: DashboardFilter) -> QuerySet[Task]:
    """The tasks due in the period, of the departments in scope.

    Every state is listed on purpose: PostgreSQL then reads the (state, due_at) index
    once per state with the period as its range, instead of the whole table."""
    queryset = Task.objects.filter(in_period("due_at", f.period), state__in=TaskState.values)
    if f.department_ids is not None:
        queryset = queryset.filter(responsible_department_id__in=f.department_ids)
    return queryset


def _department_requests(queryset: QuerySet, department_ids) -> QuerySet:
    if department_ids is None:
        return queryset
    involved = RequestDepartment.objects.filter(
        request=OuterRef("pk"), department_id__in=department_ids
    )
    return queryset.filter(Q(initiating_department_id__in=department_ids) | Exists(involved))


def base_reviews(f: DashboardFilter) -> QuerySet[DepartmentReview]:
    """The review answers (agreed or rejected) given in the period by departments in scope."""
    queryset = DepartmentReview.objects.filter(
        in_period("decided_at", f.period),
        decision__in=[ReviewDecision.APPROVED, ReviewDecision.REJECTED],
    )
    if f.department_ids is not None:
        queryset = queryset.filter(department_id__in=f.department_ids)
    return queryset


def _on_time() -> Q:
    """Done, and delivered (submitted) by the due time."""
    return Q(state=TaskState.DONE, due_at__gte=Coalesce("submitted_at", "completed_at"))


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    q: object  # a Q, or a callable now -> Q


def _task_metrics() -> dict[str, Metric]:
    metrics = [
        Metric("all", _("Tasks due"), Q()),
        Metric("done", pgettext_lazy("task state", "Done"), Q(state=TaskState.DONE)),
        Metric("on_time", _("Done on time"), lambda now: _on_time()),
        Metric(
            "done_late",
            _("Done late"),
            lambda now: Q(state=TaskState.DONE) & ~_on_time(),
        ),
        Metric("open", pgettext_lazy("tasks", "Open"), Q(state__in=OPEN_TASK_STATES)),
        # Late is the board's 延期 / 滯後 (tasks_app.deadlines): overdue or behind plan.
        Metric(
            "in_progress",
            _("In progress, on time"),
            lambda now: Q(state__in=OPEN_TASK_STATES) & ~deadlines.late_q(now),
        ),
        Metric("late", _("Late"), deadlines.late_q),
        # The on-time rate's whole: the tasks whose due time has told (done, or overdue);
        # a task behind plan may still be delivered on time.
        Metric(
            "settled",
            _("Done or overdue"),
            lambda now: Q(state=TaskState.DONE) | deadlines.overdue_q(now),
        ),
    ]
    for level in RiskLevel:
        metrics.append(
            Metric(
                f"risk_{level.value}",
                level.label,
                Q(state__in=OPEN_TASK_STATES, risk_level=level.value),
            )
        )
    return {metric.key: metric for metric in metrics}


TASK_METRICS = _task_metrics()

# The request states the dashboard counts (a draft has not been filed yet).
DASHBOARD_REQUEST_STATES = [s for s in RequestState if s != RequestState.DRAFT]


def _request_metrics() -> dict[str, Metric]:
    metrics = {
        "submitted": Metric("submitted", _("Submitted"), ("submitted_at", Q())),
        "confirmed": Metric("confirmed", _("Confirmed as projects"), ("approved_at", Q())),
        "completed": Metric(
            "completed",
            pgettext_lazy("request state", "Completed"),
            ("completed_at", Q(state=RequestState.COMPLETED)),
        ),
    }
    for state in DASHBOARD_REQUEST_STATES:
        metrics[f"state_{state.value}"] = Metric(
            f"state_{state.value}", state.label, ("submitted_at", Q(state=state.value))
        )
    return metrics


REQUEST_METRICS = _request_metrics()


def _resolve(metric: Metric, now: dt.datetime) -> Q:
    return metric.q(now) if callable(metric.q) else metric.q


def tasks_for(f: DashboardFilter, metric: str, *, now: dt.datetime | None = None):
    """The tasks behind a task number of the dashboard (the base set, filtered)."""
    now = now or timezone.now()
    chosen = TASK_METRICS.get(metric, TASK_METRICS["all"])
    queryset = base_tasks(f).filter(_resolve(chosen, now))
    if f.user is not None:
        queryset = task_permissions.visible_tasks(f.user, queryset)
    return queryset


def requests_for(f: DashboardFilter, metric: str) -> QuerySet[CollabRequest]:
    """The requests behind a request number of the dashboard."""
    chosen = REQUEST_METRICS.get(metric, REQUEST_METRICS["submitted"])
    field_name, q = chosen.q
    queryset = _department_requests(
        CollabRequest.objects.filter(in_period(field_name, f.period)).filter(q),
        f.department_ids,
    )
    if f.user is not None:
        queryset = request_permissions.visible_requests(f.user, queryset)
    return queryset


def reviews_for(f: DashboardFilter) -> QuerySet[DepartmentReview]:
    """The review answers behind a review-time number."""
    queryset = base_reviews(f)
    if f.user is not None:
        visible = request_permissions.visible_requests(f.user).filter(pk=OuterRef("request_id"))
        queryset = queryset.filter(Exists(visible))
    return queryset


# --- the summary -----------------------------------------------------------------------


@dataclass
class Number:
    """One figure of the dashboard and the list it opens."""

    key: str
    label: str
    value: object
    url: str = ""


@dataclass
class DepartmentRow:
    department: Department
    open: Number
    done: Number
    late: Number
    on_time_rate: float | None  # percent, None when nothing was due and settled yet
    on_time_url: str
    reviews: Number
    review_days: float | None  # average days from being asked to answering


@dataclass
class CycleMonth:
    month: dt.date
    count: int
    average_days: float | None
    url: str = ""


@dataclass
class Summary:
    filter: DashboardFilter
    requests_by_state: list[Number]
    volumes: dict[str, Number]  # submitted / confirmed / completed in the period
    tasks: dict[str, Number]  # every TASK_METRICS key
    on_time_rate: float | None
    review_count: int
    review_days: float | None
    cycle_count: int
    cycle_days: float | None
    cycle_buckets: list[Number]
    cycle_months: list[CycleMonth]
    risks: list[Number]
    departments: list[DepartmentRow] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (
            self.volumes["submitted"].value
            or self.volumes["completed"].value
            or self.tasks["all"].value
            or self.review_count
        )


def _days(value: dt.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 86400, 1)


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


# Cycle-time buckets in days: (key, label, lower bound exclusive, upper bound inclusive).
CYCLE_BUCKETS = [
    ("cycle_30", _("Up to 30 days"), None, 30),
    ("cycle_60", _("31–60 days"), 30, 60),
    ("cycle_90", _("61–90 days"), 60, 90),
    ("cycle_more", _("Over 90 days"), 90, None),
]


def _cycle_q(lower, upper) -> Q:
    q = Q()
    if lower is not None:
        q &= Q(cycle__gt=dt.timedelta(days=lower))
    if upper is not None:
        q &= Q(cycle__lte=dt.timedelta(days=upper))
    return q


def _cycle() -> ExpressionWrapper:
    return ExpressionWrapper(F("completed_at") - F("submitted_at"), output_field=DurationField())


class Links:
    """Build the URLs of the lists behind the numbers."""

    def __init__(self, f: DashboardFilter, *, enabled: bool = True):
        self.f = f
        self.enabled = enabled

    def _url(self, name: str, **extra) -> str:
        if not self.enabled:
            return ""
        return f"{reverse(name)}?{self.f.query(**extra)}"

    def tasks(self, metric: str, department: int | None = None) -> str:
        return self._url("portfolio_app:dashboard-tasks", metric=metric, department=department)

    def requests(self, metric: str, department: int | None = None, **extra) -> str:
        return self._url(
            "portfolio_app:dashboard-requests", metric=metric, department=department, **extra
        )

    def reviews(self, department: int | None = None) -> str:
        return self._url("portfolio_app:dashboard-reviews", department=department)


def cycle_months(f: DashboardFilter, *, links: bool = True) -> list[CycleMonth]:
    """Return the requests completed in the period by month of completion, with their
    average cycle time (submission to 已完成), oldest first; one query. Months with
    no completion are left out."""
    completed = in_period("completed_at", f.period) & Q(state=RequestState.COMPLETED)
    rows = (
        _department_requests(
            CollabRequest.objects.filter(completed, submitted_at__isnull=False), f.department_ids
        )
        .annotate(cycle=_cycle(), month=TruncMonth("completed_at"))
        .values("month")
        .annotate(count=Count("pk"), average=Avg("cycle"))
        .order_by("month")
    )
    months = []
    for row in rows:
        month = row["month"]
        if isinstance(month, dt.datetime):
            month = timezone.localtime(month).date()
        url = ""
        if links:
            inner = DashboardFilter(f.scope, Period.month(month), f.department, f.user)
            url = Links(inner).requests("completed")
        months.append(CycleMonth(month, row["count"], _days(row["average"]), url))
    return months


def summary(
    f: DashboardFilter,
    *,
    now: dt.datetime | None = None,
    links: bool = True,
    with_trend: bool = True,
) -> Summary:
    """Count everything the dashboard (and the analysis report) shows, in 5 queries
    (4 without the cycle-time trend by month, which the analysis report draws itself)."""
    now = now or timezone.now()
    link = Links(f, enabled=links)

    # 1. Requests: submitted in the period by state, confirmed and completed in it, and
    # the cycle time of the completed ones; one pass over the three date ranges.
    requests = _department_requests(
        CollabRequest.objects.filter(
            in_period("submitted_at", f.period)
            | in_period("approved_at", f.period)
            | in_period("completed_at", f.period)
        ),
        f.department_ids,
    ).annotate(cycle=_cycle())
    submitted = in_period("submitted_at", f.period)
    completed = in_period("completed_at", f.period) & Q(state=RequestState.COMPLETED)
    aggregates = {
        "submitted": Count("pk", filter=submitted),
        "confirmed": Count("pk", filter=in_period("approved_at", f.period)),
        "completed": Count("pk", filter=completed),
        "cycle_avg": Avg("cycle", filter=completed),
    }
    for state in DASHBOARD_REQUEST_STATES:
        aggregates[f"state_{state.value}"] = Count("pk", filter=submitted & Q(state=state))
    for key, _label, lower, upper in CYCLE_BUCKETS:
        aggregates[key] = Count("pk", filter=completed & _cycle_q(lower, upper))
    counted = requests.aggregate(**aggregates)

    # 2. Cycle time by month of completion (the trend chart).
    trend = cycle_months(f, links=links) if with_trend else []

    # 3. Tasks due in the period: every task metric per responsible department in one
    # aggregate; the totals are their sums.
    per_department = {
        row["responsible_department"]: row
        for row in base_tasks(f)
        .values("responsible_department")
        .annotate(
            **{
                key: Count("pk", filter=_resolve(metric, now)) if key != "all" else Count("pk")
                for key, metric in TASK_METRICS.items()
            }
        )
        .order_by()
    }
    tasks = {key: sum(row[key] for row in per_department.values()) for key in TASK_METRICS}

    # 4. Review answers given in the period, per department: how many, average time.
    review_rows = {
        row["department"]: row
        for row in base_reviews(f)
        .values("department")
        .annotate(
            count=Count("pk"),
            average=Avg(
                ExpressionWrapper(F("decided_at") - F("created_at"), output_field=DurationField())
            ),
        )
        .order_by()
    }

    # 5. The departments themselves: those in scope, or those with numbers.
    department_ids = set(per_department) | set(review_rows)
    if f.department_ids is not None:
        department_ids |= set(f.department_ids)
    departments = Department.objects.filter(pk__in=department_ids).order_by("name")

    rows = []
    review_total = 0
    review_seconds = 0.0
    for department in departments:
        counts = per_department.get(department.pk, {})
        review = review_rows.get(department.pk, {})
        if review.get("count"):
            review_total += review["count"]
            review_seconds += review["average"].total_seconds() * review["count"]
        pk = department.pk
        rows.append(
            DepartmentRow(
                department=department,
                open=Number("open", TASK_METRICS["open"].label, counts.get("open", 0),
                            link.tasks("open", pk)),
                done=Number("done", TASK_METRICS["done"].label, counts.get("done", 0),
                            link.tasks("done", pk)),
                late=Number("late", TASK_METRICS["late"].label, counts.get("late", 0),
                            link.tasks("late", pk)),
                on_time_rate=_rate(counts.get("on_time", 0), counts.get("settled", 0)),
                on_time_url=link.tasks("settled", pk),
                reviews=Number("reviews", _("Review answers"), review.get("count", 0),
                               link.reviews(pk)),
                review_days=_days(review.get("average")),
            )
        )  # fmt: skip

    return Summary(
        filter=f,
        requests_by_state=[
            Number(
                f"state_{state.value}",
                state.label,
                counted[f"state_{state.value}"],
                link.requests(f"state_{state.value}"),
            )
            for state in DASHBOARD_REQUEST_STATES
        ],
        volumes={
            key: Number(key, REQUEST_METRICS[key].label, counted[key], link.requests(key))
            for key in ("submitted", "confirmed", "completed")
        },
        tasks={
            key: Number(key, metric.label, tasks[key], link.tasks(key))
            for key, metric in TASK_METRICS.items()
        },
        on_time_rate=_rate(tasks["on_time"], tasks["settled"]),
        review_count=review_total,
        review_days=round(review_seconds / review_total / 86400, 1) if review_total else None,
        cycle_count=counted["completed"],
        cycle_days=_days(counted["cycle_avg"]),
        cycle_buckets=[
            Number(key, label, counted[key], link.requests("completed", cycle=key))
            for key, label, _lower, _upper in CYCLE_BUCKETS
        ],
        cycle_months=trend,
        risks=[
            Number(
                f"risk_{level.value}",
                level.label,
                tasks[f"risk_{level.value}"],
                link.tasks(f"risk_{level.value}"),
            )
            for level in RiskLevel
        ],
        departments=rows,
    )


# --- meetings and action items --------------------------------------------------------


@dataclass
class MeetingRow:
    department: Department
    figures: meeting_metrics.Figures


@dataclass
class MeetingSummary:
    """Meetings held in the period and their minutes filed on time; action items due in
    it, open, late and escalated (meetings_app.metrics), in all and per department."""

    total: meeting_metrics.Figures
    departments: list[MeetingRow]


def meeting_summary(f: DashboardFilter, *, now: dt.datetime | None = None) -> MeetingSummary:
    """Count the meeting figures of the dashboard's scope and period, in 6 queries."""
    total, per_department = meeting_metrics.department_figures(
        first=f.period.start, last=f.period.end, department_ids=f.department_ids, now=now
    )
    shown = set(per_department) | set(f.department_ids or ())
    return MeetingSummary(
        total=total,
        departments=[
            MeetingRow(department, per_department.get(department.pk, meeting_metrics.Figures()))
            for department in Department.objects.filter(pk__in=shown).order_by("name")
        ],
    )


# --- the lists behind the numbers -------------------------------------------------------

TASK_SORTS = {
    "due": ("due_at", "number"),
    "-due": ("-due_at", "-number"),
    "department": ("responsible_department__name", "due_at", "number"),
    "request": ("request__number", "sequence"),
    "risk": ("-risk_rank", "due_at", "number"),
    "progress": ("progress_percent", "due_at", "number"),
    "number": ("number",),
}
DEFAULT_TASK_SORT = "due"


def task_list(f: DashboardFilter, metric: str, *, sort: str = DEFAULT_TASK_SORT, now=None):
    """The tasks behind a number, sorted, with what the list shows, in one query."""

    order = TASK_SORTS.get(sort, TASK_SORTS[DEFAULT_TASK_SORT])
    queryset = tasks_for(f, metric, now=now)
    if sort == "risk":
        queryset = queryset.annotate(
            risk_rank=Case(
                *[
                    When(risk_level=level.value, then=Value(rank))
                    for rank, level in enumerate(RiskLevel)
                ],
                default=Value(0),
                output_field=IntegerField(),
            )
        )
    # The Responsible person's name comes with the row (a subquery, not a prefetch), so
    # the list takes as many queries with no rows as with many.
    responsible = TaskAssignment.objects.filter(
        task=OuterRef("pk"), role=RaciRole.RESPONSIBLE
    ).order_by()
    return (
        queryset.select_related("request", "responsible_department")
        .annotate(
            responsible_name=Subquery(responsible.values("user__full_name")[:1]),
            responsible_username=Subquery(responsible.values("user__username")[:1]),
        )
        .order_by(*order)
    )


REQUEST_SORTS = {
    "submitted": ("-submitted_at", "-pk"),
    "-submitted": ("submitted_at", "pk"),
    "completed": ("-completed_at", "-pk"),
    "cycle": ("-cycle", "-pk"),
    "number": ("number",),
    "department": ("initiating_department__name", "-submitted_at"),
}


def request_list(f: DashboardFilter, metric: str, *, cycle: str = "", sort: str = ""):
    """The requests behind a number; `cycle` narrows completed ones to a cycle bucket."""
    queryset = requests_for(f, metric).annotate(cycle=_cycle())
    bucket = {key: (lower, upper) for key, _label, lower, upper in CYCLE_BUCKETS}.get(cycle)
    if metric == "completed" and bucket:
        queryset = queryset.filter(_cycle_q(*bucket))
    default = "completed" if metric == "completed" else "submitted"
    order = REQUEST_SORTS.get(sort, REQUEST_SORTS[default])
    return queryset.select_related("initiating_department", "initiator").order_by(*order)


REVIEW_SORTS = {
    "decided": ("-decided_at", "-pk"),
    "duration": ("-duration", "-pk"),
    "department": ("department__name", "-decided_at"),
}


def review_list(f: DashboardFilter, *, sort: str = ""):
    order = REVIEW_SORTS.get(sort, REVIEW_SORTS["decided"])
    return (
        reviews_for(f)
        .annotate(
            duration=ExpressionWrapper(
                F("decided_at") - F("created_at"), output_field=DurationField()
            )
        )
        .select_related("request", "department", "decided_by")
        .order_by(*order)
    )


def late_list(f: DashboardFilter, *, sort: str = DEFAULT_TASK_SORT, limit: int = 10, now=None):
    """The first `limit` late tasks, as the dashboard shows them.

    The first ones are chosen on the tasks alone (an IN over a LIMIT subquery), then
    joined to their requests: joined first, PostgreSQL hashes every request of the
    portfolio for ten rows (`make bench`: 9 -> 2 ms at 10k requests)."""
    tasks = task_list(f, "late", sort=sort, now=now)
    return list(tasks.filter(pk__in=tasks.values("pk")[:limit]))
