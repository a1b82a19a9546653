"""Each warning rule of DOMAIN §4, at fixed moments in Asia/Taipei time.

Time is set with time-machine: the cases are built through the services at one
moment (so started_at, submitted_at and the review due dates are what they would be)
and the rules are asked at later moments with collab.warnings.collect(now=...), or run
with collab.warnings.run(now=...) where the period (a new warning each day, once per
due time) matters.

Dates are 2026. Monday 2 March starts a plain week (Sat 7, Sun 8 March); Friday 25 and
Monday 28 September are Taiwan public holidays (Mid-Autumn, Teachers' Day) on either
side of a weekend. A guard test checks the holidays package still says so.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays
import pytest
from django.utils import translation

from collab import calendar
from collab import warnings as engine
from collab.models import (
    CalendarDay,
    Delegation,
    Department,
    User,
    WarningItem,
    WarningRule,
)
from requests_app import services as request_services
from requests_app.models import DepartmentReview
from requests_app.warnings import recompute_review_due_dates
from tasks_app import services as task_services
from tasks_app.models import Task
from tests.factories import (
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_request,
    make_task,
)
from tests.helpers import assert_constant_queries
from tests.review_acceptance_fixtures import pass_every_seat

TPE = ZoneInfo("Asia/Taipei")
D = dt.date

pytestmark = pytest.mark.django_db


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    """Return an aware datetime at hour:minute Taipei time on `day`."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TPE)


def due(day: dt.date) -> dt.datetime:
    """A task's due time on `day`: 17:00 local, as the task form defaults."""
    return task_services.due_at(day)


# --- the world the cases live in --------------------------------------------------------


@dataclass
class World:
    """Two departments of a request and the people who play each role in it."""

    mkt: Department
    tech: Department
    head: User  # 市場部's head: the tasks' responsible department
    tech_head: User
    owner: User  # R of every task
    accountable: User  # A of every task
    initiator: User
    pmo: User

    def start(self, *specs: dict, sign: bool = True) -> dict[str, Task]:
        """Create an approved request with these tasks; with sign, every head signs
        and the request goes 進行中. Each spec: name, due, and any task field."""
        req = make_approved_request(
            initiator=self.initiator,
            departments=[self.mkt, self.tech],
            lead=self.mkt,
            pmo=self.pmo,
            committed="",
        )
        made = {}
        for spec in specs:
            spec = dict(spec)
            name = spec.pop("name")
            made[name] = make_task(
                request=req,
                responsible=spec.pop("R", self.owner),
                accountable=spec.pop("A", self.accountable),
                department=self.mkt,
                name=name,
                due_at=spec.pop("due"),
                **spec,
            )
        if sign:
            task_services.breakdown_sign(request=req, by=self.head, department=self.mkt)
            task_services.breakdown_sign(request=req, by=self.tech_head, department=self.tech)
        return {name: Task.objects.get(pk=task.pk) for name, task in made.items()}

    def begin(self, task: Task) -> Task:
        return task_services.task_start(task=task, by=self.owner)

    def submit(self, task: Task) -> Task:
        return task_services.task_submit(task=task, by=self.owner, completion_note="已交付")

    def people(self, *roles: str) -> set[int]:
        by_role = {
            "R": self.owner,
            "A": self.accountable,
            "head": self.head,
            "initiator": self.initiator,
            "pmo": self.pmo,
        }
        return {by_role[role].pk for role in roles}


_worlds = itertools.count(1)


def make_world(pmo: User) -> World:
    """Make the two departments (unique names: 市場部1, 市場部2, …) and their people."""
    n = next(_worlds)
    mkt = DepartmentFactory(name=f"市場部{n}")
    tech = DepartmentFactory(name=f"技術部{n}")
    head = UserFactory(department=mkt, full_name="林美玲")
    mkt.heads.add(head)
    tech_head = UserFactory(department=tech, full_name="蔡宗翰")
    tech.heads.add(tech_head)
    return World(
        mkt=mkt,
        tech=tech,
        head=head,
        tech_head=tech_head,
        owner=UserFactory(department=mkt, full_name="陳怡君"),
        accountable=UserFactory(department=mkt, full_name="王雅婷"),
        initiator=UserFactory(department=mkt, full_name="黃淑芬"),
        pmo=pmo,
    )


@pytest.fixture
def world(pmo) -> World:
    return make_world(pmo)


def found(now: dt.datetime, code: str, cadences=(engine.DAILY, engine.HOURLY)) -> dict:
    """Return {object id: {recipient ids}} of what rule `code` finds at `now`."""
    hits: dict[int, set[int]] = {}
    for item in engine.collect(now=now, cadences=cadences):
        if item.rule == code:
            hits.setdefault(item.object_id, set()).add(item.recipient_id)
    return hits


