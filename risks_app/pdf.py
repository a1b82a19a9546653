"""The printable risk report, the 風險應對申請表 (seed 001 (四), issue 16 §1).

One risk report laid out as a printed form: the request and task, the title, the level
with its probability × impact score, the impact scope (tasks, departments, goals,
dates), the suggested measures, when the risk was discovered and reported (and whether
the report came more than 24 hours later), the PMO's response (owner, deadline, plan),
the state and the history, and the signature lines.

The report is read through selectors.risk_for_page, that is risks_app.permissions:
whoever may not see it gets 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from collab.pdf import render_pdf
from requests_app.pdf import case_filename

from . import selectors
from .choices import IMPACT_WORDS, PROBABILITY_WORDS
from .models import Risk, RiskEvent

TEMPLATE = "pdf/risk_report.html"


@dataclass
class RiskSheet:
    risk: Risk
    events: list[RiskEvent] = field(default_factory=list)
    affected_tasks: list = field(default_factory=list)
    affected_departments: list = field(default_factory=list)
    affected_goals: list = field(default_factory=list)
    late: bool = False
    overdue: bool = False

    @property
    def probability_words(self) -> str:
        return str(PROBABILITY_WORDS[self.risk.probability])

    @property
    def impact_words(self) -> str:
        return str(IMPACT_WORDS[self.risk.impact])


def risk_sheet(*, user, pk) -> RiskSheet:
    """Read one risk report for `user`, or 404."""
    risk = selectors.risk_for_page(user, pk)
    return RiskSheet(
        risk=risk,
        events=selectors.risk_events(risk),
        affected_tasks=list(risk.affected_tasks.all()),
        affected_departments=list(risk.affected_departments.all()),
        affected_goals=list(risk.affected_goals.all()),
        late=risk.is_late_report,
        overdue=risk.is_response_overdue,
    )


def risk_pdf(sheet: RiskSheet) -> bytes:
    return render_pdf(
        TEMPLATE,
        {
            "sheet": sheet,
            "signature_roles": [
                _("Reporter"),
                _("Head of the reporting department"),
                _("Response owner"),
                _("PMO confirmation"),
            ],
        },
    )


def risk_filename(sheet: RiskSheet) -> str:
    """The request's number and name, the form's name and the report's number."""
    what = _("Risk response form %(number)s") % {"number": sheet.risk.pk}
    return case_filename(sheet.risk.request, what)
