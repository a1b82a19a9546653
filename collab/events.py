"""History rows say what happened in the language of whoever reads them.

A history row (collab.models.StateLog: requests_app.RequestEvent, tasks_app.TaskEvent,
review_app.SuggestionEvent) stores a kind, its parameters (`params`: ids, numbers,
dates as ISO strings, names as data) and only the free text a person typed (`comment`:
a reason, a note). The system's own sentence about the row ("Version 3", "earlier by
2 working days") is not stored: it is rendered here when the row is read, with gettext,
so a head who acts in English leaves a line a zh-Hant reader reads in Chinese and the
reverse.

The app that writes a kind registers how to say it, from its AppConfig.ready():

    events.register("requests_app.RequestEvent", "signed",
                    lambda p: _("Version %(version)d") % p)

The key is the row's `kind` (SuggestionEvent has none: its `transition`), or, where one
kind has several sentences, the message code the writer put in `params["msg"]` (a code
that is no kind of the same model, or rows of that kind would read as the message). A
renderer reads only `params` (no queries: the history pages keep their query counts)
and may raise KeyError/TypeError/ValueError on a row without the parameters it needs
(one written before parameters existed and not converted): the row then shows its
comment alone.

collab is the lowest layer: it knows model labels as strings, never the apps' modules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import dateformat, timezone
from django.utils.dateparse import parse_date, parse_datetime

from .registry import registry

Render = Callable[[dict], str]

# Between the system's sentence and the person's comment when both are shown on one line.
SEPARATOR = " · "

_renderers: dict[tuple[str, str], Render] = registry["event_renderers"]


def register(model_label: str, code: str, render: Render) -> None:
    """Say how rows of `model_label` ("app_label.Model") with kind or message `code`
    read. Registering a code again replaces its renderer (ready() may run twice)."""
    _renderers[(model_label.lower(), str(code))] = render


def code_of(event) -> str:
    """Return the key a row renders under: params["msg"], else its kind (or transition)."""
    params = event.params or {}
    return params.get("msg") or getattr(event, "kind", "") or event.transition


def describe(event) -> str:
    """Return the row's system sentence in the active language, "" when it has none."""
    render = _renderers.get((event._meta.label_lower, code_of(event)))
    if render is None:
        return ""
    try:
        return str(render(event.params or {}))
    except (KeyError, TypeError, ValueError):
        return ""


def text(event) -> str:
    """Return what the row says: the system sentence · the person's comment."""
    return SEPARATOR.join(part for part in (describe(event), event.comment) if part)


# --- what writers store and renderers read -----------------------------------------------


def iso(value: dt.date | dt.datetime | None) -> str | None:
    """A date or moment as params store it (ISO 8601, a moment with its UTC offset)."""
    return value.isoformat() if value is not None else None


def moment_text(value: str) -> str:
    """A stored moment as the history shows it, in local time (2024-07-05 17:00)."""
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(value)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return dateformat.format(moment, "Y-m-d H:i")


def date_text(value: str) -> str:
    """A stored date as the history shows it (2024-07-05)."""
    day = parse_date(value)
    if day is None:
        raise ValueError(value)
    return dateformat.format(day, "Y-m-d")
