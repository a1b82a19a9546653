"""The collaboration request 協作需求 and what hangs off it (DOMAIN.md §1)."""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from collab.errors import Refused
from collab.models import Department, StateLog

from . import guards
from .choices import (
    OPEN_STATES,
    EventKind,
    Priority,
    RequestState,
    ResourceKind,
    ReviewDecision,
)


class CaseArchived(Refused, ValidationError):
    """A write to a case that is archived (歸檔): the whole case is read-only.

    A Refused (collab.errors) like every service refusal, and a ValidationError so that
    model saves (admin, shell) and forms show it as one.
    """

    def __init__(self, message=None):
        super().__init__(message or _("This case is archived and read-only."), code="archived")


class CaseRecord:
    """Mixin of every model that belongs to a case: no save or delete once it is archived.

    `case_path` is the dotted attribute path from the record to its CollabRequest
    ("request", "task.request", ...). Services refuse first with their own message and
    PostgreSQL triggers (review_app migration) refuse queryset writes too; this is the
    model's own guard, so admin and shell saves are refused with a translated error.
    """

    case_path = "request"

    def case_request(self):
        obj = self
        for name in self.case_path.split("."):
            obj = getattr(obj, name, None)
            if obj is None:
                return None
        return obj

    def case_is_archived(self) -> bool:
        request = self.case_request()
        return bool(request is not None and request.archived_when_loaded())

    def save(self, *args, **kwargs):
        if self.case_is_archived():
            raise CaseArchived()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.case_is_archived():
            raise CaseArchived()
        return super().delete(*args, **kwargs)


class CollabRequest(ConcurrentTransitionMixin, models.Model):
    """A cross-department collaboration request and, once approved, its project."""

    number = models.CharField(
        _("number"), max_length=20, unique=True, null=True, blank=True, editable=False
    )
    name = models.CharField(_("request name"), max_length=100, help_text=_("Short and specific."))
    initiating_department = models.ForeignKey(
        Department,
        verbose_name=_("initiating department"),
        on_delete=models.PROTECT,
        related_name="initiated_requests",
    )
    initiator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("initiator"),
        on_delete=models.PROTECT,
        related_name="initiated_requests",
    )
    contact = models.CharField(_("contact"), max_length=100, blank=True)
    departments = models.ManyToManyField(
        Department,
        verbose_name=_("collaborating departments"),
        through="RequestDepartment",
        related_name="collaborations",
    )
    background = models.TextField(_("background"), help_text=_("Why is this needed?"))
    expected_deliverables = models.TextField(_("expected deliverables"), blank=True)
    data_needs = models.TextField(
        _("data needs"), blank=True, help_text=_("One data item per line.")
    )
    expected_completion = models.DateField(_("expected completion date"))
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    notes = models.TextField(_("notes"), blank=True)
    state = FSMField(
        _("state"),
        default=RequestState.DRAFT,
        choices=RequestState.choices,
        protected=True,
        db_index=True,
    )
    review_round = models.PositiveSmallIntegerField(_("review round"), default=0, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True, editable=False)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True, editable=False)
    is_archived = models.BooleanField(_("archived"), default=False, editable=False)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, editable=False)
    is_confidential = models.BooleanField(
        _("confidential"),
        default=False,
        help_text=_(
            "Once archived, a case is readable by all staff as a reference unless it is "
            "confidential; a confidential case keeps the request's own visibility."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("collaboration request")
        verbose_name_plural = _("collaboration requests")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "-created_at"]),
            models.Index(fields=["initiating_department", "state"]),
            # The dashboard and the analysis report select requests by the period in
            # which they were submitted or completed.
            models.Index(fields=["submitted_at"], name="request_submitted_at"),
            models.Index(fields=["completed_at"], name="request_completed_at"),
            # With the two above, the dashboard's counts of a period (submitted, confirmed
            # or completed in it) read three index ranges instead of every request.
            models.Index(fields=["approved_at"], name="request_approved_at"),
            # The lists' orders (admin: newest first; 我的需求: last updated first), so
            # that a page of 25 or 100 is read from an index, not sorted out of 10k.
            models.Index(fields=["-created_at", "-id"], name="request_newest_first"),
            models.Index(fields=["-updated_at", "-id"], name="request_updated_first"),
        ]
        permissions = [
            ("confirm_collabrequest", _("Can confirm a request as a project")),
        ]

    def __str__(self):
        return f"{self.number} {self.name}" if self.number else self.name

    def save(self, *args, **kwargs):
        if self.archived_when_loaded():
            raise CaseArchived()
        super().save(*args, **kwargs)
        self._archived_in_db = self.is_archived

    def get_absolute_url(self):
        return reverse("requests_app:detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        if self.archived_when_loaded():
            raise CaseArchived()
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._archived_in_db = instance.__dict__.get("is_archived", False)
        return instance

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        # refresh_from_db copies the fields only: keep the guard's view of the row in step.
        if fields is None or "is_archived" in fields:
            self._archived_in_db = self.is_archived

    def archived_when_loaded(self) -> bool:
        """Whether the row was archived when it was read: archiving itself is one save."""
        return getattr(self, "_archived_in_db", False)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    # Transitions say only source, target and conditions. Services check who may
    # call them, save, log and notify (see services.py).

    @transition(
        field=state,
        source=[RequestState.DRAFT, RequestState.REVISION],
        target=RequestState.PENDING,
        custom={"label": _("Submit"), "admin": False},
    )
    def submit(self):
        """Hand the request to the departments for review."""

    @transition(
        field=state,
        source=RequestState.PENDING,
        target=RequestState.REVISION,
        custom={"label": _("Send back for revision"), "admin": False},
    )
    def send_back(self):
        """Return the request to its initiator for revision."""

    @transition(
        field=state,
        source=RequestState.PENDING,
        target=RequestState.APPROVED,
        conditions=[guards.all_departments_agreed],
        custom={"label": _("Confirm as project"), "admin": True},
    )
    def confirm(self):
        """Confirm the request as a project (確認立項)."""

    @transition(
        field=state,
        source=RequestState.APPROVED,
        target=RequestState.IN_PROGRESS,
        conditions=[guards.breakdown_signed],
        custom={"label": _("Start work"), "admin": True},
    )
    def start(self):
        """Start the work on the signed breakdown."""

    @transition(
        field=state,
        source=RequestState.IN_PROGRESS,
        target=RequestState.COMPLETED,
        conditions=[guards.final_acceptance_passed],
        custom={"label": _("Complete"), "admin": True},
    )
    def complete(self):
        """Close the request after its final acceptance."""

    @transition(
        field=state,
        source=OPEN_STATES,
        target=RequestState.CANCELLED,
        custom={"label": _("Cancel request"), "admin": True},
    )
    def cancel(self):
        """Cancel an open request."""


class RequestDepartment(CaseRecord, models.Model):
    """A collaborating department of a request; one of them may lead (主導)."""

    request = models.ForeignKey(
        CollabRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="department_links",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    is_lead = models.BooleanField(_("lead department"), default=False)

    class Meta:
        verbose_name = _("collaborating department")
        verbose_name_plural = _("collaborating departments")
        ordering = ["-is_lead", "department__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "department"], name="request_department_unique"
            ),
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(is_lead=True),
                name="request_one_lead",
                violation_error_message=_("Only one department can lead."),
            ),
        ]

    def __str__(self):
        return str(self.department)


