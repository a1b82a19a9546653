"""The whole task state graph, through tasks_app.services (DOMAIN §2).

待執行 todo → 進行中 in_progress (開始執行, by R) → 待驗收 submitted (R delivers with a
完成說明) → 已完成 done; a rejected delivery goes back to 進行中. Every action is tried in
every state: a legal one moves the task and writes its history line, an illegal one
raises a translated refusal and changes nothing. 延期 / 滯後 is computed, never stored.

Accepting and sending back are decided by the acceptance procedure (review_app, tested
in test_review_acceptance*.py); here its state movers are called as it calls them (the
unchecked steps task_accept_unchecked and task_reject_delivery_unchecked), and a task
is brought to 已完成 by passing every acceptance seat.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from requests_app.choices import RequestState
from tasks_app import services
from tasks_app.choices import TaskEventKind, TaskState
from tasks_app.models import DueDateChange, Task, TaskEvent
from tasks_app.services import TaskConflict, TaskRefused
from tests.factories import UserFactory, make_mkt_tech_request
from tests.helpers import days_from_today as _days
from tests.review_acceptance_fixtures import pass_every_seat

pytestmark = pytest.mark.django_db


def _add_task(w, *, name="撰寫推廣方案", start=0, due=10, depends_on=(), progress=None) -> Task:
    """Add a task with R = w.owner (tech), A = w.accountable, C = w.consulted."""
    return services.task_save(
        request=w.request,
        by=w.initiator,
        data={
            "name": name,
            "responsible_department": w.tech,
            "start_date": _days(start),
            "due_at": services.due_at(_days(due)),
            "deliverable": "推廣方案文件",
            "acceptance_criteria": "主管審閱通過",
        },
        raci={"R": w.owner, "A": w.accountable, "C": [w.consulted]},
        depends_on=depends_on,
    )


def _sign_all(w) -> None:
    services.breakdown_sign(request=w.request, by=w.mkt_head, department=w.mkt)
    services.breakdown_sign(request=w.request, by=w.tech_head, department=w.tech)
    w.request.refresh_from_db()
    assert w.request.state == RequestState.IN_PROGRESS


def _world(pmo, *, sign=True, **task_kwargs):
    """A request between marketing (lead) and tech, with one task owned by tech.

    initiator: marketing staff; owner (R): tech staff; accountable (A): a marketing
    member who is not the initiator; consulted (C): tech staff.
    """
    w = make_mkt_tech_request(pmo=pmo, committed="")
    w.owner = UserFactory(department=w.tech)
    w.accountable = UserFactory(department=w.mkt)
    w.consulted = UserFactory(department=w.tech)
    w.task = _add_task(w, **task_kwargs)
    if sign:
        _sign_all(w)
        w.task.refresh_from_db()
    return w


def _bring(w, state: str) -> Task:
    """Move w.task to `state` through the services."""
    task = w.task
    if state in (TaskState.IN_PROGRESS, TaskState.SUBMITTED, TaskState.DONE):
        task = services.task_start(task=task, by=w.owner)
    if state in (TaskState.SUBMITTED, TaskState.DONE):
        task = services.task_submit(task=task, by=w.owner, completion_note="方案已完成")
    if state == TaskState.DONE:
        task = pass_every_seat(task)
    return Task.objects.get(pk=task.pk)


def _snapshot(task: Task) -> tuple:
    """Everything an action could change on a task, read fresh from the database."""
    t = Task.objects.get(pk=task.pk)
    return (
        t.state,
        t.due_at,
        t.progress_percent,
        t.last_progress_at,
        t.started_at,
        t.submitted_at,
        t.completed_at,
        t.completion_note,
        t.dependency_override,
        t.events.count(),
        t.progress_updates.count(),
        t.due_changes.count(),
        t.deliverables.count(),
    )


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


# --- the state × action matrix ---------------------------------------------------------

ACTIONS = {
    "task_start": lambda t, w: services.task_start(task=t, by=w.owner),
    "progress_log": lambda t, w: services.progress_log(
        task=t, by=w.owner, percent=50, done="完成初稿", problems="缺少去年數據"
    ),
    "task_submit": lambda t, w: services.task_submit(
        task=t, by=w.owner, completion_note="方案已上傳"
    ),
    "task_accept": lambda t, w: services.task_accept_unchecked(
        task=t, by=w.accountable, comment="符合"
    ),
    "task_reject_delivery": lambda t, w: services.task_reject_delivery_unchecked(
        task=t, by=w.accountable, reason="缺少預算表"
    ),
    "task_override_dependencies": lambda t, w: services.task_override_dependencies(
        task=t, by=w.accountable, reason="前置文件已有草稿,可先行"
    ),
    "task_change_due": lambda t, w: services.task_change_due(
        task=t,
        by=w.accountable,
        new_due_at=t.due_at + dt.timedelta(days=3),
        reason="供應商延遲交件",
        solution="加派一名工程師",
    ),
}

# (state, action) → (state after, event kind, by, comment written on the event)
LEGAL = {
    (TaskState.TODO, "task_start"): (TaskState.IN_PROGRESS, TaskEventKind.START, "owner", ""),
    (TaskState.IN_PROGRESS, "progress_log"): (
        TaskState.IN_PROGRESS,
        TaskEventKind.PROGRESS,
        "owner",
        None,
    ),
    (TaskState.IN_PROGRESS, "task_submit"): (
        TaskState.SUBMITTED,
        TaskEventKind.SUBMIT,
        "owner",
        "方案已上傳",
    ),
    (TaskState.SUBMITTED, "task_accept"): (
        TaskState.DONE,
        TaskEventKind.ACCEPT,
        "accountable",
        "符合",
    ),
    (TaskState.SUBMITTED, "task_reject_delivery"): (
        TaskState.IN_PROGRESS,
        TaskEventKind.REJECT,
        "accountable",
        "缺少預算表",
    ),
    (TaskState.TODO, "task_override_dependencies"): (
        TaskState.TODO,
        TaskEventKind.OVERRIDE,
        "accountable",
        "前置文件已有草稿,可先行",
    ),
    **{
        (state, "task_change_due"): (state, TaskEventKind.DUE_CHANGED, "accountable", None)
        for state in (TaskState.TODO, TaskState.IN_PROGRESS, TaskState.SUBMITTED)
    },
}

CASES = [(state, action) for state in TaskState.values for action in ACTIONS]


@pytest.mark.parametrize(("state", "action"), CASES)
def test_every_action_in_every_state(pmo, state, action):
    """A legal action moves the task (or keeps it) and writes one TaskEvent with who, from,
    to and the comment; an illegal one raises TaskRefused naming the current state and
    changes nothing."""
    w = _world(pmo)
    task = _bring(w, state)
    before = _snapshot(task)
    events_before = TaskEvent.objects.filter(task=task).count()
    if (state, action) in LEGAL:
        after, kind, by, comment = LEGAL[(state, action)]
        ACTIONS[action](task, w)
        task.refresh_from_db()
        assert task.state == after
        assert TaskEvent.objects.filter(task=task).count() == events_before + 1
        event = TaskEvent.objects.filter(task=task).latest("at", "pk")
        assert event.kind == kind
        assert event.by == getattr(w, by)
        if after != state:
            assert (event.from_state, event.to_state) == (state, after)
        else:  # progress, override and due changes are history lines, not transitions
            assert (event.from_state, event.to_state) == ("", "")
        if comment is not None:
            assert event.comment == comment
        else:
            assert event.comment  # progress and due changes say what changed
    else:
        with pytest.raises(TaskRefused) as info:
            ACTIONS[action](task, w)
        message = _message(info.value)
        assert message.strip()
        if not (action == "progress_log" and state == TaskState.TODO):
            # The refusal says what the task is now, in the user's language.
            assert str(TaskState(state).label) in message
        assert _snapshot(task) == before


def test_state_field_is_protected(pmo):
    """Nobody writes a task's state directly: only the transitions move it."""
    w = _world(pmo)
    with pytest.raises(AttributeError):
        w.task.state = TaskState.DONE
    assert Task.objects.get(pk=w.task.pk).state == TaskState.TODO


