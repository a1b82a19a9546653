"""Reads of the monthly collaboration analysis 協作分析報告 (DOMAIN §6; seed 004 step 6:
the platform administrator sums up the month's feedback for management every month).

The report is the dashboard's summary of one calendar month (portfolio_app.selectors.
dashboard.summary: volumes, on-time rates, review times, cycle times, risk levels, per
department), the previous month's figures beside it, and the month's feedback themes
and process-improvement suggestions. It is always read from the live data: the PDF
opened on demand and the one e-mailed on the 1st show the same numbers.

Scope. The company-wide report (scope None) is the executives' and the PMO's; a head
gets the same report over the departments they act for (portfolio_app.permissions.analysis
decides who gets which). Within a department scope, feedback counts when it concerns one
of the scope's departments and suggestions when one of them proposed it, which is also
what a head may read (review_app.permissions.feedback).

Queries: a fixed number whatever the data (tested): 20, of which 12 are the dashboard
summaries of the month and of the one before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from collab.models import Department
from requests_app.models import CollabRequest
from review_app.choices import FeedbackKind, SuggestionState
from review_app.models import Feedback, Suggestion
from risks_app import selectors as risk_selectors

from .dashboard import (
    CycleMonth,
    DashboardFilter,
    Period,
    Summary,
    add_months,
    cycle_months,
    in_period,
    month_start,
    summary,
)

#: How many of the latest pieces of feedback of each kind the report quotes.
EXCERPTS = {FeedbackKind.PROBLEM: 5, FeedbackKind.SUGGESTION: 3, FeedbackKind.PRAISE: 3}
#: How many characters of a piece of feedback (or a suggestion's pain point) it quotes.
EXCERPT_CHARS = 120
#: How many departments "most often concerned" it lists.
TOP_DEPARTMENTS = 8
#: How many of the latest suggestions filed in the month it lists.
RECENT_SUGGESTIONS = 5
#: The cycle-time trend: this many months, ending with the report's month.
TREND_MONTHS = 12
#: The month picker offers this many months, the current one first.
PICKER_MONTHS = 12
#: No report before this month (the portal did not exist; it keeps dates sane).
FIRST_MONTH = dt.date(2000, 1, 1)


# --- months ----------------------------------------------------------------------------


def previous_month(today: dt.date | None = None) -> dt.date:
    """Return the first day of the month before `today`'s (the report's default month)."""
    return add_months(month_start(today or timezone.localdate()), -1)


def parse_month(text: str) -> dt.date:
    """Return the first day of the month written "YYYY-MM"; ValueError for anything else."""
    text = (text or "").strip()
    if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit():
        raise ValueError(f"not a YYYY-MM month: {text!r}")
    return dt.date(int(text[:4]), int(text[5:]), 1)


def analysis_months(today: dt.date | None = None, *, count: int = PICKER_MONTHS) -> list[dt.date]:
    """Return the months the report can be opened for, newest first (for a month picker).

    The current month (so far) and the `count - 1` before it, but none before the month
    the first request was submitted in (none at all: the current month only); the
    previous month, the default, is always offered. One query.
    """
    current = month_start(today or timezone.localdate())
    months = [add_months(current, -n) for n in range(count)]
    first = CollabRequest.objects.aggregate(first=Min("submitted_at"))["first"]
    first_month = current if first is None else month_start(timezone.localtime(first).date())
    months = [m for m in months if m >= first_month] or months[:1]
    default = add_months(current, -1)
    if default not in months:
        months.append(default)
    return months


# --- what the report holds ---------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One key figure of the month beside the previous month's."""

    key: str
    label: str
    value: float | int | None
    previous: float | int | None
    unit: str = ""  # "%" (a rate; its change is in percentage points), "days" or ""
    higher_is_better: bool | None = None  # None: neither way is good or bad in itself

    @property
    def delta(self) -> float | int | None:
        if self.value is None or self.previous is None:
            return None
        delta = self.value - self.previous
        return round(delta, 1) if isinstance(delta, float) else delta

    @property
    def tone(self) -> str:
        """ "good", "bad" or "" (no change, nothing to compare or no better direction)."""
        if not self.delta or self.higher_is_better is None:
            return ""
        return "good" if (self.delta > 0) == self.higher_is_better else "bad"


@dataclass(frozen=True)
class KindCount:
    kind: str
    label: str
    count: int
    handled: int


@dataclass(frozen=True)
class DepartmentConcern:
    """A department concerned by the month's feedback, and by what kind of it."""

    department_id: int
    name: str
    total: int
    praise: int
    problem: int
    suggestion: int


@dataclass(frozen=True)
class Excerpt:
    """The start of one piece of feedback, with where it comes from."""

    number: str
    kind: str
    request_number: str
    request_name: str
    departments: list[str]
    text: str
    created_at: dt.datetime
    handled: bool


