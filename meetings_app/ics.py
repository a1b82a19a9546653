"""The iCalendar (RFC 5545 / RFC 5546) of a meeting and of a weekly series.

- `meeting_calendar`: one meeting as one VEVENT. Its UID is the meeting's `uid` at the
  portal's host and never changes; every update and the cancellation carry a higher
  SEQUENCE (Meeting.ics_sequence, raised by the services), so Outlook and Google
  Calendar replace the event they hold instead of adding a second one. METHOD:REQUEST
  goes with an invitation, METHOD:CANCEL with a cancellation, METHOD:PUBLISH with a
  download (which lists no ATTENDEE, as RFC 5546 §3.2.1 asks).
- `series_calendar`: the whole series for subscribing: one VEVENT with the weekly RRULE,
  an EXDATE for each week it skips (a holiday under "skip", a cancelled meeting), and a
  VEVENT with RECURRENCE-ID for each week whose meeting is moved (a holiday under "next"
  or "previous" working day, or a meeting rescheduled by hand). A moved week is not also
  an EXDATE: an excluded instance has nothing left for the RECURRENCE-ID to replace.
  The meetings the series generates are events of their own (their own UIDs).

Times are written with the TZID of settings.TIME_ZONE and its VTIMEZONE, which Outlook
needs. The texts (DESCRIPTION, the phone LOCATION) are in the portal's language.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext
from icalendar import Calendar, Event, vCalAddress

from collab.formats import join_list
from collab.models import User
from collab.notifications import absolute_url

from .choices import MeetingForm, MeetingState
from .models import Meeting, MeetingSeries
from .series import first_series_date, occurrences

REQUEST, CANCEL, PUBLISH = "REQUEST", "CANCEL", "PUBLISH"
METHODS = (REQUEST, CANCEL, PUBLISH)
CONTENT_TYPE = "text/calendar; charset=utf-8"

# Without an end, a series' calendar lists its holidays this far ahead.
OPEN_SERIES_DAYS = 366


def host() -> str:
    """The portal's host name, which makes the UIDs unique world-wide."""
    return urlsplit(settings.SITE_URL).hostname or "collab.invalid"


def meeting_uid(meeting: Meeting) -> str:
    return f"{meeting.uid}@{host()}"


def series_uid(series: MeetingSeries) -> str:
    return f"series-{series.uid}@{host()}"


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment, _zone())


def _address(user, **params) -> vCalAddress:
    return vCalAddress.new(user.email, cn=str(user), **params)


def _organizer(user) -> vCalAddress:
    """The organiser, or the portal's own address when they have none (a REQUEST must
    name an ORGANIZER)."""
    if user.email:
        return _address(user)
    return vCalAddress.new(settings.DEFAULT_FROM_EMAIL, cn=str(user))


def invitees(meeting: Meeting) -> list[User]:
    """The meeting's people in a stable order, each once: the organiser, the recorder,
    then the participants; only active accounts."""
    people = [meeting.organiser, meeting.recorder, *meeting.participants.order_by("pk")]
    unique = {user.pk: user for user in people if user.is_active}
    return list(unique.values())


def _attendees(meeting: Meeting, recipients) -> list[vCalAddress]:
    people = invitees(meeting) if recipients is None else list(recipients)
    return [
        _address(
            user, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp=True, cutype="INDIVIDUAL"
        )
        for user in people
        if user.email and user.pk != meeting.organiser_id
    ]


def location(meeting: Meeting | MeetingSeries) -> str:
    """LOCATION: the room; for an online meeting its link; for a phone call "電話"."""
    if meeting.form == MeetingForm.ONLINE:
        return meeting.online_link or meeting.location
    if meeting.form == MeetingForm.PHONE:
        return meeting.location or str(MeetingForm.PHONE.label)
    return meeting.location


