"""One task, every surface, one verdict (issue 14, defect 2).

A task is put in one timing case at a fixed Taipei moment (time-machine): due soon,
stale, overdue (late), behind plan (late), delivered on time but now past due (not
late), and quiet after a weekend (4 calendar days without an update, but not 3 working
days: not stale). Then every surface that says anything about its timing is asked:

- tasks_app.deadlines itself: the check on the task and the queryset condition;
- the badges of the task page, of its 我的任務 card and of the department page row;
- the board: its badges, its bucket and its late total;
- the department page's totals (overdue);
- the PMO dashboard: its late number, its late list and the list behind "late";
- the analysis report: the department's row and the company's late count;
- the nightly warning scan: which task rules fire for it.

They must all agree with the case's verdict. Before issue 14 they did not: the dashboard
left out tasks behind plan, the department totals counted the on-time delivery as
overdue, the warnings counted stale in calendar days and the badges had their own
thresholds.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils import timezone

from collab import calendar
from collab import warnings as engine
from collab.models import WarningRule
from portfolio_app.selectors import analysis
from portfolio_app.selectors import dashboard as portfolio
from tasks_app import services as task_services
from tasks_app.deadlines import Deadlines
from tasks_app.models import Task
from tests.test_warning_rules import World, at, due, make_world

pytestmark = pytest.mark.django_db

D = dt.date
NOW = at(D(2026, 3, 11), 10)  # Wednesday 10:00 Taipei; no holiday in early March
MONDAY = D(2026, 3, 2)
TASK_RULES = {"task_due_soon", "task_stale", "task_overdue", "task_last_hours"}


@dataclass(frozen=True)
class Verdict:
    overdue: bool = False
    behind: bool = False
    due_soon: bool = False
    stale: bool = False

    @property
    def late(self) -> bool:
        return self.overdue or self.behind

    @property
    def badges(self) -> set[str]:
        shown = {"overdue": self.overdue, "behind": self.behind}
        shown |= {"due-soon": self.due_soon, "stale": self.stale}
        return {name for name, on in shown.items() if on}

    @property
    def warnings(self) -> set[str]:
        fired = {
            "task_overdue": self.overdue,
            "task_due_soon": self.due_soon,
            "task_stale": self.stale,
        }
        return {code for code, on in fired.items() if on}


def _log(world: World, task: Task, when: dt.datetime, percent: int, time_machine) -> Task:
    time_machine.move_to(when, tick=False)
    task_services.progress_log(task=task, by=world.owner, percent=percent, done="進度")
    return Task.objects.get(pk=task.pk)


def due_soon(world: World, time_machine) -> Task:
    """Due Thursday 17:00 (1 working day), 80% done, updated this morning."""
    task = world.begin(world.start({"name": "即將到期", "due": due(D(2026, 3, 12))})["即將到期"])
    return _log(world, task, at(D(2026, 3, 11), 9), 80, time_machine)


def stale(world: World, time_machine) -> Task:
    """Due at the month's end, 80% done, last updated Thursday 3/5 09:00: stale since
    Tuesday 09:00, when 3 working days of time (Thu, Fri, Mon, Tue) had gone by."""
    task = world.begin(world.start({"name": "停滯", "due": due(D(2026, 3, 31))})["停滯"])
    return _log(world, task, at(D(2026, 3, 5), 9), 80, time_machine)


def quiet_weekend(world: World, time_machine) -> Task:
    """Last updated Friday 15:00: 4 calendar days ago, under 3 working days: not stale."""
    task = world.begin(world.start({"name": "週末", "due": due(D(2026, 3, 31))})["週末"])
    return _log(world, task, at(D(2026, 3, 6), 15), 80, time_machine)


def overdue(world: World, time_machine) -> Task:
    """Due Monday 17:00 and still in progress (85%: on plan but for the date)."""
    task = world.begin(world.start({"name": "逾期", "due": due(D(2026, 3, 9))})["逾期"])
    return _log(world, task, at(D(2026, 3, 11), 9), 85, time_machine)


def behind(world: World, time_machine) -> Task:
    """Planned 3/2–3/20, about half the time gone, 10% done: 滯後, before its due date."""
    task = world.begin(world.start({"name": "滯後", "due": due(D(2026, 3, 20))})["滯後"])
    return _log(world, task, at(D(2026, 3, 11), 9), 10, time_machine)


def submitted_on_time(world: World, time_machine) -> Task:
    """Due Monday 17:00, delivered Monday 10:00, awaiting acceptance: not late."""
    task = world.begin(world.start({"name": "準時交付", "due": due(D(2026, 3, 9))})["準時交付"])
    task = _log(world, task, at(D(2026, 3, 6), 9), 90, time_machine)
    time_machine.move_to(at(D(2026, 3, 9), 10), tick=False)
    return world.submit(task)


CASES = {
    "due soon": (due_soon, Verdict(due_soon=True)),
    "stale": (stale, Verdict(stale=True)),
    "not stale over a weekend": (quiet_weekend, Verdict()),
    "late: overdue": (overdue, Verdict(overdue=True)),
    "late: behind plan": (behind, Verdict(behind=True)),
    "late but submitted on time": (submitted_on_time, Verdict()),
}


def _badges(html: str) -> set[str]:
    return set(re.findall(r'data-badge="([\w-]+)"', html))


def _section(html: str, pattern: str) -> str:
    match = re.search(pattern, html, re.S)
    assert match, pattern
    return match.group(0)


@pytest.mark.parametrize("case", list(CASES))
def test_every_surface_gives_the_same_verdict(case, time_machine, pmo, client_for):
    make, verdict = CASES[case]
    world = make_world(pmo)
    time_machine.move_to(at(MONDAY), tick=False)
    task = make(world, time_machine)
    time_machine.move_to(NOW, tick=False)
    task = Task.objects.get(pk=task.pk)
    seen: dict[str, object] = {}

    # tasks_app.deadlines: the check and the matching condition.
    deadlines = Deadlines()
    badges = deadlines.badges(task)
    seen["check"] = Verdict(badges.overdue, badges.behind, badges.due_soon, badges.stale)
    selected = {
        name: Task.objects.filter(q, pk=task.pk).exists()
        for name, q in {
            "overdue": deadlines.overdue_q(),
            "behind": deadlines.behind_q(),
            "due_soon": deadlines.due_soon_q(),
            "stale": deadlines.stale_q(),
        }.items()
    }
    seen["condition"] = Verdict(**selected)
    assert Task.objects.filter(deadlines.late_q(), pk=task.pk).exists() == verdict.late
    assert deadlines.is_late(task) == task.is_late == verdict.late

    # The task page, the 我的任務 card and the department page row.
    html = client_for(world.owner).get(task.get_absolute_url()).content.decode()
    seen["task page"] = _badges(_section(html, r'id="task-badges".*?</div>'))
    html = client_for(world.owner).get(reverse("tasks_app:mine")).content.decode()
    seen["我的任務"] = _badges(
        _section(html, rf'<article[^>]*id="task-card-{task.pk}".*?</article>')
    )
    assert ('data-summary="late"' in html) == verdict.late
    html = client_for(world.head).get(reverse("tasks_app:department")).content.decode()
    seen["department page"] = _badges(_section(html, rf'<tr data-task="{task.pk}".*?</tr>'))
    assert ('data-total="overdue"' in html) == verdict.overdue

    # The board: badges, bucket and the late total.
    response = client_for(world.initiator).get(reverse("tasks_app:board", args=[task.request_id]))
    html = response.content.decode()
    row = _section(html, rf'<tr data-task="{task.pk}".*?</tr>')
    seen["board"] = _badges(row)
    assert ('data-bucket="late"' in row) == verdict.late
    assert response.context["board"].totals.late == int(verdict.late)

    # The PMO dashboard: its number, its late list, and the list behind the number.
    response = client_for(pmo).get(reverse("portfolio_app:dashboard"))
    assert response.context["summary"].tasks["late"].value == int(verdict.late)
    assert response.context["summary"].tasks["in_progress"].value == int(not verdict.late)
    late_list = [t.pk for t in response.context["late"]]
    seen["dashboard late list"] = late_list == [task.pk]
    html = response.content.decode()
    assert (f'data-task="{task.pk}"' in html) == verdict.late
    listed = client_for(pmo).get(reverse("portfolio_app:dashboard-tasks"), {"metric": "late"})
    seen["dashboard list"] = f'data-task="{task.pk}"' in listed.content.decode()

    # The analysis report of March: the department's row and the company's count.
    report = analysis.monthly_analysis(D(2026, 3, 1), now=NOW)
    [row] = [r for r in report.summary.departments if r.department == world.mkt]
    seen["analysis row"] = row.late.value == 1
    assert report.summary.tasks["late"].value == row.late.value
    company = portfolio.summary(portfolio.company_filter(report.period), now=NOW)
    assert company.tasks["late"].value == int(verdict.late)

    # The nightly scan.
    found = engine.collect(now=NOW, cadences=(engine.DAILY,))
    seen["warnings"] = {f.rule for f in found if f.object_id == task.pk and f.rule in TASK_RULES}

    expected = {
        "check": verdict,
        "condition": verdict,
        "task page": verdict.badges,
        "我的任務": verdict.badges,
        "department page": verdict.badges,
        "board": verdict.badges,
        "dashboard late list": verdict.late,
        "dashboard list": verdict.late,
        "analysis row": verdict.late,
        "warnings": verdict.warnings,
    }
    assert seen == expected


def test_thresholds_come_from_the_rule_rows_for_badges_and_warnings_alike(
    time_machine, pmo, client_for
):
    """An administrator who gives urgent tasks 1 working day before stale changes the
    badge and the warning together; a normal task keeps the rule's 3 days."""
    world = make_world(pmo)
    time_machine.move_to(at(MONDAY), tick=False)
    tasks = world.start(
        {"name": "urgent", "due": due(D(2026, 3, 31)), "importance": "urgent"},
        {"name": "normal", "due": due(D(2026, 3, 31))},
    )
    for task in tasks.values():
        _log(world, world.begin(task), at(D(2026, 3, 9), 9), 80, time_machine)
    engine.rules_ensure()
    WarningRule.objects.filter(code="task_stale").update(urgent_days=1)
    time_machine.move_to(NOW, tick=False)
    warned = {
        f.object_id for f in engine.collect(now=NOW, cadences=(engine.DAILY,))
        if f.rule == "task_stale"
    }  # fmt: skip
    html = client_for(world.owner).get(reverse("tasks_app:mine")).content.decode()
    for name, task in tasks.items():
        card = _section(html, rf'<article[^>]*id="task-card-{task.pk}".*?</article>')
        assert ("stale" in _badges(card)) == (name == "urgent") == (task.pk in warned)
    card = _section(html, rf'<article[^>]*id="task-card-{tasks["urgent"].pk}".*?</article>')
    assert "1" in _section(card, r'data-badge="stale".*?</span>')