def rule(code: str, **changes) -> None:
    """Change the administrator's row of a rule, as the admin form does."""
    engine.rules_ensure()
    assert WarningRule.objects.filter(code=code).update(**changes) == 1


def test_the_dates_used_here_are_what_the_holidays_package_says():
    """Guard the fixtures: 9/25 and 9/28 are TW holidays, early March has none."""
    tw = holidays.TW(years=2026)
    assert D(2026, 9, 25) in tw and D(2026, 9, 28) in tw
    for day in (D(2026, 3, 2), D(2026, 3, 6), D(2026, 3, 9), D(2026, 9, 24), D(2026, 9, 29)):
        assert day not in tw and day.weekday() < 5, day
    assert D(2026, 3, 2).weekday() == 0 and D(2026, 9, 21).weekday() == 0


# --- due soon ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "warned"),
    [
        (D(2026, 3, 3), set()),  # Tue: Mon 3/9 is 4 working days away
        (D(2026, 3, 4), {"urgent"}),  # Wed + 3 working days = Mon
        (D(2026, 3, 5), {"urgent", "important"}),  # Thu + 2 = Mon
        (D(2026, 3, 6), {"urgent", "important", "normal"}),  # Fri + 1 = Mon (weekend)
        (D(2026, 3, 7), {"urgent", "important", "normal"}),  # Sat: still within
        (D(2026, 3, 9), {"urgent", "important", "normal"}),  # the day itself, before 17:00
        (D(2026, 3, 10), set()),  # past due: that is the overdue rule's
    ],
)
def test_due_soon_window_depends_on_importance_across_a_weekend(time_machine, world, today, warned):
    """Normal tasks warn 1 working day ahead, important 2, urgent 3; weekends don't count."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    tasks = world.start(
        *(
            {"name": level, "due": due(D(2026, 3, 9)), "importance": level}
            for level in ("normal", "important", "urgent")
        )
    )
    hits = found(at(today, 6), "task_due_soon")
    assert {name for name, task in tasks.items() if task.pk in hits} == warned


def test_due_soon_skips_taiwan_public_holidays(time_machine, world):
    """Thu 9/24 is 1 working day before Tue 9/29: Fri 9/25 and Mon 9/28 are holidays."""
    time_machine.move_to(at(D(2026, 9, 21)), tick=False)
    tasks = world.start(
        {"name": "normal", "due": due(D(2026, 9, 29))},
        {"name": "urgent", "due": due(D(2026, 10, 2)), "importance": "urgent"},
    )
    normal, urgent = tasks["normal"].pk, tasks["urgent"].pk
    assert normal not in found(at(D(2026, 9, 23), 6), "task_due_soon")
    assert normal in found(at(D(2026, 9, 24), 6), "task_due_soon")
    # Urgent, due Fri 10/2: Tue 9/29 + 3 working days = Fri 10/2; Thu 9/24 + 3 = Thu 10/1.
    assert urgent not in found(at(D(2026, 9, 24), 6), "task_due_soon")
    assert urgent in found(at(D(2026, 9, 29), 6), "task_due_soon")


def test_due_soon_follows_the_administrators_calendar(time_machine, world):
    """A 補班 Saturday counts as the working day before Monday; an extra holiday doesn't."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    tasks = world.start(
        {"name": "monday", "due": due(D(2026, 3, 9))},
        {"name": "friday", "due": due(D(2026, 3, 6))},
    )
    monday, friday = tasks["monday"].pk, tasks["friday"].pk
    assert monday in found(at(D(2026, 3, 6), 6), "task_due_soon")

    calendar.calendar_day_save(day=D(2026, 3, 7), is_workday=True, name="補班")
    # Friday + 1 working day is now the Saturday: Monday is 2 working days away.
    assert monday not in found(at(D(2026, 3, 6), 6), "task_due_soon")
    assert monday in found(at(D(2026, 3, 7), 6), "task_due_soon")
    calendar.calendar_day_delete(day=D(2026, 3, 7))
    assert monday in found(at(D(2026, 3, 6), 6), "task_due_soon")

    # A typhoon day on Thursday: on Wednesday, Friday is the next working day.
    assert friday not in found(at(D(2026, 3, 4), 6), "task_due_soon")
    calendar.calendar_day_save(day=D(2026, 3, 5), is_workday=False, name="颱風假")
    assert friday in found(at(D(2026, 3, 4), 6), "task_due_soon")


