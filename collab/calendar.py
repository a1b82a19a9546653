"""Working days: Taiwan's public holidays (holidays package) plus admin corrections.

The holidays package knows no make-up workdays (補班) after 2025, so administrators
record them, and any extra holidays, as CalendarDay rows, which always win.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import lru_cache

import holidays
from django.conf import settings

from .registry import add, registry


@lru_cache(maxsize=32)
def _public_holidays(country: str, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays(country, years=year).keys())


def _overrides(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    from .models import CalendarDay

    return dict(
        CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "is_workday")
    )


def _is_workday(day: dt.date, overrides: dict[dt.date, bool], country: str) -> bool:
    if day in overrides:
        return overrides[day]
    if day.weekday() >= 5:
        return False
    return day not in _public_holidays(country, day.year)


def is_workday(day: dt.date) -> bool:
    return _is_workday(day, _overrides(day, day), _country())


def _country() -> str:
    return getattr(settings, "HOLIDAY_COUNTRY", "TW")


def add_working_days(start: dt.date, days: int) -> dt.date:
    """Return the date `days` working days after `start` (start itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    country = _country()
    # Long holidays (Lunar New Year) can stretch a week; look ahead generously once.
    overrides = _overrides(start, start + dt.timedelta(days=days * 3 + 21))
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        if _is_workday(day, overrides, country):
            left -= 1
    return day


def due_dates_follow(rows, *, start: str, days: int) -> int:
    """Set each row's `due_date` to `days` working days after the local day of its
    `start` timestamp; return how many rows moved.

    For the deadlines stored on rows (a review's, an acceptance round's) when an
    administrator corrects the calendar: one calendar lookup per start day and one
    UPDATE per new due date, however many rows are open.
    """
    from django.utils import timezone

    due_on: dict[dt.date, dt.date] = {}
    moves: dict[dt.date, list[int]] = defaultdict(list)
    for row in rows.only("pk", start, "due_date"):
        day = timezone.localdate(getattr(row, start))
        if day not in due_on:
            due_on[day] = add_working_days(day, days)
        if due_on[day] != row.due_date:
            moves[due_on[day]].append(row.pk)
    for due, ids in moves.items():
        rows.model._default_manager.filter(pk__in=ids).update(due_date=due)
    return sum(len(ids) for ids in moves.values())


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Return how many working days lie after `start` up to and including `end`."""
    if end <= start:
        return 0
    country = _country()
    overrides = _overrides(start, end)
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if _is_workday(day, overrides, country):
            count += 1
    return count


class WorkingDays:
    """Working-day arithmetic around one day, for a page or a scan that asks many times.

    The administrators' days are read once for a window around `around` (one query),
    and again only if a walk leaves it; add_working_days() and working_days_between()
    read them per call. The answers are theirs: add(d, n) == add_working_days(d, n).
    """

    def __init__(self, around: dt.date, *, reach: int = 60):
        self._country = _country()
        self._start = around - dt.timedelta(days=reach)
        self._end = around + dt.timedelta(days=reach)
        self._overrides = _overrides(self._start, self._end)

    def is_workday(self, day: dt.date) -> bool:
        if not self._start <= day <= self._end:
            # Widen to twice the distance: a long walk costs a few queries, not one a day.
            reach = 2 * max((self._start - day).days, (day - self._end).days, 30)
            self._start = min(self._start, day - dt.timedelta(days=reach))
            self._end = max(self._end, day + dt.timedelta(days=reach))
            self._overrides = _overrides(self._start, self._end)
        return _is_workday(day, self._overrides, self._country)

    def add(self, start: dt.date, days: int) -> dt.date:
        """Return the date `days` working days after `start` (start itself not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day, left = start, days
        while left > 0:
            day += dt.timedelta(days=1)
            left -= self.is_workday(day)
        return day

    def subtract(self, end: dt.date, days: int) -> dt.date:
        """Return the date `days` working days before `end` (end itself not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day, left = end, days
        while left > 0:
            day -= dt.timedelta(days=1)
            left -= self.is_workday(day)
        return day

    def between(self, start: dt.date, end: dt.date) -> int:
        """Return how many working days lie after `start` up to and including `end`."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_workday(day)
        return count


def register_change_hook(hook) -> None:
    """Register `hook()`, which recomputes deadlines an app stored (requests_app: open
    reviews' due dates); collab calls every hook after any calendar change."""
    add("calendar_change", hook)


def calendar_day_save(*, day, is_workday: bool, name: str = ""):
    """Record an administrator's holiday or make-up workday, then recompute deadlines."""
    from django.db import transaction

    from .models import CalendarDay

    with transaction.atomic():
        row, _created = CalendarDay.objects.update_or_create(
            date=day, defaults={"is_workday": is_workday, "name": name}
        )
        calendar_changed()
    return row


def calendar_day_delete(*, day) -> None:
    from django.db import transaction

    from .models import CalendarDay

    with transaction.atomic():
        CalendarDay.objects.filter(date=day).delete()
        calendar_changed()


def calendar_changed() -> None:
    """Let every registered app recompute the deadlines it stored."""
    for hook in registry["calendar_change"]:
        hook()