def test_each_condition_selects_exactly_the_tasks_its_check_flags(time_machine, pmo):
    """Over a grid of states, plans, progress, updates and importances, and at moments
    on working days, at night and on a weekend, each queryset condition of
    tasks_app.deadlines selects exactly the tasks its check flags, with the tiers of
    the rule rows (urgent tasks stale after 1 working day here)."""
    world = make_world(pmo)
    time_machine.move_to(at(MONDAY), tick=False)
    dues = [D(2026, 3, 4), D(2026, 3, 11), D(2026, 3, 12), D(2026, 3, 16), D(2026, 3, 31)]
    specs = [
        {"name": f"t{i}", "due": due(day), "importance": importance}
        for i, (day, importance) in enumerate(
            (day, importance) for day in dues for importance in ("normal", "important", "urgent")
        )
    ]
    tasks = list(world.start(*specs).values())
    states = ["todo", "in_progress", "in_progress", "submitted", "done"]
    starts = [D(2026, 2, 16), D(2026, 3, 2), D(2026, 3, 10)]
    moments = [None, at(D(2026, 3, 5), 9), at(D(2026, 3, 6), 15), at(D(2026, 3, 10), 11)]
    for i, task in enumerate(tasks):
        state = states[i % len(states)]
        last = moments[i % len(moments)]
        Task.objects.filter(pk=task.pk).update(
            state=state,
            start_date=starts[i % len(starts)],
            progress_percent=[0, 45, 79, 80, 100][i % 5],
            started_at=None if state == "todo" else at(D(2026, 3, 2), 10),
            last_progress_at=last,
            submitted_at=at(D(2026, 3, 11), 12) if state in ("submitted", "done") else None,
        )
    engine.rules_ensure()
    WarningRule.objects.filter(code="task_stale").update(urgent_days=1)
    rows = list(Task.objects.filter(pk__in=[t.pk for t in tasks]))
    checks = ["overdue", "behind", "late", "due_soon", "stale"]
    for now in [
        at(D(2026, 3, 4), 6),
        at(D(2026, 3, 11), 10),
        at(D(2026, 3, 12), 18),
        at(D(2026, 3, 14), 10),
        at(D(2026, 3, 16), 8),
    ]:
        deadlines = Deadlines(now=now)
        for name in checks:
            flagged = {t.pk for t in rows if getattr(deadlines, f"is_{name}")(t)}
            q = getattr(deadlines, f"{name}_q")()
            selected = set(
                Task.objects.filter(q, pk__in=[t.pk for t in rows]).values_list("pk", flat=True)
            )
            assert flagged == selected, (name, now)
    # The grid is not trivial: each verdict holds for some task at some moment.
    late_now = Deadlines(now=at(D(2026, 3, 11), 10))
    assert all(any(getattr(late_now, f"is_{n}")(t) for t in rows) for n in checks)


def test_days_since_agrees_with_the_calendar_whatever_order_the_days_are_asked_in():
    """The scan's remembered walk back from today gives calendar.working_days_between
    for every day, asked out of order, across weekends and a holiday, and 0 from today on."""
    today = dt.date(2026, 10, 14)  # a Wednesday, a week after the National Day holiday
    verdicts = Deadlines(now=timezone.make_aware(dt.datetime.combine(today, dt.time(10))))
    days = [today - dt.timedelta(days=n) for n in (3, 0, 20, 1, 9, 35, 12, 2, 35, 40)]
    days.append(today + dt.timedelta(days=2))
    for day in days:
        assert verdicts.days_since(day) == calendar.working_days_between(day, today), day