def test_due_soon_goes_to_owner_head_and_initiator_with_the_task_in_the_text(time_machine, world):
    """DOMAIN §4: the owner (R), their head and the initiator; not A by default."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.start({"name": "主視覺圖初稿", "due": due(D(2026, 3, 9))})["主視覺圖初稿"]
    task = world.begin(task)
    task_services.progress_log(task=task, by=world.owner, percent=50, done="完成草圖")
    items = [
        i
        for i in engine.collect(now=at(D(2026, 3, 6), 6), cadences=("daily",))
        if i.rule == "task_due_soon"
    ]
    assert {i.recipient_id for i in items} == world.people("R", "head", "initiator")
    text = items[0].text
    assert "主視覺圖初稿" in text and task.number in text
    assert "3月9日 17:00" in text and "50%" in text
    assert items[0].url == task.get_absolute_url()
    assert {i.period for i in items} == {"2026-03-06"}


# --- stale -----------------------------------------------------------------------------------


def test_stale_counts_from_the_start_when_nothing_was_ever_logged(time_machine, world):
    """Started Mon 09:00 with no update: not stale Thu 08:00, stale Thu 10:00 (3 days)."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    tasks = world.start(
        {"name": "started", "due": due(D(2026, 3, 31))},
        {"name": "never started", "due": due(D(2026, 3, 31))},
    )
    world.begin(tasks["started"])
    assert found(at(D(2026, 3, 5), 8), "task_stale") == {}
    hits = found(at(D(2026, 3, 5), 10), "task_stale")
    assert set(hits) == {tasks["started"].pk}  # a task still 待執行 is not stale
    assert hits[tasks["started"].pk] == world.people("R", "head", "initiator")


def test_stale_counts_from_the_last_progress_update(time_machine, world):
    """An update on Tuesday resets the clock: stale only from Friday 09:00."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.begin(world.start({"name": "t", "due": due(D(2026, 3, 31))})["t"])
    time_machine.move_to(at(D(2026, 3, 3)), tick=False)
    task_services.progress_log(task=task, by=world.owner, percent=30, done="完成訪談")
    assert found(at(D(2026, 3, 5), 10), "task_stale") == {}
    assert task.pk not in found(at(D(2026, 3, 6), 8), "task_stale")
    items = [
        i
        for i in engine.collect(now=at(D(2026, 3, 6), 10), cadences=("daily",))
        if i.rule == "task_stale"
    ]
    assert {i.object_id for i in items} == {task.pk}
    assert "3" in items[0].text and "30%" in items[0].text


def test_stale_threshold_is_the_rule_rows(time_machine, world):
    """The administrator raises the threshold to 5 working days: Thursday is no longer
    stale, nor the weekend (5 calendar days), but Monday 09:00 is."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.begin(world.start({"name": "t", "due": due(D(2026, 3, 31))})["t"])
    assert task.pk in found(at(D(2026, 3, 5), 10), "task_stale")
    rule("task_stale", days=5)
    assert found(at(D(2026, 3, 5), 10), "task_stale") == {}
    assert found(at(D(2026, 3, 7), 10), "task_stale") == {}
    assert found(at(D(2026, 3, 9), 8), "task_stale") == {}
    assert task.pk in found(at(D(2026, 3, 9), 10), "task_stale")


def test_stale_threshold_per_importance(time_machine, world):
    """An urgent task may go 1 working day without an update, an important one 2, when
    the administrator says so; normal tasks keep the rule's days (3)."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    tasks = world.start(
        *(
            {"name": level, "due": due(D(2026, 3, 31)), "importance": level}
            for level in ("normal", "important", "urgent")
        )
    )
    for task in tasks.values():
        world.begin(task)
    rule("task_stale", important_days=2, urgent_days=1)
    named = {task.pk: name for name, task in tasks.items()}

    def stale(now):
        return {named[pk] for pk in found(now, "task_stale")}

    assert stale(at(D(2026, 3, 3), 8)) == set()
    assert stale(at(D(2026, 3, 3), 10)) == {"urgent"}
    assert stale(at(D(2026, 3, 4), 10)) == {"urgent", "important"}
    assert stale(at(D(2026, 3, 5), 10)) == {"urgent", "important", "normal"}


# --- overdue ---------------------------------------------------------------------------------


def _items(code: str) -> list[WarningItem]:
    return list(WarningItem.objects.filter(rule=code).order_by("period", "recipient_id"))


def test_overdue_warns_the_head_again_every_taipei_day(time_machine, world):
    """Each Taipei day the task stays overdue is a new period, so a new warning."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.start({"name": "t", "due": due(D(2026, 3, 4))})["t"]
    assert found(at(D(2026, 3, 4), 16), "task_overdue") == {}
    # 01:00 Taipei on 3/5 is 3/4 in UTC, 23:00 Taipei on 3/5 is 3/5 in UTC: one Taipei day.
    engine.run(now=at(D(2026, 3, 5), 1))
    engine.run(now=at(D(2026, 3, 5), 23))
    assert [
        (i.period, i.object_id) for i in _items("task_overdue") if i.recipient == world.head
    ] == [("2026-03-05", task.pk)]
    engine.run(now=at(D(2026, 3, 6), 0, 30))  # half an hour into the next Taipei day
    engine.run(now=at(D(2026, 3, 9), 6))  # and again after the weekend... every day
    head_periods = [i.period for i in _items("task_overdue") if i.recipient == world.head]
    assert head_periods == ["2026-03-05", "2026-03-06", "2026-03-09"]
    assert {i.recipient_id for i in _items("task_overdue")} == world.people(
        "R", "head", "initiator"
    )


