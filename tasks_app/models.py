"""Tasks of a confirmed request: the breakdown 任務分工表, RACI, progress (DOMAIN §2–3)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from collab.models import Department, StateLog
from requests_app.choices import Priority
from requests_app.models import CaseRecord, CollabRequest, DepartmentReview

from . import deadlines, guards
from .choices import AskStatus, RaciRole, RiskLevel, TaskEventKind, TaskState

DEFAULT_DUE_TIME = dt.time(17, 0)


class Breakdown(CaseRecord, models.Model):
    """The task breakdown of one request; its version counts every change to it.

    Heads sign a version; any change to the tasks or their RACI makes a new version and
    voids the signatures given so far.
    """

    request = models.OneToOneField(
        CollabRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="breakdown"
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    last_sequence = models.PositiveSmallIntegerField(_("last task number"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("task breakdown")
        verbose_name_plural = _("task breakdowns")

    def __str__(self):
        return f"{self.request} v{self.version}"


class BreakdownSignature(CaseRecord, models.Model):
    """A head's 簽署 of one version of the breakdown, for one department."""

    case_path = "breakdown.request"

    breakdown = models.ForeignKey(
        Breakdown,
        verbose_name=_("task breakdown"),
        on_delete=models.CASCADE,
        related_name="signatures",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(_("version signed"))
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("on behalf of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    signed_at = models.DateTimeField(_("signed at"), auto_now_add=True)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("breakdown signature")
        verbose_name_plural = _("breakdown signatures")
        ordering = ["-signed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["breakdown", "department", "version"], name="signature_once_per_version"
            )
        ]

    def __str__(self):
        return f"{self.department} v{self.version}"

    @property
    def is_valid(self) -> bool:
        return self.voided_at is None and self.version == self.breakdown.version


class Task(CaseRecord, ConcurrentTransitionMixin, models.Model):
    request = models.ForeignKey(
        CollabRequest, verbose_name=_("request"), on_delete=models.PROTECT, related_name="tasks"
    )
    sequence = models.PositiveSmallIntegerField(_("sequence"), editable=False)
    number = models.CharField(_("number"), max_length=24, unique=True, editable=False)
    name = models.CharField(_("task name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    responsible_department = models.ForeignKey(
        Department,
        verbose_name=_("responsible department"),
        on_delete=models.PROTECT,
        related_name="responsible_tasks",
    )
    supporting_departments = models.ManyToManyField(
        Department,
        verbose_name=_("supporting departments"),
        blank=True,
        related_name="supporting_tasks",
    )
    start_date = models.DateField(_("start date"))
    due_at = models.DateTimeField(_("due"))
    deliverable = models.TextField(_("deliverable"), blank=True)
    acceptance_criteria = models.TextField(_("acceptance criteria"), blank=True)
    importance = models.CharField(
        _("importance"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    buffer_days = models.PositiveSmallIntegerField(_("buffer days"), default=0)
    depends_on = models.ManyToManyField(
        "self",
        verbose_name=_("depends on"),
        symmetrical=False,
        blank=True,
        related_name="dependents",
    )
    state = FSMField(
        _("state"),
        default=TaskState.TODO,
        choices=TaskState.choices,
        protected=True,
    )  # indexed with due_at below: the (state, due_at) index serves state lookups too
    progress_percent = models.PositiveSmallIntegerField(_("progress"), default=0)
    last_progress_at = models.DateTimeField(_("last progress update"), null=True, blank=True)
    # The risk level of the latest progress update, kept here so that the dashboard and
    # the lists count and filter by it without reading the progress log (300k rows).
    risk_level = models.CharField(
        _("reported risk"),
        max_length=10,
        choices=RiskLevel.choices,
        default=RiskLevel.NONE,
        editable=False,
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completion_note = models.TextField(_("completion note"), blank=True)
    dependency_override = models.TextField(
        _("reason for starting before the predecessors are done"), blank=True
    )
    origin_review = models.ForeignKey(
        DepartmentReview,
        verbose_name=_("committed in review"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["request", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["request", "sequence"], name="task_sequence_unique"),
            models.CheckConstraint(
                condition=Q(progress_percent__lte=100), name="task_progress_max_100"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["responsible_department", "state"]),
            # The dashboard and the analysis report select tasks by due date in a period:
            # for one department through this index, for all through (state, due_at)
            # with every state listed (a due_at-only index would lure the warning scans'
            # "open tasks by due date" away from (state, due_at)).
            models.Index(fields=["responsible_department", "due_at"], name="task_department_due"),
        ]

    def __str__(self):
        return f"{self.number} {self.name}"

    def get_absolute_url(self):
        return reverse("tasks_app:detail", args=[self.pk])

    # The timing verdicts at this moment, as tasks_app.deadlines defines them (a page or a
    # scan uses a deadlines.Deadlines instead: one moment and the rule thresholds).

    @property
    def is_overdue(self) -> bool:
        return deadlines.is_overdue(self, timezone.now())

    @property
    def expected_percent(self) -> int:
        return deadlines.expected_percent(self, timezone.now())

    @property
    def is_behind(self) -> bool:
        return deadlines.is_behind(self, timezone.now())

    @property
    def is_late(self) -> bool:
        return deadlines.is_late(self, timezone.now())

    # Transitions: source, target and conditions only; services do the rest.

    @transition(
        field=state,
        source=TaskState.TODO,
        target=TaskState.IN_PROGRESS,
        conditions=[guards.request_in_progress, guards.predecessors_done_or_overridden],
    )
    def start(self):
        """Start work on the task (開始執行)."""

    @transition(field=state, source=TaskState.IN_PROGRESS, target=TaskState.SUBMITTED)
    def submit(self):
        """Submit the deliverable for acceptance."""

    @transition(field=state, source=TaskState.SUBMITTED, target=TaskState.DONE)
    def accept(self):
        """Accept the deliverable: the task is done."""

    @transition(field=state, source=TaskState.SUBMITTED, target=TaskState.IN_PROGRESS)
    def reject_delivery(self):
        """Send the delivery back for rework."""


class TaskAssignment(CaseRecord, models.Model):
    """One person's RACI role on a task. Exactly one R and one A per task."""

    case_path = "task.request"

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="assignments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="task_assignments",
    )
    role = models.CharField(_("RACI role"), max_length=1, choices=RaciRole.choices)

    class Meta:
        verbose_name = _("RACI assignment")
        verbose_name_plural = _("RACI assignments")
        ordering = ["task", "role", "pk"]
        constraints = [
            # At most one R and one A per task here; "at least one" is a deferred
            # constraint trigger on PostgreSQL (migration 0002), checked at commit.
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(role=RaciRole.RESPONSIBLE),
                name="raci_one_responsible",
                violation_error_message=_("A task has exactly one Responsible person."),
            ),
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(role=RaciRole.ACCOUNTABLE),
                name="raci_one_accountable",
                violation_error_message=_("A task has exactly one Accountable person."),
            ),
            models.UniqueConstraint(fields=["task", "user", "role"], name="raci_unique_role"),
        ]
        indexes = [models.Index(fields=["user", "role"])]

    def __str__(self):
        return f"{self.task.number} {self.role} {self.user}"


class ProgressUpdate(CaseRecord, models.Model):
    """A line of the progress log 進度跟蹤表."""

    case_path = "task.request"

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="progress_updates"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    percent = models.PositiveSmallIntegerField(_("percent complete"))
    done = models.TextField(_("progress made"))
    problems = models.TextField(_("problems met"), blank=True)
    support_needed = models.TextField(_("support needed"), blank=True)
    risk_note = models.TextField(_("risk note"), blank=True)
    risk_level = models.CharField(
        _("risk level"), max_length=10, choices=RiskLevel.choices, default=RiskLevel.NONE
    )

    class Meta:
        verbose_name = _("progress update")
        verbose_name_plural = _("progress updates")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(percent__lte=100), name="progress_max_100")
        ]

    def __str__(self):
        return f"{self.task.number} {self.percent}%"


class DueDateChange(CaseRecord, models.Model):
    """A recorded change of a task's due date: reason, solution and the new date."""

    case_path = "task.request"

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="due_changes"
    )
    old_due_at = models.DateTimeField(_("old due"))
    new_due_at = models.DateTimeField(_("new due"))
    reason = models.TextField(_("reason"))
    # What a person typed; empty when the system moved the date (a 需整改 answer).
    solution = models.TextField(_("solution"), blank=True)
    # The acceptance round whose 需整改 moved the date; its solution is said at read
    # time, in the reader's language (solution_text).
    rectify_round = models.PositiveSmallIntegerField(
        _("rectification of acceptance round"), null=True, blank=True
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.PROTECT
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("due date change")
        verbose_name_plural = _("due date changes")
        ordering = ["-changed_at", "-pk"]

    def __str__(self):
        return f"{self.task.number}: {self.old_due_at:%Y-%m-%d} → {self.new_due_at:%Y-%m-%d}"

    @property
    def solution_text(self) -> str:
        """The solution as the reader reads it: a person's text, or the rectification's."""
        if self.rectify_round is not None:
            return _("Rectify and submit again (acceptance round %(round)d asked for it).") % {
                "round": self.rectify_round
            }
        return self.solution


class TaskDeliverable(CaseRecord, models.Model):
    """A file submitted as (part of) a task's deliverable."""

    case_path = "task.request"

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="deliverables"
    )
    round = models.PositiveSmallIntegerField(
        _("submission"), default=1, help_text=_("Each submission of the task is a new version.")
    )
    file = models.FileField(_("file"), upload_to="deliverables/%Y/%m/", max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("deliverable file")
        verbose_name_plural = _("deliverable files")
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self):
        return self.original_name