# --- start ------------------------------------------------------------------------------


def test_start_refused_while_the_request_is_only_approved(pmo):
    """While the request is 已立項 (breakdown not signed) the owner cannot start work."""
    w = _world(pmo, sign=False)
    assert w.request.state == RequestState.APPROVED
    before = _snapshot(w.task)
    with pytest.raises(TaskRefused) as info:
        services.task_start(task=w.task, by=w.owner)
    assert str(info.value).strip()
    assert _snapshot(w.task) == before


def test_only_the_responsible_person_starts(pmo):
    """A, C, the initiator and the department head are refused 開始執行; R may."""
    w = _world(pmo)
    for user in (w.accountable, w.consulted, w.initiator, w.tech_head, w.pmo):
        before = _snapshot(w.task)
        with pytest.raises(PermissionDenied) as info:
            services.task_start(task=w.task, by=user)
        assert str(info.value).strip()
        assert _snapshot(w.task) == before
    task = services.task_start(task=w.task, by=w.owner)
    assert task.state == TaskState.IN_PROGRESS and task.started_at is not None


def test_start_waits_for_predecessors_unless_accountable_overrides(pmo):
    """A task waits until the tasks it depends on are done. R cannot override; A can, but
    only with a reason, which is kept on the task and in its history."""
    w = _world(pmo, sign=False)
    later = _add_task(w, name="上線推廣", depends_on=[w.task])
    _sign_all(w)
    later.refresh_from_db()

    before = _snapshot(later)
    with pytest.raises(TaskRefused) as info:
        services.task_start(task=later, by=w.owner)
    assert str(info.value).strip()
    assert _snapshot(later) == before

    with pytest.raises(PermissionDenied):
        services.task_override_dependencies(task=later, by=w.owner, reason="我想先做")
    with pytest.raises(ValidationError) as info:
        services.task_override_dependencies(task=later, by=w.accountable, reason="   ")
    assert "reason" in info.value.message_dict
    assert _snapshot(later) == before

    services.task_override_dependencies(task=later, by=w.accountable, reason="素材已有草稿")
    later.refresh_from_db()
    assert later.dependency_override == "素材已有草稿"
    event = later.events.get(kind=TaskEventKind.OVERRIDE)
    assert (event.by, event.comment) == (w.accountable, "素材已有草稿")
    later = services.task_start(task=later, by=w.owner)
    assert later.state == TaskState.IN_PROGRESS