def test_overdue_text_says_how_many_days(time_machine, world):
    """The overdue text names the task, its due time and the days overdue in Taipei days."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.start({"name": "延誤的任務", "due": due(D(2026, 3, 4))})["延誤的任務"]
    items = [
        i
        for i in engine.collect(now=at(D(2026, 3, 7), 6), cadences=("daily",))
        if i.rule == "task_overdue"
    ]
    assert items and all(i.object_id == task.pk for i in items)
    assert "延誤的任務" in items[0].text and "3月4日 17:00" in items[0].text
    # Due Wed 3/4, now Sat 3/7: three days overdue.
    task.refresh_from_db()
    assert items[0].text == (
        f"任務「延誤的任務」（{task.number}）已於3月4日 17:00截止，已延期3天，"
        f"當前進度{task.progress_percent}%。"
    )


def test_texts_are_plain_text_not_html(time_machine, world):
    """A name with &, < and quotes reaches the text as written: the digest's HTML part
    escapes it once, when it is shown."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    name = '報價 & <規格> "A"'
    task = world.start({"name": name, "due": due(D(2026, 3, 4))})[name]
    (text,) = {
        i.text
        for i in engine.collect(now=at(D(2026, 3, 7), 6), cadences=("daily",))
        if i.rule == "task_overdue" and i.object_id == task.pk
    }
    assert f"「{name}」" in text and "&amp;" not in text


def test_delivered_tasks_are_not_overdue(time_machine, world):
    """Submitted (awaiting acceptance) and done tasks are never overdue, stale or due soon."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    tasks = world.start(
        {"name": "submitted", "due": due(D(2026, 3, 4))},
        {"name": "done", "due": due(D(2026, 3, 4))},
    )
    world.submit(world.begin(tasks["submitted"]))
    done = world.submit(world.begin(tasks["done"]))
    pass_every_seat(done)
    for code in ("task_overdue", "task_stale", "task_due_soon", "task_last_hours"):
        for moment in (at(D(2026, 3, 4), 12), at(D(2026, 3, 6), 6), at(D(2026, 3, 20), 6)):
            hits = found(moment, code)
            assert tasks["submitted"].pk not in hits, (code, moment)
            assert tasks["done"].pk not in hits, (code, moment)


# --- last hours ------------------------------------------------------------------------------


def test_last_hours_warns_once_per_task_and_due_time(time_machine, world):
    """Hourly at :05: first within 6 h at 11:05, then not again at 12:05 … 16:05."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    tasks = world.start(
        {"name": "todo", "due": due(D(2026, 3, 9))},
        {"name": "started", "due": due(D(2026, 3, 9))},
    )
    world.begin(tasks["started"])
    assert found(at(D(2026, 3, 9), 10, 5), "task_last_hours") == {}
    counts = []
    for hour in range(11, 17):  # six hourly runs inside the last six hours
        result = engine.run(now=at(D(2026, 3, 9), hour, 5), cadences=(engine.HOURLY,))
        counts.append(len(result.items))
    assert counts == [4, 0, 0, 0, 0, 0]  # two tasks × (R, head)
    items = _items("task_last_hours")
    assert {i.object_id for i in items} == {t.pk for t in tasks.values()}
    assert {i.recipient_id for i in items} == world.people("R", "head")  # escalated to head
    assert {i.period for i in items} == {"due 2026-03-09T17:00"}


