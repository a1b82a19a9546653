"""The task pages in the browser's shoes: 我的任務 with its htmx quick update, the task
page with its action forms, deliverable downloads, and a head's department page, for
every role that may or may not see them.

The UI text is translated separately, so the assertions look at status codes, the
database, element ids and data attributes, and user-typed Chinese text.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from requests_app.choices import RequestState
from tasks_app import discussion_views, services
from tasks_app.choices import TaskEventKind, TaskState
from tasks_app.models import DueDateChange, ProgressUpdate, Task, TaskDeliverable
from tests.factories import DelegationFactory, DepartmentFactory, UserFactory, make_approved_request
from tests.helpers import assert_constant_queries, count_queries
from tests.helpers import browser_log_in as _log_in
from tests.review_acceptance_fixtures import pass_every_seat

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


# --- data ----------------------------------------------------------------------------


@pytest.fixture
def partner_staff(partner):
    """A member of a collaborating department who holds no RACI role."""
    return UserFactory(department=partner, full_name="林雅婷")


@pytest.fixture
def third(db):
    """A department that takes no part in the request."""
    return DepartmentFactory(name="財務部")


@pytest.fixture
def consulted(third):
    """C on the task, from a department outside the request: sees it through RACI only."""
    return UserFactory(department=third, full_name="黃志明")


@pytest.fixture
def informed(partner):
    return UserFactory(department=partner, full_name="陳美玲")


def add_task(request, *, responsible, accountable, consulted=(), informed=(), **fields):
    """Add a task through the breakdown service (as the initiator) and return it."""
    start = fields.pop("start_date", timezone.localdate())
    data = {
        "name": fields.pop("name", "主視覺圖初稿"),
        "responsible_department": fields.pop("department", responsible.department),
        "start_date": start,
        "due_at": fields.pop("due_at", services.due_at(start + dt.timedelta(days=14))),
        **fields,
    }
    depends_on = data.pop("depends_on", ())
    return services.task_save(
        request=request,
        by=request.initiator,
        data=data,
        raci={"R": responsible, "A": accountable, "C": list(consulted), "I": list(informed)},
        depends_on=depends_on,
    )


def sign_all(request):
    """Every involved head signs the breakdown: the request moves to 進行中."""
    for link in request.department_links.select_related("department"):
        services.breakdown_sign(
            request=request, by=link.department.heads.first(), department=link.department
        )
    request.refresh_from_db()
    assert request.state == RequestState.IN_PROGRESS


@pytest.fixture
def task(approved, staff, head, consulted, informed):
    """「主視覺圖初稿」: R staff, A head, C an outsider by department, I a partner."""
    return add_task(
        approved, responsible=staff, accountable=head, consulted=[consulted], informed=[informed]
    )


@pytest.fixture
def running(task, approved):
    """The request signed and the task started: 進行中."""
    sign_all(approved)
    task.refresh_from_db()
    return services.task_start(task=task, by=task.assignments.get(role="R").user)


@pytest.fixture
def submitted(running, staff):
    return services.task_submit(task=running, by=staff, completion_note="初稿已完成")


def _levels(response) -> list[str]:
    """Return the levels of the messages shown by the page (following one redirect)."""
    if response.status_code != 302:
        return [m.level_tag for m in get_messages(response.wsgi_request)]
    page = response.client.get(response.url)
    return [m.level_tag for m in page.context["messages"]]


def _url(name, task, *args):
    return reverse(f"tasks_app:{name}", args=[task.pk, *args])


def _progress(**fields):
    data = {
        "percent": 40,
        "done": "完成主視覺草圖三版",
        "problems": "缺少產品高解析照片",
        "support_needed": "請技術部提供產品照片",
        "risk_level": "medium",
        "risk_note": "照片延誤會影響上線",
        "expected_state": TaskState.IN_PROGRESS,
    }
    data.update(fields)
    return data


# --- who sees the task page ----------------------------------------------------------

VISIBILITY = {
    "staff": 200,  # R
    "head": 200,  # A, and head of the responsible department
    "consulted": 200,  # C from a department outside the request
    "informed": 200,  # I
    "partner_staff": 200,  # staff of a collaborating department
    "partner_head": 200,
    "deputy": 200,
    "outsider": 404,
    "pmo": 200,
    "executive": 200,
}


@pytest.mark.parametrize(("role", "status"), VISIBILITY.items())
def test_task_page_is_shown_to_those_who_may_see_it(request, client_for, task, role, status):
    """RACI members, the request's departments, deputies and PMO see the page; others 404."""
    user = request.getfixturevalue(role)
    response = client_for(user).get(task.get_absolute_url())
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "主視覺圖初稿" in html
        assert f'data-person="{task.assignments.get(role="R").user_id}"' in html


