"""Meetings and action items on the existing pages (issue 15 §3, §6).

- 我的任務: "My action items", with a task's state, progress and timing badges
  (tasks_app.deadlines' verdicts on the action item), in a fixed number of queries;
- the request's board: its meetings' filed action items next to its tasks;
- the to-do page: minutes to write (with their due date), action items to confirm, my
  open action items;
- the PMO dashboard: meetings held, minutes filed on time, action items open / late /
  escalated per department, for the dashboard's period and scope;
- the case page: the "Meetings and minutes" card, also on an archived case (read-only).

The clock is Wednesday 11 March 2026, 10:00 Taipei (time-machine); no holiday in March.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from collab.calendar import WorkingDays
from meetings_app import metrics
from meetings_app.choices import ActionState, MeetingState, MinutesState
from meetings_app.models import ActionItem, Meeting, Minutes
from review_app.services import archive as archive_services
from tasks_app.deadlines import Deadlines
from tests.factories import UserFactory
from tests.helpers import assert_constant_queries, count_queries
from tests.review_archive_fixtures import quick_archived_case
from tests.test_meetings_warnings import make_action, make_meeting, under_way
from tests.test_warning_rules import World, at, due, make_world

pytestmark = pytest.mark.django_db

D = dt.date
MONDAY = D(2026, 3, 2)
NOW = at(D(2026, 3, 11), 10)


@pytest.fixture
def world(pmo) -> World:
    return make_world(pmo)


def _section(html: str, pattern: str) -> str:
    match = re.search(pattern, html, re.S)
    assert match, pattern
    return match.group(0)


def _badges(html: str) -> set[str]:
    return set(re.findall(r'data-badge="([\w-]+)"', html))


def _verdicts(action: ActionItem) -> set[str]:
    """The badges tasks_app.deadlines gives the action item now, as the pages name them."""
    b = Deadlines().badges(action)
    shown = {"overdue": b.overdue, "behind": b.behind, "due-soon": b.due_soon, "stale": b.stale}
    return {name for name, on in shown.items() if on}


@pytest.fixture
def scene(world, time_machine):
    """A request under way, a meeting on Monday 3/2 organised by the world's A, and the
    owner's action items in every timing case; the clock then at NOW."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    meeting = make_meeting(world, request, day=MONDAY, hour=10, topic="新品上市週例會")
    in_progress = {"state": ActionState.IN_PROGRESS, "started_at": at(MONDAY, 11)}
    actions = {
        "overdue": make_action(meeting, world.owner, due_at=due(D(2026, 3, 9)), description="逾期"),
        "due soon": make_action(
            meeting, world.owner, due_at=due(D(2026, 3, 12)), description="將到期項",
            progress_percent=80, last_progress_at=at(D(2026, 3, 11), 9), **in_progress,
        ),
        "stale": make_action(
            meeting, world.owner, due_at=due(D(2026, 3, 31)), description="停滯項",
            progress_percent=50, last_progress_at=at(D(2026, 3, 5), 9), **in_progress,
        ),
        "submitted": make_action(
            meeting, world.owner, due_at=due(D(2026, 3, 20)), description="待確認項",
            state=ActionState.SUBMITTED, submitted_at=at(D(2026, 3, 10), 9), progress_percent=100,
        ),
    }  # fmt: skip
    past = due(D(2026, 3, 9))
    others = {
        "done": make_action(meeting, world.owner, due_at=past, state=ActionState.DONE),
        "draft": make_action(meeting, world.owner, due_at=past, state=ActionState.DRAFT),
        "someone else's": make_action(meeting, world.accountable, due_at=past),
    }
    time_machine.move_to(NOW, tick=False)
    return request, meeting, actions, others


# --- 我的任務 ---------------------------------------------------------------------------