class Goal(CaseRecord, models.Model):
    """A measurable goal, compared with its actual value in the retrospective."""

    request = models.ForeignKey(
        CollabRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="goals"
    )
    description = models.CharField(_("goal"), max_length=200)
    metric = models.CharField(_("metric"), max_length=100)
    target_value = models.DecimalField(_("target value"), max_digits=14, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    actual_value = models.DecimalField(
        _("actual value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.description


class Milestone(CaseRecord, models.Model):
    request = models.ForeignKey(
        CollabRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="milestones",
    )
    name = models.CharField(_("milestone"), max_length=100)
    date = models.DateField(_("date"))

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["date", "pk"]

    def __str__(self):
        return self.name


class ResourceNeed(CaseRecord, models.Model):
    """What one department must contribute: people, budget, data..."""

    request = models.ForeignKey(
        CollabRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="resource_needs",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=ResourceKind.choices, default=ResourceKind.PEOPLE
    )
    description = models.CharField(_("description"), max_length=200)

    class Meta:
        verbose_name = _("resource need")
        verbose_name_plural = _("resource needs")
        ordering = ["department__code", "pk"]

    def __str__(self):
        return self.description


class Attachment(CaseRecord, models.Model):
    """A file attached to a request; every upload of it is a new version."""

    request = models.ForeignKey(
        CollabRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    name = models.CharField(_("file name"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


def _version_path(instance: AttachmentVersion, filename: str) -> str:
    # Stored under a generated name: the person's file name is never a path here.
    suffix = PurePath(filename).suffix.lower()
    return f"attachments/{instance.attachment.request_id}/{uuid.uuid4().hex}{suffix}"


class AttachmentVersion(CaseRecord, models.Model):
    case_path = "attachment.request"

    attachment = models.ForeignKey(
        Attachment, verbose_name=_("attachment"), on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField(_("version"))
    file = models.FileField(_("file"), upload_to=_version_path, max_length=200)
    original_name = models.CharField(_("original file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100)
    note = models.CharField(_("update note"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment version")
        verbose_name_plural = _("attachment versions")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["attachment", "version"], name="attachment_version")
        ]

    def __str__(self):
        return f"{self.original_name} v{self.version}"


class DepartmentReview(CaseRecord, models.Model):
    """One department's answer in one review round. Earlier rounds stay as history."""

    request = models.ForeignKey(
        CollabRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="reviews"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="reviews"
    )
    round = models.PositiveSmallIntegerField(_("round"))
    due_date = models.DateField(_("answer due"))
    decision = models.CharField(
        _("decision"),
        max_length=12,
        choices=ReviewDecision.choices,
        default=ReviewDecision.PENDING,
        db_index=True,
    )
    comment = models.TextField(_("opinion"), blank=True)
    committed_tasks = models.TextField(
        _("tasks the department can take"),
        blank=True,
        help_text=_("One task per line; they become draft tasks once the project is approved."),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
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
    decided_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("department review")
        verbose_name_plural = _("department reviews")
        ordering = ["-round", "department__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "department", "round"], name="review_once_per_round"
            )
        ]
        indexes = [
            models.Index(fields=["department", "decision", "due_date"]),
            # Review times per department and period (dashboard, analysis report).
            models.Index(fields=["decided_at", "department"], name="review_decided_at"),
        ]

    def __str__(self):
        return f"{self.request} · {self.department} · {self.get_decision_display()}"

    @property
    def committed_task_lines(self) -> list[str]:
        return [line.strip() for line in self.committed_tasks.splitlines() if line.strip()]


class RequestEvent(CaseRecord, StateLog):
    """A line of the request's timeline: transitions, reviews, edits, uploads."""

    request = models.ForeignKey(
        CollabRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta(StateLog.Meta):
        verbose_name = _("request history")
        verbose_name_plural = _("request history")

    def __str__(self):
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_kind_display()}"


# django-guardian with direct foreign keys (its performance page): per-object grants
# on requests live in these indexed tables instead of the generic one.
class CollabRequestUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(CollabRequest, on_delete=models.CASCADE)


class CollabRequestGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(CollabRequest, on_delete=models.CASCADE)
