"""The PMO dashboard 儀表板 (issue 7): its numbers, the lists behind them, the filters,
the head's scope, the roles that may open it and its query counts."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from collab.models import Department
from portfolio_app.selectors import dashboard as selectors
from requests_app.models import CollabRequest, DepartmentReview
from tasks_app.models import Task
from tests.factories import (
    DepartmentFactory,
    UserFactory,
    make_completed_request,
    make_head,
    make_in_progress_request,
)
from tests.helpers import assert_constant_queries, count_queries

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("portfolio_app:dashboard")


def _period_query(today: dt.date) -> str:
    start = today - dt.timedelta(days=90)
    end = today + dt.timedelta(days=30)
    return f"period=custom&from={start.isoformat()}&to={end.isoformat()}"


@pytest.fixture
def portfolio(department, other_department, head, pmo):
    """Two departments' work with every kind of task the dashboard counts.

    Department A (`department`, head `head`) and B (`other_department`) share an
    in-progress request with: t1 done on time, t2 done late (A); t3 late with a high
    risk, t4 under way and on time with a medium risk (B); t5 due next year (A, out of
    the period). A's completed request took 39 days. A's review answers took 2 days each.
    """
    head_b = make_head(other_department, is_staff=True)
    a_staff = UserFactory(department=department)
    b_staff = UserFactory(department=other_department)
    now = timezone.now()
    req, tasks = make_in_progress_request(
        initiator=a_staff,
        departments=[department, other_department],
        pmo=pmo,
        tasks=[
            {"name": f"任務{i}", "responsible": r, "accountable": a, "department": r.department}
            for i, (r, a) in enumerate(
                [
                    (a_staff, head),
                    (a_staff, head),
                    (b_staff, head_b),
                    (b_staff, head_b),
                    (a_staff, head),
                ],
                start=1,
            )
        ],
    )
    t1, t2, t3, t4, t5 = tasks
    Task.objects.filter(pk=t1.pk).update(
        state="done",
        due_at=now - dt.timedelta(days=3),
        submitted_at=now - dt.timedelta(days=4),
        completed_at=now - dt.timedelta(days=2),
    )
    Task.objects.filter(pk=t2.pk).update(
        state="done",
        due_at=now - dt.timedelta(days=5),
        submitted_at=now - dt.timedelta(days=1),
        completed_at=now - dt.timedelta(days=1),
    )
    Task.objects.filter(pk=t3.pk).update(
        state="in_progress", due_at=now - dt.timedelta(days=2), risk_level="high"
    )
    Task.objects.filter(pk=t4.pk).update(
        state="in_progress", due_at=now + dt.timedelta(days=5), risk_level="medium"
    )
    Task.objects.filter(pk=t5.pk).update(due_at=now + dt.timedelta(days=400))

    done_req, _done_tasks = make_completed_request(
        initiator=a_staff,
        departments=[department],
        pmo=pmo,
        tasks=[{"responsible": a_staff, "accountable": head}],
    )
    CollabRequest.objects.filter(pk=done_req.pk).update(
        submitted_at=now - dt.timedelta(days=40), completed_at=now - dt.timedelta(days=1)
    )
    # Both requests' tasks of done_req are due out of the period (moved next year).
    Task.objects.filter(request=done_req).update(due_at=now + dt.timedelta(days=500))
    review = DepartmentReview.objects.filter(request=req, department=department).get()
    DepartmentReview.objects.filter(pk=review.pk).update(
        created_at=review.decided_at - dt.timedelta(days=2)
    )
    DepartmentReview.objects.filter(request=done_req).update(
        created_at=now - dt.timedelta(days=43), decided_at=now - dt.timedelta(days=41)
    )
    return {
        "req": req,
        "done_req": done_req,
        "tasks": tasks,
        "head_b": head_b,
        "a": department,
        "b": other_department,
    }


def _numbers(html: str) -> dict[str, list[tuple[str, str]]]:
    """Return {data-number key: [(shown value, link)]} of a dashboard page."""
    found = {}
    for href, key, value in re.findall(
        r'<a [^>]*href="([^"]*)"[^>]*data-number="(\w+)"[^>]*>([^<]*)</a>', html
    ):
        found.setdefault(key, []).append((value.strip(), unescape(href)))
    return found


def _list_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["page"].paginator.count


# --- the numbers ----------------------------------------------------------------------


def test_pmo_sees_every_figure_of_the_portfolio(client_for, pmo, portfolio):
    """Tasks due in the period: 2 done (1 on time), 1 late, 1 under way; risks of open
    tasks; requests by state; the 39-day cycle; A's 2-day review answer."""
    client = client_for(pmo)
    response = client.get(f"{DASHBOARD}?{_period_query(timezone.localdate())}")
    assert response.status_code == 200
    summary = response.context["summary"]
    tasks = {key: number.value for key, number in summary.tasks.items()}
    assert tasks["all"] == 4
    assert (tasks["done"], tasks["on_time"], tasks["done_late"]) == (2, 1, 1)
    assert (tasks["late"], tasks["in_progress"], tasks["open"]) == (1, 1, 2)
    assert summary.on_time_rate == pytest.approx(33.3)  # 1 on time of 3 done or late
    risks = {n.key: n.value for n in summary.risks}
    assert risks == {"risk_none": 0, "risk_low": 0, "risk_medium": 1, "risk_high": 1}
    states = {n.key: n.value for n in summary.requests_by_state}
    assert states["state_in_progress"] == 1 and states["state_completed"] == 1
    assert summary.volumes["completed"].value == 1
    assert summary.cycle_days == pytest.approx(39.0, abs=0.1)
    assert {n.key: n.value for n in summary.cycle_buckets}["cycle_60"] == 1
    rows = {row.department: row for row in summary.departments}
    a, b = rows[portfolio["a"]], rows[portfolio["b"]]
    assert (a.open.value, a.done.value, a.late.value) == (0, 2, 0)
    assert (b.open.value, b.done.value, b.late.value) == (2, 0, 1)
    assert a.on_time_rate == 50.0 and b.on_time_rate == 0.0
    assert a.review_days == pytest.approx(2.0, abs=0.05)
    late = response.context["late"]
    assert [t.pk for t in late] == [portfolio["tasks"][2].pk]