def test_my_tasks_lists_my_open_action_items_with_the_task_badges(scene, world, client_for):
    """Each open item I own has a card with its meeting and the badges deadlines gives
    it (延期 / due soon / stale as a task's); done, draft and others' items are not
    listed; the tab counts them with my tasks."""
    request, meeting, actions, others = scene
    response = client_for(world.owner).get(reverse("tasks_app:mine"))
    html = response.content.decode()
    section = _section(html, r'<section[^>]*id="section-actions".*?</section>')
    for name, action in actions.items():
        card = _section(section, rf'<article[^>]*id="action-card-{action.pk}".*?</article>')
        assert _badges(card) == _verdicts(ActionItem.objects.get(pk=action.pk)), name
        assert meeting.get_absolute_url() in card and request.get_absolute_url() in card
    assert _badges(section) >= {"overdue", "due-soon", "stale"}
    for action in others.values():
        assert f'data-action="{action.pk}"' not in html
    # One task of my own (主視覺圖初稿) and the four items.
    assert response.context["open_count"] == 1 + len(actions)
    assert response.context["late_count"] == 1  # the overdue item (and 滯後)


def test_my_tasks_query_count_does_not_grow_with_action_items(world, time_machine, client_for):
    """1 item or 5: the same queries."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    meeting = make_meeting(world, request, day=MONDAY)
    time_machine.move_to(NOW, tick=False)
    client = client_for(world.owner)

    def make_rows(n):
        for _ in range(n):
            make_action(meeting, world.owner, due_at=due(D(2026, 3, 9)))

    assert_constant_queries(
        make_rows, lambda: client.get(reverse("tasks_app:mine")), small=1, large=5
    )


# --- the board --------------------------------------------------------------------------


def test_the_board_shows_the_requests_action_items_next_to_its_tasks(scene, world, client_for):
    """The filed items of the request's meetings, with their state and badges; not a
    draft's, and not another request's."""
    request, _meeting, actions, others = scene
    elsewhere, _tasks = under_way(make_world(world.pmo))
    stranger = make_action(
        make_meeting(world, elsewhere, day=MONDAY), world.owner, due_at=due(D(2026, 3, 9))
    )
    response = client_for(world.initiator).get(reverse("tasks_app:board", args=[request.pk]))
    html = response.content.decode()
    panel = _section(html, r'<section[^>]*id="board-action-items".*?</section>')
    shown = {int(pk) for pk in re.findall(r'<tr data-action="(\d+)"', panel)}
    expected = {a.pk for a in actions.values()} | {others["done"].pk, others["someone else's"].pk}
    assert shown == expected
    assert stranger.pk not in shown and others["draft"].pk not in shown
    row = _section(panel, rf'<tr data-action="{actions["overdue"].pk}".*?</tr>')
    assert {"overdue"} <= _badges(row) and "board-row-late" in row
    assert 'data-open="5"' in panel  # 4 of mine and someone else's; done is not open
    # The tasks' own headline is untouched.
    assert response.context["board"].totals.total == 1


def test_the_board_query_count_does_not_grow_with_action_items(world, time_machine, client_for):
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    meeting = make_meeting(world, request, day=MONDAY)
    time_machine.move_to(NOW, tick=False)
    client = client_for(world.initiator)
    url = reverse("tasks_app:board", args=[request.pk])

    def make_rows(n):
        for _ in range(n):
            make_action(meeting, UserFactory(department=world.tech), due_at=due(D(2026, 3, 9)))

    assert_constant_queries(make_rows, lambda: client.get(url), small=1, large=4)


# --- the to-do page ---------------------------------------------------------------------


def test_the_todo_page_lists_minutes_to_write_actions_to_confirm_and_my_items(
    scene, world, client_for
):
    """The recorder has Monday's minutes to write (due Wednesday 3/4: late); the
    organiser has the submitted item to confirm; the owner has their items still to
    deliver (not the submitted one: it waits on the organiser)."""
    _request, meeting, actions, _others = scene
    todo = reverse("portfolio_app:todo")

    response = client_for(meeting.recorder).get(todo)
    assert not response.context["empty"]
    html = response.content.decode()
    minutes = _section(html, r'<section[^>]*id="todo-minutes".*?</section>')
    row = _section(minutes, rf'<tr data-meeting="{meeting.pk}".*?</tr>')
    assert 'data-due="overdue"' in row
    assert reverse("meetings_app:minutes", args=[meeting.pk]) in row
    assert "2026-03-04" in row

    html = client_for(world.accountable).get(todo).content.decode()
    confirm = _section(html, r'<section[^>]*id="todo-confirm-actions".*?</section>')
    assert re.findall(r'<tr data-action="(\d+)"', confirm) == [str(actions["submitted"].pk)]

    html = client_for(world.owner).get(todo).content.decode()
    mine = _section(html, r'<section[^>]*id="todo-my-actions".*?</section>')
    listed = {int(pk) for pk in re.findall(r'<tr data-action="(\d+)"', mine)}
    assert listed == {actions[n].pk for n in ("overdue", "due soon", "stale")}
    assert "todo-minutes" not in html and "todo-confirm-actions" not in html

    response = client_for(world.tech_head).get(todo)
    assert response.context["meetings_todo_count"] == 0
    assert 'id="todo-my-actions"' not in response.content.decode()


def test_the_todo_page_query_count_does_not_grow_with_meetings(world, time_machine, client_for):
    """Minutes to write, items to confirm and my own items: 1 of each or 4, the same
    queries."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    me = world.accountable  # organises and records the meetings, owns items
    time_machine.move_to(NOW, tick=False)
    client = client_for(me)

    def make_rows(n):
        for _ in range(n):
            meeting = make_meeting(world, request, day=MONDAY, recorder=me)
            make_action(
                meeting, world.owner, due_at=due(D(2026, 3, 20)), state=ActionState.SUBMITTED,
                submitted_at=at(D(2026, 3, 10), 9),
            )  # fmt: skip
            make_action(meeting, me, due_at=due(D(2026, 3, 9)))

    def fetch():
        response = client.get(reverse("portfolio_app:todo"))
        assert response.context["meetings_todo_count"] > 0

    assert_constant_queries(make_rows, fetch, small=1, large=4)


