"""The warnings of meetings (issue 15 §2, §3), with the real engine at fixed Taipei moments.

- An action item is due soon, stale and overdue as a task is: the task rules
  task_due_soon, task_stale and task_overdue cover it (one rule, one admin row, one
  threshold); its warning points at the action item, and reaches its owner (R), the
  responsible department's heads and the request's initiator as the rule row says,
  the organiser (A) when the row sends to A.
- minutes_overdue: a meeting whose minutes are not filed by the end of the 2nd working
  day after it warns the recorder and the organiser, every day until they are filed.

Dates are 2026 (tests.test_warning_rules): Monday 2 March starts a plain week; Friday 25
and Monday 28 September are Taiwan public holidays.
"""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from collab import warnings as engine
from collab.models import User, WarningItem, WarningRule
from meetings_app import warnings as meeting_warnings
from meetings_app.choices import ActionState, MeetingKind, MeetingState
from meetings_app.models import ActionItem, Meeting
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from tasks_app.models import Task
from tests.factories import UserFactory
from tests.test_warning_rules import World, at, due, make_world, rule

D = dt.date

pytestmark = pytest.mark.django_db

MONDAY = D(2026, 3, 2)


# --- the scene: a request under way, its meeting, action items -----------------------


def under_way(world: World, *specs: dict, sign: bool = True) -> tuple[CollabRequest, dict]:
    """A request of the world, 進行中 (signed, unless `sign` is False: 已立項), with
    one task due at the end of the month and the tasks of `specs` (World.start's)."""
    tasks = world.start({"name": "主視覺圖初稿", "due": due(D(2026, 12, 31))}, *specs, sign=sign)
    return CollabRequest.objects.get(pk=tasks["主視覺圖初稿"].request_id), tasks


def make_meeting(
    world: World,
    request: CollabRequest | None,
    *,
    day: dt.date,
    hour: int = 14,
    recorder: User | None = None,
    topic: str = "週例會",
    state: str = MeetingState.SCHEDULED,
    departments=None,
) -> Meeting:
    """A meeting of `request` (or of none) held on `day` from `hour` for an hour,
    organised by the world's accountable person (its A)."""
    start = at(day, hour)
    meeting = Meeting.objects.create(
        request=request,
        topic=topic,
        kind=MeetingKind.WEEKLY,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        organiser=world.accountable,
        recorder=recorder or UserFactory(department=world.mkt, full_name="周記錄"),
    )
    meeting.departments.set(departments if departments is not None else [world.mkt])
    if state != MeetingState.SCHEDULED:
        Meeting.objects.filter(pk=meeting.pk).update(state=state)
    return Meeting.objects.get(pk=meeting.pk)


def make_action(
    meeting: Meeting,
    owner: User,
    *,
    due_at: dt.datetime,
    state: str = ActionState.TODO,
    description: str = "整理客戶投訴詳情並提交處理方案",
    **fields,
) -> ActionItem:
    """An action item of `meeting`, filed (TODO) unless `state` says otherwise; other
    fields (started_at, last_progress_at, progress_percent, escalated_at…) as given."""
    action = ActionItem.objects.create(
        meeting=meeting,
        description=description,
        responsible_department=fields.pop("department", owner.department),
        owner=owner,
        start_date=fields.pop("start_date", timezone.localdate(meeting.starts_at)),
        due_at=due_at,
        importance=fields.pop("importance", "normal"),
    )
    ActionItem.objects.filter(pk=action.pk).update(state=state, **fields)
    return ActionItem.objects.get(pk=action.pk)


def warned(now: dt.datetime, code: str, model=ActionItem) -> dict[int, set[int]]:
    """Return {object id: recipient ids} of what rule `code` finds at `now` about objects
    of `model` (tasks and action items have ids of their own)."""
    kind = ContentType.objects.get_for_model(model).pk
    hits: dict[int, set[int]] = {}
    for item in engine.collect(now=now, cadences=(engine.DAILY,)):
        if item.rule == code and item.content_type_id == kind:
            hits.setdefault(item.object_id, set()).add(item.recipient_id)
    return hits


def texts(now: dt.datetime, code: str, pk: int, model=ActionItem) -> set[str]:
    kind = ContentType.objects.get_for_model(model).pk
    return {
        item.text
        for item in engine.collect(now=now, cadences=(engine.DAILY,))
        if item.rule == code and item.content_type_id == kind and item.object_id == pk
    }


def portal_text(message: str, **values) -> str:
    """A warning's text as the engine writes it, in the portal's language."""
    return message % values


