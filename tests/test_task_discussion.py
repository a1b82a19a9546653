"""Comments with @mentions and 協作請求 on a task; the asks inbox and the to-do section."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from collab.choices import Role
from collab.models import Notification
from requests_app.models import CollabRequest
from requests_app.permissions import VIEW_PERMISSION
from tasks_app import discussion_views, permissions, selectors, services
from tasks_app.choices import AskStatus
from tasks_app.models import CollabAsk, TaskComment
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_task,
)
from tests.helpers import assert_constant_queries

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def org(db, pmo):
    """Marketing (initiating, lead) and Tech take part in a request; Legal does not.

    The task 撰寫推廣方案 belongs to Marketing: R bob, A the Marketing head.
    """
    mkt = DepartmentFactory(code="mkt", name="市場部")
    tech = DepartmentFactory(code="tech", name="技術部")
    legal = DepartmentFactory(code="legal", name="法務部")
    mkt_head = UserFactory(username="mkt_head", full_name="王經理", department=mkt)
    mkt.heads.add(mkt_head)
    tech_head = UserFactory(username="tech_head", full_name="蔡宗翰", department=tech)
    tech.heads.add(tech_head)
    legal_head = UserFactory(username="legal_head", department=legal)
    legal.heads.add(legal_head)
    initiator = UserFactory(username="alice", full_name="陳小美", department=mkt)
    owner = UserFactory(username="bob", full_name="林小華", department=mkt)
    tech_staff = UserFactory(username="carol", full_name="張雅婷", department=tech)
    tech_deputy = UserFactory(username="tech_deputy", department=legal)
    DelegationFactory(head=tech_head, deputy=tech_deputy)
    outsider = UserFactory(username="dave", full_name="李大同", department=legal)
    req = make_approved_request(initiator=initiator, departments=[mkt, tech], lead=mkt, pmo=pmo)
    task = make_task(request=req, responsible=owner, accountable=mkt_head, department=mkt)
    return SimpleNamespace(**locals())


def _comment_url(task):
    return reverse("tasks_app:comment", args=[task.pk])


def _ask_url(task):
    return reverse("tasks_app:ask", args=[task.pk])


def _answer_url(ask):
    return reverse("tasks_app:ask-answer", args=[ask.task_id, ask.pk])


def _close_url(ask):
    return reverse("tasks_app:ask-close", args=[ask.task_id, ask.pk])


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _ask(org, *, to_user=None, to_department=None, by=None, days=3, content="請提供API文件"):
    return services.ask_create(
        task=org.task,
        by=by or org.owner,
        content=content,
        expected_date=timezone.localdate() + dt.timedelta(days=days),
        to_user=to_user,
        to_department=to_department,
    )


# --- who may see the people to mention -----------------------------------------------


@pytest.mark.django_db
def test_mentionable_users_is_the_same_set_as_the_service_in_constant_queries(org, executive):
    """The fast query (permissions.users_who_can_see, the @mention list) returns exactly
    services.mentionable_users (can_view per user), with every way of seeing a task
    present, and its query count does not grow with people."""
    superuser = UserFactory(is_superuser=True, department=None)
    admin = UserFactory(role=Role.ADMIN, department=org.legal)
    # A head of Tech who sits in Legal; deputies: for Tech only, for all of a head's
    # departments, an expired one, and one whose head is disabled.
    remote_head = UserFactory(department=org.legal)
    org.tech.heads.add(remote_head)
    global_deputy = UserFactory(department=org.legal)
    DelegationFactory(head=org.mkt_head, deputy=global_deputy, department=None)
    expired = UserFactory(department=org.legal)
    DelegationFactory(
        head=org.mkt_head,
        deputy=expired,
        start_date=timezone.localdate() - dt.timedelta(days=9),
        end_date=timezone.localdate() - dt.timedelta(days=2),
    )
    gone_head = UserFactory(department=org.legal, is_active=False)
    org.tech.heads.add(gone_head)
    deputy_of_gone = UserFactory(department=org.legal)
    DelegationFactory(head=gone_head, deputy=deputy_of_gone)
    disabled = UserFactory(department=org.mkt, is_active=False)
    consulted = UserFactory(department=org.legal)
    services.task_save(
        request=org.req,
        by=org.initiator,
        data={},
        raci={"R": org.owner, "A": org.mkt_head, "C": [consulted]},
        task=org.task,
    )
    granted = UserFactory(department=org.legal)
    assign_perm(VIEW_PERMISSION, granted, org.req)
    homeless = UserFactory(department=None)

    fast = set(permissions.users_who_can_see(org.task))
    # The selector is the mirror image of visible_tasks: ask can_view for every user.
    from collab.models import User

    slow = {u for u in User.objects.filter(is_active=True) if permissions.can_view(u, org.task)}
    assert fast == slow
    expected_in = {
        org.pmo,
        executive,
        superuser,
        admin,
        org.initiator,
        org.owner,
        org.mkt_head,
        org.tech_head,
        org.tech_staff,
        org.tech_deputy,
        remote_head,
        global_deputy,
        consulted,
        granted,
    }
    assert expected_in <= fast
    assert (
        not {
            expired,
            gone_head,
            deputy_of_gone,
            disabled,
            org.outsider,
            org.legal_head,
            homeless,
        }
        & fast
    )

    def more_people(n):
        for _ in range(n):
            UserFactory(department=org.tech)
            UserFactory(department=org.legal)

    queries = assert_constant_queries(
        more_people, lambda: list(permissions.users_who_can_see(org.task))
    )
    assert queries <= 2


@pytest.mark.django_db
def test_asks_answerable_agrees_with_can_answer_ask(org):
    """The inbox's one-query rule gives the same answer as permissions.can_answer_ask."""
    asks = [
        _ask(org, to_user=org.tech_staff),
        _ask(org, to_department=org.tech),
        _ask(org, to_department=org.mkt, by=org.tech_staff),
    ]
    people = [org.owner, org.mkt_head, org.tech_head, org.tech_staff, org.tech_deputy, org.pmo]
    for user in people:
        answerable = set(selectors.asks_answerable(user))
        for ask in asks:
            assert (ask in answerable) == permissions.can_answer_ask(user, ask), (user, ask)