def test_last_hours_is_hourly_only_and_skips_submitted_tasks(time_machine, world):
    """Last hours belongs to the hourly scan only, and a delivered task is not chased."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    tasks = world.start(
        {"name": "late", "due": due(D(2026, 3, 9))},
        {"name": "delivered", "due": due(D(2026, 3, 9))},
    )
    world.submit(world.begin(tasks["delivered"]))
    moment = at(D(2026, 3, 9), 12, 5)
    assert found(moment, "task_last_hours", cadences=(engine.DAILY,)) == {}
    assert set(found(moment, "task_last_hours")) == {tasks["late"].pk}


def test_last_hours_warns_again_for_a_new_due_time(time_machine, world):
    """A due date moved (with a reason) is a new deadline: its last hours warn again."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.begin(world.start({"name": "t", "due": due(D(2026, 3, 9))})["t"])
    assert len(engine.run(now=at(D(2026, 3, 9), 12, 5), cadences=(engine.HOURLY,)).items) == 2
    time_machine.move_to(at(D(2026, 3, 9), 12, 30), tick=False)
    task_services.task_change_due(
        task=task,
        by=world.accountable,
        new_due_at=due(D(2026, 3, 10)),
        reason="資料延遲",
        solution="加派人手",
    )
    assert engine.run(now=at(D(2026, 3, 9), 13, 5), cadences=(engine.HOURLY,)).items == []
    assert len(engine.run(now=at(D(2026, 3, 10), 11, 5), cadences=(engine.HOURLY,)).items) == 2


def test_last_hours_window_is_the_rule_rows(time_machine, world):
    """The administrator narrows the window to 2 hours: 12:05 is too early, 15:05 is not."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.begin(world.start({"name": "t", "due": due(D(2026, 3, 9))})["t"])
    assert task.pk in found(at(D(2026, 3, 9), 12, 5), "task_last_hours")
    rule("task_last_hours", hours=2)
    assert found(at(D(2026, 3, 9), 12, 5), "task_last_hours") == {}
    assert task.pk in found(at(D(2026, 3, 9), 15, 5), "task_last_hours")


# --- acceptance overdue ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted", "last_quiet_day", "first_warned_day", "make_up"),
    [
        # Mon → Tue, Wed, Thu are the 3 working days: overdue from Friday.
        (D(2026, 3, 2), D(2026, 3, 5), D(2026, 3, 6), None),
        # Thu → Fri, Mon, Tue: overdue from Wednesday (the weekend doesn't count).
        (D(2026, 3, 5), D(2026, 3, 10), D(2026, 3, 11), None),
        # Thu 9/24 → Tue 9/29, Wed 9/30, Thu 10/1 (Fri 9/25, Mon 9/28 are holidays).
        (D(2026, 9, 24), D(2026, 10, 1), D(2026, 10, 2), None),
        # Thu → Fri, Sat (補班), Mon: overdue from Tuesday.
        (D(2026, 3, 5), D(2026, 3, 9), D(2026, 3, 10), D(2026, 3, 7)),
    ],
)
def test_acceptance_overdue_after_three_working_days(
    time_machine, world, submitted, last_quiet_day, first_warned_day, make_up
):
    """Like a review, acceptance is due 3 working days after submission and warns after,
    to every reviewer still owing an answer: the A, the initiator and the task's head."""
    time_machine.move_to(at(submitted - dt.timedelta(days=3)), tick=False)
    if make_up:
        calendar.calendar_day_save(day=make_up, is_workday=True, name="補班")
    task = world.start({"name": "t", "due": due(submitted + dt.timedelta(days=20))})["t"]
    world.begin(task)
    time_machine.move_to(at(submitted, 16), tick=False)
    world.submit(Task.objects.get(pk=task.pk))
    assert calendar.add_working_days(submitted, 3) == last_quiet_day
    assert found(at(last_quiet_day, 6), "acceptance_overdue") == {}
    hits = found(at(first_warned_day, 6), "acceptance_overdue")
    assert hits == {task.pk: world.people("A", "initiator", "head")}


def test_acceptance_overdue_agrees_with_add_working_days_every_day(time_machine, world):
    """For each submission day over three weeks, warned today ⇔ +3 working days < today."""
    time_machine.move_to(at(D(2026, 9, 14)), tick=False)
    calendar.calendar_day_save(day=D(2026, 9, 19), is_workday=True, name="補班")
    specs = [{"name": f"t{n}", "due": due(D(2026, 10, 30))} for n in range(15)]
    tasks = list(world.start(*specs).values())
    submitted = {}
    for n, task in enumerate(tasks):
        day = D(2026, 9, 14) + dt.timedelta(days=n)
        time_machine.move_to(at(day, 11), tick=False)
        world.submit(world.begin(Task.objects.get(pk=task.pk)))
        submitted[task.pk] = day
    for offset in range(0, 24):
        today = D(2026, 9, 15) + dt.timedelta(days=offset)
        hits = set(found(at(today, 6), "acceptance_overdue"))
        expected = {
            pk
            for pk, day in submitted.items()
            if day < today and calendar.add_working_days(day, 3) < today
        }
        assert hits == expected, today