def send_warnings(now: str, capture) -> str:
    out = StringIO()
    with capture(execute=True):
        call_command("send_warnings", "--now", now, stdout=out)
    return out.getvalue()


@pytest.fixture
def world(pmo) -> World:
    return make_world(pmo)


def _badges(html: str, pattern: str) -> set[str]:
    match = re.search(pattern, html, re.S)
    assert match, pattern
    return set(re.findall(r'data-badge="([\w-]+)"', match.group(0)))


# --- action items under the task rules --------------------------------------------------


def test_an_overdue_action_item_reaches_the_owners_digest_and_shows_late_in_my_tasks(
    time_machine, world, client_for, django_capture_on_commit_callbacks
):
    """Due Wednesday 17:00, still to do on Thursday: the nightly run sends the owner, the
    department's head and the initiator a digest line about it, pointing at the action
    item; 我的任務 shows it with the task's 延期 badge, as an overdue task beside it."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, tasks = under_way(world, {"name": "新聞稿定稿", "due": due(D(2026, 3, 4))})
    task = tasks["新聞稿定稿"]
    meeting = make_meeting(world, request, day=MONDAY, hour=10, topic="新品上市週例會")
    action = make_action(meeting, world.owner, due_at=due(D(2026, 3, 4)))

    time_machine.move_to(at(D(2026, 3, 5), 6), tick=False)
    out = send_warnings("2026-03-05T06:00", django_capture_on_commit_callbacks)
    assert "[task_overdue]" in out
    kind = ContentType.objects.get_for_model(ActionItem)
    items = WarningItem.objects.filter(rule="task_overdue", content_type=kind, object_id=action.pk)
    assert {i.recipient_id for i in items} == world.people("R", "head", "initiator")
    assert {i.url for i in items} == {reverse("meetings_app:action", args=[action.pk])}
    [text] = {i.text for i in items}
    assert text == portal_text(
        meeting_warnings.overdue_message(1),
        name="整理客戶投訴詳情並提交處理方案",
        meeting="新品上市週例會",
        held=engine.day_text(MONDAY),
        due=engine.moment_text(due(D(2026, 3, 4))),
        days=1,
        percent=0,
    )
    # The task of the same due time is warned under the same rule, about the task.
    task_kind = ContentType.objects.get_for_model(Task)
    assert WarningItem.objects.filter(
        rule="task_overdue", content_type=task_kind, object_id=task.pk
    ).exists()

    [digest] = [m for m in mail.outbox if m.to == [world.owner.email]]
    body = digest.body
    assert "整理客戶投訴詳情並提交處理方案" in body and "新品上市週例會" in body
    assert reverse("meetings_app:action", args=[action.pk]) in body

    html = client_for(world.owner).get(reverse("tasks_app:mine")).content.decode()
    action_badges = _badges(html, rf'<article[^>]*id="action-card-{action.pk}".*?</article>')
    task_badges = _badges(html, rf'<article[^>]*id="task-card-{task.pk}".*?</article>')
    # 延期, and 滯後 too: nothing was done of a plan that is over.
    assert action_badges == task_badges == {"overdue", "behind"}
    assert 'data-summary="late"' in html


def test_the_organiser_hears_as_accountable_when_the_rule_row_says_so(time_machine, world):
    """One admin row: switching on "to A" on task_overdue reaches the meeting's organiser
    about the action item, as it reaches a task's A."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    meeting = make_meeting(world, request, day=MONDAY)
    action = make_action(meeting, world.owner, due_at=due(D(2026, 3, 4)))
    now = at(D(2026, 3, 5), 6)
    assert warned(now, "task_overdue")[action.pk] == world.people("R", "head", "initiator")
    rule("task_overdue", to_accountable=True, to_initiator=False, to_head=False)
    assert warned(now, "task_overdue")[action.pk] == world.people("R", "A")


