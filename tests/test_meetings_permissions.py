"""Who sees and does what with meetings and action items (meetings_app.permissions), role
by role: the one place every meeting view, PDF, calendar file and admin page asks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from meetings_app import permissions
from meetings_app.choices import ActionState, MeetingState
from meetings_app.models import ActionItem, Meeting, MeetingSeries
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from tests import meetings_fixtures
from tests.helpers import assert_constant_queries
from tests.meetings_fixtures import make_action, make_meeting

world = meetings_fixtures.world  # the fixture, for this module

pytestmark = pytest.mark.django_db


SEES_CASE_MEETING = {
    "initiator",
    "recorder",
    "a_staff",
    "b_head",
    "deputy",
    "b_staff",
    "guest",
    "pmo",
    "executive",
    "superuser",
}
SEES_STANDING = {"c_head", "c_staff", "a_staff", "pmo", "executive", "superuser"}
ROLES = [
    "initiator",
    "recorder",
    "a_staff",
    "b_head",
    "deputy",
    "b_staff",
    "guest",
    "o_staff",
    "owner",
    "c_head",
    "c_staff",
    "pmo",
    "executive",
    "superuser",
    "inactive",
    "anonymous",
]


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_which_meeting(world, role):
    user = getattr(world, role)
    visible = set(permissions.visible_meetings(user).values_list("pk", flat=True))
    assert (world.case_meeting.pk in visible) == (role in SEES_CASE_MEETING)
    assert (world.standing.pk in visible) == (role in SEES_STANDING)
    if role not in SEES_CASE_MEETING:
        with pytest.raises(Http404):
            permissions.get_visible_or_404(user, world.case_meeting.pk)


def test_owning_a_filed_action_item_shows_its_meeting_a_draft_one_does_not(world):
    action = make_action(world.case_meeting, world.owner, ActionState.DRAFT)
    assert not permissions.can_view(world.owner, world.case_meeting)
    assert not permissions.visible_actions(world.owner).filter(pk=action.pk).exists()
    ActionItem.objects.filter(pk=action.pk).update(state=ActionState.TODO)
    assert permissions.can_view(world.owner, world.case_meeting)
    assert permissions.visible_actions(world.owner).filter(pk=action.pk).exists()


@pytest.mark.parametrize("role", ROLES)
def test_a_drafts_action_items_are_the_editors_only(world, role):
    action = make_action(world.case_meeting, world.b_staff, ActionState.DRAFT)
    seen = permissions.visible_actions(getattr(world, role)).filter(pk=action.pk).exists()
    assert seen == (role in {"initiator", "recorder", "pmo", "superuser"})


@pytest.mark.parametrize("role", ROLES)
def test_a_filed_action_item_is_seen_with_its_meeting_and_by_its_owner(world, role):
    action = make_action(world.case_meeting, world.owner)
    seen = permissions.visible_actions(getattr(world, role)).filter(pk=action.pk).exists()
    assert seen == (role in SEES_CASE_MEETING | {"owner"})


@pytest.mark.parametrize("role", ROLES)
def test_the_responsible_departments_head_reads_the_item_and_its_meeting(world, role):
    """An item of department c (c_head's): the warnings and escalations reach its head,
    who reads the item and the meeting it comes from; its other members do not."""
    action = make_action(world.case_meeting, world.c_staff)
    ActionItem.objects.filter(pk=action.pk).update(responsible_department=world.c)
    user = getattr(world, role)
    seen = permissions.visible_actions(user).filter(pk=action.pk).exists()
    assert seen == (role in SEES_CASE_MEETING | {"c_head", "c_staff"})  # c_staff: owner
    meeting_seen = permissions.can_view(user, world.case_meeting)
    assert meeting_seen == (role in SEES_CASE_MEETING | {"c_head", "c_staff"})
    ActionItem.objects.filter(pk=action.pk).update(owner=world.b_staff)
    assert permissions.visible_actions(world.c_staff).filter(pk=action.pk).exists() is False


EDITORS = {"initiator", "recorder", "pmo", "superuser"}


@pytest.mark.parametrize("role", ROLES)
def test_only_the_organiser_recorder_and_pmo_edit_and_write_minutes(world, role):
    user, meeting = getattr(world, role), world.case_meeting
    assert permissions.can_edit(user, meeting) == (role in EDITORS)
    assert permissions.can_write_minutes(user, meeting) == (role in EDITORS)


@pytest.mark.parametrize("role", ROLES)
def test_participants_and_the_requests_people_comment(world, role):
    takes_part = {"initiator", "recorder", "a_staff", "b_head", "deputy", "b_staff", "guest"}
    expected = role in takes_part | {"pmo", "executive", "superuser"}
    assert permissions.can_comment(getattr(world, role), world.case_meeting) == expected


def test_a_filed_meeting_is_no_longer_edited_but_its_minutes_are_corrected(world):
    meeting = world.case_meeting
    Meeting.objects.filter(pk=meeting.pk).update(state=MeetingState.MINUTES_FILED)
    meeting.refresh_from_db()
    assert not permissions.can_edit(world.initiator, meeting)
    assert permissions.can_write_minutes(world.recorder, meeting)
    Meeting.objects.filter(pk=meeting.pk).update(state=MeetingState.CANCELLED)
    meeting.refresh_from_db()
    assert not permissions.can_write_minutes(world.recorder, meeting)


def test_nothing_is_written_on_an_archived_case(world):
    action = make_action(world.case_meeting, world.owner, ActionState.SUBMITTED)
    CollabRequest.objects.filter(pk=world.request.pk).update(is_archived=True)
    meeting = Meeting.objects.select_related("request").get(pk=world.case_meeting.pk)
    action = ActionItem.objects.select_related("meeting__request").get(pk=action.pk)
    for user in (world.initiator, world.recorder, world.pmo):
        assert not permissions.can_edit(user, meeting)
        assert not permissions.can_write_minutes(user, meeting)
        assert not permissions.can_comment(user, meeting)
        assert not permissions.can_confirm(user, action)
        assert not permissions.can_convert(user, action)
    # Still readable: an archived case is a reference.
    assert permissions.can_view(world.b_staff, meeting)


@pytest.mark.parametrize("role", ROLES)
def test_the_owner_works_and_the_organiser_initiator_or_pmo_confirm(world, role):
    user = getattr(world, role)
    action = make_action(world.case_meeting, world.owner, ActionState.IN_PROGRESS)
    assert permissions.can_work_on(user, action) == (role == "owner")
    assert permissions.can_escalate(user, action) == (
        role in {"owner", "initiator", "pmo", "superuser"}
    )
    submitted = make_action(world.case_meeting, world.owner, ActionState.SUBMITTED)
    confirmers = {"initiator", "pmo", "superuser"}  # organiser = initiator here
    assert permissions.can_confirm(user, submitted) == (role in confirmers)
    # Turning it into a task edits the breakdown: only while the request is 已立項.
    assert not permissions.can_convert(user, submitted)
    CollabRequest.objects.filter(pk=world.request.pk).update(state=RequestState.APPROVED)
    submitted = ActionItem.objects.select_related("meeting__request").get(pk=submitted.pk)
    assert permissions.can_convert(user, submitted) == (role in confirmers)
    CollabRequest.objects.filter(pk=world.request.pk).update(state=RequestState.IN_PROGRESS)
    submitted = ActionItem.objects.select_related("meeting__request").get(pk=submitted.pk)
    assert not permissions.can_convert(user, submitted)
    assert not permissions.can_work_on(user, submitted)


def test_an_escalated_item_is_not_escalated_twice_and_a_standing_one_is_not_converted(world):
    action = make_action(world.standing, world.a_staff, ActionState.IN_PROGRESS)
    assert permissions.can_escalate(world.a_staff, action)
    ActionItem.objects.filter(pk=action.pk).update(escalated_at=timezone.now())
    action.refresh_from_db()
    assert not permissions.can_escalate(world.a_staff, action)
    # A meeting of no request has no breakdown to take a task.
    assert not permissions.can_convert(world.pmo, action)


def test_who_may_schedule(world):
    assert permissions.can_schedule(world.a_staff, world.request)
    assert permissions.can_schedule(world.b_staff, world.request)
    assert not permissions.can_schedule(world.o_staff, world.request)
    # A standing meeting: the PMO and heads (a deputy acting for one) only.
    assert permissions.can_schedule(world.pmo, None)
    assert permissions.can_schedule(world.c_head, None)
    assert permissions.can_schedule(world.deputy, None)
    assert not permissions.can_schedule(world.c_staff, None)
    assert not permissions.can_schedule(world.anonymous, None)


def test_visible_meetings_runs_the_same_queries_for_more_meetings(world):
    def make_rows(n):
        for _ in range(n):
            make_meeting(
                request=world.request,
                organiser=world.initiator,
                recorder=world.recorder,
                participants=[world.guest],
            )

    def fetch():
        list(permissions.visible_meetings(world.guest))

    assert_constant_queries(make_rows, fetch)


# The series of the request: with the request (a guest invited to one meeting does not
# see the series they are not part of).
SEES_SERIES = SEES_CASE_MEETING - {"guest"}


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_a_weekly_series(world, role):
    series = MeetingSeries.objects.create(
        request=world.request,
        topic="專案週例會",
        weekday=4,
        start_time=dt.time(16, 0),
        first_date=timezone.localdate(),
        organiser=world.initiator,
        recorder=world.recorder,
    )
    standing = MeetingSeries.objects.create(
        topic="跨部門週例會",
        weekday=4,
        start_time=dt.time(16, 0),
        first_date=timezone.localdate(),
        organiser=world.c_head,
        recorder=world.c_staff,
    )
    standing.participants.add(world.a_staff)
    visible = set(permissions.visible_series(getattr(world, role)).values_list("pk", flat=True))
    assert (series.pk in visible) == (role in SEES_SERIES)
    assert (standing.pk in visible) == (role in {"c_head", "c_staff", "a_staff"} | EVERYONE_SEER)


EVERYONE_SEER = {"pmo", "executive", "superuser"}


@pytest.mark.parametrize("role", ROLES)
def test_a_requests_meeting_list_opens_with_the_request_or_one_of_its_meetings(world, role):
    listed = permissions.requests_with_meetings_seen(getattr(world, role))
    # The guest from another department sees the request's list through the meeting.
    assert listed.filter(pk=world.request.pk).exists() == (role in SEES_CASE_MEETING)
