"""The printable minutes, the 溝通記錄表 (seed 003 section 三, DOMAIN §5 "Meeting record").

One version of a meeting's minutes, laid out like the seed's table: the basic
information (topic, departments, people with the absentees marked, the actual time, the
form, the recorder), each agenda item's discussion and conclusion, the problems and the
action items with their status, the next meeting and the other matters, and the
version with when it was filed.

Which version: `?version=N` prints that one; by default the version in force (the last
filed). A draft prints only for its editors (organiser, recorder, PMO) and is marked
DRAFT; a superseded version is marked as such. The meeting is looked up through
meetings_app.permissions.get_visible_or_404, so whoever may not see it gets 404, and so
does a meeting without minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from collab.pdf import render_pdf
from requests_app.pdf import case_filename

from . import permissions
from .choices import ActionState, Attendance, MinutesState
from .models import ActionItem, Meeting, Minutes, MinutesAttendance, Problem

TEMPLATE = "pdf/minutes.html"


@dataclass
class Participant:
    """A line of 參與人員: the person, whether they attended, and the recorder's note."""

    user: object
    attendance: str
    note: str = ""

    @property
    def absent(self) -> bool:
        return self.attendance == Attendance.ABSENT


@dataclass
class MinutesSheet:
    meeting: Meeting
    minutes: Minutes
    participants: list[Participant] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    departments: list = field(default_factory=list)
    items: list = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    actions: list[ActionItem] = field(default_factory=list)
    tasks_discussed: list = field(default_factory=list)

    @property
    def is_draft(self) -> bool:
        return self.minutes.state == MinutesState.DRAFT

    @property
    def is_superseded(self) -> bool:
        return self.minutes.state == MinutesState.SUPERSEDED


def _version(raw) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise Http404 from None


def _choose(meeting: Meeting, version: int | None, editor: bool) -> Minutes:
    """Return the version to print: the one asked for, else the one in force; an editor
    with nothing filed yet gets the draft."""
    versions = Minutes.objects.filter(meeting=meeting).select_related("drafted_by", "filed_by")
    if version is not None:
        minutes = versions.filter(version=version).first()
    else:
        minutes = versions.filter(state=MinutesState.FILED).order_by("-version").first()
        if minutes is None and editor:
            minutes = versions.filter(state=MinutesState.DRAFT).first()
    if minutes is None or (minutes.state == MinutesState.DRAFT and not editor):
        raise Http404
    return minutes


def minutes_sheet(*, user, meeting_pk, version=None) -> MinutesSheet:
    """Read one version of a meeting's minutes for `user`, or 404."""
    meeting = permissions.get_visible_or_404(
        user,
        meeting_pk,
        Meeting.objects.select_related("request", "organiser", "recorder").prefetch_related(
            "departments"
        ),
    )
    minutes = _choose(meeting, _version(version), permissions.is_editor(user, meeting))
    draft = minutes.state == MinutesState.DRAFT
    # The problems and action items this version knows of: those raised up to it (a
    # later correction's additions are not in an earlier version), a draft's own only
    # when the draft itself is printed. Their status is today's: they are live records.
    up_to = Q(raised_in__isnull=True) | Q(raised_in__version__lte=minutes.version)
    problems = Problem.objects.filter(up_to, meeting=meeting)
    actions = ActionItem.objects.filter(up_to, meeting=meeting)
    if not draft:
        problems = problems.filter(is_filed=True)
        actions = actions.exclude(state=ActionState.DRAFT)
    attendance = MinutesAttendance.objects.filter(minutes=minutes).select_related(
        "user__department"
    )
    problems = list(problems.select_related("department").order_by("position", "pk"))
    actions = list(
        actions.select_related("responsible_department", "owner").order_by("position", "pk")
    )
    # An action item names the problem it addresses by the problem's number on the sheet.
    numbers = {problem.pk: index for index, problem in enumerate(problems, 1)}
    for action in actions:
        action.problem_number = numbers.get(action.problem_id)
    return MinutesSheet(
        meeting=meeting,
        minutes=minutes,
        participants=[Participant(row.user, row.attendance, row.note) for row in attendance],
        guests=[line.strip() for line in meeting.guests.splitlines() if line.strip()],
        departments=list(meeting.departments.all()),
        items=list(minutes.items.all()),
        problems=problems,
        actions=actions,
        tasks_discussed=list(minutes.tasks_discussed.order_by("sequence")),
    )


def minutes_pdf(sheet: MinutesSheet) -> bytes:
    return render_pdf(TEMPLATE, {"sheet": sheet})


def minutes_filename(sheet: MinutesSheet) -> str:
    """The request's number and name (if any), the meeting's date and topic, the version."""
    meeting = sheet.meeting
    what = _("Minutes v%(version)s") % {"version": sheet.minutes.version}
    title = f"{timezone.localtime(meeting.starts_at):%Y-%m-%d} {meeting.topic} {what}"
    if meeting.request_id:
        return case_filename(meeting.request, title)
    return f"{title}.pdf"
