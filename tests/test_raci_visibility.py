"""A RACI role opens a request for reading, and for writing only the task it is on
(issue 13 part 4).

P, of a department that takes no part in the request, holds a role on task X. The
guardian grant that role gives lets P read the whole request: its page and files,
every task page, the board and the PDFs. But P writes only on X: on task Y of the same
request P's comments, 協作請求, uploads, progress and due-date changes are refused
(403, nothing stored) and Y's page shows P no form for them. The people who take part
in the request (its departments' members and heads, their deputies, the initiator,
the PMO) still write on every task. Someone with no role gets 404 everywhere.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from requests_app import permissions as request_permissions
from requests_app import services as request_services
from requests_app.choices import RequestState
from requests_app.models import AttachmentVersion
from tasks_app import permissions, services
from tasks_app.choices import AskStatus, RaciRole, TaskState
from tasks_app.models import (
    CollabAsk,
    DueDateChange,
    ProgressUpdate,
    Task,
    TaskComment,
    TaskDeliverable,
)
from tests.factories import DelegationFactory, DepartmentFactory, UserFactory, make_approved_request
from tests.helpers import days_from_today as _days

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _task(req, *, name, responsible, accountable, department, **roles) -> Task:
    return services.task_save(
        request=req,
        by=req.initiator,
        data={
            "name": name,
            "responsible_department": department,
            "start_date": _days(0),
            "due_at": services.due_at(_days(14)),
        },
        raci={"R": responsible, "A": accountable, **roles},
    )


def _case(pmo, *, role: str) -> SimpleNamespace:
    """A request of marketing (D1) with tech collaborating, both tasks started.

    X 活動頁開發 (marketing) and Y 數據埋點 (tech). P, of sales (D2, no part in the
    request), holds `role` on X only. `deputy` (finance) acts for the tech head today;
    `outsider` is another member of sales, with no role anywhere.
    """
    mkt, tech, sales, fin = (
        DepartmentFactory(name=name) for name in ("市場部", "技術部", "銷售部", "財務部")
    )
    mkt_head = UserFactory(department=mkt, full_name="王經理")
    mkt.heads.add(mkt_head)
    tech_head = UserFactory(department=tech, full_name="蔡宗翰")
    tech.heads.add(tech_head)
    initiator = UserFactory(department=mkt, full_name="陳小美")
    mkt_staff = UserFactory(department=mkt, full_name="林小華")
    tech_staff = UserFactory(department=tech, full_name="張雅婷")
    p = UserFactory(department=sales, full_name="黃志明")
    deputy = UserFactory(department=fin, full_name="周代理")
    DelegationFactory(head=tech_head, deputy=deputy)
    req = make_approved_request(
        initiator=initiator, departments=[mkt, tech], lead=mkt, pmo=pmo, committed=""
    )
    x_roles = {"C": [p]} if role == "C" else {"I": [p]} if role == "I" else {}
    x = _task(
        req,
        name="活動頁開發",
        responsible=mkt_staff,
        accountable=p if role == "A" else initiator,
        department=mkt,
        **x_roles,
    )
    y = _task(req, name="數據埋點", responsible=tech_staff, accountable=initiator, department=tech)
    for department, head in ((mkt, mkt_head), (tech, tech_head)):
        services.breakdown_sign(request=req, by=head, department=department)
    req.refresh_from_db()
    assert req.state == RequestState.IN_PROGRESS
    x = services.task_start(task=Task.objects.get(pk=x.pk), by=mkt_staff)
    y = services.task_start(task=Task.objects.get(pk=y.pk), by=tech_staff)
    # Something to read on each: a request file, and a comment on Y.
    request_services.attachment_add(
        request=req, by=initiator, file=SimpleUploadedFile("需求說明.pdf", PDF)
    )
    services.comment_add(task=y, by=tech_staff, body="埋點規格已上傳")
    return SimpleNamespace(
        request=req,
        x=x,
        y=y,
        p=p,
        mkt=mkt,
        tech=tech,
        mkt_head=mkt_head,
        tech_head=tech_head,
        mkt_staff=mkt_staff,
        tech_staff=tech_staff,
        initiator=initiator,
        deputy=deputy,
        outsider=UserFactory(department=sales, full_name="李大同"),
        pmo=pmo,
    )


@pytest.fixture(params=["C", "I", "A"])
def case(request, pmo):
    """The case with P as C, I or A on X (R must come from the request's departments)."""
    return _case(pmo, role=request.param)


@pytest.fixture
def consulted_case(pmo):
    return _case(pmo, role="C")


# --- URLs and posts ------------------------------------------------------------------


def _url(name: str, task: Task, *args) -> str:
    return reverse(f"tasks_app:{name}", args=[task.pk, *args])


def _read_urls(c) -> dict[str, str]:
    version = AttachmentVersion.objects.get(attachment__request=c.request)
    return {
        "request page": reverse("requests_app:detail", args=[c.request.pk]),
        "request PDF": reverse("requests_app:pdf", args=[c.request.pk]),
        "request file": reverse(
            "requests_app:attachment-download", args=[c.request.pk, version.pk]
        ),
        "task X": c.x.get_absolute_url(),
        "task Y": c.y.get_absolute_url(),
        "breakdown": reverse("tasks_app:breakdown", args=[c.request.pk]),
        "board": reverse("tasks_app:board", args=[c.request.pk]),
        "breakdown PDF": reverse("tasks_app:breakdown-pdf", args=[c.request.pk]),
        "progress PDF": reverse("tasks_app:progress-pdf", args=[c.request.pk]),
    }


def _comment(client, task, body="請確認活動頁的埋點位置。", **extra):
    return client.post(_url("comment", task), {"body": body}, **extra)


def _ask(client, task, *, department, **extra):
    data = {
        "to_department": department.pk,
        "content": "請協助提供追蹤碼",
        "expected_date": _days(3).isoformat(),
    }
    return client.post(_url("ask", task), data, **extra)


def _progress(client, task, **extra):
    data = {
        "percent": 50,
        "done": "完成一半",
        "risk_level": "none",
        "expected_state": TaskState.IN_PROGRESS,
    }
    return client.post(_url("progress", task), data, **extra)


def _submit(client, task):
    data = {
        "completion_note": "交付成果",
        "expected_state": TaskState.IN_PROGRESS,
        "files": [SimpleUploadedFile("成果.pdf", PDF)],
    }
    return client.post(_url("submit", task), data)


def _due(client, task):
    data = {
        "new_date": (timezone.localdate(task.due_at) + dt.timedelta(days=7)).isoformat(),
        "new_time": "17:00",
        "reason": "供應商延遲",
        "solution": "先以測試資料上線",
        "expected_state": TaskState.IN_PROGRESS,
    }
    return client.post(_url("due", task), data)


def _attach(client, c):
    data = {"file": SimpleUploadedFile("補充.pdf", PDF), "note": ""}
    return client.post(reverse("requests_app:attachment-upload", args=[c.request.pk]), data)


def _rows() -> dict[str, int]:
    return {
        "comments": TaskComment.objects.count(),
        "asks": CollabAsk.objects.count(),
        "progress": ProgressUpdate.objects.count(),
        "deliverables": TaskDeliverable.objects.count(),
        "due changes": DueDateChange.objects.count(),
        "request files": AttachmentVersion.objects.count(),
    }


# --- reading -------------------------------------------------------------------------


def test_a_role_on_one_task_opens_the_whole_request_for_reading(client_for, case):
    """P reads the request page, its file and PDF, every task page, the breakdown, the
    board and both PDFs (200), and Y's comments."""
    client = client_for(case.p)
    for what, url in _read_urls(case).items():
        response = client.get(url)
        assert response.status_code == 200, what
    html = client.get(case.y.get_absolute_url()).content.decode()
    assert "埋點規格已上傳" in html
    assert request_permissions.can_view(case.p, case.request)
    assert not request_permissions.takes_part(case.p, case.request)
    assert set(permissions.visible_tasks(case.p)) == {case.x, case.y}
    assert set(permissions.writable_tasks(case.p)) == {case.x}


# --- writing on X, the task P holds a role on -----------------------------------------


def test_p_comments_and_asks_on_the_task_they_hold_a_role_on(client_for, case):
    """On X P's comment and 協作請求 are stored (302), and X's page shows both forms."""
    client = client_for(case.p)
    html = client.get(case.x.get_absolute_url()).content.decode()
    assert 'id="comment-form"' in html and 'id="ask-form"' in html
    assert 'id="comments-read-only"' not in html

    response = _comment(client, case.x)
    assert response.status_code == 302
    assert TaskComment.objects.filter(task=case.x, author=case.p).count() == 1
    response = _ask(client, case.x, department=case.mkt)
    assert response.status_code == 302
    ask = CollabAsk.objects.get(task=case.x, asked_by=case.p)
    assert ask.to_department == case.mkt
    # htmx answers with the section, the new comment in it.
    response = _comment(client, case.x, body="第二則留言", **HTMX)
    assert response.status_code == 200
    assert "第二則留言" in response.content.decode()
    assert TaskComment.objects.filter(task=case.x, author=case.p).count() == 2


def test_an_accountable_outsider_moves_the_due_date_of_their_task_only(client_for, pmo):
    """P as A on X changes X's due date (302, a change row) but not Y's (403)."""
    c = _case(pmo, role="A")
    client = client_for(c.p)
    assert 'id="due-form"' in client.get(c.x.get_absolute_url()).content.decode()
    assert _due(client, c.x).status_code == 302
    assert DueDateChange.objects.filter(task=c.x, changed_by=c.p).count() == 1
    assert 'id="due-form"' not in client.get(c.y.get_absolute_url()).content.decode()
    assert _due(client, c.y).status_code == 403
    assert not DueDateChange.objects.filter(task=c.y).exists()


# --- refused on Y, a task of the same request P holds no role on ----------------------


def test_p_is_refused_every_write_on_another_task_of_the_request(client_for, case):
    """Comment, ask, deliverable upload, progress (plain and htmx), due date and a file
    for the request itself: 403 each, and not one row stored."""
    client = client_for(case.p)
    before = _rows()
    refused = {
        "comment": _comment(client, case.y),
        "comment (htmx)": _comment(client, case.y, **HTMX),
        "ask": _ask(client, case.y, department=case.tech),
        "ask (htmx)": _ask(client, case.y, department=case.tech, **HTMX),
        "upload": _submit(client, case.y),
        "progress": _progress(client, case.y),
        "progress (htmx)": _progress(client, case.y, **HTMX),
        "due date": _due(client, case.y),
        "request file": _attach(client, case),
    }
    assert {what: r.status_code for what, r in refused.items()} == dict.fromkeys(refused, 403)
    assert _rows() == before
    case.y.refresh_from_db()
    assert (case.y.state, case.y.progress_percent) == (TaskState.IN_PROGRESS, 0)


def test_the_services_refuse_p_with_a_translated_message(consulted_case):
    """The services ask the same permission as the pages: PermissionDenied, in zh-Hant."""
    c = consulted_case
    calls = {
        "您無法在此任務留言。": lambda: services.comment_add(task=c.y, by=c.p, body="我來補充"),
        "您無法針對此任務提出協作請求。": lambda: services.ask_create(
            task=c.y, by=c.p, content="請協助", expected_date=_days(3), to_department=c.tech
        ),
        "只有此任務的負責人可以填報進度。": lambda: services.progress_log(
            task=c.y, by=c.p, percent=10, done="試填"
        ),
        "只有此任務的負責人可以提交成果。": lambda: services.task_submit(
            task=c.y, by=c.p, completion_note="交付"
        ),
        "您無法在此需求中新增檔案。": lambda: request_services.attachment_add(
            request=c.request, by=c.p, file=SimpleUploadedFile("補充.pdf", PDF)
        ),
    }
    before = _rows()
    with translation.override("zh-hant"):
        for message, call in calls.items():
            with pytest.raises(PermissionDenied) as info:
                call()
            assert str(info.value) == message
    assert _rows() == before


def test_the_page_of_another_task_shows_p_no_write_form(client_for, consulted_case):
    """Y's page reads in full but has no comment, ask, progress, submit or due-date
    form for P, and says why; the request page offers P no upload form."""
    c = consulted_case
    client = client_for(c.p)
    html = client.get(c.y.get_absolute_url()).content.decode()
    assert "數據埋點" in html and "埋點規格已上傳" in html
    for form in ('id="comment-form"', 'id="ask-form"', 'id="log-progress"'):
        assert form not in html, form
    for form in ('id="submit-form"', 'id="due-form"', 'id="start-form"'):
        assert form not in html, form
    assert 'id="comments-read-only"' in html
    assert 'id="comments-closed"' not in html  # not the archived case's notice
    assert "參與此需求的人員" in html  # the notice, in the portal's zh-Hant
    request_page = client.get(reverse("requests_app:detail", args=[c.request.pk]))
    assert 'id="attachment-upload-form"' not in request_page.content.decode()


def test_an_ask_made_to_p_by_name_on_another_task_p_may_answer(client_for, consulted_case):
    """Being asked is the right to answer: the ask on Y addressed to P gets P's answer."""
    c = consulted_case
    ask = services.ask_create(
        task=c.y, by=c.tech_staff, content="請確認銷售端需求", expected_date=_days(2), to_user=c.p
    )
    assert permissions.can_answer_ask(c.p, ask)
    html = client_for(c.p).get(c.y.get_absolute_url()).content.decode()
    assert f'data-answer-form="{ask.pk}"' in html
    response = client_for(c.p).post(_url("ask-answer", c.y, ask.pk), {"answer": "需求已確認"})
    assert response.status_code == 302
    ask.refresh_from_db()
    assert (ask.status, ask.answered_by, ask.answer) == (AskStatus.ANSWERED, c.p, "需求已確認")


def test_mentions_still_name_only_people_who_see_the_task(consulted_case):
    """P sees Y, so anyone writing on Y may @mention P; P mentioning someone who cannot
    see X is refused, as before."""
    c = consulted_case
    comment = services.comment_add(task=c.y, by=c.tech_staff, body=f"請@{c.p.username}看一下")
    assert list(comment.mentions.all()) == [c.p]
    with pytest.raises(ValidationError) as info:
        services.comment_add(task=c.x, by=c.p, body=f"@{c.outsider.username} 請協助")
    assert c.outsider.username in " ".join(info.value.messages)
    assert not TaskComment.objects.filter(author=c.p).exists()


# --- the people who take part still write everywhere ---------------------------------

PARTICIPANTS = ["tech_head", "deputy", "tech_staff", "mkt_staff", "initiator", "mkt_head", "pmo"]


@pytest.mark.parametrize("who", PARTICIPANTS)
def test_people_who_take_part_in_the_request_still_comment_and_ask_on_y(
    client_for, consulted_case, who
):
    """Y's R, its department's head and the head's deputy (from finance), the other
    department's people, the initiator and the PMO comment and ask on Y as before."""
    c = consulted_case
    user = getattr(c, who)
    client = client_for(user)
    assert _comment(client, c.y).status_code == 302
    assert _ask(client, c.y, department=c.mkt).status_code == 302
    body = "請確認活動頁的埋點位置。"
    assert TaskComment.objects.filter(task=c.y, author=user, body=body).count() == 1
    assert CollabAsk.objects.filter(task=c.y, asked_by=user).count() == 1


def test_every_role_rule_is_narrower_than_can_write_task(consulted_case):
    """Whoever may start, log progress, submit, override or move the due date of a task,
    or comment on it, may write on it: can_write_task is the gate all of them keep."""
    c = consulted_case
    people = [c.p, c.outsider, *(getattr(c, who) for who in PARTICIPANTS)]
    rules = (
        permissions.can_start,
        permissions.can_log_progress,
        permissions.can_submit,
        permissions.can_override_dependencies,
        permissions.can_change_due,
        permissions.can_comment,
    )
    for task in (c.x, c.y):
        writers = {u.pk for u in people if permissions.can_write_task(u, task)}
        assert writers == {u.pk for u in people if task in permissions.writable_tasks(u)}
        for rule in rules:
            assert {u.pk for u in people if rule(u, task)} <= writers, (rule.__name__, task)
    assert not permissions.can_write_task(c.p, c.y)
    assert permissions.can_write_task(c.p, c.x)
    assert c.x.assignments.filter(user=c.p, role=RaciRole.CONSULTED).exists()


# --- an outsider learns nothing ------------------------------------------------------


def test_an_outsider_gets_404_everywhere(client_for, consulted_case):
    """A colleague of P with no role anywhere: every page, file, PDF and POST is 404,
    and nothing is stored."""
    c = consulted_case
    client = client_for(c.outsider)
    for what, url in _read_urls(c).items():
        assert client.get(url).status_code == 404, what
    before = _rows()
    for task in (c.x, c.y):
        for what, response in {
            "comment": _comment(client, task),
            "ask": _ask(client, task, department=c.mkt),
            "upload": _submit(client, task),
            "progress": _progress(client, task),
            "progress (htmx)": _progress(client, task, **HTMX),
            "due date": _due(client, task),
        }.items():
            assert response.status_code == 404, (what, task.name)
    assert _attach(client, c).status_code == 404
    assert _rows() == before