def test_filing_the_minutes_takes_them_off_the_todo_list(scene, client_for):
    _request, meeting, _actions, _others = scene
    Meeting.objects.filter(pk=meeting.pk).update(
        state=MeetingState.MINUTES_FILED, minutes_filed_at=NOW
    )
    html = client_for(meeting.recorder).get(reverse("portfolio_app:todo")).content.decode()
    assert 'id="todo-minutes"' not in html


# --- the dashboard ------------------------------------------------------------------------


@pytest.fixture
def dashboard_scene(world, time_machine):
    """This quarter's meetings and action items of 市場部 (mkt) and 技術部 (tech).

    Meetings (minutes due by the end of the 2nd working day after):
    - Mon 3/2, mkt and tech, filed Wed 3/4 12:00: on time;
    - Mon 3/2, mkt, filed Thu 3/5 09:00: late;
    - Tue 3/3, mkt, not filed: overdue since Friday;
    - Tue 3/10, mkt, not filed: still within its days (held, not told yet);
    - Wed 3/4, mkt, cancelled; Fri 3/20, mkt, not held yet.
    Action items due in the quarter: mkt overdue (open, late), mkt in progress on
    plan (open), mkt submitted and escalated (open, escalated), tech done after being
    escalated; a mkt draft and a mkt item due in April are not counted.
    """
    time_machine.move_to(at(MONDAY, 8), tick=False)
    request, _tasks = under_way(world)
    mkt, tech = world.mkt, world.tech

    def held(day, hour, *, filed=None, departments=(mkt,), state=MeetingState.SCHEDULED):
        meeting = make_meeting(world, request, day=day, hour=hour, departments=departments)
        if filed is not None:
            state = MeetingState.MINUTES_FILED
        Meeting.objects.filter(pk=meeting.pk).update(state=state, minutes_filed_at=filed)
        return meeting

    meetings = [
        held(MONDAY, 10, filed=at(D(2026, 3, 4), 12), departments=(mkt, tech)),
        held(MONDAY, 14, filed=at(D(2026, 3, 5), 9)),
        held(D(2026, 3, 3), 10),
        held(D(2026, 3, 10), 10),
        held(D(2026, 3, 4), 10, state=MeetingState.CANCELLED),
        held(D(2026, 3, 20), 10),
    ]
    source = meetings[0]
    tech_owner = UserFactory(department=tech)
    started = {"started_at": at(MONDAY, 9), "start_date": MONDAY}
    make_action(source, world.owner, due_at=due(D(2026, 3, 9)))
    make_action(
        source,
        world.owner,
        due_at=due(D(2026, 3, 31)),
        state=ActionState.IN_PROGRESS,
        progress_percent=50,
        **started,
    )
    make_action(
        source,
        world.owner,
        due_at=due(D(2026, 3, 20)),
        state=ActionState.SUBMITTED,
        submitted_at=at(D(2026, 3, 10), 9),
        escalated_at=at(D(2026, 3, 6), 9),
    )
    make_action(
        source,
        tech_owner,
        due_at=due(D(2026, 3, 5)),
        state=ActionState.DONE,
        escalated_at=at(MONDAY, 15),
    )
    make_action(source, world.owner, due_at=due(D(2026, 3, 9)), state=ActionState.DRAFT)
    make_action(source, world.owner, due_at=due(D(2026, 4, 15)))
    time_machine.move_to(NOW, tick=False)
    return meetings  # fmt: skip