def test_accepted_deliverables_do_not_warn(time_machine, world):
    """Only the reviewers still owing an answer are warned; once every reviewer passed
    the deliverable, nobody is."""
    from review_app.services import acceptance
    from tests.review_acceptance_fixtures import seat

    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.submit(world.begin(world.start({"name": "t", "due": due(D(2026, 3, 20))})["t"]))
    assert found(at(D(2026, 3, 9), 6), "acceptance_overdue") == {
        task.pk: world.people("A", "initiator", "head")
    }
    acceptance.acceptance_answer(
        verdict=seat(task, person=world.accountable), by=world.accountable, decision="passed"
    )
    assert found(at(D(2026, 3, 9), 6), "acceptance_overdue") == {
        task.pk: world.people("initiator", "head")
    }
    pass_every_seat(task)
    assert found(at(D(2026, 3, 9), 6), "acceptance_overdue") == {}


# --- collaboration asks ----------------------------------------------------------------------


def test_ask_overdue_after_its_expected_date(time_machine, world):
    """The person (or department heads) asked, and the asker, hear of it the day after."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.begin(world.start({"name": "t", "due": due(D(2026, 3, 31))})["t"])
    helper = UserFactory(department=world.tech)
    to_person = task_services.ask_create(
        task=task,
        by=world.owner,
        content="請提供 API 文件",
        expected_date=D(2026, 3, 4),
        to_user=world.tech_head,
    )
    to_department = task_services.ask_create(
        task=task,
        by=world.owner,
        content="請協助測試",
        expected_date=D(2026, 3, 4),
        to_department=world.tech,
    )
    answered = task_services.ask_create(
        task=task,
        by=world.owner,
        content="請確認預算",
        expected_date=D(2026, 3, 4),
        to_department=world.tech,
    )
    task_services.ask_answer(ask=answered, by=helper, answer="已確認")
    assert found(at(D(2026, 3, 4), 6), "ask_overdue") == {}
    hits = found(at(D(2026, 3, 5), 6), "ask_overdue")
    assert hits == {
        to_person.pk: {world.tech_head.pk, world.owner.pk},
        to_department.pk: {world.tech_head.pk, world.owner.pk},
    }
    items = [
        i
        for i in engine.collect(now=at(D(2026, 3, 5), 6), cadences=("daily",))
        if i.rule == "ask_overdue"
    ]
    assert all(task.number in i.text and i.url == task.get_absolute_url() for i in items)
    task_services.ask_close(ask=to_person, by=world.owner)
    assert set(found(at(D(2026, 3, 5), 6), "ask_overdue")) == {to_department.pk}


def test_asks_of_a_cancelled_request_do_not_warn(time_machine, world):
    """An open ask on a cancelled request's task is no longer chased."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.begin(world.start({"name": "t", "due": due(D(2026, 3, 31))})["t"])
    ask = task_services.ask_create(
        task=task,
        by=world.owner,
        content="請提供資料",
        expected_date=D(2026, 3, 4),
        to_user=world.tech_head,
    )
    assert ask.pk in found(at(D(2026, 3, 5), 6), "ask_overdue")
    request_services.request_cancel(request=task.request, by=world.initiator, reason="預算取消")
    assert found(at(D(2026, 3, 5), 6), "ask_overdue") == {}


