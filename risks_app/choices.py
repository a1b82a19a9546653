"""The words of risk reports (風險應對申請表, seed 001 (四), DOMAIN §5)."""

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from requests_app.choices import RequestState
from tasks_app.choices import RiskLevel

# A risk report's level is one of a progress update's levels, "none" aside: the words
# 高/中/低 read the same on both.
LEVELS = [RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW]
LEVEL_CHOICES = [(level.value, level.label) for level in LEVELS]


class RiskState(models.TextChoices):
    REPORTED = "reported", pgettext_lazy("risk state", "Reported")
    RESPONDING = "responding", pgettext_lazy("risk state", "Response under way")
    RESOLVED = "resolved", pgettext_lazy("risk state", "Resolved")
    OCCURRED = "occurred", pgettext_lazy("risk state", "Occurred")
    CLOSED = "closed", pgettext_lazy("risk state", "Closed as not relevant")


# Seed 001: "需24小時內發起《風險應對申請表》"; a later report is flagged late.
REPORT_WITHIN = dt.timedelta(hours=24)

# The risks still to answer: they count on the register's heat map and the dashboard
# while their request is still worked on (rules.open_q).
OPEN_RISK_STATES = (RiskState.REPORTED, RiskState.RESPONDING)
LIVE_REQUEST_STATES = (RequestState.APPROVED, RequestState.IN_PROGRESS)


class RiskEventKind(models.TextChoices):
    REPORT = "report", pgettext_lazy("risk event", "Reported")
    ACCEPT = "accept", pgettext_lazy("risk event", "Response organised")
    RESOLVE = "resolve", pgettext_lazy("risk event", "Resolved")
    OCCUR = "occur", pgettext_lazy("risk event", "Occurred")
    CLOSE = "close", pgettext_lazy("risk event", "Closed")


SCORES = [(n, str(n)) for n in range(1, 6)]
PROBABILITY_WORDS = {
    1: _("Rare"),
    2: _("Unlikely"),
    3: _("Possible"),
    4: _("Likely"),
    5: _("Almost certain"),
}
IMPACT_WORDS = {
    1: _("Negligible"),
    2: _("Minor"),
    3: _("Moderate"),
    4: _("Major"),
    5: _("Severe"),
}
