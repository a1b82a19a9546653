"""A small organisation with a request under way, for the tests of risk reports (issue 16
§1): services, permissions, warnings, and later the pages, the admin and the browser.

The request (新品上市推廣) is marketing's (lead) with tech, 進行中, with two tasks and a
goal. Its cast:
- mkt: the head, the initiator, a staff member, a deactivated staff member;
- tech: the head, a deputy acting for the head today, a staff member (R of the second
  task);
- other (運營部): takes no part; its head, a staff member, and a consultant who holds
  only a RACI role (C) on the second task;
- a PMO member, an executive, a platform administrator, and an anonymous visitor.

`report(w, ...)` files a risk through the service with sensible defaults, `accepted(w,
risk)` takes it to 應對中 with an owner and a deadline; `archive(request, by=)` completes
(forced) and archives a case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from collab.choices import Role
from collab.models import Department, User
from collab.services import role_groups_ensure
from requests_app.choices import RequestState
from requests_app.models import CollabRequest, Goal
from review_app.services import archive as archive_services
from risks_app import services
from risks_app.models import Risk
from tasks_app import services as task_services
from tasks_app.models import Task
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_head,
    make_role_user,
)
from tests.review_archive_fixtures import file_retrospective


@dataclass
class RiskWorld:
    mkt: Department
    tech: Department
    other: Department
    request: CollabRequest | None = None
    task_a: Task | None = None  # marketing's: R mkt_staff, A initiator
    task_b: Task | None = None  # tech's: R tech_staff, A tech_head, C consultant
    goal: Goal | None = None
    users: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.__dict__["users"][name]
        except KeyError:
            raise AttributeError(name) from None


def make_risk_world() -> RiskWorld:
    """Build the organisation and its request 進行中 (see the module's docstring)."""
    role_groups_ensure()
    mkt = DepartmentFactory(name="市場部")
    tech = DepartmentFactory(name="技術部")
    other = DepartmentFactory(name="運營部")
    w = RiskWorld(mkt=mkt, tech=tech, other=other)
    u = w.users
    u["mkt_head"] = make_head(mkt, admin_groups=False, full_name="林美玲")
    u["tech_head"] = make_head(tech, admin_groups=False, full_name="蔡宗翰")
    u["other_head"] = make_head(other, admin_groups=False, full_name="吳建宏")
    u["initiator"] = UserFactory(department=mkt, full_name="黃淑芬")
    u["mkt_staff"] = UserFactory(department=mkt, full_name="陳怡君")
    u["tech_staff"] = UserFactory(department=tech, full_name="王志明")
    u["tech_deputy"] = UserFactory(department=tech, full_name="李家豪")
    DelegationFactory(head=u["tech_head"], deputy=u["tech_deputy"])
    u["other_staff"] = UserFactory(department=other, full_name="張雅琪")
    u["consultant"] = UserFactory(department=other, full_name="劉俊傑")
    u["inactive"] = UserFactory(department=mkt, is_active=False, full_name="離職同事")
    u["pmo"] = make_role_user(Role.PMO, department=None, full_name="周專案")
    u["executive"] = make_role_user(Role.EXECUTIVE, department=None, full_name="鄭副總")
    u["admin"] = make_role_user(Role.ADMIN, department=None, full_name="平台管理員")
    u["anonymous"] = AnonymousUser()

    req = make_approved_request(
        initiator=u["initiator"], departments=[mkt, tech], lead=mkt, pmo=u["pmo"]
    )
    for task in list(req.tasks.all()):
        task_services.task_remove(task=task, by=u["initiator"])
    start = timezone.localdate()
    w.task_a = _task(req, "撰寫推廣方案", mkt, start, {"R": u["mkt_staff"], "A": u["initiator"]})
    w.task_b = _task(
        req,
        "開發活動頁面",
        tech,
        start,
        {"R": u["tech_staff"], "A": u["tech_head"], "C": [u["consultant"]]},
    )
    task_services.breakdown_sign(request=req, by=u["mkt_head"], department=mkt)
    task_services.breakdown_sign(request=req, by=u["tech_head"], department=tech)
    w.request = CollabRequest.objects.get(pk=req.pk)
    assert w.request.state == RequestState.IN_PROGRESS
    w.task_a, w.task_b = (Task.objects.get(pk=t.pk) for t in (w.task_a, w.task_b))
    w.goal = w.request.goals.get()
    return w


def _task(request, name, department, start, raci) -> Task:
    return task_services.task_save(
        request=request,
        by=request.initiator,
        data={
            "name": name,
            "responsible_department": department,
            "start_date": start,
            "due_at": task_services.due_at(start + dt.timedelta(days=14)),
        },
        raci=raci,
    )


@pytest.fixture
def risk_world(db) -> RiskWorld:
    return make_risk_world()


def report(w: RiskWorld, *, by: User | None = None, **fields) -> Risk:
    """File a risk on the world's request (a medium one, 3 × 3, found an hour ago by the
    R of marketing's task), overriding any argument of services.risk_report."""
    arguments = {
        "request": w.request,
        "by": by or w.mkt_staff,
        "title": "供應商交期延誤",
        "description": "主要供應商通知原料延遲兩週到貨。",
        "probability": 3,
        "impact": 3,
        "suggested_measures": "聯繫備用供應商並調整排程。",
        "discovered_at": timezone.now() - dt.timedelta(hours=1),
        **fields,
    }
    return services.risk_report(**arguments)


def accepted(
    w: RiskWorld, risk: Risk, *, owner: User | None = None, due: dt.datetime | None = None
) -> Risk:
    """The PMO takes the risk on (應對中): the tech staff member owns the response, due
    in three days unless `due` says otherwise."""
    return services.risk_accept(
        risk=risk,
        by=w.pmo,
        owner=owner or w.tech_staff,
        response_due=due or timezone.now() + dt.timedelta(days=3),
        plan="改用備用供應商，每日追蹤到貨。",
    )


def archive(request: CollabRequest, *, by: User) -> CollabRequest:
    """Complete (forced) and archive the case, its retrospective filed."""
    CollabRequest.objects.filter(pk=request.pk).update(
        state=RequestState.COMPLETED, completed_at=timezone.now()
    )
    request = CollabRequest.objects.get(pk=request.pk)
    file_retrospective(request, by=request.initiator)
    return archive_services.archive_case(request=request, by=by).request