class TaskComment(CaseRecord, models.Model):
    case_path = "task.request"

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    body = models.TextField(_("comment"))
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("mentioned"), blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.body[:50]


class CollabAsk(CaseRecord, models.Model):
    """A 協作請求: a task's owner asks a department or a person for help by a date."""

    case_path = "task.request"

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="asks"
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_department = models.ForeignKey(
        Department,
        verbose_name=_("to department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="collab_asks_received",
    )
    content = models.TextField(_("what is needed"))
    expected_date = models.DateField(_("expected by"))
    status = models.CharField(
        _("status"), max_length=10, choices=AskStatus.choices, default=AskStatus.OPEN
    )
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("collaboration ask")
        verbose_name_plural = _("collaboration asks")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(to_department__isnull=False) | Q(to_user__isnull=False),
                name="ask_has_addressee",
                violation_error_message=_("Ask a department or a person."),
            )
        ]

    def __str__(self):
        return self.content[:50]


class TaskEvent(CaseRecord, StateLog):
    """A line of a task's history."""

    case_path = "task.request"

    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TaskEventKind.choices)

    class Meta(StateLog.Meta):
        verbose_name = _("task history")
        verbose_name_plural = _("task history")

    def __str__(self):
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_kind_display()}"


class TaskUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Task, on_delete=models.CASCADE)


class TaskGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Task, on_delete=models.CASCADE)