@pytest.mark.parametrize(
    ("today", "warned_importances"),
    [
        (D(2026, 3, 3), set()),  # Tue: Mon 3/9 is 4 working days away
        (D(2026, 3, 4), {"urgent"}),  # Wed + 3 working days = Mon
        (D(2026, 3, 5), {"urgent", "important"}),  # Thu + 2 = Mon
        (D(2026, 3, 6), {"urgent", "important", "normal"}),  # Fri + 1 = Mon (weekend)
        (D(2026, 3, 10), set()),  # past due: the overdue rule's
    ],
)
def test_a_due_soon_action_item_is_warned_as_a_task_of_its_importance(
    time_machine, world, today, warned_importances
):
    """Due Monday 3/9 17:00: the due-soon window of each importance is the task rule's,
    and a task of the same importance and due time is warned on the same days."""
    time_machine.move_to(at(MONDAY), tick=False)
    importances = ("normal", "important", "urgent")
    request, made = under_way(
        world, *({"name": i, "due": due(D(2026, 3, 9)), "importance": i} for i in importances)
    )
    tasks = {i: made[i] for i in importances}
    meeting = make_meeting(world, request, day=MONDAY)
    actions = {
        i: make_action(meeting, world.owner, due_at=due(D(2026, 3, 9)), importance=i)
        for i in importances
    }
    now = at(today, 6)
    by_action = warned(now, "task_due_soon")
    by_task = warned(now, "task_due_soon", model=Task)
    assert {i for i, a in actions.items() if a.pk in by_action} == warned_importances
    assert {i for i, t in tasks.items() if t.pk in by_task} == warned_importances
    for importance in warned_importances:
        assert by_action[actions[importance].pk] == world.people("R", "head", "initiator")


def test_the_due_soon_threshold_is_the_task_rules_row(time_machine, world):
    """An administrator who sets task_due_soon's days to 3 warns normal action items 3
    working days ahead, as normal tasks."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    action = make_action(
        make_meeting(world, request, day=MONDAY), world.owner, due_at=due(D(2026, 3, 9))
    )
    now = at(D(2026, 3, 4), 6)
    assert action.pk not in warned(now, "task_due_soon")
    rule("task_due_soon", days=3)
    assert action.pk in warned(now, "task_due_soon")
    assert WarningRule.objects.filter(code__startswith="action").count() == 0  # no rule of its own


def test_a_stale_action_item_counts_working_days(time_machine, world):
    """In progress, last updated Friday 15:00: stale from Wednesday 15:00, when 3 working
    days of time have gone by (the weekend does not count); the text says 3 days."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    meeting = make_meeting(world, request, day=MONDAY)
    action = make_action(
        meeting,
        world.owner,
        due_at=due(D(2026, 3, 31)),
        state=ActionState.IN_PROGRESS,
        progress_percent=60,
        started_at=at(MONDAY, 10),
        last_progress_at=at(D(2026, 3, 6), 15),
    )
    assert action.pk not in warned(at(D(2026, 3, 9), 15), "task_stale")  # Monday: 1 day
    assert action.pk not in warned(at(D(2026, 3, 11), 14, 59), "task_stale")
    assert warned(at(D(2026, 3, 11), 15), "task_stale")[action.pk] == world.people(
        "R", "head", "initiator"
    )
    [text] = texts(at(D(2026, 3, 11), 15), "task_stale", action.pk)
    assert text == portal_text(
        meeting_warnings.stale_message(3),
        name=action.description,
        meeting=meeting.topic,
        held=engine.day_text(MONDAY),
        due=engine.moment_text(action.due_at),
        days=3,
        percent=60,
    )