def _description(meeting: Meeting, link: str) -> str:
    """The event's text: kind, focus, agenda (numbered), people, online link, portal link."""
    lines = [gettext("Kind: %(kind)s") % {"kind": meeting.get_kind_display()}]
    if meeting.request_id:
        lines.append(gettext("Request: %(request)s") % {"request": meeting.request})
    if meeting.focus:
        lines.append(gettext("Focus: %(focus)s") % {"focus": meeting.focus})
    agenda = list(meeting.agenda.all())
    if agenda:
        lines += ["", gettext("Agenda:")]
        lines += [f"{number}. {item.title}" for number, item in enumerate(agenda, 1)]
    lines.append("")
    lines.append(gettext("Organiser: %(name)s") % {"name": meeting.organiser})
    lines.append(gettext("Recorder: %(name)s") % {"name": meeting.recorder})
    participants = list(meeting.participants.order_by("pk"))
    if participants:
        lines.append(gettext("Participants: %(names)s") % {"names": join_list(participants)})
    guests = [line.strip() for line in meeting.guests.splitlines() if line.strip()]
    if guests:
        lines.append(gettext("Guests: %(names)s") % {"names": join_list(guests)})
    if meeting.online_link:
        lines += ["", gettext("Online meeting: %(link)s") % {"link": meeting.online_link}]
    if meeting.state == MeetingState.CANCELLED and meeting.cancel_reason:
        lines += ["", gettext("Cancelled: %(reason)s") % {"reason": meeting.cancel_reason}]
    lines += ["", gettext("In the portal: %(link)s") % {"link": link}]
    return "\n".join(lines)


def _calendar(method: str) -> Calendar:
    calendar = Calendar.new(prodid=f"-//{host()}//collab meetings//ZH-TW", method=method)
    # icalendar gives every new calendar a random UID (RFC 7986); a calendar made twice
    # from the same meeting should read the same.
    calendar.pop("UID", None)
    return calendar


def _finish(calendar: Calendar, first: dt.date, last: dt.date | None) -> bytes:
    """Add the VTIMEZONE of every TZID used, from the zone's rules over the whole years
    the calendar covers (to 2038, icalendar's default, when it has no end), and return
    the bytes."""
    years = {"first_date": dt.date(first.year, 1, 1)}
    if last is not None:
        years["last_date"] = dt.date(last.year + 1, 1, 1)
    calendar.add_missing_timezones(**years)
    return calendar.to_ical()