@dataclass
class FeedbackThemes:
    total: int
    handled: int
    kinds: list[KindCount]
    departments: list[DepartmentConcern]
    excerpts: dict[str, list[Excerpt]]  # by kind, latest first

    @property
    def handled_rate(self) -> float | None:
        return round(100 * self.handled / self.total, 1) if self.total else None

    def count(self, kind: str) -> int:
        return next((row.count for row in self.kinds if row.kind == kind), 0)

    @property
    def excerpt_groups(self) -> list[tuple[KindCount, list[Excerpt]]]:
        """The quotes by kind: problems first, then suggestions, then praise."""
        order = [FeedbackKind.PROBLEM, FeedbackKind.SUGGESTION, FeedbackKind.PRAISE]
        kinds = {row.kind: row for row in self.kinds}
        return [(kinds[k.value], self.excerpts.get(k.value, [])) for k in order]


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int


@dataclass(frozen=True)
class SuggestionLine:
    number: str
    department: str
    pain_point: str
    state: str
    state_label: str


@dataclass
class SuggestionSummary:
    total: int
    states: list[StateCount]
    recent: list[SuggestionLine]


@dataclass
class MonthlyAnalysis:
    month: dt.date  # the first day of the month
    period: Period
    scope: tuple[int, ...] | None  # None: the whole company
    generated_at: dt.datetime
    summary: Summary
    previous: Summary
    comparisons: list[Comparison]
    cycle_trend: list[CycleMonth]  # TREND_MONTHS months ending with `month`, oldest first
    feedback: FeedbackThemes
    suggestions: SuggestionSummary
    scope_departments: list[Department] = field(default_factory=list)
    # The risk reports of the month (risks_app.selectors.month_figures).
    risk_reports: dict = field(default_factory=dict)

    @property
    def is_company_wide(self) -> bool:
        return self.scope is None

    @property
    def is_partial(self) -> bool:
        """The month is not over yet when the report is made: its figures are so far."""
        return timezone.localtime(self.generated_at).date() <= self.period.end

    @property
    def is_empty(self) -> bool:
        return self.summary.is_empty and not self.feedback.total and not self.suggestions.total

    @property
    def trend_max_days(self) -> float:
        return max((row.average_days or 0 for row in self.cycle_trend), default=0) or 1


# --- reading it ----------------------------------------------------------------------------


def _comparisons(current: Summary, previous: Summary, feedback: int, feedback_before: int):
    def pair(key, label, value_of, unit="", better=None):
        return Comparison(key, label, value_of(current), value_of(previous), unit, better)

    return [
        pair("submitted", _("Requests submitted"), lambda s: s.volumes["submitted"].value),
        pair("confirmed", _("Confirmed as projects"), lambda s: s.volumes["confirmed"].value),
        pair("completed", _("Requests completed"), lambda s: s.volumes["completed"].value),
        pair("tasks_due", _("Tasks due"), lambda s: s.tasks["all"].value),
        pair("tasks_done", _("Tasks done"), lambda s: s.tasks["done"].value, better=True),
        pair("tasks_late", _("Tasks late"), lambda s: s.tasks["late"].value, better=False),
        pair("on_time_rate", _("On-time rate"), lambda s: s.on_time_rate, "%", True),
        pair("review_count", _("Review answers"), lambda s: s.review_count),
        pair("review_days", _("Average review time"), lambda s: s.review_days, "days", False),
        pair("cycle_days", _("Average cycle time"), lambda s: s.cycle_days, "days", False),
        Comparison("feedback", _("Feedback received"), feedback, feedback_before),
    ]


def cycle_trend(
    month: dt.date, scope: tuple[int, ...] | None = None, *, months: int = TREND_MONTHS
) -> list[CycleMonth]:
    """Return the average cycle time (submission to 已完成) of the requests completed in
    each of the `months` months ending with `month`, oldest first; one query."""
    first = add_months(month_start(month), 1 - months)
    period = Period(first, add_months(month_start(month), 1) - dt.timedelta(days=1))
    by_month = {
        row.month: row
        for row in cycle_months(DashboardFilter(scope=scope, period=period), links=False)
    }
    return [
        by_month.get(m) or CycleMonth(month=m, count=0, average_days=None)
        for m in (add_months(first, n) for n in range(months))
    ]


def _feedback(period: Period, scope) -> QuerySet[Feedback]:
    queryset = Feedback.objects.filter(in_period("created_at", period))
    if scope is not None:
        concerned = Feedback.departments.through.objects.filter(
            feedback_id=OuterRef("pk"), department_id__in=scope
        )
        queryset = queryset.filter(Exists(concerned))
    return queryset


def _clip(text: str) -> str:
    return Truncator(" ".join((text or "").split())).chars(EXCERPT_CHARS)


