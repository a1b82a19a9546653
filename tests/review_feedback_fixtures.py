"""Fixtures of the feedback and suggestion tests: the cast and the completed case.

Test modules load them with `pytest_plugins = ["tests.review_feedback_fixtures"]`; the
step-by-step builders are in tests/review_feedback_cases.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from collab.choices import Role
from tests.factories import DelegationFactory, DepartmentFactory, UserFactory
from tests.review_feedback_cases import build_in_progress, complete


@pytest.fixture
def cast(db, pmo, executive):
    """Planning files a request with Marketing (lead) and Tech; Other takes no part.

    Everyone has a distinct role, so that each source of participants is pinned by one
    person: a deputy answers Tech's review, another answers Marketing's acceptance seat,
    a Tech member signs the final acceptance.
    """
    plan = DepartmentFactory(code="plan", name="企劃部")
    mkt = DepartmentFactory(code="mkt", name="市場部")
    tech = DepartmentFactory(code="tech", name="技術部")
    other = DepartmentFactory(code="other", name="財務部")
    heads = {}
    for department in (plan, mkt, tech, other):
        head = UserFactory(department=department, username=f"{department.code}_head")
        department.heads.add(head)
        heads[department.code] = head
    tech_deputy = UserFactory(department=tech, username="tech_deputy")
    DelegationFactory(head=heads["tech"], deputy=tech_deputy, department=tech)
    idle_deputy = UserFactory(department=mkt, username="idle_deputy")
    DelegationFactory(head=heads["mkt"], deputy=idle_deputy, department=mkt)

    def user(name, department, **extra):
        return UserFactory(username=name, department=department, **extra)

    return SimpleNamespace(
        plan=plan,
        mkt=mkt,
        tech=tech,
        other=other,
        plan_head=heads["plan"],
        mkt_head=heads["mkt"],
        tech_head=heads["tech"],
        other_head=heads["other"],
        tech_deputy=tech_deputy,
        idle_deputy=idle_deputy,
        initiator=user("initiator", plan),
        responsible=user("responsible", tech),
        accountable=user("accountable", mkt),
        consulted=user("consulted", tech),
        informed=user("informed", mkt),
        leaver=user("leaver", mkt),
        acc_reviewer=user("acc_reviewer", mkt),
        seat_holder=user("seat_holder", plan),
        mkt_deputy=user("mkt_deputy", mkt),
        tech_signer=user("tech_signer", tech),
        colleague=user("colleague", plan),
        outsider=user("outsider", other),
        admin=user("platform_admin", other, role=Role.ADMIN),
        pmo=pmo,
        executive=executive,
    )


@pytest.fixture
def case(cast):
    """The case, completed: every participant holds an invitation."""
    req, task = build_in_progress(cast)
    return complete(cast, req, task)
