"""How the request timeline's own lines read (collab.events); registered in ready().

Only the attachment line has a system part: the file and its version. The other kinds
requests_app writes carry only what a person typed (a reason, a comment).
"""

from __future__ import annotations

from collab import events

from .choices import EventKind

REQUEST_EVENT = "requests_app.RequestEvent"


def _attachment(params: dict) -> str:
    return f"{params['file']} v{params['version']:d}"


def register() -> None:
    events.register(REQUEST_EVENT, EventKind.ATTACHMENT, _attachment)
