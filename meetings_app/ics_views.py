"""Calendar downloads: a meeting's .ics and a weekly series' .ics, for whoever may see it."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from collab.permissions import get_or_404

from . import ics, permissions


def _calendar_response(calendar: bytes, filename: str) -> HttpResponse:
    """A text/calendar download; like every case document, never kept by a cache."""
    response = HttpResponse(calendar, content_type=ics.CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_safe
def meeting_ics(request, pk):
    """The meeting as an event to import (METHOD:PUBLISH, the invitation's UID)."""
    meeting = permissions.get_visible_or_404(request.user, pk)
    calendar = ics.meeting_calendar(meeting, method=ics.PUBLISH)
    return _calendar_response(calendar, f"meeting-{meeting.pk}.ics")


@require_safe
def series_ics(request, pk):
    """The weekly series as one recurring event with its holidays (for subscribing)."""
    series = get_or_404(permissions.visible_series(request.user), pk)
    return _calendar_response(ics.series_calendar(series), f"series-{series.pk}.ics")
