"""A weekly series (週例會) on working days: which day each week's meeting is on under
each holiday rule, the meetings it makes (idempotently, daily by Celery beat), and its
calendar for subscribing (RRULE, EXDATE for skipped weeks, RECURRENCE-ID for moved ones).

The clock stands at Monday 2 March 2026, 09:00 in Taipei. The series meets on Fridays at
16:00 from 6 March. Friday 20 March is made a holiday by an administrator (a
CalendarDay); Friday 3 April (Children's Day, observed) and Friday 1 May (Labour Day)
are Taiwan's public holidays, as is Monday 6 April.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from icalendar import Calendar

from collab.calendar import calendar_day_save
from collab.celery import app
from collab.models import Notification
from meetings_app import ics, services
from meetings_app import series as series_module
from meetings_app.choices import HolidayRule, MeetingForm, MeetingKind, MeetingState
from meetings_app.models import Meeting
from meetings_app.tasks import series_extend_task
from tests.factories import UserFactory

TAIPEI = ZoneInfo("Asia/Taipei")
D = dt.date


def taipei(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TAIPEI)


@pytest.fixture
def monday(time_machine):
    time_machine.move_to(taipei(2026, 3, 2, 9, 0), tick=False)
    return time_machine


@pytest.fixture
def company_holiday(db):
    """An administrator makes Friday 20 March a holiday."""
    calendar_day_save(day=D(2026, 3, 20), is_workday=False, name="公司特休")


@pytest.fixture
def people(department, pmo):
    return {
        "organiser": pmo,
        "recorder": UserFactory(department=department, full_name="林記錄"),
        "alice": UserFactory(department=department, full_name="王小美"),
    }


def make_series(people, department, **fields):
    plan = {
        "by": people["organiser"],
        "topic": "新品上市週例會",
        "weekday": 4,
        "start_time": dt.time(16, 0),
        "duration_minutes": 60,
        "first_date": D(2026, 3, 6),
        "holiday_rule": HolidayRule.SKIP,
        "form": MeetingForm.ON_SITE,
        "location": "5F 會議室",
        "recorder": people["recorder"],
        "departments": [department],
        "participants": [people["alice"]],
        "agenda_template": "上週行動項追蹤\n\n本週進度\n風險與協調\n",
    }
    return services.series_create(**{**plan, **fields})


def local_days(series) -> list[tuple[dt.date, dt.date]]:
    """(series date, local day of the meeting) of the series' meetings, in order."""
    return [
        (m.series_date, m.starts_at.astimezone(TAIPEI).date())
        for m in series.meetings.order_by("starts_at")
    ]


# --- which day ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_skip_leaves_out_an_administrators_holiday_and_a_second_run_makes_nothing(
    monday, company_holiday, people, department
):
    """Creating the series makes the next four weeks' meetings with the agenda template,
    each invited; 20 March (an admin's holiday) has none. Generating again is a no-op."""
    series = make_series(people, department)
    assert local_days(series) == [
        (D(2026, 3, 6), D(2026, 3, 6)),
        (D(2026, 3, 13), D(2026, 3, 13)),
        (D(2026, 3, 27), D(2026, 3, 27)),
    ]
    first = series.meetings.order_by("starts_at").first()
    assert first.starts_at == taipei(2026, 3, 6, 16, 0)
    assert first.ends_at == taipei(2026, 3, 6, 17, 0)
    assert (first.kind, first.organiser, first.recorder) == (
        MeetingKind.WEEKLY,
        people["organiser"],
        people["recorder"],
    )
    assert list(first.participants.all()) == [people["alice"]]
    assert [a.title for a in first.agenda.all()] == ["上週行動項追蹤", "本週進度", "風險與協調"]
    assert Notification.objects.filter(recipient=people["alice"]).count() == 3

    assert (
        series_module.generate(series, by=people["organiser"], schedule=services.meeting_schedule)
        == []
    )
    assert series.meetings.count() == 3
    assert Notification.objects.filter(recipient=people["alice"]).count() == 3


