"""Reads of risk reports: the register's filters, its heat map and summary, a report's
page. Every read starts from permissions.visible_risks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date

from collab.models import User
from requests_app.models import RequestDepartment

from . import permissions, rules
from .choices import IMPACT_WORDS, PROBABILITY_WORDS, RiskLevel, RiskState
from .models import Risk, RiskEvent

SCOPES = ("open", "closed", "all")


@dataclass
class Filters:
    scope: str = "open"
    level: str = ""
    probability: int | None = None
    impact: int | None = None
    late: bool = False
    overdue: bool = False
    request_id: int | None = None
    # Reported from `since` to `until` (whole days, both included); a department taking
    # part in the request (the dashboard's links).
    since: dt.date | None = None
    until: dt.date | None = None
    department_ids: tuple[int, ...] = ()

    @classmethod
    def parse(cls, data, request_id: int | None = None) -> Filters:
        """Read the register's query string; what is not understood is left out."""

        def score(name):
            value = data.get(name, "")
            return int(value) if value in {"1", "2", "3", "4", "5"} else None

        def day(name):
            try:
                return parse_date(data.get(name, "") or "")
            except ValueError:
                return None

        scope = data.get("scope", "open")
        level = data.get("level", "")
        many = data.getlist("department") if hasattr(data, "getlist") else [data.get("department")]
        departments = tuple(int(d) for d in many if d and str(d).isdigit())
        return cls(
            scope=scope if scope in SCOPES else "open",
            level=level if level in RiskLevel.values and level != RiskLevel.NONE else "",
            probability=score("probability"),
            impact=score("impact"),
            late=data.get("late") == "1",
            overdue=data.get("overdue") == "1",
            request_id=request_id,
            since=day("since"),
            until=day("until"),
            department_ids=departments,
        )

    def q(self, now) -> Q:
        """One Q for the list, the same rules the heat map and the summary count with."""
        q = Q()
        if self.scope == "open":
            q &= rules.open_q()
        elif self.scope == "closed":
            q &= ~rules.open_q()
        if self.level:
            q &= Q(level=self.level)
        if self.probability:
            q &= Q(probability=self.probability)
        if self.impact:
            q &= Q(impact=self.impact)
        if self.late:
            q &= rules.late_report_q()
        if self.overdue:
            q &= rules.response_overdue_q(now)
        if self.request_id:
            q &= Q(request_id=self.request_id)
        local = timezone.get_current_timezone()
        if self.since:
            q &= Q(reported_at__gte=dt.datetime.combine(self.since, dt.time(), local))
        if self.until:
            end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), local)
            q &= Q(reported_at__lt=end)
        if self.department_ids:
            q &= taking_part_q(self.department_ids)
        return q

    def frame(self) -> Filters:
        """The request, period and departments alone: what the register's summary and
        heat map count within (the list narrows further)."""
        return Filters(
            scope="all",
            request_id=self.request_id,
            since=self.since,
            until=self.until,
            department_ids=self.department_ids,
        )

    def query(self, **changes) -> str:
        """The query string of these filters with `changes` (the heat map's links)."""
        values = {
            "scope": self.scope,
            "level": self.level,
            "probability": self.probability or "",
            "impact": self.impact or "",
            "late": "1" if self.late else "",
            "overdue": "1" if self.overdue else "",
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "department": list(self.department_ids),
        }
        values.update(changes)
        kept = {k: v for k, v in values.items() if v not in ("", None, [])}
        return urlencode(kept, doseq=True)


def taking_part_q(department_ids) -> Q:
    """The risks of the requests one of `department_ids` initiated or collaborates on
    (the dashboard's and the monthly analysis's department scope)."""
    collaborates = RequestDepartment.objects.filter(
        request_id=OuterRef("request_id"), department_id__in=department_ids
    )
    return Q(request__initiating_department_id__in=department_ids) | Q(Exists(collaborates))


def dashboard_figures(
    user: User, *, since: dt.date, until: dt.date, department_ids: tuple[int, ...] | None = None
) -> dict:
    """The dashboard's risk card: reported in the period (and of them late), and the
    open risks now (by level, waiting for the PMO, response overdue), each with the
    register's link that lists exactly what it counts (the same Filters). Two queries."""
    now = timezone.now()
    scope = tuple(department_ids or ())
    period = Filters(scope="all", since=since, until=until, department_ids=scope)
    current = Filters(scope="open", department_ids=scope)
    base = permissions.visible_risks(user)
    counted = base.aggregate(
        reported=Count("pk", filter=period.q(now)),
        late=Count("pk", filter=period.q(now) & rules.late_report_q()),
        high=Count("pk", filter=current.q(now) & Q(level=RiskLevel.HIGH)),
        medium=Count("pk", filter=current.q(now) & Q(level=RiskLevel.MEDIUM)),
        low=Count("pk", filter=current.q(now) & Q(level=RiskLevel.LOW)),
        overdue=Count("pk", filter=current.q(now) & rules.response_overdue_q(now)),
    )
    links = {
        "reported": period.query(),
        "late": period.query(late="1"),
        "high": current.query(level=RiskLevel.HIGH),
        "medium": current.query(level=RiskLevel.MEDIUM),
        "low": current.query(level=RiskLevel.LOW),
        "overdue": current.query(overdue="1"),
    }
    return {"counts": counted, "links": links}


