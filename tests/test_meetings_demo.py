"""seed_demo's meetings (meetings_app.demo): a kick-off with filed minutes, a weekly series
with two past meetings whose open items the next one carries over, a late action item,
minutes not filed on time; a second run adds nothing. And seed_scale's meetings and
action items: in proportion, with states that agree with their request and dates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q
from django.utils import timezone

from collab import warnings as collab_warnings
from devtools_app import scale
from meetings_app import carryover, demo, metrics
from meetings_app.choices import (
    OPEN_ACTION_STATES,
    ActionState,
    Attendance,
    MeetingKind,
    MeetingState,
    MinutesState,
    ProblemStatus,
)
from meetings_app.models import (
    ActionItem,
    Meeting,
    MeetingEvent,
    MeetingSeries,
    Minutes,
    MinutesAttendance,
    Problem,
)
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from tasks_app.demo import WEBSITE

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)


def _website():
    return CollabRequest.objects.get(name=WEBSITE)


def _counts():
    return (
        Meeting.objects.count(),
        MeetingSeries.objects.count(),
        Minutes.objects.count(),
        ActionItem.objects.count(),
        Problem.objects.count(),
        MeetingEvent.objects.count(),
    )


def test_the_kickoff_has_filed_minutes_that_agree_the_breakdown(seeded):
    request = _website()
    assert request.state in (RequestState.APPROVED, RequestState.IN_PROGRESS)
    kickoff = request.meetings.get(topic=demo.KICKOFF)
    assert kickoff.kind == MeetingKind.KICKOFF
    assert kickoff.state == MeetingState.MINUTES_FILED
    assert kickoff.ends_at < timezone.now()
    minutes = kickoff.minutes.get()
    assert minutes.state == MinutesState.FILED and minutes.breakdown_agreed
    assert minutes.tasks_discussed.exists()
    assert all(item.conclusion for item in minutes.items.all())
    # Filed a couple of hours after the meeting, not at seeding time.
    assert kickoff.ends_at < minutes.filed_at < kickoff.ends_at + dt.timedelta(hours=3)
    assert minutes.attendance.filter(attendance=Attendance.ABSENT).count() == 1
    states = set(kickoff.actions.values_list("state", flat=True))
    assert ActionState.DONE in states


def test_an_action_item_is_late(seeded):
    """Due last week and still in progress: overdue by tasks_app.deadlines' definition."""
    late = [a for a in ActionItem.objects.filter(state__in=OPEN_ACTION_STATES) if a.is_overdue]
    assert late
    assert any(a.state == ActionState.IN_PROGRESS and a.progress_percent == 40 for a in late)


def test_the_weekly_series_carries_its_open_items_over(seeded):
    """Two Fridays 16:00 held with filed minutes, the next four to come; the coming
    meeting opens with the open items of the two held ones."""
    series = MeetingSeries.objects.get(topic=demo.WEEKLY)
    assert (series.weekday, series.start_time) == (4, dt.time(16, 0))
    now = timezone.now()
    held = list(series.meetings.filter(starts_at__lt=now).order_by("starts_at"))
    assert len(held) == 2
    for meeting in held:
        local = timezone.localtime(meeting.starts_at)
        assert (local.weekday(), local.hour) == (4, 16)
        assert meeting.state == MeetingState.MINUTES_FILED
        assert meeting.minutes_filed_at < now
    assert series.first_date == timezone.localtime(held[0].starts_at).date()
    coming = series.meetings.filter(starts_at__gt=now).order_by("starts_at")
    assert coming.count() >= 3
    actions, problems = carryover.open_items(coming.first())
    assert {a.meeting_id for a in actions} == {m.pk for m in held}
    assert problems and all(p.status == ProblemStatus.OPEN for p in problems)


def test_minutes_not_filed_on_time_are_warned_about(seeded):
    """The special meeting held days ago has only a draft; minutes_overdue finds it."""
    meeting = Meeting.objects.get(topic=demo.SPECIAL)
    assert meeting.state == MeetingState.SCHEDULED
    assert meeting.minutes.get().state == MinutesState.DRAFT
    rules = collab_warnings.rules_ensure()
    spec = collab_warnings.registry()[metrics.MINUTES_RULE]
    hits = list(spec.scan(rules[metrics.MINUTES_RULE], timezone.now()))
    assert meeting.pk in {hit.object_id for hit in hits}


