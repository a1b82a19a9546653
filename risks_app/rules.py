"""The one definition of each rule about risk reports; the pages, the register's heat
map, the dashboard, the warnings and the PDF all ask here.

- level: probability × impact through the editable matrix (RiskMatrixCell); the default
  matrix marks a score of 15 or more 高, 5 to 12 中, up to 4 低;
- late report: reported more than 24 hours after the risk was discovered (seed 001:
  "需24小時內發起《風險應對申請表》");
- open: 已提報 or 應對中;
- response overdue: 應對中 past its response deadline.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q

from .choices import (
    LIVE_REQUEST_STATES,
    OPEN_RISK_STATES,
    REPORT_WITHIN,
    RiskLevel,
    RiskState,
)

HIGH_FROM, MEDIUM_FROM = 15, 5


def default_level(probability: int, impact: int) -> str:
    """The level of a score in the matrix the portal ships with."""
    score = probability * impact
    if score >= HIGH_FROM:
        return RiskLevel.HIGH
    if score >= MEDIUM_FROM:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def default_matrix() -> list[tuple[int, int, str]]:
    return [(p, i, default_level(p, i)) for p in range(1, 6) for i in range(1, 6)]


def level_of(probability: int, impact: int) -> str:
    """The level the matrix gives a probability and an impact (the default where an
    administrator removed the cell)."""
    from .models import RiskMatrixCell

    level = (
        RiskMatrixCell.objects.filter(probability=probability, impact=impact)
        .values_list("level", flat=True)
        .first()
    )
    return level or default_level(probability, impact)


def matrix() -> dict[tuple[int, int], str]:
    """Every cell's level, (probability, impact) → level, in one query."""
    from .models import RiskMatrixCell

    cells = {(p, i): default_level(p, i) for p in range(1, 6) for i in range(1, 6)}
    cells.update(
        ((p, i), level)
        for p, i, level in RiskMatrixCell.objects.values_list("probability", "impact", "level")
    )
    return cells


def open_q(prefix: str = "") -> Q:
    """Still to answer: 已提報 or 應對中, on a request that is still 已立項 or 進行中 (a
    completed case's risks are closed with it; a cancelled or archived case's are not
    counted as open any more)."""
    return Q(
        **{
            f"{prefix}state__in": OPEN_RISK_STATES,
            f"{prefix}request__state__in": LIVE_REQUEST_STATES,
            f"{prefix}request__is_archived": False,
        }
    )


def late_report_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}reported_at__gt": F(f"{prefix}discovered_at") + REPORT_WITHIN})


def is_late_report(risk) -> bool:
    """late_report_q on one row (the model's property)."""
    return risk.is_late_report


def response_overdue_q(now: dt.datetime, prefix: str = "") -> Q:
    return open_q(prefix) & Q(
        **{f"{prefix}state": RiskState.RESPONDING, f"{prefix}response_due__lt": now}
    )