def test_start_allowed_once_predecessors_are_done(pmo):
    """When every predecessor is accepted, the dependent task starts without an override."""
    w = _world(pmo, sign=False)
    later = _add_task(w, name="上線推廣", depends_on=[w.task])
    _sign_all(w)
    _bring(w, TaskState.DONE)
    later = services.task_start(task=Task.objects.get(pk=later.pk), by=w.owner)
    assert later.state == TaskState.IN_PROGRESS
    assert later.dependency_override == ""


# --- submit, accept, reject ------------------------------------------------------------


def test_submit_needs_a_completion_note_and_keeps_the_files(pmo):
    """R submits with a 完成說明 (required) and the deliverable files; A is told."""
    w = _world(pmo)
    task = _bring(w, TaskState.IN_PROGRESS)
    before = _snapshot(task)
    with pytest.raises(ValidationError) as info:
        services.task_submit(task=task, by=w.owner, completion_note="  ")
    assert "completion_note" in info.value.message_dict
    assert _snapshot(task) == before
    with pytest.raises(PermissionDenied):
        services.task_submit(task=task, by=w.accountable, completion_note="代交")
    assert _snapshot(task) == before

    upload = SimpleUploadedFile("方案.txt", "推廣方案內容".encode(), content_type="text/plain")
    task = services.task_submit(
        task=task, by=w.owner, completion_note="方案與預算已完成", files=[upload]
    )
    task = Task.objects.get(pk=task.pk)
    assert task.state == TaskState.SUBMITTED
    assert task.completion_note == "方案與預算已完成"
    assert task.progress_percent == 100 and task.submitted_at is not None
    assert [d.original_name for d in task.deliverables.all()] == ["方案.txt"]
    # The acceptance round opened with the submission tells the reviewers, A among them.
    assert w.accountable.notifications.filter(url__startswith=task.get_absolute_url()).exists()


def test_accept_and_reject_only_through_the_acceptance_procedure(pmo):
    """Nobody accepts or sends back a delivery directly, not even A or the initiator:
    the public movers are refused; only the procedure calls the unchecked steps."""
    w = _world(pmo)
    task = _bring(w, TaskState.SUBMITTED)
    before = _snapshot(task)
    for user in (w.accountable, w.initiator, w.owner, w.tech_head, w.pmo):
        with pytest.raises(PermissionDenied):
            services.task_accept(task=task, by=user)
        with pytest.raises(PermissionDenied):
            services.task_reject_delivery(task=task, by=user, reason="退回")
        assert _snapshot(task) == before
    task = pass_every_seat(task)
    assert task.state == TaskState.DONE and task.completed_at is not None