# --- comments --------------------------------------------------------------------------


ALLOWED = [
    "initiator",
    "owner",
    "mkt_head",
    "tech_head",
    "tech_staff",
    "tech_deputy",
    "pmo",
]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ALLOWED)
def test_anyone_who_can_see_the_task_comments(org, client_for, who):
    """RACI members, the departments' staff, heads and deputies, and the PMO comment."""
    user = getattr(org, who)
    response = client_for(user).post(_comment_url(org.task), {"body": "已看過，沒問題。"})
    assert response.status_code == 302
    assert response.url == org.task.get_absolute_url() + "#task-discussion"
    comment = TaskComment.objects.get()
    assert (comment.task, comment.author, comment.body) == (org.task, user, "已看過，沒問題。")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["executive", "superuser"])
def test_people_who_see_everything_comment(org, client_for, who, request):
    user = request.getfixturevalue(who)
    response = client_for(user).post(_comment_url(org.task), {"body": "收到"})
    assert response.status_code == 302
    assert TaskComment.objects.filter(author=user).count() == 1


@pytest.mark.django_db
def test_outsider_gets_404_for_every_discussion_action(org, client_for):
    """Legal takes no part: comment, ask, answer and close all answer 404, nothing saved."""
    ask = _ask(org, to_department=org.tech)
    client = client_for(org.outsider)
    assert client.post(_comment_url(org.task), {"body": "hi"}).status_code == 404
    data = {"to_user": org.owner.pk, "content": "x", "expected_date": "2099-01-01"}
    assert client.post(_ask_url(org.task), data).status_code == 404
    assert client.post(_answer_url(ask), {"answer": "好"}).status_code == 404
    assert client.post(_close_url(ask), {}).status_code == 404
    assert not TaskComment.objects.exists()
    ask.refresh_from_db()
    assert ask.status == AskStatus.OPEN and ask.answer == ""


