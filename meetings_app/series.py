"""A weekly series (週例會) and the meetings it makes, week by week on working days.

Each week has its series date: the series' weekday, from `first_date` to `until`. On a
working day (collab.calendar: Taiwan's holidays, the administrators' extra holidays and
make-up workdays 補班) the meeting is that day. On a holiday the series' holiday rule
decides: skip that week, or move to the next or the previous working day, but never
out of the series' own week (a move that would reach the next or the previous series
date is a skip), never onto a day that already has one of the series' meetings, and
never before `first_date` or after `until`.

`generate` creates the meetings of the coming weeks through
services.meeting_schedule, one per series date (the unique constraint
meeting_once_per_series_date). It is idempotent: a series date that has a meeting,
cancelled or not, is never made again. Celery beat extends every active series daily
(`extend_all`, meetings_app.tasks.series_extend_task), so a series always has its next
four weeks scheduled and invited.

The services call `generate` (series_create), so this module does not import them: its
callers hand it services.meeting_schedule as `schedule`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from collab.calendar import WorkingDays
from collab.errors import REFUSALS
from requests_app.models import CollabRequest

from . import permissions
from .choices import HolidayRule, MeetingState
from .models import Meeting, MeetingSeries

logger = logging.getLogger(__name__)

# How far ahead a series has its meetings scheduled (and their invitations sent).
HORIZON_DAYS = 28
WEEK = dt.timedelta(days=7)


def first_series_date(series: MeetingSeries) -> dt.date:
    """The series' first weekday on or after its first date."""
    return series.first_date + dt.timedelta(days=(series.weekday - series.first_date.weekday()) % 7)


def series_dates(series: MeetingSeries, start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """The series dates from `start` to `end` (both included), within the series' life."""
    day = first_series_date(series)
    if start > day:
        day += WEEK * -(-(start - day).days // 7)
    last = min(end, series.until) if series.until else end
    while day <= last:
        yield day
        day += WEEK


def _booked(series: MeetingSeries, start: dt.date, end: dt.date) -> dict[dt.date, set]:
    """The local days of the series' meetings that are on (not cancelled) around the
    range, each with the series dates they hold (None for one of no series date, such
    as a next meeting scheduled from the minutes)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    window = (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end, dt.time.max, tzinfo=zone),
    )
    booked: dict[dt.date, set] = defaultdict(set)
    rows = (
        series.meetings.exclude(state=MeetingState.CANCELLED)
        .filter(starts_at__range=window)
        .values_list("starts_at", "series_date")
    )
    for starts_at, series_date in rows:
        booked[timezone.localtime(starts_at, zone).date()].add(series_date)
    return booked


def _moved_to(
    series: MeetingSeries,
    day: dt.date,
    calendar: WorkingDays,
    booked: dict[dt.date, set],
) -> dt.date | None:
    """The day the holiday `day`'s meeting moves to under the series' rule, or None."""
    if series.holiday_rule == HolidayRule.NEXT:
        target = calendar.add(day, 1)
    elif series.holiday_rule == HolidayRule.PREVIOUS:
        target = calendar.subtract(day, 1)
    else:
        return None
    if abs(target - day) >= WEEK:
        return None  # it would reach another week's meeting day
    if target < series.first_date or (series.until and target > series.until):
        return None
    if booked.get(target, set()) - {day}:
        return None  # another of the series' meetings is on that day
    return target


def occurrences(
    series: MeetingSeries, start: dt.date, end: dt.date
) -> list[tuple[dt.date, dt.date | None]]:
    """Return (series date, actual date) for each series date from `start` to `end`;
    the actual date is None for a week the series skips."""
    days = list(series_dates(series, start, end))
    if not days:
        return []
    span = (days[-1] - days[0]).days
    calendar = WorkingDays(days[0] + dt.timedelta(days=span // 2), reach=span // 2 + 21)
    booked = _booked(series, days[0] - WEEK, days[-1] + WEEK)
    return [
        (day, day if calendar.is_workday(day) else _moved_to(series, day, calendar, booked))
        for day in days
    ]


def agenda_of(series: MeetingSeries) -> list[str]:
    """The agenda template's items, one a line."""
    return [line.strip() for line in series.agenda_template.splitlines() if line.strip()]


def _starts(series: MeetingSeries, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, series.start_time, tzinfo=ZoneInfo(settings.TIME_ZONE))


def generate(
    series: MeetingSeries,
    *,
    by,
    schedule: Callable[..., Meeting],
    horizon_days: int = HORIZON_DAYS,
    today: dt.date | None = None,
) -> list[Meeting]:
    """Create the series' missing meetings up to `horizon_days` ahead; return them.

    Each is scheduled (and its invitation sent) by `schedule`, services.meeting_schedule,
    as `by`, with the series' agenda template. A series date that has a meeting already,
    even a cancelled one, or whose day already has another of the series' meetings, or
    whose time has passed, gets none. The series row is locked, so two runs at once
    make each meeting once.
    """
    today = today or timezone.localdate()
    made: list[Meeting] = []
    with transaction.atomic():
        # The services' lock order: the case's request first, then the series.
        if series.request_id is not None:
            CollabRequest.objects.select_for_update().filter(pk=series.request_id).first()
        series = MeetingSeries.objects.select_for_update().get(pk=series.pk)
        if not series.is_active:
            return made
        end = today + dt.timedelta(days=horizon_days)
        # A week before today: a holiday last week may move its meeting into this one.
        weeks = occurrences(series, today - WEEK, end)
        if not weeks:
            return made
        held = set(
            series.meetings.filter(series_date__isnull=False).values_list("series_date", flat=True)
        )
        booked = _booked(series, today - WEEK, end + WEEK)
        departments = list(series.departments.all())
        participants = list(series.participants.all())
        length = dt.timedelta(minutes=series.duration_minutes)
        now = timezone.now()
        for day, actual in weeks:
            if actual is None or day in held or booked.get(actual):
                continue
            starts_at = _starts(series, actual)
            if starts_at <= now:
                continue
            meeting = schedule(
                by=by,
                request=series.request,
                topic=series.topic,
                kind=series.kind,
                starts_at=starts_at,
                ends_at=starts_at + length,
                form=series.form,
                location=series.location,
                online_link=series.online_link,
                organiser=series.organiser,
                recorder=series.recorder,
                departments=departments,
                participants=participants,
                guests=series.guests,
                agenda=agenda_of(series),
                series=series,
                series_date=day,
            )
            booked[actual].add(day)
            made.append(meeting)
    return made


def extend_all(*, schedule: Callable[..., Meeting], today: dt.date | None = None) -> int:
    """Extend every active series by its coming weeks (Celery beat, daily); return how
    many meetings were made.

    The meetings are made in the name of the series' creator, or its organiser, whoever
    may still call them; a series neither may extend any more (its request closed or
    archived, the accounts deactivated) is left as it is, and one the services refuse
    is logged while the others go on.
    """
    today = today or timezone.localdate()
    made = 0
    active = (
        MeetingSeries.objects.filter(is_active=True)
        .filter(Q(until__isnull=True) | Q(until__gte=today))
        .select_related("created_by", "organiser", "request")
        .order_by("pk")
    )
    for series in active:
        by = next(
            (
                user
                for user in (series.created_by, series.organiser)
                if user is not None and permissions.can_schedule(user, series.request)
            ),
            None,
        )
        if by is None:
            continue
        try:
            made += len(generate(series, by=by, schedule=schedule, today=today))
        except REFUSALS as exc:
            logger.warning("Series %s (%s) was not extended: %s", series.pk, series, exc)
    return made