def meeting_calendar(meeting: Meeting, *, method: str = REQUEST, recipients=None) -> bytes:
    """Return the .ics of one meeting: METHOD `method`, one VEVENT.

    `recipients` (users) are the ATTENDEEs of a REQUEST or CANCEL instead of all the
    meeting's people: a CANCEL to the people taken off the meeting names only them.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown iTIP method {method!r}.")
    with translation.override(settings.LANGUAGE_CODE):
        link = absolute_url(meeting.get_absolute_url())
        cancelled = method == CANCEL or meeting.state == MeetingState.CANCELLED
        event = Event.new(
            uid=meeting_uid(meeting),
            sequence=meeting.ics_sequence,
            stamp=timezone.now().astimezone(dt.UTC),
            start=_local(meeting.starts_at),
            end=_local(meeting.ends_at),
            summary=meeting.topic,
            description=_description(meeting, link),
            location=location(meeting) or None,
            url=link,
            organizer=_organizer(meeting.organiser),
            attendees=None if method == PUBLISH else _attendees(meeting, recipients),
            status="CANCELLED" if cancelled else "CONFIRMED",
        )
        event.add("last-modified", meeting.updated_at.astimezone(dt.UTC))
        calendar = _calendar(method)
        calendar.add_component(event)
    start, end = _local(meeting.starts_at).date(), _local(meeting.ends_at).date()
    return _finish(calendar, start, end)


# --- a weekly series -------------------------------------------------------------------

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _at(day: dt.date, series: MeetingSeries) -> dt.datetime:
    return dt.datetime.combine(day, series.start_time, tzinfo=_zone())


def series_calendar(series: MeetingSeries, *, today: dt.date | None = None) -> bytes:
    """Return the .ics of a weekly series (METHOD:PUBLISH) for subscribing to it whole.

    The weeks come from meetings_app.series.occurrences (holidays per the working-day
    calendar and the series' holiday rule) up to its end, or a year ahead when it has
    none; a week whose meeting exists follows that meeting (cancelled: excluded; moved
    or rescheduled: its own time).
    """
    today = today or timezone.localdate()
    first = first_series_date(series)
    length = dt.timedelta(minutes=series.duration_minutes)
    meetings = {m.series_date: m for m in series.meetings.filter(series_date__isnull=False)}
    last = series.until or max(today, first) + dt.timedelta(days=OPEN_SERIES_DAYS)
    if not series.is_active:
        # A stopped series ends with its last meeting still on.
        held = [d for d, m in meetings.items() if m.state != MeetingState.CANCELLED]
        last = min(last, max([today, *held]))
    excluded: list[dt.datetime] = []
    moved: list[tuple[dt.date, dt.datetime, dt.datetime, Meeting | None]] = []
    for day, actual in occurrences(series, first, last):
        meeting = meetings.get(day)
        if meeting is not None:
            if meeting.state == MeetingState.CANCELLED:
                excluded.append(_at(day, series))
            elif _local(meeting.starts_at) != _at(day, series) or (
                meeting.ends_at - meeting.starts_at != length
            ):
                moved.append((day, _local(meeting.starts_at), _local(meeting.ends_at), meeting))
        elif actual is None:
            excluded.append(_at(day, series))
        elif actual != day:
            moved.append((day, _at(actual, series), _at(actual, series) + length, None))

    with translation.override(settings.LANGUAGE_CODE):
        link = absolute_url(series.get_absolute_url())
        stamp = timezone.now().astimezone(dt.UTC)
        uid = series_uid(series)
        main = Event.new(
            uid=uid,
            sequence=0,
            stamp=stamp,
            start=_at(first, series),
            end=_at(first, series) + length,
            summary=series.topic,
            description=_series_description(series, link),
            location=location(series) or None,
            url=link,
            organizer=_organizer(series.organiser),
            status="CONFIRMED",
        )
        rule = {"freq": "weekly", "byday": _WEEKDAYS[series.weekday]}
        if series.until or not series.is_active:
            # With a TZID'd DTSTART the UNTIL is in UTC (RFC 5545 §3.3.10): the end of
            # the last day, so that day's meeting is still in.
            end_of_day = dt.datetime.combine(last, dt.time.max, tzinfo=_zone())
            rule["until"] = end_of_day.astimezone(dt.UTC).replace(microsecond=0)
        main.add("rrule", rule)
        if excluded:
            main.add("exdate", excluded)
        calendar = _calendar(PUBLISH)
        calendar.add_component(main)
        for day, start, end, meeting in moved:
            calendar.add_component(
                Event.new(
                    uid=uid,
                    sequence=0,
                    stamp=stamp,
                    recurrence_id=_at(day, series),
                    start=start,
                    end=end,
                    summary=meeting.topic if meeting else series.topic,
                    location=(location(meeting) if meeting else location(series)) or None,
                    url=absolute_url(meeting.get_absolute_url()) if meeting else link,
                    organizer=_organizer(series.organiser),
                    status="CONFIRMED",
                )
            )
    return _finish(calendar, first, series.until)


def _series_description(series: MeetingSeries, link: str) -> str:
    lines = [gettext("Kind: %(kind)s") % {"kind": series.get_kind_display()}]
    lines.append(gettext("On a holiday: %(rule)s") % {"rule": series.get_holiday_rule_display()})
    agenda = [line.strip() for line in series.agenda_template.splitlines() if line.strip()]
    if agenda:
        lines += ["", gettext("Agenda:")]
        lines += [f"{number}. {title}" for number, title in enumerate(agenda, 1)]
    if series.online_link:
        lines += ["", gettext("Online meeting: %(link)s") % {"link": series.online_link}]
    lines += ["", gettext("In the portal: %(link)s") % {"link": link}]
    return "\n".join(lines)