def test_task_page_shows_fields_raci_dependencies_and_history(client_for, approved, staff, head):
    """The page shows every field, the RACI people, predecessors with their states, history."""
    first = add_task(approved, responsible=staff, accountable=head, name="市場調研")
    second = add_task(
        approved,
        responsible=staff,
        accountable=head,
        name="推廣方案",
        description="撰寫上市推廣方案",
        deliverable="方案文件",
        acceptance_criteria="經主管簽核",
        depends_on=[first],
    )
    html = client_for(staff).get(second.get_absolute_url()).content.decode()
    for text in ("撰寫上市推廣方案", "方案文件", "經主管簽核", second.number):
        assert text in html
    assert f'data-predecessor="{first.pk}"' in html
    assert 'data-task-state="todo"' in html
    assert 'data-event="created"' in html
    for role in "RACI":
        assert f'data-raci="{role}"' in html
    first_html = client_for(staff).get(first.get_absolute_url()).content.decode()
    assert f'data-dependent="{second.pk}"' in first_html


def test_unknown_task_is_404(client_for, staff):
    assert client_for(staff).get(reverse("tasks_app:detail", args=[999999])).status_code == 404


def test_page_uses_no_inline_styles(client_for, running, staff, head):
    """The CSP forbids style="" attributes: the progress bars are sized by classes."""
    services.progress_log(task=running, by=staff, percent=35, done="進行中")
    for user, url in (
        (staff, reverse("tasks_app:mine")),
        (staff, running.get_absolute_url()),
        (head, reverse("tasks_app:department")),
    ):
        html = client_for(user).get(url).content.decode()
        assert not re.search(r"\sstyle\s*=", html), url
        assert "<script>" not in html
    html = client_for(staff).get(running.get_absolute_url()).content.decode()
    assert 'class="progress-bar pct-35' in html


# --- 我的任務 ------------------------------------------------------------------------


def test_my_tasks_groups_my_r_tasks_by_state(client_for, approved, staff, head, partner_head):
    """R tasks are grouped 待執行 / 進行中 / 待驗收 / 已完成; others are in the second tab."""
    todo = add_task(approved, responsible=staff, accountable=head, name="待辦任務")
    doing = add_task(approved, responsible=staff, accountable=head, name="進行任務")
    waiting = add_task(approved, responsible=staff, accountable=head, name="待驗收任務")
    done = add_task(approved, responsible=staff, accountable=head, name="完成任務")
    watched = add_task(approved, responsible=head, accountable=staff, name="我當A的任務")
    sign_all(approved)
    doing, waiting, done = (services.task_start(task=t, by=staff) for t in (doing, waiting, done))
    waiting, done = (
        services.task_submit(task=t, by=staff, completion_note="交付") for t in (waiting, done)
    )
    pass_every_seat(done)

    response = client_for(staff).get(reverse("tasks_app:mine"))
    assert response.status_code == 200
    html = response.content.decode()
    sections = {
        state: re.search(
            rf'data-section="{state}".*?(?=data-section=|id="pane-watching")', html, re.S
        ).group(0)
        for state in ("todo", "in_progress", "submitted", "done")
    }
    assert f'id="task-card-{todo.pk}"' in sections["todo"]
    assert f'id="task-card-{doing.pk}"' in sections["in_progress"]
    assert f'id="task-card-{waiting.pk}"' in sections["submitted"]
    assert f'id="task-card-{done.pk}"' in sections["done"]
    # Only the in-progress task has the quick-update form; the to-do one a start button.
    assert f'id="progress-form-{doing.pk}"' in html
    assert f'id="progress-form-{todo.pk}"' not in html
    assert f'hx-post="{_url("progress", doing)}"' in html
    assert "data-start-form" in sections["todo"]
    # The request is linked with its number.
    assert approved.number in sections["todo"]
    assert approved.get_absolute_url() in sections["todo"]
    # The task where staff is A is in the second tab, not among the R cards.
    watching = html.split('id="pane-watching"')[1]
    assert f'data-task="{watched.pk}"' in watching
    assert f'id="task-card-{watched.pk}"' not in html
    assert 'data-role="A"' in watching


def test_my_tasks_for_a_head_lists_a_tasks_awaiting_acceptance(client_for, submitted, head):
    """The Accountable person sees a submitted task flagged as awaiting their acceptance."""
    html = client_for(head).get(reverse("tasks_app:mine")).content.decode()
    watching = html.split('id="pane-watching"')[1]
    assert f'data-task="{submitted.pk}"' in watching
    assert "data-awaiting-acceptance" in watching
    assert 'data-awaiting-me="1"' in html