@pytest.mark.django_db
def test_comments_are_closed_on_an_archived_case(org, client_for):
    CollabRequest.objects.filter(pk=org.req.pk).update(is_archived=True)
    response = client_for(org.owner).post(_comment_url(org.task), {"body": "還在嗎"})
    assert response.status_code == 403
    assert not TaskComment.objects.exists()


@pytest.mark.django_db
def test_comment_page_refuses_get(org, client_for):
    assert client_for(org.owner).get(_comment_url(org.task)).status_code == 405


@pytest.mark.django_db
def test_mention_notifies_exactly_the_mentioned_people(
    org, client_for, django_capture_on_commit_callbacks
):
    """@carol and @tech_head get a notification and one e-mail each; nobody else does,
    and the author mentioning themselves is not told of their own comment."""
    mail.outbox.clear()
    Notification.objects.all().delete()
    body = "@carol @tech_head 請協助確認介面規格，@bob 已整理需求。"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(org.owner).post(_comment_url(org.task), {"body": body}, **HTMX)
    assert response.status_code == 200
    comment = TaskComment.objects.get()
    assert set(comment.mentions.all()) == {org.tech_staff, org.tech_head, org.owner}
    rows = Notification.objects.all()
    assert {n.recipient for n in rows} == {org.tech_staff, org.tech_head}
    assert all(n.url == org.task.get_absolute_url() for n in rows)
    assert sorted(address for m in mail.outbox for address in m.to) == sorted(
        [org.tech_staff.email, org.tech_head.email]
    )


