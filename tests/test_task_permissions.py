"""Who sees a task and who may act on it (tasks_app.permissions), and who may be
@mentioned on it (tasks_app.services.comment_add).

A task is visible to its RACI members (whatever their department), to the staff and
heads of its request's departments, to a deputy while the delegation runs, and to the
PMO, executives and superusers. Everyone else gets 404, so a task's existence stays
hidden.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from collab.models import Notification
from requests_app.choices import RequestState
from tasks_app import permissions, services
from tasks_app.choices import TaskState
from tasks_app.models import Task, TaskComment
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_approved_request,
)
from tests.helpers import days_from_today as _days
from tests.review_acceptance_fixtures import pass_every_seat

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(pmo, executive, superuser):
    """A request from marketing with tech collaborating; one task owned by tech staff.

    C is a member of sales and I a member of finance: neither department takes part,
    so they see the task only through their RACI role. `outsider` is in sales too.
    """
    mkt, tech, sales, fin = (DepartmentFactory() for _ in range(4))
    heads = {}
    for dept in (mkt, tech, sales):
        heads[dept.pk] = UserFactory(department=dept)
        dept.heads.add(heads[dept.pk])
    initiator = UserFactory(department=mkt)
    req = make_approved_request(
        initiator=initiator, departments=[tech], lead=tech, pmo=pmo, committed=""
    )
    ns = SimpleNamespace(
        request=req,
        mkt=mkt,
        tech=tech,
        sales=sales,
        initiator=initiator,
        mkt_staff=UserFactory(department=mkt),
        mkt_head=heads[mkt.pk],
        tech_head=heads[tech.pk],
        tech_staff=UserFactory(department=tech),
        sales_head=heads[sales.pk],
        owner=UserFactory(department=tech),
        accountable=UserFactory(department=mkt),
        consulted=UserFactory(department=sales),
        informed=UserFactory(department=fin),
        outsider=UserFactory(department=sales),
        pmo=pmo,
        executive=executive,
        superuser=superuser,
    )
    ns.task = services.task_save(
        request=req,
        by=initiator,
        data={
            "name": "會員中心 API",
            "responsible_department": tech,
            "start_date": _days(0),
            "due_at": services.due_at(_days(10)),
        },
        raci={"R": ns.owner, "A": ns.accountable, "C": [ns.consulted], "I": [ns.informed]},
    )
    return ns


def _sign_and_start(w) -> None:
    services.breakdown_sign(request=w.request, by=w.tech_head, department=w.tech)
    w.request.refresh_from_db()
    assert w.request.state == RequestState.IN_PROGRESS
    w.task = Task.objects.get(pk=w.task.pk)


def _sees(user, task) -> bool:
    try:
        found = permissions.get_visible_or_404(user, task.pk)
    except Http404:
        assert not permissions.visible_tasks(user).filter(pk=task.pk).exists()
        assert not permissions.can_view(user, task)
        return False
    assert found == task
    assert permissions.can_view(user, task)
    return True


VISIBLE = [
    "owner",  # R
    "accountable",  # A, from marketing (the initiating department)
    "consulted",  # C, from sales, which takes no part
    "informed",  # I, from finance, which takes no part
    "initiator",
    "mkt_staff",  # the initiating department
    "mkt_head",
    "tech_staff",  # the collaborating department
    "tech_head",
    "pmo",
    "executive",
    "superuser",
]
HIDDEN = ["outsider", "sales_head"]


@pytest.mark.parametrize("who", VISIBLE)
def test_people_who_see_the_task(w, who):
    """RACI members, the request's departments, PMO, executives and superusers see it."""
    assert _sees(getattr(w, who), w.task)


@pytest.mark.parametrize("who", HIDDEN)
def test_everyone_else_gets_404(w, who):
    """Staff and heads of a department with no part (and no RACI role) get 404."""
    assert not _sees(getattr(w, who), w.task)