def test_asks_of_an_accepted_task_do_not_warn(time_machine, world):
    """Once the task is done, help asked for it is no longer chased."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.begin(world.start({"name": "t", "due": due(D(2026, 3, 31))})["t"])
    ask = task_services.ask_create(
        task=task,
        by=world.owner,
        content="請提供資料",
        expected_date=D(2026, 3, 4),
        to_department=world.tech,
    )
    task = world.submit(task)
    assert ask.pk in found(at(D(2026, 3, 5), 6), "ask_overdue")  # awaiting acceptance
    pass_every_seat(task)
    assert found(at(D(2026, 3, 5), 6), "ask_overdue") == {}


# --- review overdue --------------------------------------------------------------------------


def _submitted_request(world: World, day: dt.date):
    req = make_request(
        initiator=world.initiator,
        departments=[world.mkt, world.tech],
        lead=world.mkt,
        expected_completion=day + dt.timedelta(days=60),
    )
    return request_services.request_submit(request=req, by=world.initiator)


def test_review_overdue_after_the_stored_due_date_to_heads_deputies_and_pmo(time_machine, world):
    """Submitted Mon 3/2 → due Thu 3/5; from Fri the heads, their deputies and PMO hear."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    deputy = UserFactory(department=world.tech)
    Delegation.objects.create(
        head=world.tech_head,
        deputy=deputy,
        start_date=D(2026, 3, 1),
        end_date=D(2026, 3, 31),
        reason="出差",
    )
    elsewhere = UserFactory(department=world.tech)  # acting for another department only
    Delegation.objects.create(
        head=world.tech_head,
        deputy=elsewhere,
        department=DepartmentFactory(),
        start_date=D(2026, 3, 1),
        end_date=D(2026, 3, 31),
        reason="出差",
    )
    lapsed = UserFactory(department=world.mkt)  # the delegation ended before
    Delegation.objects.create(
        head=world.head,
        deputy=lapsed,
        start_date=D(2026, 2, 1),
        end_date=D(2026, 3, 1),
        reason="休假",
    )
    req = _submitted_request(world, D(2026, 3, 2))
    reviews = {r.department_id: r for r in req.reviews.all()}
    assert {r.due_date for r in reviews.values()} == {D(2026, 3, 5)}
    assert found(at(D(2026, 3, 5), 6), "review_overdue") == {}
    hits = found(at(D(2026, 3, 6), 6), "review_overdue")
    assert hits == {
        reviews[world.mkt.pk].pk: {world.head.pk, world.pmo.pk},
        reviews[world.tech.pk].pk: {world.tech_head.pk, deputy.pk, world.pmo.pk},
    }
    # The technology head answers: only 市場部's review is still overdue.
    request_services.review_decide(
        review=reviews[world.tech.pk], by=world.tech_head, approve=True, committed_tasks="API"
    )
    items = [
        i
        for i in engine.collect(now=at(D(2026, 3, 6), 6), cadences=("daily",))
        if i.rule == "review_overdue"
    ]
    assert {i.object_id for i in items} == {reviews[world.mkt.pk].pk}
    assert req.number in items[0].text and world.mkt.name in items[0].text
    assert items[0].url == req.get_absolute_url()


def test_review_overdue_only_for_the_current_round_of_a_pending_request(time_machine, world):
    """A cancelled request's reviews (superseded) never warn."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    req = _submitted_request(world, D(2026, 3, 2))
    assert len(found(at(D(2026, 3, 6), 6), "review_overdue")) == 2
    request_services.request_cancel(request=req, by=world.initiator, reason="不再需要")
    assert found(at(D(2026, 3, 6), 6), "review_overdue") == {}


def test_make_up_workday_moves_an_open_reviews_due_date_and_back(time_machine, world):
    """Submitted Fri 3/6: due Wed 3/11; a 補班 on Sat 3/7 makes it Tue 3/10; removing
    the 補班 puts it back. The warning follows the stored date. Answered reviews stay."""
    time_machine.move_to(at(D(2026, 3, 6), 10), tick=False)
    req = _submitted_request(world, D(2026, 3, 6))
    answered = req.reviews.get(department=world.tech)
    request_services.review_decide(
        review=answered, by=world.tech_head, approve=True, committed_tasks="API"
    )
    open_review = req.reviews.get(department=world.mkt)
    assert open_review.due_date == D(2026, 3, 11)
    assert found(at(D(2026, 3, 11), 6), "review_overdue") == {}

    time_machine.move_to(at(D(2026, 3, 9), 10), tick=False)  # the admin enters it later
    calendar.calendar_day_save(day=D(2026, 3, 7), is_workday=True, name="補班")
    open_review.refresh_from_db()
    answered.refresh_from_db()
    assert open_review.due_date == D(2026, 3, 10)
    assert answered.due_date == D(2026, 3, 11)
    assert set(found(at(D(2026, 3, 11), 6), "review_overdue")) == {open_review.pk}

    calendar.calendar_day_delete(day=D(2026, 3, 7))
    open_review.refresh_from_db()
    assert open_review.due_date == D(2026, 3, 11)
    assert found(at(D(2026, 3, 11), 6), "review_overdue") == {}


def test_recomputing_due_dates_takes_as_many_queries_for_many_reviews(time_machine, world):
    """Saving a calendar day recomputes every open review: not one query per review."""
    time_machine.move_to(at(D(2026, 3, 6), 10), tick=False)
    make_up = D(2026, 3, 7)

    def make_rows(n):
        # New reviews submitted before the 補班 was known: due Wed 3/11.
        CalendarDay.objects.filter(date=make_up).delete()
        for _ in range(n):
            _submitted_request(world, D(2026, 3, 6))
        CalendarDay.objects.create(date=make_up, is_workday=True, name="補班")

    assert_constant_queries(make_rows, recompute_review_due_dates, small=1, large=5)
    pending = DepartmentReview.objects.filter(decision="pending")
    assert pending.count() == 10
    assert set(pending.values_list("due_date", flat=True)) == {D(2026, 3, 10)}


# --- what never warns, and the administrator's switches --------------------------------------


def test_tasks_of_a_request_not_started_or_cancelled_never_warn(time_machine, world):
    """Tasks warn only while their request is 進行中: not before every head signed,
    not after it was cancelled."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    waiting = world.start({"name": "unsigned", "due": due(D(2026, 3, 4))}, sign=False)
    running = world.start(
        {"name": "overdue", "due": due(D(2026, 3, 4))},
        {"name": "due soon", "due": due(D(2026, 3, 6))},
        {"name": "stale", "due": due(D(2026, 3, 31))},
        {"name": "delivered", "due": due(D(2026, 3, 31))},
    )
    world.begin(running["stale"])
    world.submit(world.begin(running["delivered"]))
    moment = at(D(2026, 3, 6), 12)  # Friday: each running task hits one rule
    everything = {i.object_id for i in engine.collect(now=moment, cadences=("daily", "hourly"))}
    assert waiting["unsigned"].pk not in everything
    assert {t.pk for t in running.values()} <= everything
    request_services.request_cancel(
        request=running["overdue"].request, by=world.initiator, reason="專案取消"
    )
    assert engine.collect(now=moment, cadences=("daily", "hourly")) == []