def test_my_tasks_marks_late_due_soon_and_stale(client_for, approved, staff, head):
    """Overdue (延期), behind plan (滯後), due soon and stale tasks carry their badges."""
    today = timezone.localdate()
    overdue = add_task(
        approved,
        responsible=staff,
        accountable=head,
        name="逾期任務",
        start_date=today - dt.timedelta(days=10),
        due_at=services.due_at(today - dt.timedelta(days=2)),
    )
    behind = add_task(
        approved,
        responsible=staff,
        accountable=head,
        name="落後任務",
        start_date=today - dt.timedelta(days=20),
        due_at=services.due_at(today + dt.timedelta(days=5)),
    )
    from collab.calendar import add_working_days

    soon = add_task(
        approved,
        responsible=staff,
        accountable=head,
        name="即將到期",
        start_date=today,
        due_at=services.due_at(add_working_days(today, 1)),
    )
    calm = add_task(
        approved,
        responsible=staff,
        accountable=head,
        name="正常任務",
        start_date=today,
        due_at=services.due_at(today + dt.timedelta(days=60)),
    )
    sign_all(approved)
    for t in (behind, calm):
        services.task_start(task=t, by=staff)
    Task.objects.filter(pk=calm.pk).update(
        last_progress_at=timezone.now() - dt.timedelta(days=8),
        started_at=timezone.now() - dt.timedelta(days=9),
    )
    html = client_for(staff).get(reverse("tasks_app:mine")).content.decode()

    def card(task):
        pattern = rf'<article[^>]*id="task-card-{task.pk}".*?</article>'
        return re.search(pattern, html, re.S).group(0)

    assert 'data-badge="overdue"' in card(overdue)
    assert "task-late" in card(overdue)
    assert 'data-badge="behind"' in card(behind)
    assert 'data-badge="overdue"' not in card(behind)
    assert 'data-badge="due-soon"' in card(soon)
    assert 'data-badge="stale"' in card(calm)
    assert 'data-badge="overdue"' not in card(calm)
    assert 'data-badge="stale"' not in card(behind)  # started just now


def test_my_tasks_shows_why_a_task_cannot_start(client_for, approved, staff, head):
    """Before the signatures, a to-do card says it awaits them instead of a start button."""
    todo = add_task(approved, responsible=staff, accountable=head)
    html = client_for(staff).get(reverse("tasks_app:mine")).content.decode()
    card = re.search(rf'<article[^>]*id="task-card-{todo.pk}".*?</article>', html, re.S).group(0)
    assert 'data-blocker="request"' in card
    assert "data-start-form" not in card


def test_my_tasks_is_empty_for_someone_without_tasks(client_for, outsider):
    html = client_for(outsider).get(reverse("tasks_app:mine")).content.decode()
    assert 'id="empty-mine"' in html
    assert 'id="empty-watching"' in html


def test_my_tasks_query_count_does_not_grow(client_for, staff, head, department, pmo):
    """我的任務 runs as many queries with 8 requests' worth of tasks as with 2."""
    colleague = UserFactory(department=department)
    client = client_for(staff)

    def make_rows(n):
        for i in range(n):
            req = make_approved_request(initiator=staff, departments=[department], pmo=pmo)
            mine = add_task(req, responsible=staff, accountable=head, name=f"任務{i}")
            add_task(req, responsible=colleague, accountable=staff, name=f"監督{i}")
            blocked = add_task(
                req, responsible=staff, accountable=head, name=f"後續{i}", depends_on=[mine]
            )
            sign_all(req)
            mine = services.task_start(task=mine, by=staff)
            services.progress_log(task=mine, by=staff, percent=30, done="進行中")
            if i % 2:
                mine = services.task_submit(task=mine, by=staff, completion_note="交付")
                pass_every_seat(mine)
            assert blocked.state == TaskState.TODO

    def fetch():
        assert client.get(reverse("tasks_app:mine")).status_code == 200

    assert_constant_queries(make_rows, fetch)


# --- progress log, htmx and plain ----------------------------------------------------