def month_figures(since: dt.date, until: dt.date, scope: tuple[int, ...] | None) -> dict:
    """The monthly analysis's risk reports over `scope` (department ids taking part in
    the request; None for the company): reported in the period by level, of them late,
    concluded in it by outcome, and still open at its end. One query."""
    local = timezone.get_current_timezone()
    start = dt.datetime.combine(since, dt.time(), local)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), local)
    rows = Risk.objects.all()
    if scope is not None:
        rows = rows.filter(taking_part_q(scope))
    reported = Q(reported_at__gte=start, reported_at__lt=end)
    concluded = Q(closed_at__gte=start, closed_at__lt=end)
    still_open = Q(reported_at__lt=end) & (Q(closed_at__isnull=True) | Q(closed_at__gte=end))
    return rows.aggregate(
        reported=Count("pk", filter=reported),
        high=Count("pk", filter=reported & Q(level=RiskLevel.HIGH)),
        medium=Count("pk", filter=reported & Q(level=RiskLevel.MEDIUM)),
        low=Count("pk", filter=reported & Q(level=RiskLevel.LOW)),
        late=Count("pk", filter=reported & rules.late_report_q()),
        resolved=Count("pk", filter=concluded & Q(state=RiskState.RESOLVED)),
        occurred=Count("pk", filter=concluded & Q(state=RiskState.OCCURRED)),
        closed=Count("pk", filter=concluded & Q(state=RiskState.CLOSED)),
        open_at_end=Count("pk", filter=still_open),
    )


def register_base(user: User, request_id: int | None = None) -> QuerySet[Risk]:
    rows = permissions.visible_risks(user)
    if request_id:
        rows = rows.filter(request_id=request_id)
    return rows


def register_rows(base: QuerySet[Risk], filters: Filters, now) -> QuerySet[Risk]:
    return (
        base.filter(filters.q(now))
        .select_related("request", "task", "owner", "reported_by")
        .order_by("-reported_at", "-pk")
    )


def summary(base: QuerySet[Risk], now) -> dict:
    """The register's counts, in one query: open risks by level, late reports, overdue
    responses."""
    open_q = rules.open_q()
    return base.aggregate(
        total=Count("pk"),
        open=Count("pk", filter=open_q),
        high=Count("pk", filter=open_q & Q(level=RiskLevel.HIGH)),
        medium=Count("pk", filter=open_q & Q(level=RiskLevel.MEDIUM)),
        low=Count("pk", filter=open_q & Q(level=RiskLevel.LOW)),
        late=Count("pk", filter=rules.late_report_q()),
        overdue=Count("pk", filter=rules.response_overdue_q(now)),
        reported=Count("pk", filter=Q(state=RiskState.REPORTED)),
    )


@dataclass
class Cell:
    probability: int
    impact: int
    level: str
    count: int
    query: str


def heat_map(base: QuerySet[Risk], filters: Filters, now) -> list[tuple[int, str, list[Cell]]]:
    """The 5×5 map (probability down from 5, impact across from 1) of the risks the
    filters' scope, period and department select (open ones by default), each cell
    linked to the register filtered to it: the cell's list is the register's Filters
    with its probability and impact, so the count and the list are one definition. One
    query."""
    scoped = Filters(
        scope=filters.scope,
        request_id=filters.request_id,
        since=filters.since,
        until=filters.until,
        department_ids=filters.department_ids,
    )
    counts = {
        (row["probability"], row["impact"]): row["n"]
        for row in base.filter(scoped.q(now))
        .order_by()
        .values("probability", "impact")
        .annotate(n=Count("pk"))
    }
    levels = rules.matrix()
    rows = []
    for p in range(5, 0, -1):
        cells = [
            Cell(p, i, levels[(p, i)], counts.get((p, i), 0), scoped.query(probability=p, impact=i))
            for i in range(1, 6)
        ]
        rows.append((p, str(PROBABILITY_WORDS[p]), cells))
    return rows


def impact_words() -> list[tuple[int, str]]:
    return [(i, str(IMPACT_WORDS[i])) for i in range(1, 6)]


def risk_for_page(user: User, pk) -> Risk:
    return permissions.get_visible_or_404(
        user,
        pk,
        Risk.objects.select_related(
            "request", "task", "owner", "reported_by", "progress_update__task"
        ).prefetch_related("affected_tasks", "affected_departments", "affected_goals"),
    )


def risk_events(risk: Risk) -> list[RiskEvent]:
    """The report's history, each row with its states' labels (the history card)."""
    labels = dict(RiskState.choices)
    rows = list(risk.events.select_related("by", "on_behalf_of").order_by("at", "pk"))
    for event in rows:
        event.from_label = labels.get(event.from_state, event.from_state)
        event.to_label = labels.get(event.to_state, event.to_state)
    return rows
