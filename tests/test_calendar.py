"""The working-day calendar: weekends, Taiwan's public holidays and admin corrections.

Dates are 2026, whose Taiwan holidays the `holidays` package lists; each test first
checks the package still says so, so a data change fails loudly instead of silently.
"""

import datetime as dt

import holidays
import pytest
from django.utils import timezone

from collab.calendar import add_working_days, is_workday, working_days_between
from collab.models import CalendarDay
from requests_app import services
from tests.factories import DepartmentFactory, UserFactory, make_request

D = dt.date
TW_2026 = holidays.TW(years=2026)

pytestmark = pytest.mark.django_db


def test_the_dates_used_here_are_what_the_holidays_package_says():
    """Guard the fixtures: 2026-09-25 (Fri) and 2026-09-28 (Mon) are TW holidays."""
    for day in (D(2026, 9, 25), D(2026, 9, 28), D(2026, 2, 16), D(2026, 2, 20)):
        assert day in TW_2026, day
    for day in (D(2026, 3, 6), D(2026, 3, 9), D(2026, 3, 10), D(2026, 9, 29)):
        assert day not in TW_2026 and day.weekday() < 5, day


# --- add_working_days ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (D(2026, 3, 2), 3, D(2026, 3, 5)),  # Mon + 3 → Thu, no weekend in between
        (D(2026, 3, 6), 1, D(2026, 3, 9)),  # Fri + 1 → Mon: the weekend is skipped
        (D(2026, 3, 6), 3, D(2026, 3, 11)),  # Fri + 3 → Wed
        (D(2026, 3, 7), 1, D(2026, 3, 9)),  # Sat + 1 → Mon
        (D(2026, 3, 6), 0, D(2026, 3, 6)),  # nothing to add
        (D(2026, 3, 2), 10, D(2026, 3, 16)),  # two full weeks
    ],
)
def test_add_working_days_skips_weekends(start, days, expected):
    assert add_working_days(start, days) == expected


def test_add_working_days_skips_taiwan_public_holidays():
    """Mid-Autumn (Fri 9/25) and Teachers' Day (Mon 9/28) are skipped with the weekend."""
    assert add_working_days(D(2026, 9, 24), 1) == D(2026, 9, 29)
    assert add_working_days(D(2026, 9, 24), 3) == D(2026, 10, 1)


def test_add_working_days_skips_the_lunar_new_year_week():
    """Friday 2/13 + 1 working day is Monday 2/23: 2/16-2/20 are all holidays."""
    assert add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 23)


def test_make_up_workday_on_a_saturday_counts():
    """An admin's 補班 Saturday is a working day, even between weekdays."""
    CalendarDay.objects.create(date=D(2026, 3, 7), is_workday=True, name="補班")
    assert is_workday(D(2026, 3, 7))
    assert add_working_days(D(2026, 3, 6), 1) == D(2026, 3, 7)
    assert add_working_days(D(2026, 3, 6), 3) == D(2026, 3, 10)


def test_make_up_workday_overrides_a_public_holiday():
    CalendarDay.objects.create(date=D(2026, 9, 28), is_workday=True, name="補班")
    assert add_working_days(D(2026, 9, 24), 1) == D(2026, 9, 28)


def test_extra_holiday_on_a_weekday_does_not_count():
    """An admin's extra holiday (e.g. a typhoon day) on Tuesday is skipped."""
    CalendarDay.objects.create(date=D(2026, 3, 10), is_workday=False, name="颱風假")
    assert not is_workday(D(2026, 3, 10))
    assert add_working_days(D(2026, 3, 9), 1) == D(2026, 3, 11)
    assert add_working_days(D(2026, 3, 6), 3) == D(2026, 3, 12)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(D(2026, 3, 6), -1)


def test_holiday_country_is_a_setting(settings):
    """Taiwan by default; another country's calendar no longer skips TW's holidays."""
    assert add_working_days(D(2026, 9, 27), 1) == D(2026, 9, 29)
    settings.HOLIDAY_COUNTRY = "GB"
    assert add_working_days(D(2026, 9, 27), 1) == D(2026, 9, 28)