def feedback_themes(period: Period, scope: tuple[int, ...] | None = None) -> FeedbackThemes:
    """Count the feedback given in the period by kind and by department concerned, and
    quote the latest pieces of each kind. Four queries, whatever the data."""
    given = _feedback(period, scope)
    kinds = list(FeedbackKind)
    handled = Q(handled_at__isnull=False)
    counts = given.aggregate(
        total=Count("pk"),
        handled=Count("pk", filter=handled),
        **{f"n_{k.value}": Count("pk", filter=Q(kind=k.value)) for k in kinds},
        **{f"h_{k.value}": Count("pk", filter=Q(kind=k.value) & handled) for k in kinds},
    )

    links = Feedback.departments.through.objects.filter(in_period("feedback__created_at", period))
    if scope is not None:
        links = links.filter(department_id__in=scope)
    by_kind = {k.value: Count("pk", filter=Q(feedback__kind=k.value)) for k in kinds}
    concerned = (
        links.values("department_id", "department__name")
        .annotate(total=Count("pk"), **by_kind)
        .order_by("-total", "department__name", "department_id")[:TOP_DEPARTMENTS]
    )

    latest = (
        given.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("kind")],
                order_by=[F("created_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=max(EXCERPTS.values()))
        .select_related("request")
        .order_by("-created_at", "-pk")
    )
    # The departments of those pieces in a query of their own that runs even when the
    # month has no feedback (a prefetch would not), so the report's query count is the
    # same whatever the data (`make bench`).
    named: dict[int, list[str]] = {}
    for feedback_id, name in (
        Feedback.departments.through.objects.filter(feedback__in=latest.values("pk"))
        .order_by("department__name", "department_id")
        .values_list("feedback_id", "department__name")
    ):
        named.setdefault(feedback_id, []).append(name)
    excerpts: dict[str, list[Excerpt]] = {k.value: [] for k in kinds}
    for row in latest:
        if len(excerpts[row.kind]) >= EXCERPTS[row.kind]:
            continue
        excerpts[row.kind].append(
            Excerpt(
                number=row.number,
                kind=row.kind,
                request_number=row.request.number or "",
                request_name=row.request.name,
                departments=named.get(row.pk, []),
                text=_clip(row.content),
                created_at=row.created_at,
                handled=row.handled_at is not None,
            )
        )

    return FeedbackThemes(
        total=counts["total"],
        handled=counts["handled"],
        kinds=[
            KindCount(k.value, k.label, counts[f"n_{k.value}"], counts[f"h_{k.value}"])
            for k in kinds
        ],
        departments=[
            DepartmentConcern(
                department_id=row["department_id"],
                name=row["department__name"],
                total=row["total"],
                praise=row[FeedbackKind.PRAISE.value],
                problem=row[FeedbackKind.PROBLEM.value],
                suggestion=row[FeedbackKind.SUGGESTION.value],
            )
            for row in concerned
        ],
        excerpts=excerpts,
    )


def suggestion_summary(period: Period, scope: tuple[int, ...] | None = None) -> SuggestionSummary:
    """Count the process-improvement suggestions filed in the period by their state now,
    and list the latest ones. Two queries."""
    filed = Suggestion.objects.filter(in_period("created_at", period))
    if scope is not None:
        filed = filed.filter(department_id__in=scope)
    states = list(SuggestionState)
    counts = filed.aggregate(
        total=Count("pk"), **{s.value: Count("pk", filter=Q(state=s.value)) for s in states}
    )
    recent = filed.select_related("department").order_by("-created_at", "-pk")[:RECENT_SUGGESTIONS]
    labels = dict(SuggestionState.choices)
    return SuggestionSummary(
        total=counts["total"],
        states=[StateCount(s.value, s.label, counts[s.value]) for s in states],
        recent=[
            SuggestionLine(
                number=row.number,
                department=row.department.name,
                pain_point=_clip(row.pain_point),
                state=row.state,
                state_label=labels.get(row.state, row.state),
            )
            for row in recent
        ],
    )


def monthly_analysis(
    month: dt.date,
    *,
    scope: tuple[int, ...] | None = None,
    now: dt.datetime | None = None,
) -> MonthlyAnalysis:
    """Return the 協作分析報告 of `month` (any day of it) over `scope` (department ids;
    None for the whole company), as of `now`. A fixed number of queries (21)."""
    now = now or timezone.now()
    first = month_start(month)
    period = Period.month(first)
    before = Period.month(add_months(first, -1))
    current = summary(
        DashboardFilter(scope=scope, period=period), now=now, links=False, with_trend=False
    )
    previous = summary(
        DashboardFilter(scope=scope, period=before), now=now, links=False, with_trend=False
    )
    feedback = feedback_themes(period, scope)
    feedback_before = _feedback(before, scope).count()
    return MonthlyAnalysis(
        month=first,
        period=period,
        scope=scope,
        generated_at=now,
        summary=current,
        previous=previous,
        comparisons=_comparisons(current, previous, feedback.total, feedback_before),
        cycle_trend=cycle_trend(first, scope),
        feedback=feedback,
        suggestions=suggestion_summary(period, scope),
        risk_reports=risk_selectors.month_figures(period.start, period.end, scope),
        # In a department scope the summary lists every department of the scope.
        scope_departments=(
            [] if scope is None else [row.department for row in current.departments]
        ),
    )