def test_every_number_opens_a_list_of_that_many_rows(client_for, pmo, portfolio):
    """Each count on the page links to the list behind it, and the list holds exactly
    that many rows (the same filter counts and lists)."""
    client = client_for(pmo)
    html = client.get(f"{DASHBOARD}?{_period_query(timezone.localdate())}").content.decode()
    numbers = _numbers(html)
    checked = 0
    for key, shown in numbers.items():
        for value, url in shown:
            assert url.startswith("/review/dashboard/"), (key, url)
            if value.isdigit():
                assert _list_count(client, url) == int(value), (key, url)
                checked += 1
    assert checked >= 30
    assert {"late", "done", "open", "state_in_progress", "risk_high", "cycle_60", "reviews"} <= set(
        numbers
    )


def test_the_lists_carry_the_filters_and_sort(client_for, pmo, portfolio):
    client = client_for(pmo)
    query = _period_query(timezone.localdate())
    b = portfolio["b"]
    url = f"{reverse('portfolio_app:dashboard-tasks')}?{query}&metric=open&department={b.pk}"
    response = client.get(url + "&sort=risk")
    rows = list(response.context["page"].object_list)
    assert [t.risk_level for t in rows] == ["high", "medium"]
    response = client.get(url + "&sort=-due")
    assert [t.pk for t in response.context["page"].object_list] == [
        portfolio["tasks"][3].pk,
        portfolio["tasks"][2].pk,
    ]
    assert b.name in response.content.decode()


def test_late_list_sorts_by_the_chosen_column(client_for, pmo, portfolio, department):
    """The late list on the dashboard can be sorted by due date, department, risk…"""
    now = timezone.now()
    # A second late task, in department A, due earlier and without a risk.
    t1 = portfolio["tasks"][0]
    Task.objects.filter(pk=t1.pk).update(state="in_progress", due_at=now - dt.timedelta(days=9))
    client = client_for(pmo)
    query = _period_query(timezone.localdate())
    by_due = client.get(f"{DASHBOARD}?{query}&sort=due").context["late"]
    assert [t.pk for t in by_due] == [t1.pk, portfolio["tasks"][2].pk]
    by_risk = client.get(f"{DASHBOARD}?{query}&sort=risk").context["late"]
    assert [t.pk for t in by_risk] == [portfolio["tasks"][2].pk, t1.pk]
    html = client.get(f"{DASHBOARD}?{query}&sort=risk").content.decode()
    assert 'data-sort="risk" aria-current="true"' in html