def test_bad_primary_keys_are_404(w):
    for pk in ("abc", None, 999_999_999):
        with pytest.raises(Http404):
            permissions.get_visible_or_404(w.owner, pk)


def test_inactive_user_sees_nothing(w):
    """A disabled account sees no task, even one it is R on."""
    w.owner.is_active = False
    w.owner.save(update_fields=["is_active"])
    assert not _sees(w.owner, w.task)
    assert not permissions.visible_tasks(w.owner).exists()


def test_visible_tasks_lists_each_task_once(w):
    """A RACI member of the request's department is matched twice; listed once."""
    assert list(permissions.visible_tasks(w.owner)) == [w.task]
    assert list(permissions.visible_tasks(w.sales_head)) == []


def test_deputy_sees_while_the_delegation_runs(w):
    """A deputy from another department sees the head's tasks only between the dates."""
    deputy = UserFactory(department=w.sales)
    delegation = DelegationFactory(head=w.tech_head, deputy=deputy)
    assert _sees(deputy, w.task)
    delegation.start_date = _days(-10)
    delegation.end_date = _days(-1)
    delegation.save()
    assert not _sees(deputy, w.task)
    delegation.start_date = _days(1)
    delegation.end_date = _days(5)
    delegation.save()
    assert not _sees(deputy, w.task)


# --- who may act ------------------------------------------------------------------------

EVERYONE = VISIBLE + HIDDEN


def _allowed(w, rule, *args) -> set[str]:
    return {who for who in EVERYONE if rule(getattr(w, who), *args)}


def test_only_r_starts_and_submits(w):
    _sign_and_start(w)
    assert _allowed(w, permissions.can_start, w.task) == {"owner"}
    assert _allowed(w, permissions.can_log_progress, w.task) == set()  # start it first
    task = services.task_start(task=w.task, by=w.owner)
    assert _allowed(w, permissions.can_start, task) == set()
    assert _allowed(w, permissions.can_log_progress, task) == {"owner"}
    assert _allowed(w, permissions.can_submit, task) == {"owner"}
    task = services.task_submit(task=task, by=w.owner, completion_note="API 已完成")
    assert _allowed(w, permissions.can_submit, task) == set()
    assert _allowed(w, permissions.can_log_progress, task) == set()


def test_the_a_the_initiator_and_the_tasks_head_answer_the_acceptance(w):
    """Who accepts a delivery is the acceptance procedure's rule (review_app): the A, the
    initiator and the head of the task's department hold its seats; nobody before the
    submission, never the R."""
    from review_app.permissions import acceptance as acceptance_permissions

    _sign_and_start(w)
    task = services.task_start(task=w.task, by=w.owner)
    assert _allowed(w, acceptance_permissions.can_answer, task) == set()  # nothing submitted
    task = services.task_submit(task=task, by=w.owner, completion_note="API 已完成")
    assert _allowed(w, acceptance_permissions.can_answer, task) == {
        "initiator",
        "accountable",
        "tech_head",
    }


def test_a_or_pmo_changes_the_due_date(w):
    """A, the PMO and platform admins (superuser) move due dates; nobody once done."""
    assert _allowed(w, permissions.can_change_due, w.task) == {"accountable", "pmo", "superuser"}
    _sign_and_start(w)
    task = services.task_start(task=w.task, by=w.owner)
    task = services.task_submit(task=task, by=w.owner, completion_note="API 已完成")
    task = pass_every_seat(task)
    assert task.state == TaskState.DONE
    assert _allowed(w, permissions.can_change_due, task) == set()


def test_only_a_overrides_dependencies(w):
    assert _allowed(w, permissions.can_override_dependencies, w.task) == {"accountable"}


def test_breakdown_edited_by_initiator_or_pmo_while_approved_only(w):
    """The initiator, the PMO and platform admins edit the breakdown in 已立項; nobody
    once the request is 進行中."""
    assert _allowed(w, permissions.can_edit_breakdown, w.request) == {
        "initiator",
        "pmo",
        "superuser",
    }
    _sign_and_start(w)
    assert _allowed(w, permissions.can_edit_breakdown, w.request) == set()


