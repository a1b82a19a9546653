"""Small locale-aware formats the portal writes in running text: lists and short dates.

The "、" list separator and the "n月j日" date are zh-Hant conventions; an English reader
expects ", " and "Jul 5". Each helper picks the form of the active language, so text
built at read time (history rows, collab.events) reads naturally in either language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.utils import dateformat, timezone
from django.utils.translation import get_language

# Per language family: the list separator, the short date and the short date-time.
_FORMATS = {
    "zh": ("、", "n月j日", "n月j日 H:i"),
    "en": (", ", "M j", "M j, H:i"),
}


def _family() -> str:
    """Return "zh" or "en" for the active language (English for any other)."""
    language = (get_language() or settings.LANGUAGE_CODE).lower()
    return "zh" if language.startswith("zh") else "en"


def list_separator() -> str:
    """The reader's language's list separator: "、" or ", "."""
    return _FORMATS[_family()][0]


def join_list(items: Iterable) -> str:
    """Join names the way the reader's language lists them: 甲、乙 or A, B."""
    return _FORMATS[_family()][0].join(str(item) for item in items)


def short_date(value: dt.date | dt.datetime | None) -> str:
    """A day without its year (3月6日, Mar 6); a moment gives its local day."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return dateformat.format(value, _FORMATS[_family()][1])


def short_datetime(value: dt.datetime | None) -> str:
    """A local moment without its year (3月6日 17:00, Mar 6, 17:00)."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, _FORMATS[_family()][2])