# --- scope and roles --------------------------------------------------------------------


def test_head_sees_the_dashboard_scoped_to_their_departments(client_for, head, portfolio):
    """Head of A: only A's tasks and reviews; the department filter offers A only, and
    asking for B is refused with a message while A's figures stay on screen."""
    client = client_for(head)
    query = _period_query(timezone.localdate())
    response = client.get(f"{DASHBOARD}?{query}")
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.tasks["all"].value == 2  # t1, t2
    assert summary.tasks["late"].value == 0
    assert [row.department for row in summary.departments] == [portfolio["a"]]
    choices = dict(response.context["form"].fields["department"].choices)
    assert portfolio["b"].pk not in choices
    html = response.content.decode()
    assert portfolio["b"].name not in html

    refused = client.get(f"{DASHBOARD}?{query}&department={portfolio['b'].pk}")
    assert refused.status_code == 200
    assert refused.context["form"].errors["department"]
    assert refused.context["summary"].tasks["all"].value == 2

    # The lists behind the numbers keep the scope, whatever the URL asks for.
    tasks_url = reverse("portfolio_app:dashboard-tasks")
    listed = client.get(f"{tasks_url}?{query}&metric=all&department={portfolio['b'].pk}")
    assert {t.responsible_department_id for t in listed.context["page"].object_list} == {
        portfolio["a"].pk
    }


def test_deputy_sees_the_head_scope_while_the_delegation_runs(client_for, deputy, portfolio):
    response = client_for(deputy).get(f"{DASHBOARD}?{_period_query(timezone.localdate())}")
    assert response.status_code == 200
    assert [row.department for row in response.context["summary"].departments] == [portfolio["a"]]


@pytest.mark.parametrize(
    "name",
    [
        "portfolio_app:dashboard",
        "portfolio_app:dashboard-tasks",
        "portfolio_app:dashboard-requests",
        "portfolio_app:dashboard-reviews",
    ],
)
def test_who_may_open_the_dashboard_and_its_lists(client, client_for, name, staff, head, pmo,
                                                   executive, superuser):  # fmt: skip
    url = reverse(name)
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert client_for(staff).get(url).status_code == 403
    for user in (head, pmo, executive, superuser):
        assert client_for(user).get(url).status_code == 200, user


def test_nav_shows_the_dashboard_to_those_who_may_open_it(client_for, staff, head, pmo):
    assert DASHBOARD not in client_for(staff).get(reverse("home")).content.decode()
    assert DASHBOARD in client_for(head).get(reverse("home")).content.decode()
    assert DASHBOARD in client_for(pmo).get(reverse("home")).content.decode()


def test_a_deactivated_pmo_cannot_open_it(client_for, pmo):
    pmo.is_active = False
    pmo.save()
    client = client_for(pmo)
    assert client.get(DASHBOARD).status_code in (302, 403)


# --- filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=custom&from=2026-05-01", "兩個日期"),
        ("period=custom&from=2026-05-01&to=2026-04-01", "開始日"),
        ("period=custom&from=2020-01-01&to=2026-01-01", "三年"),
        ("period=custom&from=2026-13-01&to=2026-14-01", "日期"),
        ("period=decade", "period"),
    ],
)
def test_bad_filters_get_a_translated_error_and_the_default_period(client_for, pmo, query,
                                                                   message):  # fmt: skip
    client = client_for(pmo)
    response = client.get(f"{DASHBOARD}?{query}", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert response.status_code == 200
    assert response.context["form"].errors
    html = response.content.decode()
    assert 'id="filter-errors"' in html
    if message != "period":
        assert message in html
    default = selectors.Period.preset(selectors.DEFAULT_PERIOD)
    assert response.context["f"].period == default


def test_period_presets():
    today = dt.date(2026, 11, 21)
    preset = selectors.Period.preset
    assert (preset("month", today=today).start, preset("month", today=today).end) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
    )
    assert preset("last_month", today=today).start == dt.date(2026, 10, 1)
    assert (preset("quarter", today=today).start, preset("quarter", today=today).end) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 12, 31),
    )
    assert preset("last_quarter", today=today).end == dt.date(2026, 9, 30)
    assert preset("last_year", today=today).start == dt.date(2025, 1, 1)
    assert preset("unknown", today=today).key == selectors.DEFAULT_PERIOD
    assert selectors.Period.month(dt.date(2026, 2, 14)).end == dt.date(2026, 2, 28)


