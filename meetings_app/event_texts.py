"""How the history lines meetings_app writes read (collab.events); registered in ready().

A meeting's history: scheduled (the time, and whether on short notice), changed (what
changed, and the time from → to), minutes filed or corrected (the version), a problem's
status from → to. An action item's history: opened (its deadline), progress (the
percentage), a submission's round, the task it became. What a person typed (a reason,
a note) is the line's comment and shows as it is.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from collab import events, formats

from .choices import ActionEventKind, MeetingEventKind, ProblemStatus
from .models import AgendaItem, Meeting

MEETING_EVENT = "meetings_app.MeetingEvent"
ACTION_EVENT = "meetings_app.ActionEvent"


def time_range(starts_at: str, ends_at: str) -> str:
    """Say "2024-07-05 16:00–17:00", or both moments in full over two days."""
    start, end = parse_datetime(starts_at), parse_datetime(ends_at)
    if start is None or end is None:
        raise ValueError(starts_at)
    if timezone.localtime(start).date() == timezone.localtime(end).date():
        return f"{events.moment_text(starts_at)}–{timezone.localtime(end):%H:%M}"
    return f"{events.moment_text(starts_at)} – {events.moment_text(ends_at)}"


def _field_label(name: str) -> str:
    if name == "agenda":
        return str(AgendaItem._meta.verbose_name_plural)
    return str(Meeting._meta.get_field(name).verbose_name)


def _scheduled(params: dict) -> str:
    text = time_range(params["starts_at"], params["ends_at"])
    if params.get("by_series"):
        return _("%(time)s (a meeting of the weekly series)") % {"time": text}
    if params.get("short_notice"):
        return _("%(time)s (short notice)") % {"time": text}
    return text


def _rescheduled(params: dict) -> str:
    text = _("Changed: %(fields)s") % {
        "fields": formats.join_list(_field_label(name) for name in params["changed"])
    }
    if "from" not in params:
        return text
    old = time_range(params["from"]["starts_at"], params["from"]["ends_at"])
    new = time_range(params["to"]["starts_at"], params["to"]["ends_at"])
    return f"{text}{events.SEPARATOR}{old} → {new}"


def _problem(params: dict) -> str:
    return _("“%(problem)s”: %(old)s → %(new)s") % {
        "problem": params["problem"],
        "old": ProblemStatus(params["from"]).label,
        "new": ProblemStatus(params["to"]).label,
    }


def register() -> None:
    meeting = {
        MeetingEventKind.SCHEDULED: _scheduled,
        MeetingEventKind.RESCHEDULED: _rescheduled,
        MeetingEventKind.MINUTES_FILED: lambda p: (
            _("Version %(version)d") % {"version": p["version"]}
        ),
        MeetingEventKind.MINUTES_CORRECTED: lambda p: (
            _("Version %(version)d replaces version %(old)d")
            % {"version": p["version"], "old": p["superseded"]}
        ),
        MeetingEventKind.PROBLEM: _problem,
    }
    for code, function in meeting.items():
        events.register(MEETING_EVENT, code, function)
    action = {
        ActionEventKind.OPENED: lambda p: (
            _("Due %(due)s") % {"due": events.moment_text(p["due_at"])}
        ),
        ActionEventKind.PROGRESS: lambda p: f"{p['percent']:d}%",
        ActionEventKind.SUBMIT: lambda p: _("Submission %(round)d") % {"round": p["round"]},
        ActionEventKind.CONVERT: lambda p: _("Became task %(task)s") % {"task": p["task"]},
    }
    for code, function in action.items():
        events.register(ACTION_EVENT, code, function)