def test_a_second_run_adds_nothing(seeded, django_capture_on_commit_callbacks):
    before = _counts()
    assert before[0] >= 7
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    assert _counts() == before


# --- seed_scale ----------------------------------------------------------------------------


@pytest.fixture
def scaled():
    return scale.seed_scale(requests=300, tasks=2000, updates=3000, seed=5)


def test_scale_makes_meetings_and_action_items_in_proportion(scaled):
    meetings, actions = Meeting.objects.count(), ActionItem.objects.count()
    assert scaled.counts["meetings"] == meetings
    assert 0.6 * 5 * 300 <= meetings <= 5 * 300
    assert actions == 3 * 5 * 300
    assert set(scaled.meeting_states) == set(MeetingState.values)
    assert {ActionState.DONE, ActionState.IN_PROGRESS, ActionState.TODO} <= set(
        scaled.action_states
    )
    # Weekly series with their meetings; every meeting has people, departments, an agenda.
    assert MeetingSeries.objects.exists()
    assert not Meeting.objects.filter(participants__isnull=True).exists()
    assert not Meeting.objects.annotate(n=Count("agenda")).filter(n=0).exists()


def test_scale_meetings_agree_with_their_request(scaled):
    now = timezone.now()
    # Only confirmed requests meet, never before 確認立項.
    assert not Meeting.objects.filter(request__approved_at__isnull=True).exists()
    assert not Meeting.objects.filter(created_at__lt=F("request__approved_at")).exists()
    # Filed minutes: past meetings, one filed version each, filed after the meeting.
    filed = Meeting.objects.filter(state=MeetingState.MINUTES_FILED)
    assert not filed.filter(ends_at__gt=now).exists()
    assert not filed.filter(minutes_filed_at__lt=F("ends_at")).exists()
    assert Minutes.objects.filter(state=MinutesState.FILED).count() == filed.count()
    assert MinutesAttendance.objects.filter(attendance=Attendance.ABSENT).exists()
    # A closed request's meetings are settled, and so are its action items.
    closed = Q(request__state__in=[RequestState.COMPLETED, RequestState.CANCELLED])
    assert not Meeting.objects.filter(closed, state=MeetingState.SCHEDULED).exists()
    assert not ActionItem.objects.filter(
        Q(meeting__request__state__in=[RequestState.COMPLETED, RequestState.CANCELLED]),
        state__in=OPEN_ACTION_STATES,
    ).exists()
    # Some minutes came late, some are still to be written.
    assert filed.filter(minutes_filed_at__gt=F("ends_at") + dt.timedelta(days=3)).exists()
    assert Meeting.objects.filter(state=MeetingState.SCHEDULED, ends_at__lt=now).exists()
    # Action items: of filed minutes only, opened with them, overdue ones among the open.
    assert not ActionItem.objects.exclude(meeting__state=MeetingState.MINUTES_FILED).exists()
    assert not ActionItem.objects.filter(due_at__lt=F("meeting__starts_at")).exists()
    assert not ActionItem.objects.filter(started_at__lt=F("meeting__minutes_filed_at")).exists()
    assert not ActionItem.objects.filter(state=ActionState.DONE, completed_at__gt=now).exists()
    open_items = ActionItem.objects.filter(state__in=OPEN_ACTION_STATES)
    assert open_items.filter(due_at__lt=now).exists()
    # 需升級 (about 1 in 20 open items, so some days' data has none): only on open
    # items, after their minutes were filed, never in the future.
    escalated = ActionItem.objects.filter(escalated_at__isnull=False)
    assert not escalated.exclude(state__in=OPEN_ACTION_STATES).exists()
    assert not escalated.filter(escalated_at__lt=F("meeting__minutes_filed_at")).exists()
    assert not escalated.filter(escalated_at__gt=now).exists()


def test_scale_reset_removes_the_meetings(scaled):
    scale.seed_scale(requests=20, tasks=100, updates=100, seed=1, reset=True)
    assert Meeting.objects.count() == scale.MEETINGS_PER_REQUEST * 20 or (
        0 < Meeting.objects.count() <= 100
    )
    assert not Meeting.objects.exclude(request__in=scale.scale_requests()).exists()