@pytest.mark.django_db
def test_mentioning_someone_who_cannot_see_the_task_is_refused_and_the_text_kept(
    org, client_for, django_capture_on_commit_callbacks
):
    """@dave (Legal) cannot see the task: nothing is saved or sent, the partial shows the
    service's message naming him and the typed text is still in the box."""
    Notification.objects.all().delete()
    mail.outbox.clear()
    body = "@carol 請看，也請 @dave 提供合約範本"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(org.owner).post(_comment_url(org.task), {"body": body}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="task-discussion"' in html and "<html" not in html
    assert body in html  # in the textarea, escaped text equals the input here
    assert "dave" in html and "is-invalid" in html
    assert not TaskComment.objects.exists()
    assert not Notification.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_unknown_name_is_refused(org, client_for):
    response = client_for(org.owner).post(
        _comment_url(org.task), {"body": "@nobody 請回覆"}, **HTMX
    )
    assert response.status_code == 200
    assert "nobody" in response.content.decode()
    assert not TaskComment.objects.exists()


@pytest.mark.django_db
def test_plain_post_refusal_redirects_with_the_message_and_keeps_the_text(org, client_for):
    """Without htmx: redirect to the task's discussion with the message; the typed text
    comes back in the comment box the next time the section is drawn, once."""
    client = client_for(org.owner)
    body = "請 @dave 看一下"
    response = client.post(_comment_url(org.task), {"body": body})
    assert response.status_code == 302
    assert response.url.endswith("#task-discussion")
    assert any("dave" in m for m in _messages(response))
    assert not TaskComment.objects.exists()
    request = RequestFactory().get(org.task.get_absolute_url())
    request.session = client.session
    context = discussion_views.discussion_context(org.owner, org.task, request=request)
    assert context["discussion"].comment_form["body"].value() == body
    again = discussion_views.discussion_context(org.owner, org.task, request=request)
    assert again["discussion"].comment_form["body"].value() in (None, "")


@pytest.mark.django_db
def test_empty_comment_is_refused(org, client_for):
    response = client_for(org.owner).post(_comment_url(org.task), {"body": "   "}, **HTMX)
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert not TaskComment.objects.exists()


@pytest.mark.django_db
def test_comment_is_escaped_and_real_mentions_become_badges(org, client_for):
    """HTML typed in a comment is shown as text; @carol becomes a badge with her name,
    an e-mail-free @word that is not a mention is never turned into one."""
    response = client_for(org.owner).post(
        _comment_url(org.task), {"body": "<script>alert(1)</script> 請 @carol 看\n第二行"}, **HTMX
    )
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'data-mention="carol"' in html
    assert "@張雅婷" in html
    comment = TaskComment.objects.get()
    # A comment whose body names someone not recorded as mentioned shows plain text.
    comment.mentions.clear()
    assert "data-mention" not in discussion_views.comment_html(comment)


@pytest.mark.django_db
def test_discussion_section_lists_mentionable_people_as_json(org):
    """The autocomplete's list: people who can see the task, without the reader, as JSON."""
    context = discussion_views.discussion_context(org.owner, org.task)
    request = RequestFactory().get("/")
    request.user = org.owner
    request.htmx = False
    html = render_to_string("tasks_app/_discussion.html", context, request=request)
    assert '<script id="task-mentionable" type="application/json">' in html
    names = {p["username"] for p in context["discussion"].mentionable}
    assert {"carol", "tech_head", "alice"} <= names
    assert "bob" not in names and "dave" not in names
    assert "js/mentions.js" in html and "css/discussion.css" in html


@pytest.mark.django_db
def test_discussion_section_queries_do_not_grow_with_comments_and_asks(org):
    """Comments with mentions and asks with their people are read in constant queries."""
    people = [org.tech_staff, org.tech_head, org.initiator]

    def more(n):
        for i in range(n):
            services.comment_add(
                task=org.task, by=org.owner, body=f"第{i}次 @{people[i % 3].username}"
            )
            _ask(org, to_user=people[i % 3])
            _ask(org, to_department=org.tech)

    def draw():
        context = discussion_views.discussion_context(org.tech_staff, org.task)
        render_to_string("tasks_app/_discussion.html", context)

    assert_constant_queries(more, draw)


# --- 協作請求 --------------------------------------------------------------------------


def _ask_data(**fields):
    data = {
        "to_department": "",
        "to_user": "",
        "content": "請提供會員API文件",
        "expected_date": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
    }
    data.update({k: "" if v is None else v for k, v in fields.items()})
    return data


@pytest.mark.django_db
def test_ask_a_person_notifies_only_them(org, client_for, django_capture_on_commit_callbacks):
    Notification.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(org.owner).post(
            _ask_url(org.task), _ask_data(to_user=org.tech_staff.pk), **HTMX
        )
    assert response.status_code == 200
    ask = CollabAsk.objects.get()
    assert (ask.asked_by, ask.to_user, ask.to_department, ask.status) == (
        org.owner,
        org.tech_staff,
        None,
        AskStatus.OPEN,
    )
    assert f'id="ask-{ask.pk}"' in response.content.decode()
    assert [n.recipient for n in Notification.objects.all()] == [org.tech_staff]
    assert [m.to for m in mail.outbox] == [[org.tech_staff.email]]


@pytest.mark.django_db
def test_ask_a_department_notifies_its_heads(org, client_for, django_capture_on_commit_callbacks):
    Notification.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(org.owner).post(
            _ask_url(org.task), _ask_data(to_department=org.tech.pk)
        )
    assert response.status_code == 302
    ask = CollabAsk.objects.get()
    assert ask.to_department == org.tech and ask.to_user is None
    # The department's head, and the deputy acting for that head today.
    assert {n.recipient for n in Notification.objects.all()} == {org.tech_head, org.tech_deputy}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [org.tech_head.email, org.tech_deputy.email]
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {},  # nobody asked
        {"to_department": "tech", "to_user": "carol"},  # both
        {"to_user": "dave"},  # cannot see the task
        {"to_department": "legal"},  # not one of the request's departments
        {"to_user": "carol", "expected_date": "2000-01-01"},  # in the past
        {"to_user": "carol", "content": "  "},
    ],
)
def test_invalid_asks_are_refused_and_nothing_is_sent(org, client_for, fields):
    refs = {"tech": org.tech.pk, "legal": org.legal.pk, "carol": org.tech_staff.pk}
    refs["dave"] = org.outsider.pk
    data = _ask_data(**{k: refs.get(v, v) for k, v in fields.items()})
    Notification.objects.all().delete()
    response = client_for(org.owner).post(_ask_url(org.task), data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "is-invalid" in html or "alert-danger" in html or "invalid-feedback" in html
    assert 'id="ask-new" open' in html  # the form stays open with what was typed
    assert not CollabAsk.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_only_the_person_asked_answers_and_the_asker_is_told(
    org, client_for, django_capture_on_commit_callbacks
):
    ask = _ask(org, to_user=org.tech_staff)
    for other in (org.mkt_head, org.tech_head, org.pmo, org.owner):
        response = client_for(other).post(_answer_url(ask), {"answer": "我來回答"})
        assert response.status_code == 403, other
    Notification.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(org.tech_staff).post(
            _answer_url(ask), {"answer": "文件已上傳到共用區"}, **HTMX
        )
    assert response.status_code == 200
    ask.refresh_from_db()
    assert ask.status == AskStatus.ANSWERED
    assert (ask.answer, ask.answered_by) == ("文件已上傳到共用區", org.tech_staff)
    assert [n.recipient for n in Notification.objects.all()] == [org.owner]
    assert [m.to for m in mail.outbox] == [[org.owner.email]]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["tech_staff", "tech_head", "tech_deputy"])