@pytest.mark.django_db
def test_next_working_day_moves_the_week_and_keeps_its_series_date(
    monday, company_holiday, people, department
):
    series = make_series(people, department, holiday_rule=HolidayRule.NEXT)
    assert (D(2026, 3, 20), D(2026, 3, 23)) in local_days(series)
    moved = series.meetings.get(series_date=D(2026, 3, 20))
    assert moved.starts_at == taipei(2026, 3, 23, 16, 0)


@pytest.mark.django_db
def test_previous_working_day_moves_the_week_earlier(monday, company_holiday, people, department):
    series = make_series(people, department, holiday_rule=HolidayRule.PREVIOUS)
    assert (D(2026, 3, 20), D(2026, 3, 19)) in local_days(series)
    assert len(local_days(series)) == 4


@pytest.mark.django_db
def test_a_public_holiday_moves_past_the_next_holiday(monday, people, department):
    """Friday 3 April and Monday 6 April are both holidays: "next" lands on Tuesday 7,
    "previous" on Thursday 2."""
    series = make_series(people, department, holiday_rule=HolidayRule.NEXT)
    weeks = dict(series_module.occurrences(series, D(2026, 4, 1), D(2026, 4, 30)))
    assert weeks[D(2026, 4, 3)] == D(2026, 4, 7)
    assert weeks[D(2026, 4, 10)] == D(2026, 4, 10)
    series.holiday_rule = HolidayRule.PREVIOUS
    weeks = dict(series_module.occurrences(series, D(2026, 4, 1), D(2026, 4, 30)))
    assert weeks[D(2026, 4, 3)] == D(2026, 4, 2)
    series.holiday_rule = HolidayRule.SKIP
    weeks = dict(series_module.occurrences(series, D(2026, 4, 1), D(2026, 4, 30)))
    assert weeks[D(2026, 4, 3)] is None


@pytest.mark.django_db
def test_a_make_up_workday_counts_as_a_working_day(monday, company_holiday, people, department):
    """Saturday 21 March is made a make-up workday (補班): "next" moves the 20th there."""
    calendar_day_save(day=D(2026, 3, 21), is_workday=True, name="補班")
    series = make_series(people, department, holiday_rule=HolidayRule.NEXT)
    assert (D(2026, 3, 20), D(2026, 3, 21)) in local_days(series)


@pytest.mark.django_db
def test_a_move_never_lands_on_a_day_with_the_series_meeting_nor_outside_its_life(
    monday, company_holiday, people, department
):
    series = make_series(
        people, department, holiday_rule=HolidayRule.NEXT, first_date=D(2026, 4, 10)
    )
    between = (D(2026, 3, 16), D(2026, 3, 22))
    # Monday 23 March already has one of the series' meetings (one scheduled by hand).
    services.meeting_schedule(
        by=people["organiser"],
        topic="新品上市週例會（加開）",
        kind=MeetingKind.WEEKLY,
        starts_at=taipei(2026, 3, 23, 10, 0),
        ends_at=taipei(2026, 3, 23, 11, 0),
        form=MeetingForm.ON_SITE,
        location="5F 會議室",
        recorder=people["recorder"],
        departments=[department],
        series=series,
    )
    series.first_date = D(2026, 3, 6)
    assert series_module.occurrences(series, *between) == [(D(2026, 3, 20), None)]

    # Never after the series' end, nor before its first date.
    Meeting.objects.filter(series=series).delete()
    series.until = D(2026, 3, 21)
    assert series_module.occurrences(series, *between) == [(D(2026, 3, 20), None)]
    series.until = None
    series.holiday_rule = HolidayRule.PREVIOUS
    series.first_date = D(2026, 3, 20)
    assert series_module.occurrences(series, *between) == [(D(2026, 3, 20), None)]
    series.first_date = D(2026, 3, 6)
    assert series_module.occurrences(series, *between) == [(D(2026, 3, 20), D(2026, 3, 19))]


