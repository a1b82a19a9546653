from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TaskState(models.TextChoices):
    TODO = "todo", pgettext_lazy("task state", "To do")
    IN_PROGRESS = "in_progress", pgettext_lazy("task state", "In progress")
    SUBMITTED = "submitted", pgettext_lazy("task state", "Awaiting acceptance")
    DONE = "done", pgettext_lazy("task state", "Done")


OPEN_TASK_STATES = [TaskState.TODO, TaskState.IN_PROGRESS, TaskState.SUBMITTED]


class RaciRole(models.TextChoices):
    RESPONSIBLE = "R", _("Responsible")
    ACCOUNTABLE = "A", _("Accountable")
    CONSULTED = "C", _("Consulted")
    INFORMED = "I", _("Informed")


class RiskLevel(models.TextChoices):
    NONE = "none", pgettext_lazy("risk level", "None")
    LOW = "low", pgettext_lazy("risk level", "Low")
    MEDIUM = "medium", pgettext_lazy("risk level", "Medium")
    HIGH = "high", pgettext_lazy("risk level", "High")


class AskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("collaboration ask", "Open")
    ANSWERED = "answered", pgettext_lazy("collaboration ask", "Answered")
    CLOSED = "closed", pgettext_lazy("collaboration ask", "Closed")


class TaskEventKind(models.TextChoices):
    CREATED = "created", _("Task created")
    EDITED = "edited", _("Task edited")
    RACI = "raci", _("RACI changed")
    START = "start", _("Started")
    OVERRIDE = "override", _("Dependencies overridden")
    SUBMIT = "submit", _("Deliverable submitted")
    ACCEPT = "accept", _("Accepted")
    REJECT = "reject", _("Delivery rejected")
    VERDICT = "verdict", _("Acceptance answer")
    RECTIFY = "rectify", _("Sent back for rectification")
    FAIL = "fail", _("Failed acceptance")
    DUE_CHANGED = "due_changed", _("Due date changed")
    PROGRESS = "progress", _("Progress updated")
