"""Fixtures of the monthly analysis tests: the people and the hand-made month.

Test modules load them with `pytest_plugins = ["tests.review_analysis_fixtures"]`; what
the month holds is described in tests/review_analysis_cases.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from collab.choices import Role
from collab.services import role_groups_ensure, user_sync_access
from requests_app import services as request_services
from requests_app.models import DepartmentReview
from review_app.choices import FeedbackKind, SuggestionState
from tests.factories import (
    DepartmentFactory,
    UserFactory,
    make_completed_request,
    make_in_progress_request,
    make_request,
)
from tests.review_analysis_cases import (
    LONG_PROBLEM,
    at,
    feedback,
    request_times,
    suggestion,
    task_update,
)


@pytest.fixture
def roles(db):
    """Everyone the permission tests need, with their admin groups."""
    role_groups_ensure()
    mkt = DepartmentFactory(code="mkt", name="市場部")
    tech = DepartmentFactory(code="tech", name="技術部")
    design = DepartmentFactory(code="design", name="設計部")
    heads = {}
    for department in (mkt, tech, design):
        head = UserFactory(username=f"{department.code}_head", department=department)
        department.heads.add(head)
        heads[department.code] = head
    people = {
        "pmo": UserFactory(username="pmo", role=Role.PMO, department=None),
        "executive": UserFactory(username="exec", role=Role.EXECUTIVE, department=None),
        "admin": UserFactory(username="platform", role=Role.ADMIN, department=None),
        "superuser": UserFactory(username="root", is_superuser=True, department=None),
        "staff": UserFactory(username="mkt_staff", department=mkt),
        "tech_staff": UserFactory(username="tech_staff", department=tech),
    }
    for user in [*heads.values(), *people.values()]:
        user_sync_access(user)
    return SimpleNamespace(
        mkt=mkt,
        tech=tech,
        design=design,
        mkt_head=heads["mkt"],
        tech_head=heads["tech"],
        design_head=heads["design"],
        **people,
    )


@pytest.fixture
def march(roles):
    """The hand-made month described in the module docstring."""
    r = roles
    departments = [r.mkt, r.tech]
    one_task = [{"responsible": r.staff, "accountable": r.mkt_head, "name": "收尾"}]

    r1, _ = make_completed_request(
        initiator=r.staff, departments=departments, pmo=r.pmo, tasks=one_task
    )
    request_times(r1, submitted_at=at(1, 10), approved_at=at(1, 20), completed_at=at(3, 12))
    r2, _ = make_completed_request(
        initiator=r.staff, departments=departments, pmo=r.pmo, tasks=one_task
    )
    request_times(r2, submitted_at=at(3, 2, 9), approved_at=at(3, 5), completed_at=at(3, 22, 9))

    specs = [
        {"responsible": r.staff, "accountable": r.mkt_head, "name": "推廣方案"},  # T1
        {"responsible": r.staff, "accountable": r.mkt_head, "name": "新聞稿"},  # T2
        {"responsible": r.tech_staff, "accountable": r.mkt_head, "name": "技術評估"},  # T3
        {"responsible": r.tech_staff, "accountable": r.mkt_head, "name": "系統開發"},  # T4
        {"responsible": r.tech_staff, "accountable": r.mkt_head, "name": "測試"},  # T5
        {"responsible": r.staff, "accountable": r.mkt_head, "name": "下季規劃"},  # T6
        {"responsible": r.staff, "accountable": r.mkt_head, "name": "活動執行"},  # T7
    ]
    r3, tasks = make_in_progress_request(
        initiator=r.staff, departments=departments, pmo=r.pmo, tasks=specs
    )
    request_times(r3, submitted_at=at(3, 3), approved_at=at(3, 10))
    t1, t2, t3, t4, t5, t6, t7 = tasks
    task_update(
        t1, state="done", due_at=at(3, 10, 17), submitted_at=at(3, 9), completed_at=at(3, 10)
    )
    task_update(
        t2, state="done", due_at=at(3, 12, 17), submitted_at=at(3, 14), completed_at=at(3, 15)
    )
    task_update(
        t3, state="done", due_at=at(3, 15, 17), submitted_at=at(3, 15, 12), completed_at=at(3, 16)
    )
    task_update(t4, state="in_progress", due_at=at(3, 20, 17), risk_level="high")
    task_update(t5, state="todo", due_at=at(3, 28, 17), risk_level="medium")
    task_update(t6, state="in_progress", due_at=at(4, 5, 17))
    task_update(t7, state="submitted", due_at=at(3, 25, 17), submitted_at=at(3, 24))
    for review in DepartmentReview.objects.filter(request=r3):
        days = 1 if review.department_id == r.mkt.pk else 3
        DepartmentReview.objects.filter(pk=review.pk).update(
            created_at=at(3, 3), decided_at=at(3, 3 + days)
        )

    r4, (t8,) = make_in_progress_request(
        initiator=r.staff,
        departments=departments,
        pmo=r.pmo,
        tasks=[{"responsible": r.staff, "accountable": r.mkt_head, "name": "二月任務"}],
    )
    request_times(r4, submitted_at=at(2, 15), approved_at=at(2, 20))
    task_update(
        t8, state="done", due_at=at(2, 20, 17), submitted_at=at(2, 19), completed_at=at(2, 20)
    )

    r5 = make_request(initiator=r.staff, departments=departments)
    r5 = request_services.request_submit(request=r5, by=r.staff)
    request_times(r5, submitted_at=at(3, 25))

    problem, praise, idea = FeedbackKind.PROBLEM, FeedbackKind.PRAISE, FeedbackKind.SUGGESTION
    f1 = feedback(r1, r.staff, problem, "技術部回覆太慢。", [r.tech], at(3, 15), handled=True)
    f2 = feedback(r1, r.tech_staff, problem, LONG_PROBLEM, [r.tech, r.mkt], at(3, 20))
    f3 = feedback(
        r1, r.tech_staff, praise, "市場部及時提供客戶需求。", [r.mkt], at(3, 18), handled=True
    )
    f4 = feedback(r1, r.staff, idea, "建議增加可行性評估環節。", [r.tech], at(3, 25))
    f5 = feedback(r1, r.staff, problem, "二月的問題。", [r.tech], at(2, 10))

    s1 = suggestion(r.mkt, r.staff, "需求審核需線下簽字，平均耗時2天。", at(3, 8))
    s2 = suggestion(
        r.tech, r.tech_staff, "數據同步仍依賴人工。", at(3, 28), SuggestionState.ADOPTED
    )
    s3 = suggestion(r.tech, r.tech_staff, "二月的建議。", at(2, 8))

    return SimpleNamespace(
        roles=r,
        requests=(r1, r2, r3, r4, r5),
        tasks=(t1, t2, t3, t4, t5, t6, t7, t8),
        feedback=(f1, f2, f3, f4, f5),
        suggestions=(s1, s2, s3),
    )
