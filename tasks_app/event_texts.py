"""How the history lines tasks_app writes read (collab.events); registered in ready().

The breakdown's lines sit on the request's timeline (requests_app.RequestEvent): tasks
added, changed or removed, the draft tasks made on 立項, the signatures a change voided,
a signature's version and the start the last signature triggers. The task's own
history has the due-date changes and the progress lines.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from collab import events, formats
from requests_app.choices import EventKind

from .choices import TaskEventKind

REQUEST_EVENT = "requests_app.RequestEvent"
TASK_EVENT = "tasks_app.TaskEvent"


def _voided(params: dict) -> str:
    return formats.join_list(department["name"] for department in params["departments"])


def due_change_text(params: dict) -> str:
    """Say "old → new", and by how many working days earlier when the date moved earlier."""
    text = f"{events.moment_text(params['old'])} → {events.moment_text(params['new'])}"
    if "earlier_by" not in params:
        return text
    days = int(params["earlier_by"])
    if days <= 0:  # earlier the same working day (or onto a holiday)
        return text + " " + _("(earlier)")
    return (
        text
        + " "
        + ngettext("(earlier by %(days)d working day)", "(earlier by %(days)d working days)", days)
        % {"days": days}
    )


def register() -> None:
    render = {
        "task_added": lambda p: _("Added %(task)s") % {"task": p["task"]},
        "task_changed": lambda p: _("Changed %(task)s") % {"task": p["task"]},
        "task_removed": lambda p: _("Removed %(task)s") % {"task": p["task"]},
        "drafts": lambda p: (
            _("%(count)d draft tasks from the departments' commitments") % {"count": p["count"]}
        ),
        EventKind.SIGNATURES_VOIDED: _voided,
        EventKind.SIGNED: lambda p: _("Version %(version)d") % {"version": p["version"]},
        "all_signed": lambda p: _("Every involved head signed the task breakdown."),
    }
    for code, function in render.items():
        events.register(REQUEST_EVENT, code, function)
    events.register(TASK_EVENT, TaskEventKind.DUE_CHANGED, due_change_text)
    events.register(TASK_EVENT, TaskEventKind.PROGRESS, lambda p: f"{p['percent']:d}%")