def test_rejected_delivery_goes_back_in_progress_with_the_reason(pmo):
    """The procedure's 駁回: a reason is required; the task returns to 進行中 with the
    reason and the kind it is given (需整改 / 不通過) in its history; 不通過 resets the
    progress. (Resubmitting after the procedure's 需整改: test_review_acceptance.py.)"""
    w = _world(pmo)
    task = _bring(w, TaskState.SUBMITTED)
    before = _snapshot(task)
    with pytest.raises(ValidationError) as info:
        services.task_reject_delivery_unchecked(task=task, by=w.accountable, reason="")
    assert "reason" in info.value.message_dict
    assert _snapshot(task) == before

    task = services.task_reject_delivery_unchecked(
        task=task,
        by=w.accountable,
        reason="方向錯誤",
        kind=TaskEventKind.FAIL,
        reset_progress=True,
    )
    task = Task.objects.get(pk=task.pk)
    assert task.state == TaskState.IN_PROGRESS and task.submitted_at is None
    assert task.progress_percent == 0
    event = task.events.get(kind=TaskEventKind.FAIL)
    assert (event.from_state, event.to_state) == (TaskState.SUBMITTED, TaskState.IN_PROGRESS)
    assert (event.by, event.comment) == (w.accountable, "方向錯誤")


def test_stale_page_gets_a_conflict(pmo):
    """Acting from a page that still shows an old state is refused with TaskConflict."""
    w = _world(pmo)
    stale_copy = Task.objects.get(pk=w.task.pk)
    services.task_start(task=w.task, by=w.owner)
    with pytest.raises(TaskConflict) as info:
        services.task_start(task=stale_copy, by=w.owner)
    assert str(info.value).strip()
    assert TaskEvent.objects.filter(task=w.task, kind=TaskEventKind.START).count() == 1


# --- progress ----------------------------------------------------------------------------


def test_progress_log_records_the_update_and_the_latest_percent(pmo):
    """R logs percent, progress, problems, support and risk; the task keeps the latest
    percent; asking for support tells the initiator, A and the department's head."""
    w = _world(pmo)
    task = _bring(w, TaskState.IN_PROGRESS)
    update = services.progress_log(
        task=task,
        by=w.owner,
        percent=40,
        done="完成框架",
        problems="缺少去年數據",
        support_needed="請市場部提供去年數據",
        risk_note="可能延後三天",
        risk_level="medium",
    )
    task.refresh_from_db()
    assert task.progress_percent == 40 and task.last_progress_at == update.created_at
    assert (update.problems, update.support_needed, update.risk_level) == (
        "缺少去年數據",
        "請市場部提供去年數據",
        "medium",
    )
    for user in (w.initiator, w.accountable, w.tech_head):
        assert user.notifications.filter(url=task.get_absolute_url()).exists()


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [({"percent": 101, "done": "超額"}, "percent"), ({"percent": 10, "done": "  "}, "done")],
)
def test_progress_log_validation(pmo, fields, error_field):
    """A percent above 100 or an empty 進度更新 is refused on its field."""
    w = _world(pmo)
    task = _bring(w, TaskState.IN_PROGRESS)
    before = _snapshot(task)
    with pytest.raises(ValidationError) as info:
        services.progress_log(task=task, by=w.owner, **fields)
    assert error_field in info.value.message_dict
    assert _snapshot(task) == before


def test_only_the_responsible_person_logs_progress(pmo):
    w = _world(pmo)
    task = _bring(w, TaskState.IN_PROGRESS)
    before = _snapshot(task)
    for user in (w.accountable, w.consulted, w.tech_head):
        with pytest.raises(PermissionDenied):
            services.progress_log(task=task, by=user, percent=10, done="代填")
    assert _snapshot(task) == before


# --- due date changes -------------------------------------------------------------------