def test_quick_update_with_htmx_swaps_the_card(client_for, running, staff):
    """An htmx POST answers with the task's card (no redirect) and records the update."""
    response = client_for(staff).post(_url("progress", running), _progress(), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<article")
    assert f'id="task-card-{running.pk}"' in html
    assert "<html" not in html
    assert "data-notice" in html
    assert 'data-percent="40"' in html
    assert "pct-40" in html
    update = ProgressUpdate.objects.get(task=running)
    assert (update.percent, update.done, update.problems, update.support_needed) == (
        40,
        "完成主視覺草圖三版",
        "缺少產品高解析照片",
        "請技術部提供產品照片",
    )
    assert (update.risk_level, update.risk_note, update.author) == (
        "medium",
        "照片延誤會影響上線",
        staff,
    )
    running.refresh_from_db()
    assert running.progress_percent == 40 and running.last_progress_at is not None


@pytest.mark.parametrize("percent", ["150", "-5", "abc"])
def test_quick_update_refuses_a_percent_out_of_range(client_for, running, staff, percent):
    """A percentage outside 0–100 comes back in the card with the error and the typed text."""
    response = client_for(staff).post(_url("progress", running), _progress(percent=percent), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="task-card-{running.pk}"' in html
    assert "invalid-feedback" in html
    assert "完成主視覺草圖三版" in html  # nothing typed is lost
    assert 'class="collapse show quick-update"' in html
    assert not ProgressUpdate.objects.exists()


def test_quick_update_needs_what_was_done(client_for, running, staff):
    response = client_for(staff).post(_url("progress", running), _progress(done=" "), **HTMX)
    assert "invalid-feedback" in response.content.decode()
    assert "缺少產品高解析照片" in response.content.decode()
    assert not ProgressUpdate.objects.exists()


def test_plain_progress_post_redirects(client_for, running, staff):
    """Without htmx the same form posts and redirects back with a message."""
    back = reverse("tasks_app:mine") + f"#task-card-{running.pk}"
    response = client_for(staff).post(_url("progress", running), _progress(next=back))
    assert response.status_code == 302
    assert response.url == back
    assert _levels(response) == ["success"]
    assert ProgressUpdate.objects.get(task=running).percent == 40


def test_plain_progress_post_ignores_an_outside_next(client_for, running, staff):
    response = client_for(staff).post(
        _url("progress", running), _progress(next="https://evil.example.com/")
    )
    assert response.url == running.get_absolute_url()


def test_plain_progress_post_with_errors_keeps_the_text(client_for, running, staff):
    """A refused plain POST shows the task page again with the form as typed."""
    response = client_for(staff).post(_url("progress", running), _progress(percent="101"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "完成主視覺草圖三版" in html
    assert 'id="log-progress"' in html and "collapse show" in html
    assert "error" in _levels(response)
    assert not ProgressUpdate.objects.exists()


@pytest.mark.parametrize("role", ["head", "consulted", "partner_head", "pmo"])
def test_only_r_logs_progress(request, client_for, running, role):
    user = request.getfixturevalue(role)
    response = client_for(user).post(_url("progress", running), _progress(), **HTMX)
    assert response.status_code == 403
    assert not ProgressUpdate.objects.exists()


def test_progress_on_a_stale_page_is_refused(client_for, submitted, staff):
    """The card showed 進行中 but the task was submitted since: a conflict, nothing saved."""
    response = client_for(staff).post(_url("progress", submitted), _progress(), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-error" in html
    assert "data-unsent" in html and "完成主視覺草圖三版" in html  # the typed text is kept
    assert not ProgressUpdate.objects.exists()


def test_progress_outsider_gets_404(client_for, running, outsider):
    response = client_for(outsider).post(_url("progress", running), _progress(), **HTMX)
    assert response.status_code == 404


def test_action_views_are_post_only(client_for, running, staff):
    client = client_for(staff)
    for name in ("start", "override", "progress", "submit", "due"):
        assert client.get(_url(name, running)).status_code == 405, name


# --- start, dependencies and the override --------------------------------------------


def test_start_is_refused_before_the_request_is_in_progress(client_for, task, staff):
    """Until every head signed the breakdown (request 已立項), 開始執行 is refused."""
    html = client_for(staff).get(task.get_absolute_url()).content.decode()
    assert 'data-blocker="request"' in html
    response = client_for(staff).post(_url("start", task), {"expected_state": "todo"})
    assert response.status_code == 302
    assert _levels(response) == ["error"]
    task.refresh_from_db()
    assert task.state == TaskState.TODO


def test_start_by_r_once_signed(client_for, task, approved, staff):
    sign_all(approved)
    response = client_for(staff).post(_url("start", task), {"expected_state": "todo"})
    assert response.status_code == 302
    assert _levels(response) == ["success"]
    task.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS
    assert task.events.filter(kind=TaskEventKind.START, by=staff).exists()


@pytest.mark.parametrize("role", ["head", "consulted", "pmo"])
def test_only_r_starts(request, client_for, task, approved, role):
    sign_all(approved)
    user = request.getfixturevalue(role)
    html = client_for(user).get(task.get_absolute_url()).content.decode()
    assert 'id="start-form"' not in html
    response = client_for(user).post(_url("start", task), {"expected_state": "todo"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.state == TaskState.TODO


def test_start_waits_for_predecessors_until_a_overrides(client_for, approved, staff, head):
    """A task cannot start before its predecessors are done; A may override with a reason."""
    first = add_task(approved, responsible=staff, accountable=head, name="市場調研")
    second = add_task(
        approved, responsible=staff, accountable=head, name="推廣方案", depends_on=[first]
    )
    sign_all(approved)
    # R sees why, and the button is disabled; a POST anyway is refused.
    html = client_for(staff).get(second.get_absolute_url()).content.decode()
    assert 'data-blocker="predecessors"' in html
    assert 'id="override-form"' not in html
    response = client_for(staff).post(_url("start", second), {"expected_state": "todo"})
    assert _levels(response) == ["error"]
    second.refresh_from_db()
    assert second.state == TaskState.TODO
    # R may not override.
    response = client_for(staff).post(_url("override", second), {"reason": "趕時程"})
    assert response.status_code == 403
    # A sees the override form; an empty reason is refused.
    html = client_for(head).get(second.get_absolute_url()).content.decode()
    assert 'id="override-form"' in html
    response = client_for(head).post(
        _url("override", second), {"reason": "  ", "expected_state": "todo"}
    )
    assert response.status_code == 200
    second.refresh_from_db()
    assert second.dependency_override == ""
    response = client_for(head).post(
        _url("override", second), {"reason": "調研結果已口頭確認", "expected_state": "todo"}
    )
    assert _levels(response) == ["success"]
    second.refresh_from_db()
    assert second.dependency_override == "調研結果已口頭確認"
    assert second.events.filter(kind=TaskEventKind.OVERRIDE, by=head).exists()
    # Now R can start it.
    response = client_for(staff).post(_url("start", second), {"expected_state": "todo"})
    assert _levels(response) == ["success"]
    second.refresh_from_db()
    assert second.state == TaskState.IN_PROGRESS


def test_start_with_a_stale_expected_state_is_a_conflict(client_for, running, staff):
    response = client_for(staff).post(_url("start", running), {"expected_state": "todo"})
    assert _levels(response) == ["error"]
    running.refresh_from_db()
    assert running.state == TaskState.IN_PROGRESS


# --- submit and download -------------------------------------------------------------


def _file(name="主視覺初稿.txt", content=b"key visual draft v1\n"):
    return SimpleUploadedFile(name, content, content_type="text/plain")


def test_submit_needs_a_completion_note(client_for, running, staff):
    """Without a 完成說明 the submission is refused and the task stays 進行中."""
    response = client_for(staff).post(
        _url("submit", running), {"completion_note": " ", "expected_state": "in_progress"}
    )
    assert response.status_code == 200
    assert "error" in _levels(response)
    assert 'id="submit-panel"' in response.content.decode()
    running.refresh_from_db()
    assert running.state == TaskState.IN_PROGRESS
    assert not TaskDeliverable.objects.exists()


def test_submit_with_a_file_and_download_it(request, client_for, running, staff):
    """The file is stored, and downloads as an attachment only for those who see the task."""
    response = client_for(staff).post(
        _url("submit", running),
        {
            "completion_note": "三版主視覺已完成",
            "expected_state": "in_progress",
            "files": [_file()],
        },
    )
    assert response.status_code == 302
    running.refresh_from_db()
    assert running.state == TaskState.SUBMITTED
    assert running.completion_note == "三版主視覺已完成"
    deliverable = TaskDeliverable.objects.get(task=running)
    assert deliverable.original_name == "主視覺初稿.txt"
    url = _url("deliverable-download", running, deliverable.pk)
    html = client_for(staff).get(running.get_absolute_url()).content.decode()
    assert url in html and "三版主視覺已完成" in html
    for role, status in VISIBILITY.items():
        response = client_for(request.getfixturevalue(role)).get(url)
        assert response.status_code == status, role
        if status == 200:
            assert response["Content-Disposition"].startswith("attachment")
            assert response["X-Content-Type-Options"] == "nosniff"
            assert b"".join(response.streaming_content) == b"key visual draft v1\n"


def test_download_of_another_tasks_file_is_404(client_for, approved, running, staff, head):
    services.task_submit(task=running, by=staff, completion_note="交付", files=[_file()])
    other = Task.objects.filter(request=approved).exclude(pk=running.pk).first()
    deliverable = TaskDeliverable.objects.get()
    response = client_for(staff).get(_url("deliverable-download", other, deliverable.pk))
    assert response.status_code == 404


def test_submit_refuses_a_disallowed_file(client_for, running, staff):
    response = client_for(staff).post(
        _url("submit", running),
        {
            "completion_note": "交付",
            "expected_state": "in_progress",
            "files": [SimpleUploadedFile("evil.exe", b"MZ\x90\x00", content_type="application/x")],
        },
    )
    assert response.status_code == 200
    running.refresh_from_db()
    assert running.state == TaskState.IN_PROGRESS
    assert not TaskDeliverable.objects.exists()
    assert "交付" in response.content.decode()


def test_submit_by_someone_else_is_403(client_for, running, head):
    response = client_for(head).post(
        _url("submit", running), {"completion_note": "交付", "expected_state": "in_progress"}
    )
    assert response.status_code == 403


def test_submit_on_a_stale_page_is_a_conflict(client_for, submitted, staff):
    """The page showed 待執行; the task moved on: conflict message, the typed note kept."""
    response = client_for(staff).post(
        _url("submit", submitted), {"completion_note": "第二次交付", "expected_state": "todo"}
    )
    assert response.status_code == 200
    assert "error" in _levels(response)
    html = response.content.decode()
    assert 'id="unsent"' in html and "第二次交付" in html


# --- acceptance: review_app's panel on this page ---------------------------------------
# The answers themselves are tested in test_review_acceptance*.py.


def test_the_old_accept_and_reject_actions_are_gone(client_for, submitted, head):
    """A delivery is accepted in its acceptance round: A sees the acceptance panel with
    the answer form and an action linking to it, no direct accept / reject forms."""
    html = client_for(head).get(submitted.get_absolute_url()).content.decode()
    assert 'id="accept-form"' not in html and 'id="reject-form"' not in html
    assert 'id="acceptance"' in html and 'id="action-acceptance"' in html
    assert 'id="no-actions"' not in html
    for name in ("accept", "reject"):
        with pytest.raises(NoReverseMatch):
            reverse(f"tasks_app:{name}", args=[submitted.pk])


@pytest.mark.parametrize("role", ["informed", "consulted", "partner_head", "staff"])
def test_others_see_the_round_but_get_no_answer_form(request, client_for, submitted, role):
    """I, C, the head of a department the task does not involve, and the R see the round
    and nothing to answer."""
    html = client_for(request.getfixturevalue(role)).get(submitted.get_absolute_url())
    html = html.content.decode()
    assert 'id="acceptance"' in html
    assert 'id="action-acceptance"' not in html and "acceptance-seat-" not in html


# --- due date changes ----------------------------------------------------------------


def _due(day, **fields):
    data = {
        "new_date": day.isoformat(),
        "new_time": "18:00",
        "reason": "供應商延遲交付照片",
        "solution": "改用庫存照片先行排版",
        "expected_state": "in_progress",
    }
    data.update(fields)
    return data


def test_a_changes_the_due_date_with_reason_and_solution(client_for, running, head, staff):
    """The change is kept with its reason and solution and shows in the page's history."""
    old = running.due_at
    new_day = timezone.localdate(old) + dt.timedelta(days=7)
    response = client_for(head).post(_url("due", running), _due(new_day))
    assert response.status_code == 302
    running.refresh_from_db()
    assert timezone.localtime(running.due_at).date() == new_day
    assert timezone.localtime(running.due_at).time() == dt.time(18, 0)
    change = DueDateChange.objects.get(task=running)
    assert (change.old_due_at, change.reason, change.solution, change.changed_by) == (
        old,
        "供應商延遲交付照片",
        "改用庫存照片先行排版",
        head,
    )
    html = client_for(staff).get(running.get_absolute_url()).content.decode()
    assert f'data-due-change="{change.pk}"' in html
    assert "改用庫存照片先行排版" in html
    assert 'data-event="due_changed"' in html


def test_pmo_may_change_the_due_date(client_for, running, pmo):
    new_day = timezone.localdate(running.due_at) + dt.timedelta(days=3)
    assert client_for(pmo).post(_url("due", running), _due(new_day)).status_code == 302
    assert DueDateChange.objects.filter(task=running, changed_by=pmo).exists()


@pytest.mark.parametrize("role", ["staff", "consulted", "partner_head"])
def test_due_change_is_refused_for_r_and_others(request, client_for, running, role):
    user = request.getfixturevalue(role)
    html = client_for(user).get(running.get_absolute_url()).content.decode()
    assert 'id="due-form"' not in html
    new_day = timezone.localdate(running.due_at) + dt.timedelta(days=7)
    response = client_for(user).post(_url("due", running), _due(new_day))
    assert response.status_code == 403
    assert not DueDateChange.objects.exists()


def test_due_change_needs_a_solution(client_for, running, head):
    new_day = timezone.localdate(running.due_at) + dt.timedelta(days=7)
    response = client_for(head).post(_url("due", running), _due(new_day, solution=""))
    assert response.status_code == 200
    html = response.content.decode()
    assert "供應商延遲交付照片" in html  # the reason typed is kept
    assert 'id="due-panel"' in html
    assert not DueDateChange.objects.exists()


def test_due_change_before_the_start_is_refused(client_for, running, head):
    day = running.start_date - dt.timedelta(days=1)
    response = client_for(head).post(_url("due", running), _due(day))
    assert response.status_code == 200
    assert not DueDateChange.objects.exists()


def test_due_change_on_a_stale_page_is_a_conflict(client_for, submitted, head):
    new_day = timezone.localdate(submitted.due_at) + dt.timedelta(days=7)
    response = client_for(head).post(_url("due", submitted), _due(new_day))
    assert response.status_code == 200
    assert _levels(response) == ["error"]
    assert not DueDateChange.objects.exists()


# --- the page's actions by role ------------------------------------------------------


def test_actions_shown_by_permission(client_for, running, staff, head, consulted):
    """R sees progress and submit; A sees the due-date change; C changes nothing on the
    task, and may only report a risk (anyone on a task of a running request may)."""
    r_html = client_for(staff).get(running.get_absolute_url()).content.decode()
    assert 'id="log-progress"' in r_html and 'id="submit-form"' in r_html
    assert 'enctype="multipart/form-data"' in r_html
    assert 'id="due-form"' not in r_html
    a_html = client_for(head).get(running.get_absolute_url()).content.decode()
    assert 'id="due-form"' in a_html
    assert 'id="submit-form"' not in a_html and 'id="log-progress"' not in a_html
    c_html = client_for(consulted).get(running.get_absolute_url()).content.decode()
    for form_id in ("due-form", "submit-form", "log-progress"):
        assert f'id="{form_id}"' not in c_html
    assert 'id="report-risk"' in c_html and 'id="no-actions"' not in c_html


def test_every_action_form_carries_the_shown_state(client_for, running, staff):
    html = client_for(staff).get(running.get_absolute_url()).content.decode()
    for form_id in ("submit-form", f"progress-form-{running.pk}"):
        form = re.search(rf'id="{form_id}".*?</form>', html, re.S).group(0)
        assert 'name="expected_state" value="in_progress"' in form


def test_progress_history_table(client_for, running, staff, head):
    services.progress_log(
        task=running,
        by=staff,
        percent=40,
        done="完成草圖",
        problems="缺照片",
        support_needed="需要技術部支援",
        risk_note="可能延誤",
        risk_level="high",
    )
    html = client_for(head).get(running.get_absolute_url()).content.decode()
    table = re.search(r'id="progress-table".*?</table>', html, re.S).group(0)
    for text in ("完成草圖", "缺照片", "需要技術部支援", "可能延誤", 'data-risk="high"', "40%"):
        assert text in table
    assert 'id="latest-percent">40%' in html


def test_the_discussion_section_is_included(client_for, running, staff):
    """The comments and 協作請求 section comes from discussion_views.discussion_context."""
    html = client_for(staff).get(running.get_absolute_url()).content.decode()
    if hasattr(discussion_views, "discussion_context"):
        assert 'id="task-discussion"' in html
    else:
        assert 'id="task-discussion"' not in html


# --- the department page -------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("head", 200),
        ("deputy", 200),
        ("partner_head", 200),
        ("staff", 403),
        ("consulted", 403),
        ("outsider", 403),
        ("pmo", 403),
    ],
)
def test_department_page_is_for_heads_and_deputies(request, client_for, task, role, status):
    user = request.getfixturevalue(role)
    assert client_for(user).get(reverse("tasks_app:department")).status_code == status


def test_department_page_lists_the_departments_tasks(
    client_for, approved, task, head, deputy, partner_head, partner
):
    """A head sees the tasks their department is responsible for, not the partner's."""
    partner_task = approved.tasks.get(responsible_department=partner)
    for user in (head, deputy):
        html = client_for(user).get(reverse("tasks_app:department")).content.decode()
        assert f'data-task="{task.pk}"' in html
        assert f'data-task="{partner_task.pk}"' not in html
        assert 'hx-trigger="every 60s"' in html
    html = client_for(partner_head).get(reverse("tasks_app:department")).content.decode()
    assert f'data-task="{partner_task.pk}"' in html
    assert f'data-task="{task.pk}"' not in html


def test_department_page_shows_live_progress_and_badges(client_for, running, staff, head):
    services.progress_log(task=running, by=staff, percent=65, done="排版中")
    Task.objects.filter(pk=running.pk).update(
        last_progress_at=timezone.now() - dt.timedelta(days=10)
    )
    html = client_for(head).get(reverse("tasks_app:department")).content.decode()
    row = re.search(rf'<tr data-task="{running.pk}".*?</tr>', html, re.S).group(0)
    assert 'data-percent="65"' in row and "pct-65" in row
    assert 'data-badge="stale"' in row
    assert 'data-task-state="in_progress"' in row


def test_department_page_filters_by_state_and_request(
    client_for, approved, running, staff, head, department, pmo
):
    other_req = make_approved_request(initiator=staff, departments=[department], pmo=pmo)
    other = add_task(other_req, responsible=staff, accountable=head, name="另一需求的任務")
    client = client_for(head)
    url = reverse("tasks_app:department")
    html = client.get(url, {"request": other_req.pk}).content.decode()
    assert f'data-task="{other.pk}"' in html and f'data-task="{running.pk}"' not in html
    html = client.get(url, {"state": "in_progress"}).content.decode()
    assert f'data-task="{running.pk}"' in html and f'data-task="{other.pk}"' not in html
    html = client.get(url, {"state": "done"}).content.decode()
    assert f'data-task="{running.pk}"' not in html
    html = client.get(url, {"state": "bogus", "request": "x"}).content.decode()
    assert f'data-task="{running.pk}"' in html and f'data-task="{other.pk}"' in html


def test_department_page_sorted_by_due(client_for, approved, staff, head):
    today = timezone.localdate()
    in_30_days = services.due_at(today + dt.timedelta(days=30))
    in_3_days = services.due_at(today + dt.timedelta(days=3))
    late = add_task(approved, responsible=staff, accountable=head, due_at=in_30_days)
    early = add_task(approved, responsible=staff, accountable=head, due_at=in_3_days)
    html = client_for(head).get(reverse("tasks_app:department")).content.decode()
    assert html.index(f'data-task="{early.pk}"') < html.index(f'data-task="{late.pk}"')


def test_department_page_polling_returns_the_table_only(client_for, task, head):
    response = client_for(head).get(reverse("tasks_app:department"), **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="department-tasks"')
    assert "<html" not in html and f'data-task="{task.pk}"' in html
    # The state totals in the page header come along, swapped out of band.
    assert 'id="department-totals" hx-swap-oob="true"' in html
    assert 'data-total="todo"' in html


def test_department_page_query_count_does_not_grow(client_for, head, department, staff, pmo):
    client = client_for(head)

    def make_rows(n):
        req = make_approved_request(initiator=staff, departments=[department], pmo=pmo)
        for i in range(n):
            add_task(req, responsible=staff, accountable=head, name=f"任務{i}")
        sign_all(req)
        for t in req.tasks.all()[: n // 2]:
            services.task_start(task=t, by=t.assignments.get(role="R").user)

    def fetch():
        assert client.get(reverse("tasks_app:department"), {"state": "all"}).status_code == 200

    assert_constant_queries(make_rows, fetch)


def test_deputy_department_page_after_the_delegation_ends_is_403(client_for, head, department):
    user = UserFactory(department=department)
    DelegationFactory(
        head=head,
        deputy=user,
        start_date=timezone.localdate() - dt.timedelta(days=10),
        end_date=timezone.localdate() - dt.timedelta(days=1),
    )
    assert client_for(user).get(reverse("tasks_app:department")).status_code == 403


def test_detail_page_queries_are_bounded(client_for, running, staff):
    """The task page does not run a query per progress row or history event."""
    client = client_for(staff)
    n_before, _ = count_queries(lambda: client.get(running.get_absolute_url()))
    for i in range(6):
        services.progress_log(task=running, by=staff, percent=10 * i, done=f"第{i}次更新")
    n_after, _ = count_queries(lambda: client.get(running.get_absolute_url()))
    assert n_after == n_before


# --- in Chromium ---------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_quick_update_in_the_browser_swaps_the_card_without_reloading(page, live_server, pmo):
    """On 我的任務 the owner logs 40% with a problem and support needed: htmx swaps the card.

    A marker set on the window survives, so the page was not reloaded; a refused
    percentage shows its error inside the card with the typed text. The page fixture
    fails the test on any console error, so a CSP violation (an inline style set while
    htmx settles the swapped card) shows up here.
    """
    mkt = DepartmentFactory(code="mkt", name="市場部")
    owner = UserFactory(username="amy", full_name="王小美", department=mkt)
    boss = UserFactory(username="mkt_head", full_name="李建國", department=mkt)
    mkt.heads.add(boss)
    req = make_approved_request(initiator=owner, departments=[mkt], pmo=pmo, committed="")
    t = add_task(req, responsible=owner, accountable=boss, name="主視覺圖初稿")
    sign_all(req)
    services.task_start(task=t, by=owner)

    _log_in(page, live_server, owner)
    page.goto(live_server.url + reverse("tasks_app:mine"))
    page.evaluate("window.__noReload = true")
    card = f"#task-card-{t.pk}"
    page.click(f"{card} [data-quick-update-toggle]")
    page.wait_for_selector(f"#quick-update-{t.pk}.show")
    page.fill(f"#id_progress{t.pk}_percent", "140")
    page.fill(f"#id_progress{t.pk}_done", "完成三版草圖")
    page.click(f"{card} [data-progress-save]")
    page.wait_for_selector(f"{card} .invalid-feedback")
    assert page.input_value(f"#id_progress{t.pk}_done") == "完成三版草圖"
    assert not ProgressUpdate.objects.exists()

    page.fill(f"#id_progress{t.pk}_percent", "40")
    page.fill(f"#id_progress{t.pk}_problems", "缺少產品照片")
    page.fill(f"#id_progress{t.pk}_support_needed", "請技術部提供照片")
    page.click(f"{card} [data-progress-save]")
    page.wait_for_selector(f"{card} [data-notice]")
    assert page.evaluate("window.__noReload") is True
    assert page.get_attribute(card, "data-percent") == "40"
    assert page.locator(f"{card} .progress").get_attribute("aria-valuenow") == "40"
    update = ProgressUpdate.objects.get(task=t)
    assert (update.percent, update.problems, update.support_needed) == (
        40,
        "缺少產品照片",
        "請技術部提供照片",
    )
