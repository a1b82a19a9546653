"""The 需求看板 board of a request: totals, overall progress, the timeline, permissions."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from requests_app.choices import RequestState
from requests_app.models import Milestone
from tasks_app import board, services
from tasks_app.choices import TaskState
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_mkt_tech_request,
    make_task,
)
from tests.helpers import assert_constant_queries
from tests.helpers import browser_log_in as _log_in
from tests.helpers import days_from_today as _day
from tests.review_acceptance_fixtures import pass_every_seat


def _task(req, name, *, department, r, a, c=(), i=(), start, due, after=(), **data):
    return services.task_save(
        request=req,
        by=req.initiator,
        data={
            "name": name,
            "responsible_department": department,
            "start_date": _day(start),
            "due_at": services.due_at(_day(due)),
            **data,
        },
        raci={"R": r, "A": a, "C": list(c), "I": list(i)},
        depends_on=list(after),
    )


def build_project(pmo, *, sign=True):
    """A request of three departments with five tasks in every state, one of them late.

    市場調研報告 done; 主視覺設計 awaiting acceptance; 通路推廣方案 in progress (60%);
    客戶名單整理 in progress but past due (late); 上市活動執行 not started and waiting on
    主視覺設計 and 通路推廣方案. The sales department signs through its head's deputy.
    With sign=False the request stays 已立項 with nobody's signature.
    """
    mkt = DepartmentFactory(code="b-mkt", name="市場部")
    design = DepartmentFactory(code="b-design", name="設計部")
    sales = DepartmentFactory(code="b-sales", name="銷售部")
    mkt_head = UserFactory(department=mkt, full_name="林美玲")
    design_head = UserFactory(department=design, full_name="張志明")
    sales_head = UserFactory(department=sales, full_name="李國華")
    mkt.heads.add(mkt_head)
    design.heads.add(design_head)
    sales.heads.add(sales_head)
    sales_deputy = UserFactory(department=sales, full_name="陳怡君")
    DelegationFactory(head=sales_head, deputy=sales_deputy)
    initiator = UserFactory(department=mkt, full_name="王小美")
    designer = UserFactory(department=design, full_name="黃詩涵")
    seller = UserFactory(department=sales, full_name="吳建宏")

    req = make_approved_request(
        initiator=initiator, departments=[mkt, design, sales], lead=mkt, pmo=pmo
    )
    for generated in list(req.tasks.all()):
        services.task_remove(task=generated, by=initiator)
    Milestone.objects.create(request=req, name="方案評審", date=_day(6))

    research = _task(
        req,
        "市場調研報告",
        department=mkt,
        r=initiator,
        a=mkt_head,
        c=[seller],
        i=[design_head],
        start=-20,
        due=-12,
    )
    visual = _task(
        req,
        "主視覺設計",
        department=design,
        r=designer,
        a=initiator,
        c=[mkt_head],
        start=-11,
        due=3,
        after=[research],
    )
    channels = _task(
        req,
        "通路推廣方案",
        department=mkt,
        r=initiator,
        a=mkt_head,
        i=[sales_head],
        start=-5,
        due=9,
        after=[research],
        deliverable="《推廣活動方案》",
    )
    customers = _task(
        req,
        "客戶名單整理",
        department=sales,
        r=seller,
        a=sales_head,
        start=-15,
        due=-1,
    )
    launch = _task(
        req,
        "上市活動執行",
        department=mkt,
        r=initiator,
        a=mkt_head,
        c=[designer, seller],
        start=4,
        due=20,
        after=[visual, channels],
    )
    heads = {mkt: mkt_head, design: design_head, sales: sales_deputy}
    if sign:
        for department, signer in heads.items():
            services.breakdown_sign(request=req, by=signer, department=department)
        req.refresh_from_db()
        assert req.state == RequestState.IN_PROGRESS
        research = services.task_start(task=research, by=initiator)
        services.progress_log(task=research, by=initiator, percent=50, done="完成問卷設計")
        research = services.task_submit(task=research, by=initiator, completion_note="報告已上傳")
        research = pass_every_seat(research)
        visual = services.task_start(task=visual, by=designer)
        services.progress_log(
            task=visual,
            by=designer,
            percent=80,
            done="主視覺初稿完成",
            risk_note="印刷廠排期緊張",
            risk_level="medium",
        )
        visual = services.task_submit(task=visual, by=designer, completion_note="主視覺定稿")
        channels = services.task_start(task=channels, by=initiator)
        services.progress_log(
            task=channels,
            by=initiator,
            percent=60,
            done="完成渠道策略框架",
            problems="重點客戶區域數據未同步",
            support_needed="請銷售部提供客戶區域數據",
            risk_note="可能影響區域推廣策略",
            risk_level="high",
        )
        customers = services.task_start(task=customers, by=seller)
        services.progress_log(
            task=customers,
            by=seller,
            percent=30,
            done="整理北區名單",
            risk_level="low",
            risk_note="部分資料缺失",
        )
    return SimpleNamespace(
        request=req,
        departments=SimpleNamespace(mkt=mkt, design=design, sales=sales),
        initiator=initiator,
        mkt_head=mkt_head,
        design_head=design_head,
        sales_head=sales_head,
        sales_deputy=sales_deputy,
        designer=designer,
        seller=seller,
        tasks=SimpleNamespace(
            research=research, visual=visual, channels=channels, customers=customers, launch=launch
        ),
    )


@pytest.fixture
def project(pmo):
    return build_project(pmo)


def _board_url(req) -> str:
    return reverse("tasks_app:board", args=[req.pk])


# --- totals --------------------------------------------------------------------------


@pytest.mark.django_db
def test_totals_count_each_task_once_and_add_up(client, project):
    """5 tasks: 1 done, 2 in progress (1 awaiting acceptance), 1 late, 1 not started.

    The late task is in progress too, but counts only as late, so the buckets add up;
    the average counts the done task as 100%.
    """
    client.force_login(project.initiator)
    response = client.get(_board_url(project.request))
    assert response.status_code == 200
    totals = response.context["board"].totals
    assert (totals.total, totals.done, totals.in_progress, totals.late, totals.todo) == (
        5,
        1,
        2,
        1,
        1,
    )
    assert totals.submitted == 1 and totals.in_progress_only == 1
    assert totals.done + totals.in_progress + totals.late + totals.todo == totals.total
    # done 100, submitted 100 (submitting sets 100), 60, 30, 0.
    assert totals.average_percent == round((100 + 100 + 60 + 30 + 0) / 5)
    assert totals.done_percent == 20
    html = response.content.decode()
    assert 'data-total="5" data-done="1"' in html
    assert 'data-in-progress="2" data-late="1" data-todo="1"' in html
    buckets = {row.task.name: row.bucket for row in response.context["board"].tasks}
    assert buckets == {
        "市場調研報告": "done",
        "主視覺設計": "in_progress",
        "通路推廣方案": "in_progress",
        "客戶名單整理": "late",
        "上市活動執行": "todo",
    }


@pytest.mark.django_db
def test_a_task_behind_its_plan_counts_as_late(client, project):
    """滯後: 上市活動執行 moved to have started long ago with no progress is late, not todo."""
    launch = project.tasks.launch
    type(launch).objects.filter(pk=launch.pk).update(start_date=_day(-30))
    client.force_login(project.initiator)
    totals = client.get(_board_url(project.request)).context["board"].totals
    assert (totals.late, totals.todo) == (2, 0)


@pytest.mark.django_db
def test_board_totals_of_no_tasks_are_zero():
    """An empty board shows zeros, not a division by zero."""
    totals = board.board_totals([])
    assert (totals.total, totals.average_percent, totals.done_percent) == (0, 0, 0)


# --- the chart's data ----------------------------------------------------------------


@pytest.mark.django_db
def test_gantt_data_has_one_bar_per_task_with_its_predecessors(client, project):
    """The JSON island carries every task with dates, state, late flag and dependencies."""
    client.force_login(project.initiator)
    response = client.get(_board_url(project.request))
    html = response.content.decode()
    start = html.index('<script id="gantt-data" type="application/json">')
    island = html[html.index(">", start) + 1 : html.index("</script>", start)]
    data = json.loads(island)
    by_name = {t["name"]: t for t in data["tasks"]}
    assert len(data["tasks"]) == 5
    t = project.tasks
    assert sorted(by_name["上市活動執行"]["depends_on"]) == sorted([t.visual.pk, t.channels.pk])
    assert by_name["主視覺設計"]["depends_on"] == [t.research.pk]
    assert by_name["客戶名單整理"]["late"] is True and by_name["客戶名單整理"]["overdue"] is True
    assert by_name["市場調研報告"]["state"] == TaskState.DONE
    assert by_name["市場調研報告"]["percent"] == 100
    assert by_name["主視覺設計"]["state"] == TaskState.SUBMITTED
    assert by_name["通路推廣方案"]["responsible"] == "王小美"
    assert by_name["通路推廣方案"]["start"] == _day(-5).isoformat()
    assert by_name["通路推廣方案"]["end"].startswith(f"{_day(9).isoformat()}T17:00:00")
    assert data["milestones"] == [{"name": "方案評審", "date": _day(6).isoformat()}]
    assert data["today"] == timezone.localdate().isoformat()


@pytest.mark.django_db
def test_task_names_cannot_break_out_of_the_json_island(client, pmo):
    """A task name with </script> stays data: json_script escapes it."""
    department = DepartmentFactory()
    head = UserFactory(department=department)
    department.heads.add(head)
    req = make_approved_request(initiator=head, departments=[department], pmo=pmo)
    make_task(request=req, responsible=head, accountable=head, name="</script><b>x</b>")
    client.force_login(head)
    html = client.get(_board_url(req)).content.decode()
    assert "</script><b>x</b>" not in html


# --- permissions and queries ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("initiator", 200),
        ("mkt_head", 200),
        ("sales_deputy", 200),
        ("designer", 200),
        ("pmo", 200),
        ("executive", 200),
        ("outsider", 404),
    ],
)
def test_board_is_shown_to_those_who_see_the_request(request, client, project, who, status):
    """Involved departments, RACI people, PMO and executives see the board; others get 404."""
    user = getattr(project, who, None) or request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(_board_url(project.request)).status_code == status


@pytest.mark.django_db
def test_board_of_an_unknown_request_is_404(client, staff):
    client.force_login(staff)
    assert client.get(reverse("tasks_app:board", args=[999999])).status_code == 404


@pytest.mark.django_db
def test_board_without_tasks_says_so(client, department, head, pmo):
    """A request whose commitments were all removed shows an empty board, no chart."""
    req = make_approved_request(initiator=head, departments=[department], pmo=pmo)
    for task in list(req.tasks.all()):
        services.task_remove(task=task, by=head)
    client.force_login(head)
    response = client.get(_board_url(req))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="board-empty"' in html and 'id="gantt-data"' not in html


@pytest.mark.django_db
def test_board_query_count_does_not_grow_with_tasks(client, pmo):
    """Tasks with RACI (R, A, C, I), supporting departments and predecessors: constant SQL."""
    w = make_mkt_tech_request(pmo=pmo)
    mkt, tech, mkt_head, tech_head = w.mkt, w.tech, w.mkt_head, w.tech_head
    staff, req = w.initiator, w.request
    Milestone.objects.create(request=req, name="評審", date=_day(5))
    made = []

    def make_rows(n):
        for _ in range(n):
            made.append(
                services.task_save(
                    request=req,
                    by=staff,
                    data={
                        "name": f"任務{len(made)}",
                        "responsible_department": mkt,
                        "start_date": _day(-3),
                        "due_at": services.due_at(_day(7)),
                    },
                    raci={"R": staff, "A": mkt_head, "C": [tech_head], "I": [UserFactory()]},
                    supporting=[tech],
                    depends_on=made[-1:],
                )
            )

    client.force_login(tech_head)
    url = _board_url(req)
    assert_constant_queries(make_rows, lambda: client.get(url))


@pytest.mark.django_db
def test_progress_sheet_query_count_does_not_grow_with_updates(project, pmo):
    """The 進度跟蹤表's read, with more progress updates, runs constant SQL."""
    channels = project.tasks.channels

    def more_updates(n):
        for i in range(n):
            services.progress_log(
                task=channels, by=project.initiator, percent=61 + i, done=f"第{i}次更新"
            )

    assert_constant_queries(
        more_updates,
        lambda: board.progress_sheet(user=pmo, request_pk=project.request.pk),
        small=2,
        large=14,
    )


