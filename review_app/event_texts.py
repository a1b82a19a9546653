"""How the history lines review_app writes read (collab.events); registered in ready().

On the request's timeline: the opening of a final acceptance round, the completion its
last signature triggers and the archiving. On a task's history: each acceptance answer
and the completion of the task when every reviewer passed.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from collab import events
from requests_app.choices import EventKind
from tasks_app.choices import TaskEventKind

from .choices import Seat, Verdict

REQUEST_EVENT = "requests_app.RequestEvent"
TASK_EVENT = "tasks_app.TaskEvent"


def _archived(params: dict) -> str:
    if params.get("confidential"):
        return _("%(title)s (confidential)") % {"title": params["title"]}
    return params["title"]


def _verdict(params: dict) -> str:
    values = {
        "round": params["round"],
        "seat": params.get("department") or Seat(params["seat"]).label,
        "decision": Verdict(params["decision"]).label,
    }
    if params.get("rectify_due_at"):
        values["deadline"] = events.moment_text(params["rectify_due_at"])
        return (
            _("Acceptance round %(round)d · %(seat)s: %(decision)s (rectify by %(deadline)s)")
            % values
        )
    return _("Acceptance round %(round)d · %(seat)s: %(decision)s") % values


def register() -> None:
    events.register(
        REQUEST_EVENT,
        EventKind.FINAL_OPENED,
        lambda p: _("Round %(round)d") % {"round": p["round"]},
    )
    events.register(
        REQUEST_EVENT,
        "all_departments_signed",
        lambda p: _("Every involved department signed the final acceptance."),
    )
    events.register(REQUEST_EVENT, EventKind.ARCHIVED, _archived)
    events.register(TASK_EVENT, TaskEventKind.VERDICT, _verdict)
    events.register(
        TASK_EVENT,
        "all_passed",
        lambda p: _("Every reviewer passed acceptance round %(round)d.") % {"round": p["round"]},
    )