def test_department_filter_narrows_every_figure(client_for, pmo, portfolio):
    client = client_for(pmo)
    query = _period_query(timezone.localdate())
    response = client.get(f"{DASHBOARD}?{query}&department={portfolio['b'].pk}")
    summary = response.context["summary"]
    assert summary.tasks["all"].value == 2  # t3, t4
    assert summary.tasks["late"].value == 1
    assert {n.key: n.value for n in summary.requests_by_state}["state_completed"] == 0


def test_out_of_period_work_is_not_counted(client_for, pmo, portfolio):
    """t5 (due in 400 days) appears only in a period that holds its due date."""
    client = client_for(pmo)
    due = timezone.localdate() + dt.timedelta(days=400)
    query = f"period=custom&from={due.isoformat()}&to={due.isoformat()}"
    summary = client.get(f"{DASHBOARD}?{query}").context["summary"]
    assert summary.tasks["all"].value == 1
    assert summary.volumes["submitted"].value == 0


# --- queries ----------------------------------------------------------------------------


def _more_work(pmo, departments):
    """Return make_rows(n): n more in-progress requests, each with 2 tasks and a risk."""
    counter = {"n": 0}

    def make_rows(n):
        for _ in range(n):
            counter["n"] += 1
            dept = DepartmentFactory()
            head = make_head(dept, is_staff=True)
            staff = UserFactory(department=dept)
            _req, tasks = make_in_progress_request(
                initiator=staff,
                departments=[dept, *departments],
                pmo=pmo,
                tasks=[
                    {"responsible": staff, "accountable": head, "name": f"工作{counter['n']}-{i}"}
                    for i in range(2)
                ],
            )
            Task.objects.filter(pk=tasks[0].pk).update(
                due_at=timezone.now() - dt.timedelta(days=1), risk_level="high"
            )

    return make_rows


def test_dashboard_query_count_does_not_grow_with_the_data(client_for, pmo, department, head):
    client = client_for(pmo)
    make_rows = _more_work(pmo, [department])
    assert_constant_queries(make_rows, lambda: client.get(DASHBOARD), small=1, large=4)


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("portfolio_app:dashboard-tasks", "metric=late"),
        ("portfolio_app:dashboard-tasks", "metric=all&sort=risk"),
        ("portfolio_app:dashboard-requests", "metric=submitted"),
        ("portfolio_app:dashboard-reviews", ""),
    ],
)
def test_list_query_count_does_not_grow_with_the_rows(client_for, pmo, department, head, name,
                                                      extra):  # fmt: skip
    client = client_for(pmo)
    url = f"{reverse(name)}?{extra}"
    assert_constant_queries(
        _more_work(pmo, [department]), lambda: client.get(url), small=1, large=4
    )


def test_head_dashboard_query_count_is_fixed(client_for, head, department, pmo):
    client = client_for(head)
    make_rows = _more_work(pmo, [department])
    assert_constant_queries(make_rows, lambda: client.get(DASHBOARD), small=1, large=3)


def test_summary_runs_in_a_fixed_number_of_queries(pmo, portfolio):
    """The analysis report calls the summary without a request: 5 queries."""
    period = selectors.Period(
        timezone.localdate() - dt.timedelta(days=90), timezone.localdate() + dt.timedelta(days=30)
    )
    n, _queries = count_queries(lambda: selectors.summary(selectors.company_filter(period)))
    assert n == 5
    assert Department.objects.count() >= 2


def test_same_query_count_with_and_without_late_tasks(client_for, pmo, department, head):
    """An empty late list runs the same queries as a full one (no prefetch that only
    runs when there are rows)."""
    client = client_for(pmo)
    _more_work(pmo, [department])(2)
    Task.objects.update(due_at=timezone.now() + dt.timedelta(days=5))
    assert not client.get(DASHBOARD).context["late"]
    without, _queries = count_queries(lambda: client.get(DASHBOARD))
    Task.objects.update(due_at=timezone.now() - dt.timedelta(days=1))
    assert client.get(DASHBOARD).context["late"]
    late, queries = count_queries(lambda: client.get(DASHBOARD))
    assert without == late, "\n".join(q["sql"] for q in queries)
