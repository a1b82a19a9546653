"""Risk reports (風險應對申請表, seed 001 (四)) and the scoring matrix (DOMAIN §5).

- A Risk belongs to a request (and, optionally, to one of its tasks or to the progress
  update that flagged it). Whoever takes part in the request reports it, within 24 hours
  of discovering it (a later report is flagged: rules.late_report_q). Its level 高/中/低
  comes from probability × impact (1–5 each) through the RiskMatrixCell an administrator
  may edit; the level is kept on the row, and editing a cell re-levels the open risks of
  that cell (services.matrix_set_level).
- The PMO organises the response: an owner, a deadline and a plan (已提報 → 應對中); the
  risk then ends 已解除 (resolved), 已發生 (it became an issue) or 已關閉 (not relevant),
  each step with a note in its history (RiskEvent).

Every model reaches its request: an archived case's risks are read-only like the rest
(review_app's triggers).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from collab.models import Department, StateLog
from requests_app.models import CaseRecord, CollabRequest, Goal
from tasks_app.models import ProgressUpdate, Task

from .choices import (
    LEVEL_CHOICES,
    LIVE_REQUEST_STATES,
    OPEN_RISK_STATES,
    REPORT_WITHIN,
    SCORES,
    RiskEventKind,
    RiskState,
)


class RiskMatrixCell(models.Model):
    """One cell of the 5×5 scoring matrix: the level of a probability and an impact."""

    probability = models.PositiveSmallIntegerField(_("probability"), choices=SCORES)
    impact = models.PositiveSmallIntegerField(_("impact"), choices=SCORES)
    level = models.CharField(_("level"), max_length=10, choices=LEVEL_CHOICES)

    class Meta:
        verbose_name = _("risk matrix cell")
        verbose_name_plural = _("risk matrix")
        ordering = ["-probability", "impact"]
        constraints = [
            models.UniqueConstraint(fields=["probability", "impact"], name="risk_cell_unique"),
        ]

    def __str__(self):
        return f"{self.probability} × {self.impact}"

    @property
    def score(self) -> int:
        return self.probability * self.impact


class Risk(CaseRecord, ConcurrentTransitionMixin, models.Model):
    """A risk report (風險應對申請表) and the response to it."""

    case_path = "request"

    request = models.ForeignKey(
        CollabRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="risks"
    )
    task = models.ForeignKey(
        Task,
        verbose_name=_("task"),
        on_delete=models.SET_NULL,
        related_name="risks",
        null=True,
        blank=True,
    )
    progress_update = models.ForeignKey(
        ProgressUpdate,
        verbose_name=_("from progress update"),
        on_delete=models.SET_NULL,
        related_name="risks",
        null=True,
        blank=True,
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("risk description"))
    probability = models.PositiveSmallIntegerField(_("probability"), choices=SCORES)
    impact = models.PositiveSmallIntegerField(_("impact"), choices=SCORES)
    level = models.CharField(_("level"), max_length=10, choices=LEVEL_CHOICES)
    # The impact scope: tasks, departments, dates and goals.
    affected_tasks = models.ManyToManyField(
        Task, verbose_name=_("tasks affected"), related_name="risks_affecting", blank=True
    )
    affected_departments = models.ManyToManyField(
        Department,
        verbose_name=_("departments affected"),
        related_name="risks_affecting",
        blank=True,
    )
    affected_goals = models.ManyToManyField(
        Goal, verbose_name=_("goals affected"), related_name="risks_affecting", blank=True
    )
    affected_dates = models.TextField(_("dates affected"), blank=True)
    suggested_measures = models.TextField(_("suggested measures"))
    discovered_at = models.DateTimeField(_("discovered at"))
    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        related_name="risks_reported",
    )
    state = FSMField(
        _("state"), default=RiskState.REPORTED, choices=RiskState.choices, protected=True
    )
    # The PMO's response.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("response owner"),
        on_delete=models.PROTECT,
        related_name="risks_owned",
        null=True,
        blank=True,
    )
    response_due = models.DateTimeField(_("response deadline"), null=True, blank=True)
    response_plan = models.TextField(_("response plan"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("risk report")
        verbose_name_plural = _("risk reports")
        ordering = ["-reported_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__gte=1, probability__lte=5, impact__gte=1, impact__lte=5),
                name="risk_scores_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(discovered_at__lte=models.F("reported_at")),
                name="risk_discovered_before_reported",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "level"]),
            models.Index(fields=["state", "response_due"]),
            models.Index(fields=["request", "state"]),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("risks_app:detail", args=[self.pk])

    @property
    def score(self) -> int:
        return self.probability * self.impact

    # One row's verdicts; rules.open_q, late_report_q and response_overdue_q say the same
    # in SQL, next to the rules' other definitions.

    @property
    def is_open(self) -> bool:
        request = self.request
        return (
            self.state in OPEN_RISK_STATES
            and request.state in LIVE_REQUEST_STATES
            and not request.is_archived
        )

    def response_overdue_at(self, now) -> bool:
        return (
            self.is_open
            and self.state == RiskState.RESPONDING
            and self.response_due is not None
            and self.response_due < now
        )

    @property
    def is_response_overdue(self) -> bool:
        return self.response_overdue_at(timezone.now())

    @property
    def is_late_report(self) -> bool:
        """Reported more than REPORT_WITHIN after the discovery (rules.late_report_q)."""
        return self.reported_at - self.discovered_at > REPORT_WITHIN

    # Transitions: source and target only; services do the rest.

    @transition(field=state, source=RiskState.REPORTED, target=RiskState.RESPONDING)
    def accept(self):
        pass

    @transition(field=state, source=RiskState.RESPONDING, target=RiskState.RESOLVED)
    def resolve(self):
        pass

    @transition(field=state, source=RiskState.RESPONDING, target=RiskState.OCCURRED)
    def occur(self):
        pass

    @transition(
        field=state, source=[RiskState.REPORTED, RiskState.RESPONDING], target=RiskState.CLOSED
    )
    def close(self):
        pass


class RiskEvent(CaseRecord, StateLog):
    """A line of a risk report's history."""

    case_path = "risk.request"

    risk = models.ForeignKey(
        Risk, verbose_name=_("risk report"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=RiskEventKind.choices)

    class Meta(StateLog.Meta):
        verbose_name = _("risk history")
        verbose_name_plural = _("risk history")
