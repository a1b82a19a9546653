"""One base for the services' refusals, and one way to put them into words.

A service refuses a person's act in one of three ways, each carrying the translated
text the person sees:

- ServiceError, this module's base, with two kinds:
  - Conflict: someone acted first (the page the person saw is out of date);
  - Refused: the act is not possible now (the state, a guard, an archived case).
- django.core.exceptions.PermissionDenied: the person may not act.
- django.core.exceptions.ValidationError: what was typed is wrong, keyed by field when
  it can be (requests_app's CaseArchived is both a Refused and a ValidationError).

Each app's exception classes (RequestConflict, TaskRefused, ...) derive from Conflict or
Refused, so a view or an admin catches `ServiceError` (or `REFUSALS`, all three) rather
than a list of every app's classes, and shows it with `message` / `messages` / `flash`.
The admin's side is collab.admin.ServiceAdminMixin.
"""

from __future__ import annotations

from django.contrib import messages as django_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext


class ServiceError(Exception):
    """A service refused a person's act; `str(exc)` is the translated text they see."""


class Conflict(ServiceError):
    """Someone else acted first; the text says what happened and to reload the page."""


class Refused(ServiceError):
    """The act is not possible now (the state, a closed guard); the text says why."""


# Everything a service raises to refuse a person's act: catch these around a service call
# whose refusals are all shown the same way (admin buttons and forms, bulk actions).
REFUSALS = (ServiceError, PermissionDenied, ValidationError)


def messages(exc: Exception, *, default: str | None = None) -> list[str]:
    """Return the texts to show for a refusal: a ValidationError's messages, else its
    text, else a general one (`default` if given)."""
    if isinstance(exc, ValidationError):
        return list(exc.messages)
    text = str(exc)
    if text:
        return [text]
    if default is not None:
        return [str(default)]
    if isinstance(exc, PermissionDenied):
        return [gettext("You are not allowed to do this.")]
    return [gettext("This action is not possible now.")]


def message(exc: Exception, *, default: str | None = None) -> str:
    """Return the refusal's text as one line (its texts joined by a space)."""
    return " ".join(messages(exc, default=default))


def flash(request, exc: Exception, *, level: int = django_messages.ERROR) -> None:
    """Put each text of the refusal into the page's messages (one message each)."""
    for text in messages(exc):
        django_messages.add_message(request, level, text)