@pytest.mark.django_db
def test_a_long_holiday_skips_rather_than_reach_the_next_week(monday, people, department):
    """Thursday 4 February 2027 starts the Lunar New Year: the next working day is the
    next Thursday, so that week is skipped even under "next working day"."""
    series = make_series(people, department, weekday=3, holiday_rule=HolidayRule.NEXT)
    weeks = dict(series_module.occurrences(series, D(2027, 2, 1), D(2027, 2, 14)))
    assert weeks == {D(2027, 2, 4): None, D(2027, 2, 11): D(2027, 2, 11)}


@pytest.mark.django_db
def test_a_cancelled_week_is_not_made_again_and_a_stopped_series_makes_nothing(
    monday, company_holiday, people, department
):
    series = make_series(people, department)
    week = series.meetings.get(series_date=D(2026, 3, 13))
    services.meeting_cancel(meeting=week, by=people["organiser"], reason="改為線上同步")
    assert (
        series_module.generate(series, by=people["organiser"], schedule=services.meeting_schedule)
        == []
    )
    assert series.meetings.filter(series_date=D(2026, 3, 13)).get().state == MeetingState.CANCELLED

    series.is_active = False
    series.save(update_fields=["is_active"])
    assert (
        series_module.generate(
            series, by=people["organiser"], schedule=services.meeting_schedule, today=D(2026, 3, 30)
        )
        == []
    )


# --- the daily job ---------------------------------------------------------------------


@pytest.mark.django_db
def test_beat_extends_every_active_series_daily_and_once(
    monday, company_holiday, people, department
):
    """The beat entry exists after migrate (daily 05:30, Taipei); two weeks on, the job
    makes the week that came within four weeks (3 April is a holiday, so 10 April), and
    running it again makes nothing."""
    entry = PeriodicTask.objects.get(name="meetings-series-extend")
    assert entry.task == "meetings_app.tasks.series_extend_task"
    assert entry.task in app.tasks
    assert (entry.crontab.hour, entry.crontab.minute) == ("5", "30")
    assert str(entry.crontab.timezone) == "Asia/Taipei"

    series = make_series(people, department)
    stopped = make_series(people, department, topic="舊週會")
    stopped.is_active = False
    stopped.save(update_fields=["is_active"])
    monday.move_to(taipei(2026, 3, 16, 5, 30), tick=False)

    assert series_extend_task.delay().get() == 1
    assert local_days(series)[-1] == (D(2026, 4, 10), D(2026, 4, 10))
    assert stopped.meetings.count() == 3
    assert series_extend_task.delay().get() == 0


@pytest.mark.django_db
def test_the_daily_job_passes_over_a_series_it_may_not_extend_and_goes_on(
    monday, company_holiday, people, department, head, caplog
):
    """A series whose creator and organiser were deactivated is left alone; one the
    services refuse (a participant's account was disabled) is logged; the others are
    extended all the same."""
    by_head = make_series({**people, "organiser": head}, department, topic="部門週會")
    refused = make_series(people, department, topic="專案週會")
    extended = make_series(people, department)
    head.is_active = False
    head.save(update_fields=["is_active"])
    people["alice"].is_active = False
    people["alice"].save(update_fields=["is_active"])
    extended.participants.set([people["recorder"]])
    monday.move_to(taipei(2026, 3, 16, 5, 30), tick=False)

    assert series_module.extend_all(schedule=services.meeting_schedule) == 1
    assert local_days(extended)[-1] == (D(2026, 4, 10), D(2026, 4, 10))
    assert by_head.meetings.count() == refused.meetings.count() == 3
    assert f"Series {refused.pk}" in caplog.text
    assert f"Series {by_head.pk}" not in caplog.text


# --- the series' calendar ----------------------------------------------------------------


def parse_series(data: bytes):
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    main = [e for e in events if "RECURRENCE-ID" not in e]
    assert len(main) == 1
    overrides = {e["RECURRENCE-ID"].dt: e for e in events if "RECURRENCE-ID" in e}
    return calendar, main[0], overrides


def exdates(event) -> set[dt.datetime]:
    value = event.get("EXDATE", [])
    values = value if isinstance(value, list) else [value]
    return {d.dt for v in values for d in v.dts}


