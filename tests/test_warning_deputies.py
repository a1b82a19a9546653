"""Escalations to a head who is away reach the deputy acting for them."""

import datetime as dt

import pytest
from django.utils import timezone

from collab import warnings
from tasks_app import services
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_head,
    make_task,
)


@pytest.mark.django_db
def test_overdue_task_escalates_to_the_heads_deputy(pmo):
    mkt = DepartmentFactory()
    head = make_head(mkt, admin_groups=False)
    deputy = UserFactory(department=mkt)
    DelegationFactory(head=head, deputy=deputy)
    other_deputy = UserFactory(department=mkt)
    DelegationFactory(head=head, deputy=other_deputy, department=DepartmentFactory())
    owner = UserFactory(department=mkt)
    req = make_approved_request(initiator=owner, departments=[mkt], pmo=pmo, committed="")
    start = timezone.localdate() - dt.timedelta(days=10)
    task = make_task(
        request=req,
        responsible=owner,
        accountable=head,
        department=mkt,
        start_date=start,
        due_at=services.due_at(start + dt.timedelta(days=2)),
    )
    services.breakdown_sign(request=req, by=head, department=mkt)
    services.task_start(task=task, by=owner)
    items = warnings.collect(now=timezone.now(), cadences=(warnings.DAILY,))
    overdue = {i.recipient for i in items if i.rule == "task_overdue"}
    assert {owner, head, deputy} <= overdue
    assert other_deputy not in overdue  # deputised for another department only


@pytest.mark.django_db
def test_an_ask_to_a_department_reaches_its_acting_deputy(pmo, time_machine):
    """A 協作請求 to a department past its date goes to its heads and, while a head is
    away, to the deputy acting for them; its text is flattened onto one line."""
    mkt, design = DepartmentFactory(), DepartmentFactory()
    head, design_head = UserFactory(department=mkt), UserFactory(department=design)
    mkt.heads.add(head)
    design.heads.add(design_head)
    deputy = UserFactory(department=design)
    DelegationFactory(head=design_head, deputy=deputy)
    owner = UserFactory(department=mkt)
    req = make_approved_request(initiator=owner, departments=[mkt, design], pmo=pmo, committed="")
    start = timezone.localdate()
    task = make_task(
        request=req,
        responsible=owner,
        accountable=head,
        department=mkt,
        start_date=start,
        due_at=services.due_at(start + dt.timedelta(days=30)),
    )
    services.ask_create(
        task=task,
        by=owner,
        to_department=design,
        content="請提供\n設計稿",
        expected_date=start + dt.timedelta(days=1),
    )
    time_machine.move_to(timezone.now() + dt.timedelta(days=3))
    items = [
        i
        for i in warnings.collect(now=timezone.now(), cadences=(warnings.DAILY,))
        if i.rule == "ask_overdue"
    ]
    assert {i.recipient for i in items} == {design_head, deputy, owner}
    assert all("請提供 設計稿" in i.text and "\n" not in i.text for i in items)
