"""Acceptance, retrospective, feedback, suggestions and the archive (DOMAIN.md §6)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from collab.models import Department, StateLog
from requests_app.models import CaseRecord, CollabRequest
from tasks_app.models import Task

from .choices import (
    AcceptanceOutcome,
    FeedbackKind,
    FinalOutcome,
    RetrospectiveState,
    Seat,
    SignatureDecision,
    SuggestionState,
    Verdict,
)

USER = settings.AUTH_USER_MODEL


# --- task acceptance 成果驗收 ------------------------------------------------------------


class TaskAcceptance(CaseRecord, models.Model):
    """One acceptance round: opened by a submission of the task, closed by its outcome."""

    case_path = "task.request"

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="acceptances"
    )
    round = models.PositiveSmallIntegerField(_("submission"))
    completion_note = models.TextField(_("completion note"))
    submitted_by = models.ForeignKey(
        USER, verbose_name=_("submitted by"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    due_date = models.DateField(_("answers due"))
    outcome = models.CharField(
        _("outcome"),
        max_length=10,
        choices=AcceptanceOutcome.choices,
        default=AcceptanceOutcome.OPEN,
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    rectify_due_at = models.DateTimeField(_("rectification deadline"), null=True, blank=True)

    class Meta:
        verbose_name = _("task acceptance")
        verbose_name_plural = _("task acceptances")
        ordering = ["task", "-round"]
        constraints = [
            models.UniqueConstraint(fields=["task", "round"], name="acceptance_round_unique"),
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(outcome=AcceptanceOutcome.OPEN),
                name="acceptance_one_open_round",
            ),
        ]
        indexes = [models.Index(fields=["outcome", "due_date"])]

    def __str__(self):
        return f"{self.task.number} #{self.round}"

    def get_absolute_url(self):
        return reverse("tasks_app:detail", args=[self.task_id]) + "#acceptance"


class AcceptanceVerdict(CaseRecord, models.Model):
    """One reviewer's answer in one round. Every answer is kept.

    A person's seat (the A, the initiator) is answered by that person; a head's seat is
    the department's and is answered by one of its heads or an active deputy.
    """

    case_path = "acceptance.task.request"

    acceptance = models.ForeignKey(
        TaskAcceptance,
        verbose_name=_("task acceptance"),
        on_delete=models.CASCADE,
        related_name="verdicts",
    )
    seat = models.CharField(_("reviews as"), max_length=12, choices=Seat.choices)
    reviewer = models.ForeignKey(
        USER,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="acceptance_seats",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decision = models.CharField(
        _("decision"), max_length=10, choices=Verdict.choices, default=Verdict.PENDING
    )
    reason = models.TextField(_("reason"), blank=True)
    rectify_due_at = models.DateTimeField(_("rectification deadline"), null=True, blank=True)
    decided_by = models.ForeignKey(
        USER,
        verbose_name=_("answered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    on_behalf_of = models.ForeignKey(
        USER,
        verbose_name=_("on behalf of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("acceptance answer")
        verbose_name_plural = _("acceptance answers")
        ordering = ["acceptance", "seat", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewer__isnull=False, department__isnull=True)
                | Q(reviewer__isnull=True, department__isnull=False),
                name="verdict_person_or_department",
            ),
            models.UniqueConstraint(
                fields=["acceptance", "reviewer"], name="verdict_once_per_person"
            ),
            models.UniqueConstraint(
                fields=["acceptance", "department"], name="verdict_once_per_department"
            ),
        ]
        indexes = [
            models.Index(fields=["reviewer", "decision"]),
            models.Index(fields=["department", "decision"]),
        ]

    def __str__(self):
        return f"{self.acceptance} · {self.reviewer or self.department} · {self.decision}"


# --- final acceptance 成果驗收確認單 ------------------------------------------------------


class FinalAcceptance(CaseRecord, models.Model):
    """The 成果驗收確認單 of a request, opened by the initiator once every task is done."""

    request = models.ForeignKey(
        CollabRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="final_acceptances",
    )
    round = models.PositiveSmallIntegerField(_("round"))
    summary = models.TextField(_("summary of the results"))
    opened_by = models.ForeignKey(
        USER, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=FinalOutcome.choices, default=FinalOutcome.OPEN
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("final acceptance")
        verbose_name_plural = _("final acceptances")
        ordering = ["request", "-round"]
        constraints = [
            models.UniqueConstraint(fields=["request", "round"], name="final_round_unique"),
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(outcome=FinalOutcome.OPEN),
                name="final_one_open",
            ),
        ]

    def __str__(self):
        return f"{self.request} #{self.round}"


class FinalSignature(CaseRecord, models.Model):
    """One involved department's signature (or refusal) on the final acceptance."""

    case_path = "final.request"

    final = models.ForeignKey(
        FinalAcceptance,
        verbose_name=_("final acceptance"),
        on_delete=models.CASCADE,
        related_name="signatures",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(
        _("decision"),
        max_length=10,
        choices=SignatureDecision.choices,
        default=SignatureDecision.PENDING,
    )
    comment = models.TextField(_("comment"), blank=True)
    signed_by = models.ForeignKey(
        USER,
        verbose_name=_("signed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    on_behalf_of = models.ForeignKey(
        USER,
        verbose_name=_("on behalf of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("final acceptance signature")
        verbose_name_plural = _("final acceptance signatures")
        ordering = ["final", "department__code"]
        constraints = [
            models.UniqueConstraint(fields=["final", "department"], name="final_sign_once")
        ]
        indexes = [models.Index(fields=["department", "decision"])]

    def __str__(self):
        return f"{self.final} · {self.department}"


# --- retrospective 復盤報告 ---------------------------------------------------------------


class Retrospective(CaseRecord, models.Model):
    """The 復盤報告, created when the request completes and due a week later.

    Goals' actual values live on requests_app.Goal (target against actual).
    """

    request = models.OneToOneField(
        CollabRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="retrospective",
    )
    due_date = models.DateField(_("due"))
    highlights = models.TextField(_("highlights"), blank=True)
    shortcomings = models.TextField(_("shortcomings"), blank=True)
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=RetrospectiveState.choices,
        default=RetrospectiveState.DRAFT,
    )
    filed_by = models.ForeignKey(
        USER,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("retrospective")
        verbose_name_plural = _("retrospectives")
        indexes = [models.Index(fields=["state", "due_date"])]

    def __str__(self):
        return str(self.request)

    def get_absolute_url(self):
        return reverse("review_app:retrospective", args=[self.request_id])


class RetrospectiveAction(CaseRecord, models.Model):
    """An improvement action decided in the retrospective (改進措施)."""

    case_path = "retrospective.request"

    retrospective = models.ForeignKey(
        Retrospective,
        verbose_name=_("retrospective"),
        on_delete=models.CASCADE,
        related_name="actions",
    )
    description = models.TextField(_("improvement action"))
    department = models.ForeignKey(
        Department,
        verbose_name=_("owner department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.description[:60]


class DepartmentContribution(CaseRecord, models.Model):
    """What one involved department contributed (各部門貢獻)."""

    case_path = "retrospective.request"

    retrospective = models.ForeignKey(
        Retrospective,
        verbose_name=_("retrospective"),
        on_delete=models.CASCADE,
        related_name="contributions",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    contribution = models.TextField(_("contribution"), blank=True)

    class Meta:
        verbose_name = _("department contribution")
        verbose_name_plural = _("department contributions")
        ordering = ["department__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["retrospective", "department"], name="contribution_once"
            )
        ]

    def __str__(self):
        return str(self.department)


# --- feedback 協作反饋表 -------------------------------------------------------------------


class FeedbackInvitation(CaseRecord, models.Model):
    """A participant asked, at completion, to fill in the 協作反饋表."""

    request = models.ForeignKey(
        CollabRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="feedback_invitations",
    )
    user = models.ForeignKey(
        USER, verbose_name=_("participant"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("feedback invitation")
        verbose_name_plural = _("feedback invitations")
        ordering = ["request", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["request", "user"], name="feedback_invite_once")
        ]
        indexes = [models.Index(fields=["user", "answered_at"])]

    def __str__(self):
        return f"{self.request} · {self.user}"


class Feedback(CaseRecord, models.Model):
    """A 協作反饋表 (FK + yyyymm + 3 digits); the PMO records its handling."""

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    request = models.ForeignKey(
        CollabRequest, verbose_name=_("request"), on_delete=models.PROTECT, related_name="feedback"
    )
    author = models.ForeignKey(
        USER, verbose_name=_("given by"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("type"), max_length=12, choices=FeedbackKind.choices)
    content = models.TextField(_("content"))
    departments = models.ManyToManyField(
        Department, verbose_name=_("departments concerned"), blank=True, related_name="+"
    )
    suggested_handling = models.TextField(_("suggested handling"), blank=True)
    handling_result = models.TextField(_("handling result"), blank=True)
    handled_by = models.ForeignKey(
        USER,
        verbose_name=_("handled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("given at"), auto_now_add=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("review_app:feedback-detail", args=[self.pk])


# --- process-improvement suggestions 流程優化建議 ----------------------------------------


class Suggestion(ConcurrentTransitionMixin, models.Model):
    """A 流程優化建議 (YJ + yyyymm + 3 digits) and its evaluation.

    Not a case record: it is about the process, and it keeps moving after the case it
    came from is archived.
    """

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    department = models.ForeignKey(
        Department,
        verbose_name=_("proposing department"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposer = models.ForeignKey(
        USER, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    contact = models.CharField(_("contact"), max_length=100, blank=True)
    pain_point = models.TextField(_("pain point of the current process"))
    proposal = models.TextField(_("proposal"))
    expected_effect = models.TextField(_("expected effect"))
    notes = models.TextField(_("notes"), blank=True)
    state = FSMField(
        _("evaluation status"),
        default=SuggestionState.SUBMITTED,
        choices=SuggestionState.choices,
        protected=True,
        db_index=True,
    )
    evaluation = models.TextField(_("evaluation"), blank=True)
    request = models.ForeignKey(
        CollabRequest,
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="suggestions",
    )
    source_action = models.ForeignKey(
        RetrospectiveAction,
        verbose_name=_("from improvement action"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="suggestions",
    )
    source_feedback = models.ForeignKey(
        Feedback,
        verbose_name=_("from feedback"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="suggestions",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("process-improvement suggestion")
        verbose_name_plural = _("process-improvement suggestions")
        ordering = ["-created_at", "-pk"]
        permissions = [("evaluate_suggestion", _("Can evaluate improvement suggestions"))]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("review_app:suggestion-detail", args=[self.pk])

    @transition(field=state, source=SuggestionState.SUBMITTED, target=SuggestionState.EVALUATING)
    def evaluate(self):
        """Start evaluating the suggestion (評估中)."""

    @transition(field=state, source=SuggestionState.EVALUATING, target=SuggestionState.ADOPTED)
    def adopt(self):
        """Adopt the suggestion (已採納)."""

    @transition(field=state, source=SuggestionState.EVALUATING, target=SuggestionState.REJECTED)
    def reject(self):
        """Do not adopt the suggestion (未採納)."""

    @transition(field=state, source=SuggestionState.ADOPTED, target=SuggestionState.IMPLEMENTED)
    def implement(self):
        """Record that the adopted suggestion is in place (已實施)."""


class SuggestionEvent(StateLog):
    """A line of a suggestion's history: who moved it, when, from, to and why."""

    suggestion = models.ForeignKey(
        Suggestion,
        verbose_name=_("process-improvement suggestion"),
        on_delete=models.CASCADE,
        related_name="events",
    )

    class Meta(StateLog.Meta):
        verbose_name = _("suggestion history")
        verbose_name_plural = _("suggestion history")

    def __str__(self):
        return f"{self.suggestion} {self.transition}"


# --- archive 歸檔 / knowledge base 知識庫 ------------------------------------------------


class ArchiveEntry(CaseRecord, models.Model):
    """A case filed in the knowledge base under "name-date", with its searchable text.

    Written once, by the archiving, in the same transaction that makes the case
    read-only; search looks at `search_text` (name, background, goals, retrospective).
    Read-only with the rest of the case (CaseRecord, and its trigger in review_app
    migration 0004): the archiving inserts it just before the flag flips, so the
    insert passes and every later save, update or delete is refused.
    """

    request = models.OneToOneField(
        CollabRequest,
        verbose_name=_("request"),
        on_delete=models.PROTECT,
        related_name="archive_entry",
    )
    title = models.CharField(_("filed as"), max_length=140)
    archived_by = models.ForeignKey(
        USER, verbose_name=_("archived by"), on_delete=models.PROTECT, related_name="+"
    )
    archived_at = models.DateTimeField(_("archived at"), default=timezone.now, db_index=True)
    search_text = models.TextField(_("search text"), editable=False)

    class Meta:
        verbose_name = _("archived case")
        verbose_name_plural = _("knowledge base")
        ordering = ["-archived_at", "-pk"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("requests_app:detail", args=[self.request_id])