def test_signing_actor_is_the_head_or_a_deputy(w):
    deputy = UserFactory(department=w.sales)
    DelegationFactory(head=w.tech_head, deputy=deputy)
    assert permissions.signing_actor(w.tech_head, w.request, w.tech).on_behalf_of is None
    assert permissions.signing_actor(deputy, w.request, w.tech).on_behalf_of == w.tech_head
    for who in ("tech_staff", "owner", "pmo", "initiator", "mkt_head"):
        assert permissions.signing_actor(getattr(w, who), w.request, w.tech) is None
    # marketing initiated but does not collaborate: it has nothing to sign.
    assert permissions.signing_actor(w.mkt_head, w.request, w.mkt) is None


# --- @mentions ---------------------------------------------------------------------------


def _mention_notes(user) -> int:
    return Notification.objects.filter(recipient=user).count()


def test_mention_notifies_people_who_can_see_the_task(w):
    """@username of people who see the task: each is notified once; nobody else is."""
    before = {u.pk: _mention_notes(u) for u in (w.consulted, w.tech_head, w.outsider)}
    comment = services.comment_add(
        task=w.task,
        by=w.owner,
        body=f"請@{w.consulted.username} 確認規格,並請 @{w.tech_head.username} 知悉。",
    )
    assert set(comment.mentions.all()) == {w.consulted, w.tech_head}
    assert _mention_notes(w.consulted) == before[w.consulted.pk] + 1
    assert _mention_notes(w.tech_head) == before[w.tech_head.pk] + 1
    assert _mention_notes(w.outsider) == before[w.outsider.pk]
    assert Notification.objects.filter(
        recipient=w.consulted, url=w.task.get_absolute_url()
    ).exists()


def test_mention_of_someone_who_cannot_see_the_task_is_refused(w):
    """Mentioning an outsider (or an unknown or disabled account) is refused on the body
    field, naming them; no comment is stored and nobody is notified."""
    disabled = UserFactory(department=w.tech, is_active=False)
    for name in (w.outsider.username, "no_such_user", disabled.username):
        notes = Notification.objects.count()
        with pytest.raises(ValidationError) as info:
            services.comment_add(
                task=w.task, by=w.owner, body=f"@{w.consulted.username} 和 @{name} 請協助"
            )
        assert name in " ".join(info.value.message_dict["body"])
        assert not TaskComment.objects.exists()
        assert Notification.objects.count() == notes


def test_mention_inside_chinese_text(w):
    """A mention written without spaces in Chinese text (「請@小明協助」) still finds the
    person, and a trailing full stop is not part of the name."""
    comment = services.comment_add(
        task=w.task,
        by=w.owner,
        body=f"麻煩@{w.consulted.username}協助確認。另請@{w.tech_head.username}.",
    )
    assert set(comment.mentions.all()) == {w.consulted, w.tech_head}


def test_email_address_is_not_a_mention(w):
    """An e-mail address in a comment mentions nobody and is not refused."""
    comment = services.comment_add(
        task=w.task, by=w.owner, body="規格請寄到 api-team@example.com 謝謝"
    )
    assert not comment.mentions.exists()


def test_only_people_who_see_the_task_comment(w):
    with pytest.raises(PermissionDenied):
        services.comment_add(task=w.task, by=w.outsider, body="我也想說")
    with pytest.raises(ValidationError) as info:
        services.comment_add(task=w.task, by=w.consulted, body="   ")
    assert "body" in info.value.message_dict
    assert not TaskComment.objects.exists()


def test_mentionable_users_are_exactly_those_who_see_the_task(w):
    names = {u.pk for u in services.mentionable_users(w.task)}
    for who in VISIBLE:
        assert getattr(w, who).pk in names, who
    for who in HIDDEN:
        assert getattr(w, who).pk not in names, who