def test_due_change_needs_reason_and_solution_and_keeps_every_change(pmo):
    """Only A or the PMO move a due date, each time with a reason, a solution and the new
    date; every change is kept in order and each says where the date came from."""
    w = _world(pmo)
    task = _bring(w, TaskState.IN_PROGRESS)
    original = task.due_at
    before = _snapshot(task)
    for user in (w.owner, w.consulted, w.initiator, w.tech_head):
        with pytest.raises(PermissionDenied):
            services.task_change_due(
                task=task,
                by=user,
                new_due_at=original + dt.timedelta(days=2),
                reason="r",
                solution="s",
            )
    with pytest.raises(ValidationError) as info:
        services.task_change_due(
            task=task,
            by=w.accountable,
            new_due_at=original + dt.timedelta(days=2),
            reason=" ",
            solution="",
        )
    assert {"reason", "solution"} <= set(info.value.message_dict)
    with pytest.raises(ValidationError) as info:
        services.task_change_due(
            task=task,
            by=w.accountable,
            new_due_at=services.due_at(_days(-30)),
            reason="r",
            solution="s",
        )
    assert "new_due_at" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        services.task_change_due(
            task=task, by=w.accountable, new_due_at=original, reason="r", solution="s"
        )
    assert "new_due_at" in info.value.message_dict
    assert _snapshot(task) == before

    first = original + dt.timedelta(days=5)
    second = first + dt.timedelta(days=2)
    services.task_change_due(
        task=task, by=w.accountable, new_due_at=first, reason="供應商延遲", solution="加派人力"
    )
    services.task_change_due(
        task=task, by=w.pmo, new_due_at=second, reason="法務審閱延長", solution="平行作業"
    )
    task.refresh_from_db()
    assert task.due_at == second
    changes = list(DueDateChange.objects.filter(task=task).order_by("changed_at", "pk"))
    assert [(c.old_due_at, c.new_due_at) for c in changes] == [(original, first), (first, second)]
    assert [(c.changed_by, c.reason, c.solution) for c in changes] == [
        (w.accountable, "供應商延遲", "加派人力"),
        (w.pmo, "法務審閱延長", "平行作業"),
    ]
    assert task.events.filter(kind=TaskEventKind.DUE_CHANGED).count() == 2
    assert w.owner.notifications.filter(url=task.get_absolute_url()).count() >= 2


def test_due_date_compares_in_local_time(pmo):
    """A due time early in the morning (Taipei) falls on that local day, not the UTC one:
    a task due at 07:00 on its start day stays valid when edited again, and a new due time
    given in UTC is judged by its Taipei date."""
    w = _world(pmo, sign=False)
    start = _days(3)
    early = services.due_at(start, dt.time(7, 0))
    data = {"start_date": start, "due_at": early}
    raci = {"R": w.owner, "A": w.accountable}
    services.task_save(request=w.request, by=w.initiator, task=w.task, data=data, raci=raci)
    # Edit only the name: the due date comes back from the database in UTC.
    task = services.task_save(
        request=w.request,
        by=w.initiator,
        task=Task.objects.get(pk=w.task.pk),
        data={"name": "撰寫推廣方案(修訂)"},
        raci=raci,
    )
    assert task.due_at == early
    _sign_all(w)
    task = Task.objects.get(pk=task.pk)
    in_utc = services.due_at(start, dt.time(6, 30)).astimezone(dt.UTC)
    services.task_change_due(
        task=task, by=w.accountable, new_due_at=in_utc, reason="提早交件", solution="無"
    )
    assert Task.objects.get(pk=task.pk).due_at == in_utc


# --- late (延期 / 滯後) is computed ------------------------------------------------------


def test_overdue_task_is_late(pmo):
    """Past its due date and not done: overdue, hence late (延期)."""
    w = _world(pmo, start=-10, due=-1)
    task = _bring(w, TaskState.IN_PROGRESS)
    assert task.is_overdue and task.is_late


def test_done_task_is_never_late(pmo):
    w = _world(pmo, start=-10, due=-1)
    task = _bring(w, TaskState.DONE)
    assert not task.is_overdue and not task.is_behind and not task.is_late


def test_behind_plan_is_late_before_the_due_date(pmo):
    """Started long ago, due in the future, little progress: behind plan (滯後), late,
    but not overdue; logging enough progress clears it."""
    w = _world(pmo, start=-20, due=5)
    task = _bring(w, TaskState.IN_PROGRESS)
    services.progress_log(task=task, by=w.owner, percent=10, done="起步")
    task.refresh_from_db()
    assert task.expected_percent > 70
    assert not task.is_overdue and task.is_behind and task.is_late
    services.progress_log(task=task, by=w.owner, percent=90, done="趕上進度")
    task.refresh_from_db()
    assert not task.is_behind and not task.is_late


def test_task_on_schedule_is_not_late(pmo):
    """Starting today and due in ten days, with no progress yet: on plan."""
    w = _world(pmo, start=0, due=10)
    assert w.task.expected_percent <= 20
    assert not w.task.is_overdue and not w.task.is_behind and not w.task.is_late


def test_submitted_task_is_not_behind(pmo):
    """A delivered task awaits acceptance: never 滯後, even if it started long ago."""
    w = _world(pmo, start=-20, due=5)
    task = _bring(w, TaskState.SUBMITTED)
    assert not task.is_behind and not task.is_late