def test_members_and_heads_of_the_department_asked_answer(org, client_for, who):
    ask = _ask(org, to_department=org.tech)
    response = client_for(getattr(org, who)).post(_answer_url(ask), {"answer": "可以支援"})
    assert response.status_code == 302
    ask.refresh_from_db()
    assert ask.status == AskStatus.ANSWERED and ask.answered_by == getattr(org, who)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["mkt_head", "initiator", "pmo"])
def test_people_outside_the_department_asked_cannot_answer(org, client_for, who):
    """Seeing the task is not enough: only members, heads and the heads' deputies of the
    department asked answer (permissions.can_answer_ask)."""
    ask = _ask(org, to_department=org.tech)
    response = client_for(getattr(org, who)).post(_answer_url(ask), {"answer": "代答"})
    assert response.status_code == 403
    ask.refresh_from_db()
    assert ask.status == AskStatus.OPEN and ask.answer == ""


@pytest.mark.django_db
@pytest.mark.parametrize("first", ["answer", "close"])
def test_an_ask_that_is_no_longer_open_cannot_be_answered(org, client_for, first):
    ask = _ask(org, to_user=org.tech_staff)
    if first == "answer":
        services.ask_answer(ask=ask, by=org.tech_staff, answer="第一次回答")
    else:
        services.ask_close(ask=ask, by=org.owner)
    before = CollabAsk.objects.get(pk=ask.pk)
    response = client_for(org.tech_staff).post(_answer_url(ask), {"answer": "再回答一次"})
    assert response.status_code == 302
    assert _messages(response)  # told why
    response = client_for(org.tech_staff).post(_answer_url(ask), {"answer": "再回答一次"}, **HTMX)
    html = response.content.decode()
    assert 'id="discussion-error"' in html
    assert f'data-answer-form="{ask.pk}"' not in html  # nothing left to answer
    after = CollabAsk.objects.get(pk=ask.pk)
    assert (after.status, after.answer, after.answered_at) == (
        before.status,
        before.answer,
        before.answered_at,
    )


