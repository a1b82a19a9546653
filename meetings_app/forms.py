"""Forms of the meeting pages. They parse and validate input; meetings_app.services decide.

A form checks what it can see (the times parse, the end comes after the start); the
service checks the rest (who may, a day's notice, the state) and its ValidationError is
shown next to the fields it names (collab.forms.BootstrapMixin.add_service_error, with
`service_fields` where the names differ). The minutes editor is one form and four
formsets (attendance, agenda items, problems, action items), laid out like the seed's
溝通記錄表.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from collab.forms import BootstrapMixin, PersonChoiceField, date_field, text_field, time_field
from collab.models import Department, User
from requests_app.choices import Priority
from requests_app.forms import RowForm, RowFormSet
from tasks_app.forms import _grouped_by_own_department
from tasks_app.models import Task
from tasks_app.services import due_at

from . import services
from .choices import Attendance, HolidayRule, MeetingForm, MeetingKind, ProblemStatus
from .models import (
    DEFAULT_ACTION_DUE_TIME,
    ActionDelivery,
    ActionItem,
    ActionProgress,
    Meeting,
    MeetingComment,
    MeetingSeries,
    Minutes,
    MinutesItem,
    Problem,
)

MAX_ROWS = 50
DEFAULT_START = dt.time(10, 0)
DEFAULT_DURATION = dt.timedelta(hours=1)


def _label(model, name: str):
    return model._meta.get_field(name).verbose_name


def _lines(text: str) -> list[str]:
    """Return the non-blank lines of `text`, stripped: one agenda item per line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _moment(day: dt.date | None, time: dt.time | None) -> dt.datetime | None:
    """Return the local moment of `day` at `time` (None unless both are given)."""
    if day is None or time is None:
        return None
    return due_at(day, time)


def _local(moment: dt.datetime | None) -> tuple[dt.date | None, dt.time | None]:
    if moment is None:
        return None, None
    local = timezone.localtime(moment)
    return local.date(), local.time().replace(second=0, microsecond=0)


class DepartmentsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return obj.name


class PeopleField(forms.ModelMultipleChoiceField):
    """Several people, offered in one menu grouped by department."""


# --- a meeting and a series: who, when and where -----------------------------------------