def expand(event, overrides) -> list[dt.datetime]:
    """The instances a calendar client shows: the RRULE less the EXDATEs, with the
    RECURRENCE-ID overrides at their own times."""
    rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=event.start)
    excluded = exdates(event)
    shown = []
    for start in rule:
        if start in excluded:
            continue
        shown.append(overrides[start].start if start in overrides else start)
    return shown


@pytest.mark.django_db
def test_the_series_calendar_excludes_the_skipped_weeks(
    monday, company_holiday, people, department
):
    series = make_series(people, department, until=D(2026, 5, 8))
    week = series.meetings.get(series_date=D(2026, 3, 13))
    services.meeting_cancel(meeting=week, by=people["organiser"], reason="改為線上同步")

    calendar, event, overrides = parse_series(ics.series_calendar(series))
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Taipei"]
    assert event.get("DTSTART").params["TZID"] == "Asia/Taipei"
    assert event.start == taipei(2026, 3, 6, 16, 0)
    assert event.end == taipei(2026, 3, 6, 17, 0)
    rule = event["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["FR"]
    assert rule["UNTIL"][0].astimezone(TAIPEI).date() == D(2026, 5, 8)
    assert exdates(event) == {
        taipei(2026, 3, 13, 16, 0),  # cancelled
        taipei(2026, 3, 20, 16, 0),  # the administrators' holiday
        taipei(2026, 4, 3, 16, 0),  # Children's Day (observed)
        taipei(2026, 5, 1, 16, 0),  # Labour Day
    }
    assert overrides == {}
    assert [d.date() for d in expand(event, overrides)] == [
        D(2026, 3, 6),
        D(2026, 3, 27),
        D(2026, 4, 10),
        D(2026, 4, 17),
        D(2026, 4, 24),
        D(2026, 5, 8),
    ]


@pytest.mark.django_db
def test_a_moved_week_is_a_recurrence_id_override_not_an_exdate(
    monday, company_holiday, people, department
):
    """Under "next working day" the 20 March week is shown on Monday 23 March, 3 April
    on Tuesday 7 April; a week rescheduled by hand shows at its new time."""
    series = make_series(people, department, holiday_rule=HolidayRule.NEXT, until=D(2026, 4, 10))
    week = series.meetings.get(series_date=D(2026, 3, 27))
    services.meeting_update(
        meeting=week,
        by=people["organiser"],
        starts_at=taipei(2026, 3, 27, 10, 0),
        ends_at=taipei(2026, 3, 27, 11, 0),
    )

    _calendar, event, overrides = parse_series(ics.series_calendar(series))
    assert exdates(event) == set()
    moved = overrides[taipei(2026, 3, 20, 16, 0)]
    assert str(moved["UID"]) == str(event["UID"])
    assert (moved.start, moved.end) == (taipei(2026, 3, 23, 16, 0), taipei(2026, 3, 23, 17, 0))
    assert overrides[taipei(2026, 4, 3, 16, 0)].start == taipei(2026, 4, 7, 16, 0)
    assert overrides[taipei(2026, 3, 27, 16, 0)].start == taipei(2026, 3, 27, 10, 0)
    assert expand(event, overrides) == [
        taipei(2026, 3, 6, 16, 0),
        taipei(2026, 3, 13, 16, 0),
        taipei(2026, 3, 23, 16, 0),
        taipei(2026, 3, 27, 10, 0),
        taipei(2026, 4, 7, 16, 0),
        taipei(2026, 4, 10, 16, 0),
    ]


@pytest.mark.django_db
def test_a_participant_downloads_the_series_and_an_outsider_gets_404(
    monday, people, department, outsider, client_for
):
    series = make_series(people, department)
    url = reverse("meetings_app:series-ics", args=[series.pk])
    response = client_for(people["alice"]).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="series-{series.pk}.ics"'
    _calendar, event, _overrides = parse_series(response.content)
    assert str(event["SUMMARY"]) == "新品上市週例會"
    assert client_for(outsider).get(url).status_code == 404
