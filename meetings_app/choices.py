"""The words of meetings, minutes, problems and action items (DOMAIN §5, seed 003)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tasks_app.choices import TaskState


class MeetingKind(models.TextChoices):
    KICKOFF = "kickoff", _("Kick-off meeting")
    WEEKLY = "weekly", _("Weekly progress meeting")
    REVIEW = "review", _("Review meeting")
    SPECIAL = "special", _("Special meeting")
    ESCALATION = "escalation", _("Escalation meeting")


class MeetingForm(models.TextChoices):
    ON_SITE = "on_site", _("On site")
    ONLINE = "online", _("Online")
    PHONE = "phone", _("Phone")


class MeetingState(models.TextChoices):
    SCHEDULED = "scheduled", pgettext_lazy("meeting state", "Scheduled")
    MINUTES_FILED = "filed", pgettext_lazy("meeting state", "Minutes filed")
    CANCELLED = "cancelled", pgettext_lazy("meeting state", "Cancelled")


class MinutesState(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("minutes state", "Draft")
    FILED = "filed", pgettext_lazy("minutes state", "Filed")
    SUPERSEDED = "superseded", pgettext_lazy("minutes state", "Superseded by a correction")


class Attendance(models.TextChoices):
    UNKNOWN = "unknown", pgettext_lazy("attendance", "Not recorded")
    PRESENT = "present", pgettext_lazy("attendance", "Present")
    ABSENT = "absent", pgettext_lazy("attendance", "Absent")


class ProblemStatus(models.TextChoices):
    """問題清單's status, as seed 003 names it: 進行中 / 已解決 / 需升級."""

    OPEN = "open", pgettext_lazy("problem status", "In progress")
    RESOLVED = "resolved", pgettext_lazy("problem status", "Resolved")
    ESCALATE = "escalate", pgettext_lazy("problem status", "Needs escalation")


class ActionState(models.TextChoices):
    """An action item's life. The first four values are tasks_app's TaskState values, so
    that tasks_app.deadlines' checks and conditions (due soon, overdue, behind, stale)
    read an action item exactly as they read a task: one definition of each rule."""

    DRAFT = "draft", pgettext_lazy("action item state", "Draft")
    TODO = TaskState.TODO.value, pgettext_lazy("action item state", "To do")
    IN_PROGRESS = TaskState.IN_PROGRESS.value, pgettext_lazy("action item state", "In progress")
    SUBMITTED = (
        TaskState.SUBMITTED.value,
        pgettext_lazy("action item state", "Awaiting confirmation"),
    )
    DONE = TaskState.DONE.value, pgettext_lazy("action item state", "Resolved")
    CONVERTED = "converted", pgettext_lazy("action item state", "Turned into a task")
    CANCELLED = "cancelled", pgettext_lazy("action item state", "Cancelled")


# The states in which an action item is still open (carried over to the next meeting).
OPEN_ACTION_STATES = (ActionState.TODO, ActionState.IN_PROGRESS, ActionState.SUBMITTED)


class HolidayRule(models.TextChoices):
    """What a weekly series does when its day is not a working day."""

    SKIP = "skip", _("Skip that week")
    NEXT = "next", _("Move to the next working day")
    PREVIOUS = "previous", _("Move to the previous working day")


class MeetingEventKind(models.TextChoices):
    SCHEDULED = "scheduled", _("Meeting scheduled")
    RESCHEDULED = "rescheduled", _("Meeting changed")
    CANCELLED = "cancelled", _("Meeting cancelled")
    MINUTES_FILED = "minutes_filed", _("Minutes filed")
    MINUTES_CORRECTED = "minutes_corrected", _("Minutes corrected")
    PROBLEM = "problem", _("Problem status changed")
    COMMENT = "comment", _("Comment")


class ActionEventKind(models.TextChoices):
    OPENED = "opened", _("Action item opened")
    START = "start", _("Started")
    PROGRESS = "progress", _("Progress updated")
    SUBMIT = "submit", _("Deliverable submitted")
    ACCEPT = "accept", _("Closure confirmed")
    SEND_BACK = "send_back", _("Sent back")
    ESCALATE = "escalate", _("Escalated")
    CONVERT = "convert", _("Turned into a task")
    CANCEL = "cancel", _("Cancelled")
    EDITED = "edited", _("Action item edited")
