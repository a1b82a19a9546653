"""The carry-over (issue 15 §3): a meeting starts from the action items and problems the
meetings before it left open, read live from the meetings that raised them.

The meetings before it are the earlier meetings of its series and the meetings along its
`previous` chain (and their own chains); only filed items count, only the open ones, and
the query count does not grow with the chain.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from meetings_app import carryover
from meetings_app.choices import ActionState, MeetingKind, ProblemStatus
from meetings_app.models import ActionItem, Meeting, MeetingSeries, Problem
from tests.factories import DepartmentFactory, UserFactory
from tests.helpers import assert_query_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    department = DepartmentFactory()
    return {
        "department": department,
        "organiser": UserFactory(department=department),
        "recorder": UserFactory(department=department),
        "owner": UserFactory(department=department),
    }


@pytest.fixture
def series(people):
    return MeetingSeries.objects.create(
        topic="專案週例會",
        weekday=4,
        start_time=dt.time(16, 0),
        first_date=timezone.localdate() - dt.timedelta(days=60),
        organiser=people["organiser"],
        recorder=people["recorder"],
    )


def meeting(people, *, weeks_ago: float, **fields) -> Meeting:
    """A meeting `weeks_ago` weeks from now (negative: ahead), as the rows stand once
    its minutes are filed (the services' own path is tested in test_meetings_services)."""
    start = timezone.now() - dt.timedelta(weeks=weeks_ago)
    return Meeting.objects.create(
        topic=fields.pop("topic", "專案週例會"),
        kind=fields.pop("kind", MeetingKind.WEEKLY),
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        organiser=people["organiser"],
        recorder=people["recorder"],
        **fields,
    )


def action(people, of: Meeting, description: str, state=ActionState.TODO) -> ActionItem:
    item = ActionItem.objects.create(
        meeting=of,
        description=description,
        responsible_department=people["department"],
        owner=people["owner"],
        start_date=timezone.localdate(of.starts_at),
        due_at=of.starts_at + dt.timedelta(days=5),
    )
    # The state as the services leave it (the field is protected from plain assignment).
    ActionItem.objects.filter(pk=item.pk).update(state=state)
    return item


def problem(of: Meeting, description: str, status=ProblemStatus.OPEN, filed=True) -> Problem:
    return Problem.objects.create(
        meeting=of, description=description, status=status, is_filed=filed
    )


def descriptions(items) -> list[str]:
    return [item.description for item in items]


def test_a_weekly_meeting_opens_with_what_its_series_left_open(people, series):
    """Open items of every earlier meeting of the series, oldest first; not the items
    closed, cancelled, turned into tasks or still in a draft, not later meetings' items,
    not another series' items."""
    first = meeting(people, weeks_ago=2, series=series)
    second = meeting(people, weeks_ago=1, series=series)
    today = meeting(people, weeks_ago=-0.1, series=series)
    later = meeting(people, weeks_ago=-1, series=series)
    other = meeting(people, weeks_ago=1.5)
    action(people, first, "整理投訴", ActionState.IN_PROGRESS)
    action(people, first, "已結案", ActionState.DONE)
    action(people, first, "等待確認", ActionState.SUBMITTED)
    action(people, second, "更新FAQ", ActionState.TODO)
    action(people, second, "已取消", ActionState.CANCELLED)
    action(people, second, "已轉任務", ActionState.CONVERTED)
    action(people, second, "草稿", ActionState.DRAFT)
    action(people, today, "本次新增", ActionState.TODO)
    action(people, later, "下週的", ActionState.TODO)
    action(people, other, "別的會議", ActionState.TODO)
    problem(first, "回覆太慢")
    problem(first, "已解決的", ProblemStatus.RESOLVED)
    problem(second, "需要法務", ProblemStatus.ESCALATE)
    problem(second, "草稿問題", filed=False)
    problem(other, "別的問題")

    actions, problems = carryover.open_items(today)

    assert descriptions(actions) == ["整理投訴", "等待確認", "更新FAQ"]
    assert descriptions(problems) == ["回覆太慢", "需要法務"]
    later_actions, _later_problems = carryover.open_items(later)
    assert "本次新增" in descriptions(later_actions)
    assert carryover.open_items(first) == ([], [])


def test_a_next_meeting_carries_over_along_its_previous_chain(people):
    kickoff = meeting(people, weeks_ago=3, kind=MeetingKind.KICKOFF)
    special = meeting(people, weeks_ago=2, previous=kickoff, kind=MeetingKind.SPECIAL)
    follow = meeting(people, weeks_ago=1, previous=special, kind=MeetingKind.SPECIAL)
    unrelated = meeting(people, weeks_ago=2.5)
    action(people, kickoff, "啟動會的")
    action(people, special, "專項會的")
    action(people, unrelated, "無關的")
    problem(kickoff, "啟動會的問題")

    actions, problems = carryover.open_items(follow)

    assert descriptions(actions) == ["啟動會的", "專項會的"]
    assert descriptions(problems) == ["啟動會的問題"]


def test_a_series_that_continues_a_kickoff_carries_the_kickoffs_items(people, series):
    """The first weekly meeting was scheduled from the kick-off's minutes: the later
    weekly meetings still start from what the kick-off left open."""
    kickoff = meeting(people, weeks_ago=3, kind=MeetingKind.KICKOFF)
    first = meeting(people, weeks_ago=2, series=series, previous=kickoff)
    today = meeting(people, weeks_ago=-0.1, series=series)
    action(people, kickoff, "啟動會的")
    action(people, first, "第一次週會的")

    actions, _problems = carryover.open_items(today)

    assert descriptions(actions) == ["啟動會的", "第一次週會的"]


def test_the_meeting_about_to_be_scheduled_reads_its_carry_over_unsaved(people):
    """meeting_schedule_next builds its agenda before the meeting exists."""
    last = meeting(people, weeks_ago=1)
    action(people, last, "上次的")
    following = Meeting(previous=last, starts_at=timezone.now() + dt.timedelta(days=7))

    actions, _problems = carryover.open_items(following)

    assert descriptions(actions) == ["上次的"]


def test_the_carry_over_takes_three_queries_however_long_the_chain(people, series):
    previous = None
    for weeks in range(12, 0, -1):
        current = meeting(people, weeks_ago=weeks, series=series if weeks % 2 else None)
        if previous is not None:
            Meeting.objects.filter(pk=current.pk).update(previous=previous)
        action(people, current, f"第{weeks}週")
        problem(current, f"問題{weeks}")
        previous = current
    today = meeting(people, weeks_ago=-0.1, series=series, previous=previous)

    with assert_query_count(3):
        actions, problems = carryover.open_items(today)
        # The rows come with what the agenda and the pages show of them.
        owners = {a.owner.pk for a in actions} | {a.meeting.pk for a in actions}
        departments = {a.responsible_department.pk for a in actions}

    assert len(actions) == 12 and len(problems) == 12 and owners and departments
    assert descriptions(actions)[0] == "第12週"