@pytest.mark.django_db
def test_breakdown_sheet_query_count_does_not_grow_with_tasks_and_people(pmo):
    """The 任務分工表's read (tasks, RACI people and their departments, signatures) is
    constant in the number of tasks and of people in the matrix."""
    project = build_project(pmo, sign=False)
    req = project.request
    departments = project.departments
    services.breakdown_sign(request=req, by=project.design_head, department=departments.design)
    made = []

    def make_rows(n):
        for _ in range(n):
            made.append(
                _task(
                    req,
                    f"追加任務{len(made)}",
                    department=departments.mkt,
                    r=project.initiator,
                    a=project.mkt_head,
                    c=[UserFactory(department=DepartmentFactory())],
                    i=[UserFactory()],
                    start=1,
                    due=5,
                    after=made[-1:],
                )
            )
        # Sign the new version, so the sheet always has a valid signature to print.
        services.breakdown_sign(request=req, by=project.design_head, department=departments.design)

    assert_constant_queries(
        make_rows, lambda: board.breakdown_sheet(user=project.initiator, request_pk=req.pk)
    )


# --- in the browser ------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_board_draws_the_timeline_under_the_csp(page, live_server, pmo):
    """vis-timeline draws one bar per task, the arrows, milestones and today, CSP-clean.

    The page fixture fails the test on any console error, so an inline style or script
    refused by the CSP (or a missing vendor file) would fail it.
    """
    project = build_project(pmo)
    _log_in(page, live_server, project.initiator)
    page.goto(live_server.url + _board_url(project.request))
    page.locator("#board-gantt[data-rendered]").wait_for()
    page.wait_for_function("document.querySelectorAll('#board-gantt path.gantt-arrow').length > 0")
    assert page.locator("#board-gantt .vis-item.gantt-task").count() == 5
    assert page.locator("#board-gantt .vis-item.gantt-late").count() == 1
    assert (
        page.locator(
            f'#board-gantt .vis-item.gantt-late[data-id="t-{project.tasks.customers.pk}"]'
        ).count()
        == 1
    )
    # 主視覺設計 and 通路推廣方案 wait on 市場調研報告; 上市活動執行 waits on both.
    assert page.locator("#board-gantt path.gantt-arrow").count() == 4
    assert page.locator("#board-gantt .vis-item.vis-point.gantt-milestone").count() == 1
    assert page.locator("#board-gantt .vis-item.gantt-today").count() == 1
    assert page.locator("#board-stats [data-stat=late] [data-count]").inner_text() == "1"
    # The average bar is sized from its data attribute (no style="" in the HTML).
    width = page.locator("#board-average .progress-bar").evaluate("el => el.style.width")
    assert width == f"{round((100 + 100 + 60 + 30) / 5)}%"
    # A click on a bar opens the task.
    page.locator(f'#board-gantt .vis-item[data-id="t-{project.tasks.launch.pk}"]').click()
    page.wait_for_url(live_server.url + project.tasks.launch.get_absolute_url())