@pytest.mark.django_db
def test_empty_answer_is_refused_with_the_form_open(org, client_for):
    ask = _ask(org, to_user=org.tech_staff)
    response = client_for(org.tech_staff).post(_answer_url(ask), {"answer": " "}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-answer-form="{ask.pk}"' in html and "open>" in html
    ask.refresh_from_db()
    assert ask.status == AskStatus.OPEN


@pytest.mark.django_db
def test_only_the_asker_closes(org, client_for):
    ask = _ask(org, to_user=org.tech_staff)
    for other in (org.tech_staff, org.mkt_head, org.pmo):
        assert client_for(other).post(_close_url(ask)).status_code == 403
    ask.refresh_from_db()
    assert ask.status == AskStatus.OPEN
    services.ask_answer(ask=ask, by=org.tech_staff, answer="好")
    response = client_for(org.owner).post(_close_url(ask), **HTMX)
    assert response.status_code == 200
    ask.refresh_from_db()
    assert ask.status == AskStatus.CLOSED and ask.answer == "好"
    # Closing again changes nothing and says so.
    response = client_for(org.owner).post(_close_url(ask))
    assert response.status_code == 302 and _messages(response)
    response = client_for(org.owner).post(_close_url(ask), **HTMX)
    assert 'id="discussion-error"' in response.content.decode()


@pytest.mark.django_db
def test_task_page_section_shows_who_may_do_what(org):
    """Answer forms only for the person asked, close buttons only for the asker, and the
    three statuses as badges."""
    to_carol = _ask(org, to_user=org.tech_staff)
    answered = _ask(org, to_department=org.tech)
    services.ask_answer(ask=answered, by=org.tech_head, answer="已安排")
    closed = _ask(org, to_user=org.initiator)
    services.ask_close(ask=closed, by=org.owner)
    CollabAsk.objects.filter(pk__in=[to_carol.pk, closed.pk]).update(
        expected_date=timezone.localdate() - dt.timedelta(days=1)
    )

    def html_for(user):
        request = RequestFactory().get("/")
        request.user, request.htmx = user, True
        context = discussion_views.discussion_context(user, org.task)
        return render_to_string("tasks_app/_discussion.html", context, request=request)

    carol = html_for(org.tech_staff)
    assert f'data-answer-form="{to_carol.pk}"' in carol
    assert f'data-answer-form="{answered.pk}"' not in carol
    assert "data-close-form" not in carol
    owner = html_for(org.owner)
    assert "data-answer-form" not in owner
    assert f'data-close-form="{to_carol.pk}"' in owner
    assert f'data-close-form="{answered.pk}"' in owner
    assert f'data-close-form="{closed.pk}"' not in owner
    for status in AskStatus.values:
        assert f'data-ask-status="{status}"' in owner
    # Past due is flagged on an open ask only; open asks come first.
    late_row = owner.split(f'id="ask-{to_carol.pk}"')[0].rsplit("<li", 1)[1]
    assert "ask-overdue" in late_row
    assert 'data-due="overdue"' in owner.split(f'id="ask-{to_carol.pk}"')[1].split("</li>")[0]
    assert 'data-due="overdue"' not in owner.split(f'id="ask-{closed.pk}"')[1].split("</li>")[0]
    order = [owner.index(f'id="ask-{a.pk}"') for a in (to_carol, answered, closed)]
    assert order == sorted(order)


# --- the inbox ---------------------------------------------------------------------


def _inbox(client, **params):
    return client.get(reverse("tasks_app:asks"), params)


def _rows(response) -> set[int]:
    return {ask.pk for ask in response.context["rows"]}


@pytest.mark.django_db
def test_inbox_tabs_and_status_filter(org, client_for):
    to_me = _ask(org, to_user=org.tech_staff)
    to_dept = _ask(org, to_department=org.tech)
    answered = _ask(org, to_department=org.tech)
    services.ask_answer(ask=answered, by=org.tech_head, answer="OK")
    mine = _ask(org, to_department=org.mkt, by=org.tech_staff)
    _ask(org, to_user=org.initiator)  # someone else's
    client = client_for(org.tech_staff)

    response = _inbox(client)
    assert response.status_code == 200 and response.context["box"] == "to_me"
    assert _rows(response) == {to_me.pk}
    assert _rows(_inbox(client, box="departments")) == {to_dept.pk, answered.pk}
    assert _rows(_inbox(client, box="departments", status="open")) == {to_dept.pk}
    assert _rows(_inbox(client, box="departments", status="answered")) == {answered.pk}
    assert _rows(_inbox(client, box="mine")) == {mine.pk}
    counts = {tab["code"]: tab["open"] for tab in response.context["boxes"]}
    assert counts == {"to_me": 1, "departments": 1, "mine": 1}
    # Open first, then by expected date.
    rows = _inbox(client, box="departments").context["rows"]
    assert [a.status for a in rows] == [AskStatus.OPEN, AskStatus.ANSWERED]


@pytest.mark.django_db
def test_inbox_answer_and_close_go_back_to_the_inbox(org, client_for):
    ask = _ask(org, to_user=org.tech_staff)
    here = reverse("tasks_app:asks") + "?box=to_me"
    response = client_for(org.tech_staff).post(_answer_url(ask), {"answer": "已處理", "next": here})
    assert response.status_code == 302 and response.url == here
    response = client_for(org.owner).post(_close_url(ask), {"next": "https://evil.example.com/"})
    assert response.url == org.task.get_absolute_url() + "#task-discussion"


@pytest.mark.django_db
def test_refused_answer_from_the_inbox_leaves_no_draft_behind(org, client_for):
    """A refusal on the inbox goes back to the inbox; nothing waits in the session."""
    ask = _ask(org, to_user=org.tech_staff)
    client = client_for(org.tech_staff)
    here = reverse("tasks_app:asks")
    response = client.post(_answer_url(ask), {"answer": " ", "next": here})
    assert response.url == here and _messages(response)
    assert discussion_views.DRAFT_KEY not in client.session


@pytest.mark.django_db
def test_inbox_never_shows_an_ask_on_a_task_the_reader_cannot_see(org, client_for):
    """Even a row that points at someone who cannot see the task (the service refuses
    to make one; e.g. a person who lost access later) stays out of their inbox."""
    for target in ({"to_user": org.outsider}, {"to_department": org.legal}):
        CollabAsk.objects.create(
            task=org.task,
            asked_by=org.owner,
            content="舊的請求",
            expected_date=timezone.localdate(),
            **target,
        )
    client = client_for(org.outsider)
    assert _rows(_inbox(client)) == set()
    assert _rows(_inbox(client, box="departments")) == set()


@pytest.mark.django_db
@pytest.mark.parametrize("box", ["to_me", "departments", "mine"])
def test_inbox_queries_do_not_grow_with_rows(org, client_for, box):
    client = client_for(org.tech_staff)

    def more(n):
        for i in range(n):
            if box == "mine":
                ask = _ask(org, to_user=org.owner, by=org.tech_staff)
            elif box == "to_me":
                ask = _ask(org, to_user=org.tech_staff)
            else:
                ask = _ask(org, to_department=org.tech)
            if i % 2:
                answerer = org.owner if box == "mine" else org.tech_staff
                services.ask_answer(ask=ask, by=answerer, answer="好")

    def fetch():
        assert _inbox(client, box=box).status_code == 200

    assert_constant_queries(more, fetch)


# --- the to-do page ------------------------------------------------------------------


@pytest.mark.django_db
def test_todo_lists_open_asks_to_me_and_my_departments(org, client_for):
    to_me = _ask(org, to_user=org.tech_staff, days=5)
    to_dept = _ask(org, to_department=org.tech, days=1)
    late = _ask(org, to_department=org.tech)
    CollabAsk.objects.filter(pk=late.pk).update(
        expected_date=timezone.localdate() - dt.timedelta(days=2)
    )
    answered = _ask(org, to_user=org.tech_staff)
    services.ask_answer(ask=answered, by=org.tech_staff, answer="好")
    closed = _ask(org, to_user=org.tech_staff)
    services.ask_close(ask=closed, by=org.owner)
    _ask(org, to_user=org.initiator)
    _ask(org, to_department=org.mkt, by=org.tech_staff)

    response = client_for(org.tech_staff).get(reverse("portfolio_app:todo"))
    assert response.status_code == 200
    assert [a.pk for a in response.context["asks"]] == [late.pk, to_dept.pk, to_me.pk]
    html = response.content.decode()
    assert 'id="todo-asks"' in html and 'id="todo-empty"' not in html
    assert f'href="{org.task.get_absolute_url()}#ask-{late.pk}"' in html
    assert f'href="{org.req.get_absolute_url()}"' in html
    row = html.split(f'<tr data-ask="{late.pk}"')[1].split("</tr>")[0]
    assert row.split(">")[0].strip() == 'class="row-overdue"'
    assert 'data-due="overdue"' in row
    soon = html.split(f'<tr data-ask="{to_me.pk}"')[1].split("</tr>")[0]
    assert "row-overdue" not in soon and 'data-due="later"' in soon
    # The head of Tech sees the department's asks too, not Carol's own.
    head = client_for(org.tech_head).get(reverse("portfolio_app:todo"))
    assert [a.pk for a in head.context["asks"]] == [late.pk, to_dept.pk]


@pytest.mark.django_db
def test_todo_is_empty_without_asks(org, client_for):
    response = client_for(org.tech_staff).get(reverse("portfolio_app:todo"))
    assert response.context["asks"] == []
    assert 'id="todo-asks"' not in response.content.decode()


@pytest.mark.django_db
def test_todo_queries_do_not_grow_with_asks(org, client_for):
    client = client_for(org.tech_staff)

    def more(n):
        for i in range(n):
            if i % 2:
                _ask(org, to_user=org.tech_staff)
            else:
                _ask(org, to_department=org.tech)

    def fetch():
        assert client.get(reverse("portfolio_app:todo")).status_code == 200

    assert_constant_queries(more, fetch)
    assert len(client.get(reverse("portfolio_app:todo")).context["asks"]) == 8


# --- in the browser ------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_mention_autocomplete_and_htmx_post(page, live_server, pmo):
    """Typing 「@蔡」 suggests 蔡宗翰 from the JSON list; Enter writes @tech_head; posting
    swaps the section in place (no reload, no CSP error) with the mention as a badge;
    an ask to a person appears with its open badge."""
    mkt = DepartmentFactory(code="mkt", name="市場部")
    tech = DepartmentFactory(code="tech", name="技術部")
    mkt_head = UserFactory(username="mkt_head", department=mkt)
    mkt.heads.add(mkt_head)
    tech_head = UserFactory(username="tech_head", full_name="蔡宗翰", department=tech)
    tech.heads.add(tech_head)
    owner = UserFactory(username="bob", full_name="林小華", department=mkt)
    req = make_approved_request(initiator=owner, departments=[mkt, tech], lead=mkt, pmo=pmo)
    task = make_task(request=req, responsible=owner, accountable=mkt_head, department=mkt)

    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", "bob")
    page.fill("#id_password", "pw-for-tests")
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))
    page.goto(live_server.url + task.get_absolute_url())
    page.evaluate("window.__notReloaded = true")
    box = page.locator("#comment-body")
    box.click()
    box.press_sequentially("請 @蔡")
    option = page.locator(".mention-menu [role=option]")
    assert option.count() == 1 and option.get_attribute("data-username") == "tech_head"
    page.keyboard.press("Enter")
    box.press_sequentially("確認排程")
    assert box.input_value() == "請 @tech_head 確認排程"
    page.click("#comment-submit")
    page.wait_for_selector("#task-comments [data-mention='tech_head']")
    assert page.evaluate("window.__notReloaded") is True
    assert box.input_value() == ""
    assert TaskComment.objects.get().mentions.get() == tech_head

    page.click("#ask-new-toggle")
    page.select_option("#ask-to_user", str(tech_head.pk))
    page.fill("#ask-content", "請提供API文件")
    page.fill("#ask-expected_date", (timezone.localdate() + dt.timedelta(days=2)).isoformat())
    page.click("#ask-submit")
    page.wait_for_selector("#task-asks [data-ask-status='open']")
    assert page.evaluate("window.__notReloaded") is True
    assert CollabAsk.objects.get().to_user == tech_head