class _PlanForm(BootstrapMixin, forms.Form):
    """The fields a meeting and a weekly series share: the form, place and people."""

    form = forms.ChoiceField(
        label=_label(Meeting, "form"), choices=MeetingForm.choices, initial=MeetingForm.ON_SITE
    )
    location = forms.CharField(
        label=_label(Meeting, "location"),
        max_length=120,
        required=False,
        help_text=_("For a meeting on site."),
    )
    online_link = forms.URLField(
        label=_label(Meeting, "online_link"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=_("For an online meeting: the video call's address."),
    )
    organiser = PersonChoiceField(label=_label(Meeting, "organiser"), queryset=User.objects.none())
    recorder = PersonChoiceField(
        label=_label(Meeting, "recorder"),
        queryset=User.objects.none(),
        help_text=_("Writes and files the minutes (記錄人)."),
    )
    departments = DepartmentsField(
        label=_label(Meeting, "departments"), queryset=Department.objects.none(), required=False
    )
    participants = PeopleField(
        label=_label(Meeting, "participants"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text=_("They get the invitation with the agenda, in the portal and by e-mail."),
    )
    guests = text_field(
        _label(Meeting, "guests"),
        required=False,
        rows=2,
        help_text=_("People outside the portal, one per line."),
    )

    def __init__(self, *args, people: list[User], departments: list[Department], **kwargs):
        super().__init__(*args, **kwargs)
        active = User.objects.filter(is_active=True)
        for name in ("organiser", "recorder"):
            field = self.fields[name]
            field.queryset = active
            field.choices = [
                ("", "---------"),
                *((u.pk, field.label_from_instance(u)) for u in people),
            ]
        self.fields["participants"].queryset = active
        self.fields["participants"].choices = _grouped_by_own_department(people)
        self.fields["departments"].queryset = Department.objects.filter(is_active=True)
        self.fields["departments"].choices = [(d.pk, d.name) for d in departments]
        self.fields["departments"].widget.attrs["class"] = "form-check-input"
        self.fields["form"].widget.attrs["data-meeting-form"] = ""

    def _plan_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "form": data["form"],
            "location": data["location"],
            "online_link": data["online_link"],
            "organiser": data["organiser"],
            "recorder": data["recorder"],
            "departments": list(data["departments"]),
            "participants": list(data["participants"]),
            "guests": data["guests"],
        }

    @staticmethod
    def _plan_initial(obj) -> dict:
        return {
            "form": obj.form,
            "location": obj.location,
            "online_link": obj.online_link,
            "organiser": obj.organiser_id,
            "recorder": obj.recorder_id,
            "departments": [d.pk for d in obj.departments.all()],
            "participants": [u.pk for u in obj.participants.all()],
            "guests": obj.guests,
        }


class MeetingPlanForm(_PlanForm):
    """A meeting to schedule or change, for services.meeting_schedule / meeting_update."""

    service_fields = {"starts_at": "start_time", "ends_at": "end_time"}

    topic = forms.CharField(label=_label(Meeting, "topic"), max_length=120)
    kind = forms.ChoiceField(label=_label(Meeting, "kind"), choices=MeetingKind.choices)
    date = date_field(_("Date"))
    start_time = time_field(_("From"))
    end_time = time_field(_("To"))
    focus = text_field(
        _label(Meeting, "focus"),
        required=False,
        rows=2,
        help_text=_("What this meeting is to settle."),
    )
    agenda = text_field(
        _("Agenda"),
        required=False,
        rows=5,
        help_text=_("One agenda item per line; it goes out with the invitation."),
    )
    short_notice_reason = text_field(
        _("Why at short notice?"),
        required=False,
        rows=2,
        help_text=_(
            "Needed when the meeting starts less than a day from now: the participants "
            "should have a day to prepare."
        ),
    )
    # The meeting's revision when the change form was shown (services.revision).
    revision = forms.CharField(widget=forms.HiddenInput, required=False)

    field_order = [
        "topic",
        "kind",
        "date",
        "start_time",
        "end_time",
        "form",
        "location",
        "online_link",
        "organiser",
        "recorder",
        "departments",
        "participants",
        "guests",
        "focus",
        "agenda",
        "short_notice_reason",
    ]

    @classmethod
    def initial_for(cls, meeting: Meeting) -> dict:
        """Return the form's initial values from a saved meeting."""
        day, start = _local(meeting.starts_at)
        _day, end = _local(meeting.ends_at)
        return {
            **cls._plan_initial(meeting),
            "topic": meeting.topic,
            "kind": meeting.kind,
            "date": day,
            "start_time": start,
            "end_time": end,
            "focus": meeting.focus,
            "agenda": "\n".join(item.title for item in meeting.agenda.all()),
            "revision": services.revision(meeting),
        }

    @staticmethod
    def initial_new(*, user: User, day: dt.date, request=None, departments=()) -> dict:
        """Return a new meeting's initial values: on `day` at 10:00 for an hour, called
        and recorded by `user`, with the request's departments (else the user's)."""
        return {
            "kind": MeetingKind.SPECIAL if request is not None else MeetingKind.WEEKLY,
            "topic": request.name if request is not None else "",
            "date": day,
            "start_time": DEFAULT_START,
            "end_time": (dt.datetime.combine(day, DEFAULT_START) + DEFAULT_DURATION).time(),
            "organiser": user.pk,
            "recorder": user.pk,
            "departments": [d.pk for d in departments]
            or ([user.department_id] if user.department_id else []),
        }

    def clean(self):
        cleaned = super().clean()
        cleaned["starts_at"] = _moment(cleaned.get("date"), cleaned.get("start_time"))
        cleaned["ends_at"] = _moment(cleaned.get("date"), cleaned.get("end_time"))
        return cleaned

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].widget.attrs["data-meeting-date"] = ""
        self.fields["start_time"].widget.attrs["data-meeting-start"] = ""

    def starts_soon(self, now: dt.datetime | None = None) -> bool:
        """Whether the meeting typed starts less than a day from now (the reason shows)."""
        start = getattr(self, "cleaned_data", {}).get("starts_at")
        if start is None:
            return False
        return start - (now or timezone.now()) < dt.timedelta(days=1)

    def seen_revision(self) -> str | None:
        """Return the meeting's revision the change form showed (None: a new meeting)."""
        return self.cleaned_data["revision"] or None

    def service_arguments(self) -> dict:
        """Return the keyword arguments of meeting_schedule / meeting_update."""
        data = self.cleaned_data
        return {
            **self._plan_arguments(),
            "topic": data["topic"],
            "kind": data["kind"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "focus": data["focus"],
            "agenda": _lines(data["agenda"]),
            "short_notice_reason": data["short_notice_reason"],
        }


class SeriesForm(_PlanForm):
    """A weekly series (週例會), for services.series_create."""

    topic = forms.CharField(label=_label(MeetingSeries, "topic"), max_length=120)
    weekday = forms.TypedChoiceField(
        label=_label(MeetingSeries, "weekday"),
        choices=[(day, name) for day, name in WEEKDAYS.items()],
        coerce=int,
        initial=4,
    )
    start_time = time_field(_label(MeetingSeries, "start_time"), initial=dt.time(16, 0))
    duration_minutes = forms.IntegerField(
        label=_label(MeetingSeries, "duration_minutes"), min_value=15, max_value=480, initial=60
    )
    first_date = date_field(_label(MeetingSeries, "first_date"))
    until = date_field(
        _label(MeetingSeries, "until"),
        required=False,
        help_text=_("Leave empty for a series without an end."),
    )
    holiday_rule = forms.ChoiceField(
        label=_label(MeetingSeries, "holiday_rule"),
        choices=HolidayRule.choices,
        initial=HolidayRule.SKIP,
        help_text=_("What happens when the day is a holiday (Taiwan's calendar)."),
    )
    agenda_template = text_field(
        _label(MeetingSeries, "agenda_template"),
        required=False,
        rows=4,
        help_text=_("One agenda item per line; every meeting of the series starts with it."),
    )

    field_order = [
        "topic",
        "weekday",
        "start_time",
        "duration_minutes",
        "first_date",
        "until",
        "holiday_rule",
        "form",
        "location",
        "online_link",
        "organiser",
        "recorder",
        "departments",
        "participants",
        "guests",
        "agenda_template",
    ]

    def service_arguments(self) -> dict:
        """Return the keyword arguments of services.series_create."""
        data = self.cleaned_data
        return {
            **self._plan_arguments(),
            "topic": data["topic"],
            "weekday": data["weekday"],
            "start_time": data["start_time"],
            "duration_minutes": data["duration_minutes"],
            "first_date": data["first_date"],
            "until": data["until"],
            "holiday_rule": data["holiday_rule"],
            "agenda_template": data["agenda_template"],
        }


# --- small forms of the meeting page ----------------------------------------------------


class ReasonForm(BootstrapMixin, forms.Form):
    """A reason, required: cancelling a meeting, correcting minutes, sending back..."""

    reason = text_field(_("Reason"), rows=3)


class CommentForm(BootstrapMixin, forms.Form):
    body = text_field(_label(MeetingComment, "body"), rows=3)


class ProblemStatusForm(BootstrapMixin, forms.Form):
    """A problem's new status (進行中 / 已解決 / 需升級) and a note."""

    status = forms.ChoiceField(label=_label(Problem, "status"), choices=ProblemStatus.choices)
    note = forms.CharField(label=_("Note"), max_length=4000, required=False)
    # The status the form showed: services.problem_set_status refuses a change over a
    # newer one.
    expected_status = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, problem: Problem | None = None, **kwargs):
        """`initial` may carry what was typed (status, note) over a refused change; the
        status seen is always the problem's."""
        if problem is not None:
            kwargs.setdefault("auto_id", f"id_problem{problem.pk}_%s")
            kwargs["initial"] = {
                "status": problem.status,
                **kwargs.get("initial", {}),
                "expected_status": problem.status,
            }
        super().__init__(*args, **kwargs)

    def clean_expected_status(self) -> str | None:
        return self.cleaned_data["expected_status"] or None


