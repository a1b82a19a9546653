from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RequestState(models.TextChoices):
    """The request's states; the zh-Hant labels are the ones DOMAIN.md fixes."""

    DRAFT = "draft", pgettext_lazy("request state", "Draft")
    PENDING = "pending", pgettext_lazy("request state", "Pending review")
    REVISION = "revision", pgettext_lazy("request state", "Needs revision")
    APPROVED = "approved", pgettext_lazy("request state", "Approved as project")
    IN_PROGRESS = "in_progress", pgettext_lazy("request state", "In progress")
    COMPLETED = "completed", pgettext_lazy("request state", "Completed")
    CANCELLED = "cancelled", pgettext_lazy("request state", "Cancelled")


OPEN_STATES = [
    RequestState.DRAFT,
    RequestState.PENDING,
    RequestState.REVISION,
    RequestState.APPROVED,
    RequestState.IN_PROGRESS,
]
EDITABLE_STATES = [RequestState.DRAFT, RequestState.REVISION]


class Priority(models.TextChoices):
    NORMAL = "normal", pgettext_lazy("priority", "Normal")
    IMPORTANT = "important", pgettext_lazy("priority", "Important")
    URGENT = "urgent", pgettext_lazy("priority", "Urgent")


class ReviewDecision(models.TextChoices):
    PENDING = "pending", pgettext_lazy("review decision", "Awaiting answer")
    APPROVED = "approved", pgettext_lazy("review decision", "Agreed")
    REJECTED = "rejected", pgettext_lazy("review decision", "Rejected")
    SUPERSEDED = "superseded", pgettext_lazy("review decision", "Superseded")


class ResourceKind(models.TextChoices):
    PEOPLE = "people", _("People")
    BUDGET = "budget", _("Budget")
    DATA = "data", _("Data")
    EQUIPMENT = "equipment", _("Equipment")
    OTHER = "other", _("Other")


class EventKind(models.TextChoices):
    """What a line of the request's timeline records."""

    CREATED = "created", _("Created")
    EDITED = "edited", _("Edited")
    SUBMITTED = "submit", _("Submitted")
    RESUBMITTED = "resubmit", _("Resubmitted")
    REVIEW_APPROVED = "review_approved", _("Department agreed")
    REVIEW_REJECTED = "reject", _("Department rejected")
    ALL_AGREED = "all_agreed", _("All departments agreed")
    CONFIRMED = "confirm", _("Confirmed as project")
    STARTED = "start", _("Work started")
    COMPLETED = "complete", _("Completed")
    CANCELLED = "cancel", _("Cancelled")
    ATTACHMENT = "attachment", _("Attachment uploaded")
    BREAKDOWN = "breakdown", _("Task breakdown changed")
    SIGNED = "signed", _("Task breakdown signed")
    SIGNATURES_VOIDED = "voided", _("Signatures voided by a change")
    FINAL_OPENED = "final_opened", _("Final acceptance opened")
    FINAL_SIGNED = "final_signed", _("Final acceptance signed")
    FINAL_RETURNED = "final_returned", _("Final acceptance returned")
    RETROSPECTIVE = "retrospective", _("Retrospective filed")
    ARCHIVED = "archived", _("Archived")