def _figures(figures: metrics.Figures) -> tuple:
    return (
        figures.held,
        figures.minutes_told,
        figures.minutes_on_time,
        figures.actions_open,
        figures.actions_late,
        figures.actions_escalated,
    )


def test_the_dashboard_counts_meetings_and_action_items_per_department(
    dashboard_scene, world, client_for
):
    """The PMO sees every department: held, minutes told (filed or overdue), on time,
    and the action items open, late and escalated; the total counts a meeting of two
    departments once."""
    response = client_for(world.pmo).get(reverse("portfolio_app:dashboard"))
    summary = response.context["meetings"]
    rows = {row.department: _figures(row.figures) for row in summary.departments}
    assert rows == {world.mkt: (4, 3, 1, 3, 1, 1), world.tech: (1, 1, 1, 0, 0, 1)}
    assert _figures(summary.total) == (4, 3, 1, 3, 1, 2)
    assert summary.total.on_time_rate == 33.3
    table = _section(response.content.decode(), r'<table[^>]*id="meetings-table".*?</table>')
    row = _section(table, rf'<tr data-department="{world.mkt.pk}">.*?</tr>')
    assert 'data-number="meetings_held">4<' in row
    assert 'data-number="actions_late">1<' in row
    assert "33.3%" in row


def test_a_head_sees_the_meeting_figures_of_their_departments_only(
    dashboard_scene, world, client_for
):
    response = client_for(world.tech_head).get(reverse("portfolio_app:dashboard"))
    summary = response.context["meetings"]
    assert [row.department for row in summary.departments] == [world.tech]
    assert _figures(summary.total) == (1, 1, 1, 0, 0, 1)


def test_the_meeting_figures_take_a_fixed_number_of_queries(dashboard_scene, world):
    """The rule row, the calendar, the meetings' totals, per department, the action items
    per department: 5 queries, for every department or a head's."""
    for scope in (None, (world.tech.pk,)):
        n, _queries = count_queries(
            lambda scope=scope: metrics.department_figures(
                first=D(2026, 1, 1), last=D(2026, 3, 31), department_ids=scope
            )
        )
        assert n == 5, scope


