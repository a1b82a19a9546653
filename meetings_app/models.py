"""Meetings, their minutes (溝通記錄表) and the action items they raise (DOMAIN §5, seed 003).

- A Meeting belongs to a request, or to none (a standing cross-department meeting). It is
  scheduled, then its minutes are filed, or it is cancelled (MeetingState).
- Its Minutes are versioned: the recorder drafts version 1 from the agenda and files it;
  a filed version is read-only, and a correction is a new version that supersedes it.
  Each version holds its agenda items' discussion and conclusion and the attendance.
- Problems (問題清單) and action items (行動項) are live records of the meeting that
  raised them: they are tracked until closed, and a later meeting of the same series
  shows the ones still open (the carry-over) instead of copying them.
- An ActionItem has the fields tasks_app.deadlines reads of a task (state, start_date,
  due_at, importance, progress_percent, last_progress_at, started_at, submitted_at), with
  the same state values, so that due soon, overdue, behind and stale have one definition.
- A MeetingSeries (週例會) makes its meetings week by week on working days.

Every model is a CaseRecord reaching its request through the meeting: an archived case's
meetings are read-only like the rest (review_app's triggers, meetings_app migration 0002).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from collab.models import Department, StateLog
from requests_app.choices import Priority
from requests_app.models import CaseRecord, CollabRequest
from tasks_app import deadlines
from tasks_app.models import Task

from .choices import (
    ActionEventKind,
    ActionState,
    Attendance,
    HolidayRule,
    MeetingEventKind,
    MeetingForm,
    MeetingKind,
    MeetingState,
    MinutesState,
    ProblemStatus,
)

# Seed 003: an action item is due "X月X日17:00前".
DEFAULT_ACTION_DUE_TIME = dt.time(17, 0)


def new_uid() -> str:
    return uuid.uuid4().hex


class MeetingSeries(CaseRecord, models.Model):
    """A recurring weekly meeting (週例會): the day, the time and what each meeting has."""

    request = models.ForeignKey(
        CollabRequest,
        verbose_name=_("request"),
        on_delete=models.PROTECT,
        related_name="meeting_series",
        null=True,
        blank=True,
    )
    topic = models.CharField(_("topic"), max_length=120)
    kind = models.CharField(
        _("kind"), max_length=20, choices=MeetingKind.choices, default=MeetingKind.WEEKLY
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), help_text=_("0 is Monday, 4 is Friday.")
    )
    start_time = models.TimeField(_("starts at"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=60)
    first_date = models.DateField(_("first meeting on"))
    until = models.DateField(_("last meeting by"), null=True, blank=True)
    holiday_rule = models.CharField(
        _("on a holiday"), max_length=10, choices=HolidayRule.choices, default=HolidayRule.SKIP
    )
    form = models.CharField(
        _("form"), max_length=10, choices=MeetingForm.choices, default=MeetingForm.ON_SITE
    )
    location = models.CharField(_("room"), max_length=120, blank=True)
    online_link = models.URLField(_("online link"), max_length=500, blank=True)
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("organiser"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorder"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    departments = models.ManyToManyField(
        Department, verbose_name=_("departments"), blank=True, related_name="+"
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("participants"), blank=True, related_name="+"
    )
    guests = models.TextField(_("guests"), blank=True, help_text=_("One per line."))
    agenda_template = models.TextField(
        _("agenda template"), blank=True, help_text=_("One agenda item per line.")
    )
    uid = models.CharField(_("calendar UID"), max_length=64, unique=True, default=new_uid)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("meeting series")
        verbose_name_plural = _("meeting series")
        ordering = ["topic", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="series_weekday_0_6"),
        ]

    def __str__(self):
        return self.topic

    def get_absolute_url(self):
        return reverse("meetings_app:series", args=[self.pk])


class Meeting(CaseRecord, ConcurrentTransitionMixin, models.Model):
    """One meeting: planned, then recorded in its minutes, or cancelled."""

    request = models.ForeignKey(
        CollabRequest,
        verbose_name=_("request"),
        on_delete=models.PROTECT,
        related_name="meetings",
        null=True,
        blank=True,
    )
    series = models.ForeignKey(
        MeetingSeries,
        verbose_name=_("series"),
        on_delete=models.PROTECT,
        related_name="meetings",
        null=True,
        blank=True,
    )
    # The series' own date of this meeting (its RECURRENCE-ID), even if a holiday moved it.
    series_date = models.DateField(_("series date"), null=True, blank=True)
    # The meeting scheduled from this one's minutes ("next meeting"): it carries over what
    # this one left open, like the next meeting of a series.
    previous = models.ForeignKey(
        "self",
        verbose_name=_("previous meeting"),
        on_delete=models.SET_NULL,
        related_name="following",
        null=True,
        blank=True,
    )
    topic = models.CharField(_("topic"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=MeetingKind.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    form = models.CharField(
        _("form"), max_length=10, choices=MeetingForm.choices, default=MeetingForm.ON_SITE
    )
    location = models.CharField(_("room"), max_length=120, blank=True)
    online_link = models.URLField(_("online link"), max_length=500, blank=True)
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("organiser"),
        on_delete=models.PROTECT,
        related_name="meetings_organised",
    )
    recorder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorder"),
        on_delete=models.PROTECT,
        related_name="meetings_recorded",
    )
    departments = models.ManyToManyField(
        Department, verbose_name=_("departments"), blank=True, related_name="meetings"
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("participants"),
        blank=True,
        related_name="meetings",
    )
    guests = models.TextField(_("guests"), blank=True, help_text=_("One per line."))
    focus = models.TextField(
        _("focus"), blank=True, help_text=_("What this meeting is to settle (下次溝通重點).")
    )
    state = FSMField(
        _("state"), default=MeetingState.SCHEDULED, choices=MeetingState.choices, protected=True
    )
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    # The calendar invitation's identity: every update and the cancellation keep the UID
    # and raise the SEQUENCE (RFC 5546), so calendars replace the event they hold.
    uid = models.CharField(_("calendar UID"), max_length=64, unique=True, default=new_uid)
    ics_sequence = models.PositiveIntegerField(_("invitation revision"), default=0)
    invited_at = models.DateTimeField(_("invitation sent at"), null=True, blank=True)
    minutes_filed_at = models.DateTimeField(_("minutes filed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="meeting_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["series", "series_date"],
                condition=Q(series__isnull=False),
                name="meeting_once_per_series_date",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "starts_at"]),
            models.Index(fields=["request", "starts_at"]),
        ]

    def __str__(self):
        return f"{timezone.localtime(self.starts_at):%Y-%m-%d %H:%M} {self.topic}"

    def get_absolute_url(self):
        return reverse("meetings_app:detail", args=[self.pk])

    # Transitions: source and target only; services do the rest.

    @transition(field=state, source=MeetingState.SCHEDULED, target=MeetingState.MINUTES_FILED)
    def file_minutes(self):
        """File the first version of the minutes."""

    @transition(field=state, source=MeetingState.SCHEDULED, target=MeetingState.CANCELLED)
    def cancel(self):
        """Call the meeting off (the calendars get a CANCEL)."""


class AgendaItem(CaseRecord, models.Model):
    """One item of a meeting's agenda, sent with the invitation."""

    case_path = "meeting.request"

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="agenda"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title = models.CharField(_("agenda item"), max_length=200)
    department = models.ForeignKey(
        Department,
        verbose_name=_("presenting department"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda")
        ordering = ["meeting", "position", "pk"]

    def __str__(self):
        return self.title


class Minutes(CaseRecord, models.Model):
    """One version of a meeting's minutes (會議紀要 / 溝通記錄表)."""

    case_path = "meeting.request"

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="minutes"
    )
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    state = models.CharField(
        _("state"), max_length=12, choices=MinutesState.choices, default=MinutesState.DRAFT
    )
    actual_start = models.DateTimeField(_("actual start"), null=True, blank=True)
    actual_end = models.DateTimeField(_("actual end"), null=True, blank=True)
    next_meeting_at = models.DateTimeField(_("next meeting"), null=True, blank=True)
    next_focus = models.TextField(_("next meeting's focus"), blank=True)
    other_matters = models.TextField(_("other matters to pass on"), blank=True)
    # A kick-off's minutes record that the task breakdown (任務分工表) was agreed, and
    # which version; the signatures stay on the breakdown itself.
    breakdown_agreed = models.BooleanField(_("task breakdown agreed"), default=False)
    breakdown_version = models.PositiveIntegerField(
        _("breakdown version agreed"), null=True, blank=True
    )
    tasks_discussed = models.ManyToManyField(
        Task, verbose_name=_("tasks discussed"), blank=True, related_name="+"
    )
    correction_reason = models.TextField(_("reason for the correction"), blank=True)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("drafted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")
        ordering = ["meeting", "version"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "version"], name="minutes_version_unique"),
            # At most one draft per meeting: the recorder works on one at a time.
            models.UniqueConstraint(
                fields=["meeting"],
                condition=Q(state=MinutesState.DRAFT),
                name="minutes_one_draft",
            ),
        ]

    def __str__(self):
        return f"{self.meeting} v{self.version}"

    @property
    def is_read_only(self) -> bool:
        return self.state != MinutesState.DRAFT