# --- the minutes editor ------------------------------------------------------------------


class MinutesForm(BootstrapMixin, forms.Form):
    """The minutes' own fields: the actual time, the next meeting, other matters, and
    for a kick-off of a request with a breakdown, the breakdown agreed and its tasks."""

    service_fields = {"next_meeting_at": "next_time"}

    actual_date = date_field(_("Held on"))
    actual_start = time_field(_label(Minutes, "actual_start"))
    actual_end = time_field(_label(Minutes, "actual_end"))
    next_date = date_field(_("Next meeting on"), required=False)
    next_time = time_field(_("at"), required=False)
    next_focus = text_field(_label(Minutes, "next_focus"), required=False, rows=2)
    other_matters = text_field(_label(Minutes, "other_matters"), required=False, rows=3)
    breakdown_agreed = forms.BooleanField(
        label=_label(Minutes, "breakdown_agreed"),
        required=False,
        help_text=_("The meeting agreed the request's task breakdown (任務分工表)."),
    )
    tasks_discussed = forms.ModelMultipleChoiceField(
        label=_label(Minutes, "tasks_discussed"),
        queryset=Task.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # The draft's revision when the editor was shown (services.revision).
    revision = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, meeting: Meeting, tasks: list[Task] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if tasks is None:  # not a kick-off with a breakdown
            del self.fields["breakdown_agreed"]
            del self.fields["tasks_discussed"]
        else:
            field = self.fields["tasks_discussed"]
            field.queryset = meeting.request.tasks.all()
            field.choices = [(t.pk, _task_label(t)) for t in tasks]
            field.widget.attrs["class"] = "form-check-input"

    @property
    def is_kickoff(self) -> bool:
        return "tasks_discussed" in self.fields

    @staticmethod
    def initial_for(minutes: Minutes) -> dict:
        meeting = minutes.meeting
        day, start = _local(minutes.actual_start or meeting.starts_at)
        _day, end = _local(minutes.actual_end or meeting.ends_at)
        next_day, next_time = _local(minutes.next_meeting_at)
        return {
            "actual_date": day,
            "actual_start": start,
            "actual_end": end,
            "next_date": next_day,
            "next_time": next_time,
            "next_focus": minutes.next_focus,
            "other_matters": minutes.other_matters,
            "breakdown_agreed": minutes.breakdown_agreed,
            "tasks_discussed": [t.pk for t in minutes.tasks_discussed.all()],
            "revision": services.revision(minutes),
        }

    def clean(self):
        cleaned = super().clean()
        next_day, next_time = cleaned.get("next_date"), cleaned.get("next_time")
        if next_time and not next_day:
            self.add_error("next_date", _("Give the day of the next meeting."))
        if next_day and not next_time:
            self.add_error("next_time", _("Give the time of the next meeting."))
        cleaned["actual_start_at"] = _moment(
            cleaned.get("actual_date"), cleaned.get("actual_start")
        )
        cleaned["actual_end_at"] = _moment(cleaned.get("actual_date"), cleaned.get("actual_end"))
        cleaned["next_meeting_at"] = _moment(next_day, next_time)
        return cleaned


def _task_label(task: Task) -> str:
    """A task with its RACI people, from its prefetched assignments: 'T-01 Name (R: …)'."""
    roles: dict[str, list[str]] = {}
    for assignment in task.assignments.all():
        roles.setdefault(assignment.role, []).append(str(assignment.user))
    raci = " · ".join(f"{role}: {', '.join(names)}" for role, names in roles.items())
    return f"{task.number} {task.name}" + (f" ({raci})" if raci else "")


class AttendanceRowForm(BootstrapMixin, forms.Form):
    """A participant present or absent, with a note (one row per participant)."""

    user = forms.IntegerField(widget=forms.HiddenInput)
    attendance = forms.ChoiceField(
        label=_("Attendance"), choices=Attendance.choices, initial=Attendance.PRESENT
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


AttendanceFormSet = forms.formset_factory(AttendanceRowForm, extra=0)


class ItemRowForm(RowForm):
    """One agenda item of the minutes: its discussion and conclusion."""

    columns = {
        "title": "col-12 col-md-3",
        "discussion": "col-12 col-md-4",
        "conclusion": "col-12 col-md-3",
    }

    title = forms.CharField(label=_label(MinutesItem, "title"), max_length=200)
    discussion = text_field(_label(MinutesItem, "discussion"), required=False, rows=3)
    conclusion = text_field(_label(MinutesItem, "conclusion"), required=False, rows=3)


class ProblemRowForm(RowForm):
    """A problem of the 問題清單, numbered #1, #2… as the action items refer to it."""

    columns = {
        "description": "col-12 col-md-6",
        "department": "col-7 col-md-2",
        "status": "col-5 col-md-2",
    }

    pk = forms.IntegerField(required=False, widget=forms.HiddenInput)
    description = text_field(_label(Problem, "description"), rows=2)
    department = forms.ModelChoiceField(
        label=_label(Problem, "department"), queryset=Department.objects.none(), required=False
    )
    status = forms.ChoiceField(
        label=_label(Problem, "status"), choices=ProblemStatus.choices, initial=ProblemStatus.OPEN
    )


class ActionRowForm(RowForm):
    """An action item: what, which department and person, what is delivered, by when."""

    columns = {
        "description": "col-12 col-md-4",
        "responsible_department": "col-6 col-md-2",
        "owner": "col-6 col-md-2",
        "deliverable": "col-12 col-md-4",
        "due_date": "col-6 col-md-2",
        "due_time": "col-6 col-md-2",
        "importance": "col-6 col-md-2",
        "problem_number": "col-6 col-md-2",
    }

    pk = forms.IntegerField(required=False, widget=forms.HiddenInput)
    description = text_field(_label(ActionItem, "description"), rows=2)
    responsible_department = forms.ModelChoiceField(
        label=_label(ActionItem, "responsible_department"), queryset=Department.objects.none()
    )
    owner = forms.ModelChoiceField(label=_label(ActionItem, "owner"), queryset=User.objects.none())
    deliverable = text_field(_label(ActionItem, "deliverable"), required=False, rows=2)
    due_date = date_field(_("Due date"))
    due_time = time_field(
        _("Due time"), initial=DEFAULT_ACTION_DUE_TIME, help_text=_("17:00 unless said otherwise.")
    )
    importance = forms.ChoiceField(
        label=_label(ActionItem, "importance"), choices=Priority.choices, initial=Priority.NORMAL
    )
    problem_number = forms.IntegerField(label=_("Addresses problem #"), min_value=1, required=False)


class SharedChoicesFormSet(RowFormSet):
    """A formset whose rows' menus share one list of choices each (`shared`: field name →
    (queryset, choices)), so that a page of rows runs one query per menu.

    The rows whose initial `pk` is in `locked` are read-only (a filed problem listed in
    a correction): their fields are disabled, so they keep their initial values.
    `service_errors` holds the service's refusals about the list as a whole.
    """

    def __init__(self, *args, shared: dict | None = None, locked=(), **kwargs):
        self.shared = shared or {}
        self.locked = set(locked)
        self.service_errors: list[str] = []
        super().__init__(*args, **kwargs)

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.locked = bool(self.locked) and form.initial.get("pk") in self.locked
        if form.locked:
            for field in form.fields.values():
                field.disabled = True
        return form

    def _share_choices(self, form):
        super()._share_choices(form)
        for name, (queryset, choices) in self.shared.items():
            if name in form.fields:
                form.fields[name].queryset = queryset
                form.fields[name].choices = choices


def _formset(form):
    return forms.formset_factory(
        form,
        formset=SharedChoicesFormSet,
        extra=0,
        can_delete=True,
        max_num=MAX_ROWS,
        validate_max=True,
    )


ItemFormSet = _formset(ItemRowForm)
ProblemFormSet = _formset(ProblemRowForm)
ActionFormSet = _formset(ActionRowForm)

# prefix: (formset class, title, add-button label, icon, help text)
MINUTES_FORMSETS = {
    "items": (
        ItemFormSet,
        _("Agenda items: discussion and conclusion"),
        _("Add an item"),
        "list-ol",
        "",
    ),
    "problems": (
        ProblemFormSet,
        _("Problems (問題清單)"),
        _("Add a problem"),
        "exclamation-diamond",
        _("Each problem is numbered (#1, #2…); an action item can name the problem it addresses."),
    ),
    "actions": (
        ActionFormSet,
        _("Action items"),
        _("Add an action item"),
        "check2-square",
        _(
            "Each owner is told once the minutes are filed; the item is then tracked like a "
            "task until its closure is confirmed."
        ),
    ),
}


class MinutesEditor:
    """The minutes editor's form and formsets, bound to a POST or filled from the draft.

    `rows()` returns the keyword arguments of services.minutes_save.
    """

    def __init__(
        self,
        *,
        minutes: Minutes,
        problems: list[Problem],
        actions: list[ActionItem],
        people: list[User],
        departments: list[Department],
        tasks: list[Task] | None,
        data=None,
    ):
        self.minutes = minutes
        meeting = minutes.meeting
        self.attendees = {row.user_id: row.user for row in minutes.attendance.all()}
        self.form = MinutesForm(
            data,
            meeting=meeting,
            tasks=tasks,
            initial=MinutesForm.initial_for(minutes),
            prefix="minutes",
        )
        self.attendance_errors: list[str] = []
        # Bound or not, the formsets get their initial rows: a disabled (locked) row
        # keeps its initial values.
        self.attendance = AttendanceFormSet(
            data,
            prefix="attendance",
            initial=[
                {
                    "user": row.user_id,
                    "attendance": Attendance.PRESENT
                    if row.attendance == Attendance.UNKNOWN
                    else row.attendance,
                    "note": row.note,
                }
                for row in minutes.attendance.all()
            ],
        )
        department_menu = [("", "---------"), *((d.pk, d.name) for d in departments)]
        departments_qs = Department.objects.filter(is_active=True)
        owners_qs = User.objects.filter(is_active=True)
        owner_menu = [("", "---------"), *_grouped_by_own_department(people)]
        shared = {
            "department": (departments_qs, department_menu),
            "responsible_department": (departments_qs, department_menu),
            "owner": (owners_qs, owner_menu),
        }
        initial = {
            "items": [
                {"title": i.title, "discussion": i.discussion, "conclusion": i.conclusion}
                for i in minutes.items.all()
            ],
            "problems": [
                {
                    "pk": p.pk,
                    "description": p.description,
                    "department": p.department_id,
                    "status": p.status,
                }
                for p in problems
            ],
            "actions": [self._action_initial(a, problems) for a in actions],
        }
        self.formsets = {}
        for prefix, (cls, title, add_label, icon, help_text) in MINUTES_FORMSETS.items():
            formset = cls(
                data,
                initial=initial[prefix],
                prefix=prefix,
                shared=shared,
                locked=[p.pk for p in problems if p.is_filed] if prefix == "problems" else (),
            )
            if data is None and prefix == "items" and not initial[prefix]:
                formset.extra = 1
            formset.title, formset.add_label = title, add_label
            formset.icon, formset.help_text = icon, help_text
            self.formsets[prefix] = formset

    @staticmethod
    def _action_initial(action: ActionItem, problems: list[Problem]) -> dict:
        day, time = _local(action.due_at)
        numbers = {p.pk: n for n, p in enumerate(problems, start=1)}
        return {
            "pk": action.pk,
            "description": action.description,
            "responsible_department": action.responsible_department_id,
            "owner": action.owner_id,
            "deliverable": action.deliverable,
            "due_date": day,
            "due_time": time,
            "importance": action.importance,
            "problem_number": numbers.get(action.problem_id),
        }

    def sections(self) -> list[tuple[str, SharedChoicesFormSet]]:
        """Return (prefix, formset) of the lists in page order ("items" would be read
        as a key of the dict by the template language)."""
        return list(self.formsets.items())

    def attendance_rows(self) -> list[tuple[User | None, forms.Form]]:
        """Return (participant, row form) pairs for the attendance table."""
        rows = []
        for form in self.attendance.forms:
            raw = form["user"].value()
            try:
                user = self.attendees.get(int(raw))
            except (TypeError, ValueError):
                user = None
            rows.append((user, form))
        return rows

    def is_valid(self) -> bool:
        valid = self.form.is_valid() & self.attendance.is_valid()
        for formset in self.formsets.values():
            valid &= formset.is_valid()
        # The action items' problem numbers are checked whatever else is wrong, so that
        # every mistake shows at once.
        return self._check_problem_numbers() & bool(valid)

    def _problem_index(self) -> dict[int, int]:
        """Map each problem row's number (#1 is the first row shown, removed ones
        included) to its index among the kept problems."""
        index, kept = {}, 0
        for number, form in enumerate(self.formsets["problems"].forms, start=1):
            data = getattr(form, "cleaned_data", None)
            if data and not data.get("DELETE"):
                index[number] = kept
                kept += 1
        return index

    def _check_problem_numbers(self) -> bool:
        index = self._problem_index()
        ok = True
        for form in self.formsets["actions"].forms:
            data = getattr(form, "cleaned_data", None) or {}
            number = data.get("problem_number")
            if number and number not in index and not data.get("DELETE"):
                form.add_error(
                    "problem_number",
                    _("There is no problem #%(number)d in the list.") % {"number": number},
                )
                ok = False
        return ok

    def arguments(self) -> dict:
        """Return the keyword arguments of services.minutes_save (but minutes and by)."""
        data = self.form.cleaned_data
        index = self._problem_index()
        problems = [
            {
                "pk": row["pk"],
                "description": row["description"],
                "department": row["department"],
                "status": row["status"],
            }
            for row in self.formsets["problems"].rows()
        ]
        actions = []
        for row in self.formsets["actions"].rows():
            action = {
                "pk": row["pk"],
                "description": row["description"],
                "responsible_department": row["responsible_department"],
                "owner": row["owner"],
                "deliverable": row["deliverable"],
                "due_at": due_at(row["due_date"], row["due_time"]),
                "importance": row["importance"],
            }
            if row.get("problem_number"):
                action["problem_index"] = index[row["problem_number"]]
            actions.append(action)
        attendance = {
            row["user"]: (row["attendance"], row["note"])
            for row in (form.cleaned_data for form in self.attendance.forms)
            if row and row["user"] in self.attendees
        }
        arguments = {
            "actual_start": data["actual_start_at"],
            "actual_end": data["actual_end_at"],
            "items": self.formsets["items"].rows(),
            "attendance": attendance,
            "problems": problems,
            "actions": actions,
            "next_meeting_at": data["next_meeting_at"],
            "next_focus": data["next_focus"],
            "other_matters": data["other_matters"],
            "expected_revision": data["revision"] or None,
        }
        if self.form.is_kickoff:
            arguments["breakdown_agreed"] = data["breakdown_agreed"]
            arguments["tasks_discussed"] = list(data["tasks_discussed"])
        return arguments

    def add_service_error(self, error: ValidationError) -> None:
        """Show a service's refusal: above the list it names (agenda items, problems,
        action items, attendance), else next to the minutes' own field, else above the
        editor."""
        if not hasattr(error, "error_dict"):
            self.form.add_service_error(error)
            return
        rest = {}
        for key, texts in error.message_dict.items():
            if key in self.formsets:
                self.formsets[key].service_errors += texts
            elif key == "attendance":
                self.attendance_errors += texts
            else:
                rest[key] = texts
        if rest:
            self.form.add_service_error(ValidationError(rest))


# --- action items ------------------------------------------------------------------------


class ActionForm(BootstrapMixin, forms.Form):
    """An action item's act; `typed_text` keeps what was typed when it is refused."""

    def typed_text(self) -> list[tuple[str, str]]:
        if not self.is_bound:
            return []
        texts = []
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField):
                value = (self.data.get(self.add_prefix(name)) or "").strip()
                if value:
                    texts.append((str(field.label), value))
        return texts


class NoInputForm(ActionForm):
    """Start, convert: nothing to type."""


class ActionProgressForm(ActionForm):
    percent = forms.IntegerField(
        label=_label(ActionProgress, "percent"),
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"step": 5, "inputmode": "numeric"}),
    )
    note = text_field(_label(ActionProgress, "note"), rows=2)


class ActionSubmitForm(ActionForm):
    note = text_field(_label(ActionDelivery, "note"), rows=3)
    file = forms.FileField(label=_label(ActionDelivery, "file"), required=False)


class ActionAcceptForm(ActionForm):
    note = text_field(_("Note"), required=False, rows=2)


class ActionReasonForm(ActionForm):
    reason = text_field(_("Reason"), rows=2)