def test_the_minutes_deadline_has_one_definition(world, time_machine):
    """For meetings on every day of three weeks (weekends included): minutes filed at
    the due moment count as on time, a second later as late; unfiled minutes are
    overdue from the day after the due day, not on it."""
    time_machine.move_to(at(MONDAY), tick=False)
    request, _tasks = under_way(world)
    first, last = D(2026, 3, 2), D(2026, 3, 22)
    calendar = WorkingDays(first)
    days = metrics.minutes_days()
    day = first
    while day <= last:
        due_by = metrics.minutes_due_by(calendar, day, days)
        on_time = make_meeting(world, request, day=day)
        Meeting.objects.filter(pk=on_time.pk).update(
            state=MeetingState.MINUTES_FILED, minutes_filed_at=due_by
        )
        late = make_meeting(world, request, day=day)
        Meeting.objects.filter(pk=late.pk).update(
            state=MeetingState.MINUTES_FILED, minutes_filed_at=due_by + dt.timedelta(seconds=1)
        )
        unfiled = make_meeting(world, request, day=day)
        chosen = set(
            Meeting.objects.filter(metrics.minutes_on_time_q(calendar, first, last, days))
            .filter(pk__in=[on_time.pk, late.pk])
            .values_list("pk", flat=True)
        )
        assert chosen == {on_time.pk}, day
        due_day = due_by.date()
        for today, overdue in ((due_day, False), (due_day + dt.timedelta(days=1), True)):
            flagged = Meeting.objects.filter(
                metrics.minutes_overdue_q(calendar, today, days), pk=unfiled.pk
            ).exists()
            assert flagged == overdue, (day, today)
        Meeting.objects.filter(pk__in=[on_time.pk, late.pk, unfiled.pk]).delete()
        day += dt.timedelta(days=1)


# --- the case page ----------------------------------------------------------------------


def _minutes(meeting: Meeting, recorder) -> Minutes:
    Meeting.objects.filter(pk=meeting.pk).update(
        state=MeetingState.MINUTES_FILED, minutes_filed_at=at(MONDAY, 16)
    )
    return Minutes.objects.create(
        meeting=meeting,
        version=1,
        state=MinutesState.FILED,
        drafted_by=recorder,
        filed_by=recorder,
        filed_at=at(MONDAY, 16),
    )


def test_the_case_page_lists_the_meetings_with_their_minutes(scene, world, client_for):
    """Each meeting links to its page and, once filed, to its minutes PDF; whoever takes
    part in the open request may schedule another."""
    request, meeting, _actions, _others = scene
    _minutes(meeting, meeting.recorder)
    later = make_meeting(world, request, day=D(2026, 3, 13), topic="評審會")
    html = (
        client_for(world.initiator)
        .get(reverse("review_app:case", args=[request.pk]))
        .content.decode()
    )
    card = _section(html, r'<section[^>]*id="meetings".*?</section>')
    assert meeting.get_absolute_url() in card and later.get_absolute_url() in card
    assert reverse("meetings_app:minutes-pdf", args=[meeting.pk]) in card
    assert reverse("meetings_app:minutes-pdf", args=[later.pk]) not in card
    assert 'id="meetings-schedule"' in card and 'id="meetings-read-only"' not in card


def test_an_archived_case_shows_its_meetings_read_only(world, pmo, client_for):
    """The archive keeps the meetings and their minutes on the case page; nothing can be
    scheduled any more."""
    req = quick_archived_case(
        initiator=world.initiator, departments=[world.mkt], pmo=pmo, archive=False
    )
    meeting = make_meeting(world, req, day=MONDAY, topic="結案檢討會")
    _minutes(meeting, meeting.recorder)
    req = archive_services.archive_case(request=req, by=pmo).request
    assert req.is_archived
    for user in (world.initiator, pmo):
        html = client_for(user).get(reverse("review_app:case", args=[req.pk])).content.decode()
        card = _section(html, r'<section[^>]*id="meetings".*?</section>')
        assert meeting.get_absolute_url() in card and "結案檢討會" in card
        assert reverse("meetings_app:minutes-pdf", args=[meeting.pk]) in card
        assert 'id="meetings-read-only"' in card and 'id="meetings-schedule"' not in card