def test_drafts_delivered_closed_and_out_of_scope_items_are_not_warned(time_machine, world):
    """Only filed items still to deliver count, of meetings of a request under way or of
    none: a draft (minutes not filed), a delivery awaiting confirmation, a cancelled
    item and the items of a request no longer open stay quiet; a standing meeting's
    overdue item is warned (no initiator then)."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    meeting = make_meeting(world, request, day=MONDAY)
    late = due(D(2026, 3, 4))
    quiet = [
        make_action(meeting, world.owner, due_at=late, state=ActionState.DRAFT),
        make_action(
            meeting, world.owner, due_at=late, state=ActionState.SUBMITTED,
            submitted_at=at(D(2026, 3, 5), 9),
        ),
        make_action(meeting, world.owner, due_at=late, state=ActionState.CANCELLED),
        make_action(meeting, world.owner, due_at=late, state=ActionState.DONE),
    ]  # fmt: skip
    approved, _tasks = under_way(make_world(world.pmo), sign=False)
    kickoff = make_action(make_meeting(world, approved, day=MONDAY), world.owner, due_at=late)
    closed, _tasks = under_way(make_world(world.pmo))
    quiet.append(make_action(make_meeting(world, closed, day=MONDAY), world.owner, due_at=late))
    CollabRequest.objects.filter(pk=closed.pk).update(state=RequestState.CANCELLED)
    standing = make_action(make_meeting(world, None, day=MONDAY), world.owner, due_at=late)
    found = warned(at(D(2026, 3, 6), 6), "task_overdue")
    assert not {a.pk for a in quiet} & set(found)
    # A kick-off's item runs while the request is 已立項, before the breakdown is signed.
    assert kickoff.pk in found
    assert found[standing.pk] == world.people("R", "head")


# --- minutes_overdue --------------------------------------------------------------------


def test_minutes_overdue_fires_after_two_working_days_and_stops_once_filed(
    time_machine, world, django_capture_on_commit_callbacks
):
    """Held Friday 3/6: the minutes are due by the end of Tuesday 3/10. Tuesday night
    nothing; Wednesday's nightly run warns the recorder (R) and the organiser (A), with
    a digest line linking to the meeting; once filed, nothing more."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    meeting = make_meeting(world, request, day=D(2026, 3, 6), topic="新品上市週例會")
    recorder = meeting.recorder
    rules = engine.rules_ensure()
    assert rules["minutes_overdue"].days == 2
    assert rules["minutes_overdue"].to_responsible and rules["minutes_overdue"].to_accountable

    assert warned(at(D(2026, 3, 6), 23), "minutes_overdue", Meeting) == {}
    assert warned(at(D(2026, 3, 10), 23, 59), "minutes_overdue", Meeting) == {}
    time_machine.move_to(at(D(2026, 3, 11), 6), tick=False)
    out = send_warnings("2026-03-11T06:00", django_capture_on_commit_callbacks)
    assert "[minutes_overdue]" in out
    items = WarningItem.objects.filter(rule="minutes_overdue", object_id=meeting.pk)
    assert {i.recipient_id for i in items} == {recorder.pk, world.accountable.pk}
    assert {i.content_type.model for i in items} == {"meeting"}
    [digest] = [m for m in mail.outbox if m.to == [recorder.email]]
    assert "新品上市週例會" in digest.body
    assert reverse("meetings_app:detail", args=[meeting.pk]) in digest.body
    [text] = {i.text for i in items}
    # Mon, Tue, Wed: the 3rd working day after it.
    assert text == portal_text(
        meeting_warnings.minutes_overdue_message(3),
        topic="新品上市週例會",
        held=engine.day_text(D(2026, 3, 6)),
        days=3,
    )

    Meeting.objects.filter(pk=meeting.pk).update(
        state=MeetingState.MINUTES_FILED, minutes_filed_at=at(D(2026, 3, 11), 10)
    )
    assert warned(at(D(2026, 3, 12), 6), "minutes_overdue", Meeting) == {}


def test_minutes_overdue_skips_holidays_and_follows_the_rule_row(time_machine, world):
    """Held Thursday 9/24 before the Mid-Autumn and Teachers' Day long weekend: the two
    working days are Tue 9/29 and Wed 9/30, so the first warning is on Thursday 10/1.
    With the row's days set to 1 it comes on Wednesday."""
    time_machine.move_to(at(D(2026, 9, 21)), tick=False)
    request, _tasks = under_way(world)
    meeting = make_meeting(world, request, day=D(2026, 9, 24))
    assert warned(at(D(2026, 9, 29), 6), "minutes_overdue", Meeting) == {}
    assert warned(at(D(2026, 9, 30), 22), "minutes_overdue", Meeting) == {}
    assert meeting.pk in warned(at(D(2026, 10, 1), 6), "minutes_overdue", Meeting)
    rule("minutes_overdue", days=1)
    assert meeting.pk in warned(at(D(2026, 9, 30), 6), "minutes_overdue", Meeting)
    assert warned(at(D(2026, 9, 29), 22), "minutes_overdue", Meeting) == {}


def test_minutes_overdue_leaves_out_cancelled_meetings_and_other_cases(time_machine, world):
    """A cancelled meeting takes no minutes; a request no longer open is not watched; a
    kick-off of a request 已立項 and a standing meeting of no request are."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    cancelled = make_meeting(world, request, day=MONDAY, state=MeetingState.CANCELLED)
    approved, _tasks = under_way(make_world(world.pmo), sign=False)
    kickoff = make_meeting(world, approved, day=MONDAY)
    closed, _tasks = under_way(make_world(world.pmo))
    not_open = make_meeting(world, closed, day=MONDAY)
    CollabRequest.objects.filter(pk=closed.pk).update(state=RequestState.CANCELLED)
    standing = make_meeting(world, None, day=MONDAY)
    found = warned(at(D(2026, 3, 6), 6), "minutes_overdue", Meeting)
    assert set(found) == {standing.pk, kickoff.pk}
    assert cancelled.pk not in found and not_open.pk not in found