# --- working_days_between ------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (D(2026, 3, 6), D(2026, 3, 9), 1),  # Fri → Mon: only Monday counts
        (D(2026, 3, 6), D(2026, 3, 13), 5),  # a whole week
        (D(2026, 3, 7), D(2026, 3, 8), 0),  # Sat → Sun
        (D(2026, 3, 6), D(2026, 3, 6), 0),  # same day
        (D(2026, 3, 9), D(2026, 3, 6), 0),  # end before start
        (D(2026, 9, 24), D(2026, 9, 29), 1),  # Fri 9/25 and Mon 9/28 are holidays
        (D(2026, 2, 13), D(2026, 2, 23), 1),  # Lunar New Year
    ],
)
def test_working_days_between(start, end, expected):
    assert working_days_between(start, end) == expected


def test_working_days_between_follows_admin_corrections():
    CalendarDay.objects.create(date=D(2026, 3, 7), is_workday=True, name="補班")
    CalendarDay.objects.create(date=D(2026, 3, 10), is_workday=False, name="颱風假")
    # Sat 3/7 now counts, Tue 3/10 no longer does: 7, 9, 11, 12, 13.
    assert working_days_between(D(2026, 3, 6), D(2026, 3, 13)) == 5
    assert working_days_between(D(2026, 3, 6), D(2026, 3, 7)) == 1
    assert working_days_between(D(2026, 3, 9), D(2026, 3, 10)) == 0


def test_the_two_functions_agree_over_a_year():
    """Counting the days add_working_days() adds gives the number added back."""
    CalendarDay.objects.create(date=D(2026, 3, 7), is_workday=True)
    CalendarDay.objects.create(date=D(2026, 3, 10), is_workday=False)
    day = D(2026, 1, 1)
    while day.year == 2026:
        for days in (1, 3, 5):
            assert working_days_between(day, add_working_days(day, days)) == days, day
        day += dt.timedelta(days=3)


# --- the review due date -------------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted_on", "due"),
    [
        (D(2026, 3, 6), D(2026, 3, 11)),  # Friday → next Wednesday
        (D(2026, 9, 24), D(2026, 10, 1)),  # Thursday before Mid-Autumn and Teachers' Day
    ],
)
def test_review_is_due_three_working_days_after_submission(monkeypatch, submitted_on, due):
    """request_submit stores due dates 3 working days after today for every review."""
    mkt, tech = DepartmentFactory(), DepartmentFactory()
    initiator = UserFactory(department=mkt)
    req = make_request(
        initiator=initiator,
        departments=[mkt, tech],
        expected_completion=submitted_on + dt.timedelta(days=60),
    )
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: submitted_on)
    req = services.request_submit(request=req, by=initiator)
    assert services.REVIEW_WORKING_DAYS == 3
    assert set(req.reviews.values_list("due_date", flat=True)) == {due}
    assert req.reviews.count() == 2


def test_working_days_window_answers_as_the_per_call_functions_do(django_assert_max_num_queries):
    """collab.calendar.WorkingDays (one read of the administrators' days for a page or a
    scan) agrees with add_working_days and working_days_between across the Mid-Autumn
    holidays, a 補班 Saturday and a typhoon day, and subtract() undoes add()."""
    from collab.calendar import WorkingDays

    CalendarDay.objects.create(date=D(2026, 9, 19), is_workday=True, name="補班")
    CalendarDay.objects.create(date=D(2026, 10, 6), is_workday=False, name="颱風假")
    with django_assert_max_num_queries(1):
        days = WorkingDays(D(2026, 9, 28))
        for offset in range(-20, 20):
            start = D(2026, 9, 28) + dt.timedelta(days=offset)
            for n in range(5):
                later = days.add(start, n)
                if days.is_workday(start):
                    assert days.subtract(later, n) == start
    for offset in range(-20, 20):
        start = D(2026, 9, 28) + dt.timedelta(days=offset)
        for n in range(5):
            assert days.add(start, n) == add_working_days(start, n), (start, n)
            end = start + dt.timedelta(days=n * 2)
            assert days.between(start, end) == working_days_between(start, end), (start, end)