def test_inactive_rule_finds_nothing(time_machine, world):
    """A rule switched off in admin finds nothing and the run records nothing."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.start({"name": "t", "due": due(D(2026, 3, 4))})["t"]
    assert task.pk in found(at(D(2026, 3, 6), 6), "task_overdue")
    rule("task_overdue", is_active=False)
    assert found(at(D(2026, 3, 6), 6), "task_overdue") == {}
    assert engine.run(now=at(D(2026, 3, 6), 6)).items == []


def test_recipients_are_the_rule_rows(time_machine, world):
    """Untick the head, tick A and PMO: the same hit goes to other people."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.start({"name": "t", "due": due(D(2026, 3, 4))})["t"]
    assert found(at(D(2026, 3, 6), 6), "task_overdue") == {
        task.pk: world.people("R", "head", "initiator")
    }
    rule("task_overdue", to_head=False, to_accountable=True, to_pmo=True)
    assert found(at(D(2026, 3, 6), 6), "task_overdue") == {
        task.pk: world.people("R", "A", "initiator", "pmo")
    }


def test_due_soon_thresholds_are_the_rule_rows(time_machine, world):
    """Normal tasks warned 3 working days ahead once the administrator says so."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.start({"name": "t", "due": due(D(2026, 3, 9))})["t"]
    assert task.pk not in found(at(D(2026, 3, 4), 6), "task_due_soon")
    rule("task_due_soon", days=3)
    assert task.pk in found(at(D(2026, 3, 4), 6), "task_due_soon")


def test_inactive_people_are_not_recipients(time_machine, world):
    """A deactivated account is never a recipient, whatever its role."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    task = world.start({"name": "t", "due": due(D(2026, 3, 4))})["t"]
    User.objects.filter(pk=world.initiator.pk).update(is_active=False)
    assert found(at(D(2026, 3, 6), 6), "task_overdue") == {task.pk: world.people("R", "head")}


def test_every_registered_rule_has_an_admin_row_and_a_text():
    """The admin can see and edit each rule; each has its item template."""

    rows = engine.rules_ensure()
    assert (
        set(rows)
        == set(engine.registry())
        >= {
            "task_due_soon",
            "task_stale",
            "task_overdue",
            "task_last_hours",
            "acceptance_overdue",
            "ask_overdue",
            "review_overdue",
        }
    )
    # Every rule's text is in the zh-Hant catalog (singular and plural forms).
    for code, spec in engine.registry().items():
        for n in (1, 2) if spec.count else (None,):
            with translation.override("en"):
                english = spec.message(n)
            with translation.override("zh-hant"):
                chinese = spec.message(n)
            assert chinese != english and re.search(r"[\u4e00-\u9fff]", chinese), code