class MinutesItem(CaseRecord, models.Model):
    """An agenda item's discussion and conclusion in one version of the minutes."""

    case_path = "minutes.meeting.request"

    minutes = models.ForeignKey(
        Minutes, verbose_name=_("minutes"), on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title = models.CharField(_("agenda item"), max_length=200)
    discussion = models.TextField(_("discussion"), blank=True)
    conclusion = models.TextField(_("conclusion"), blank=True)

    class Meta:
        verbose_name = _("minutes item")
        verbose_name_plural = _("minutes items")
        ordering = ["minutes", "position", "pk"]

    def __str__(self):
        return self.title


class MinutesAttendance(CaseRecord, models.Model):
    """Whether a participant attended, in one version of the minutes."""

    case_path = "minutes.meeting.request"

    minutes = models.ForeignKey(
        Minutes, verbose_name=_("minutes"), on_delete=models.CASCADE, related_name="attendance"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    attendance = models.CharField(
        _("attendance"), max_length=10, choices=Attendance.choices, default=Attendance.UNKNOWN
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["minutes", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["minutes", "user"], name="attendance_once"),
        ]

    def __str__(self):
        return f"{self.user} {self.get_attendance_display()}"


class Problem(CaseRecord, models.Model):
    """A problem of the 問題清單, raised at a meeting and tracked until resolved."""

    case_path = "meeting.request"

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="problems"
    )
    raised_in = models.ForeignKey(
        Minutes,
        verbose_name=_("raised in"),
        on_delete=models.SET_NULL,
        related_name="problems",
        null=True,
        blank=True,
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    description = models.TextField(_("problem"))
    department = models.ForeignKey(
        Department,
        verbose_name=_("department concerned"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ProblemStatus.choices, default=ProblemStatus.OPEN
    )
    # Filed: part of filed minutes. A problem of a draft exists only for its recorder.
    is_filed = models.BooleanField(_("filed"), default=False)
    status_note = models.TextField(_("latest status note"), blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("problem")
        verbose_name_plural = _("problems")
        ordering = ["meeting", "position", "pk"]

    def __str__(self):
        return self.description[:60]


class ActionItem(CaseRecord, ConcurrentTransitionMixin, models.Model):
    """An action item (行動項): who does what by when, tracked like a task."""

    case_path = "meeting.request"

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="actions"
    )
    raised_in = models.ForeignKey(
        Minutes,
        verbose_name=_("raised in"),
        on_delete=models.SET_NULL,
        related_name="actions",
        null=True,
        blank=True,
    )
    problem = models.ForeignKey(
        Problem,
        verbose_name=_("problem addressed"),
        on_delete=models.SET_NULL,
        related_name="actions",
        null=True,
        blank=True,
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    description = models.TextField(_("action"))
    responsible_department = models.ForeignKey(
        Department,
        verbose_name=_("responsible department"),
        on_delete=models.PROTECT,
        related_name="action_items",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible person"),
        on_delete=models.PROTECT,
        related_name="action_items",
    )
    deliverable = models.TextField(_("deliverable"), blank=True)
    # The fields tasks_app.deadlines reads (see the module's docstring).
    start_date = models.DateField(_("start date"))
    due_at = models.DateTimeField(_("due"))
    importance = models.CharField(
        _("importance"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    state = FSMField(
        _("state"), default=ActionState.DRAFT, choices=ActionState.choices, protected=True
    )
    progress_percent = models.PositiveSmallIntegerField(_("progress"), default=0)
    last_progress_at = models.DateTimeField(_("last progress update"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # 需升級: the owner or the organiser says it cannot be settled at this level. The
    # escalation ladder (a later issue) picks these up through collab.registry's
    # "action_escalated" store.
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalation_reason = models.TextField(_("reason for escalating"), blank=True)
    converted_task = models.OneToOneField(
        Task,
        verbose_name=_("turned into task"),
        on_delete=models.PROTECT,
        related_name="from_action_item",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["meeting", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_percent__lte=100), name="action_progress_max_100"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["responsible_department", "state"]),
        ]

    def __str__(self):
        return self.description[:60]

    def get_absolute_url(self):
        return reverse("meetings_app:action", args=[self.pk])

    @property
    def is_escalated(self) -> bool:
        return self.escalated_at is not None

    # The timing verdicts at this moment, as tasks_app.deadlines defines them for tasks.

    @property
    def is_overdue(self) -> bool:
        return deadlines.is_overdue(self, timezone.now())

    @property
    def is_late(self) -> bool:
        return deadlines.is_late(self, timezone.now())

    @property
    def expected_percent(self) -> int:
        """The even-pace plan's percent now (the 滯後 badge's title, as a task's)."""
        return deadlines.expected_percent(self, timezone.now())

    # Transitions: source and target only; services do the rest.

    @transition(field=state, source=ActionState.DRAFT, target=ActionState.TODO)
    def open(self):
        """The minutes that hold it are filed: the owner is told and the clock runs."""

    @transition(field=state, source=ActionState.TODO, target=ActionState.IN_PROGRESS)
    def start(self):
        """The owner starts work (also on the first progress update)."""

    @transition(
        field=state,
        source=[ActionState.TODO, ActionState.IN_PROGRESS],
        target=ActionState.SUBMITTED,
    )
    def submit(self):
        """The owner submits the deliverable for the organiser's closure confirmation."""

    @transition(field=state, source=ActionState.SUBMITTED, target=ActionState.DONE)
    def accept(self):
        """閉環確認: the organiser (or the initiator, or the PMO) confirms it is resolved."""

    @transition(field=state, source=ActionState.SUBMITTED, target=ActionState.IN_PROGRESS)
    def send_back(self):
        """The deliverable is not enough: back to the owner, with a reason."""

    @transition(
        field=state,
        source=[ActionState.TODO, ActionState.IN_PROGRESS, ActionState.SUBMITTED],
        target=ActionState.CONVERTED,
    )
    def convert(self):
        """It became a full task of the request's breakdown."""

    @transition(
        field=state,
        source=[ActionState.DRAFT, ActionState.TODO, ActionState.IN_PROGRESS],
        target=ActionState.CANCELLED,
    )
    def cancel(self):
        """No longer needed (the organiser says why)."""


class ActionProgress(CaseRecord, models.Model):
    """An owner's progress update on an action item."""

    case_path = "action.meeting.request"

    action = models.ForeignKey(
        ActionItem, verbose_name=_("action item"), on_delete=models.CASCADE, related_name="updates"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    percent = models.PositiveSmallIntegerField(_("percent complete"))
    note = models.TextField(_("progress made"))

    class Meta:
        verbose_name = _("action item update")
        verbose_name_plural = _("action item updates")
        ordering = ["action", "-created_at", "-pk"]

    def __str__(self):
        return f"{self.percent}% {self.note[:40]}"


class ActionDelivery(CaseRecord, models.Model):
    """One submission of an action item's deliverable (a note, and a file if any)."""

    case_path = "action.meeting.request"

    action = models.ForeignKey(
        ActionItem,
        verbose_name=_("action item"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    note = models.TextField(_("what was delivered"))
    file = models.FileField(_("file"), upload_to="actions/%Y/%m/", max_length=200, blank=True)
    original_name = models.CharField(_("file name"), max_length=200, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("action item delivery")
        verbose_name_plural = _("action item deliveries")
        ordering = ["action", "round"]

    def __str__(self):
        return f"#{self.round} {self.note[:40]}"


class MeetingComment(CaseRecord, models.Model):
    """A participant's comment on a meeting."""

    case_path = "meeting.request"

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("meeting comment")
        verbose_name_plural = _("meeting comments")
        ordering = ["meeting", "created_at", "pk"]

    def __str__(self):
        return self.body[:40]


class MeetingEvent(CaseRecord, StateLog):
    """A line of a meeting's history."""

    case_path = "meeting.request"

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=MeetingEventKind.choices)

    class Meta(StateLog.Meta):
        verbose_name = _("meeting history")
        verbose_name_plural = _("meeting history")


class ActionEvent(CaseRecord, StateLog):
    """A line of an action item's history (kept when it becomes a task)."""

    case_path = "action.meeting.request"

    action = models.ForeignKey(
        ActionItem, verbose_name=_("action item"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ActionEventKind.choices)

    class Meta(StateLog.Meta):
        verbose_name = _("action item history")
        verbose_name_plural = _("action item history")
