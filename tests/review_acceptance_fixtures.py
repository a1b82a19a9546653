"""Helpers for task acceptance (成果驗收) tests, shared with the task tests that need a
task accepted through the procedure."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from django.utils import timezone

from review_app.choices import AcceptanceOutcome, Verdict
from review_app.models import AcceptanceVerdict, TaskAcceptance
from review_app.services import acceptance as acceptance_services
from tasks_app import services as task_services
from tasks_app.models import Task
from tests.factories import DepartmentFactory, UserFactory, make_approved_request


def open_round(task: Task) -> TaskAcceptance:
    return TaskAcceptance.objects.get(task=task, outcome=AcceptanceOutcome.OPEN)


def answerer(verdict: AcceptanceVerdict):
    """Return someone who may answer the seat: its person, or a head who is not the R."""
    if verdict.reviewer_id:
        return verdict.reviewer
    responsible = verdict.acceptance.task.assignments.get(role="R").user_id
    return verdict.department.heads.filter(is_active=True).exclude(pk=responsible).first()


def pass_every_seat(task: Task) -> Task:
    """Answer 通過 on every open seat of the task's open round: the task is then done."""
    for verdict in open_round(task).verdicts.filter(decision=Verdict.PENDING):
        acceptance_services.acceptance_answer(
            verdict=verdict, by=answerer(verdict), decision=Verdict.PASSED
        )
    return Task.objects.get(pk=task.pk)


def seat(task: Task, *, person=None, department=None) -> AcceptanceVerdict:
    """Return the seat of the open round held by a person or a department."""
    rows = open_round(task).verdicts.all()
    if person is not None:
        return rows.get(reviewer=person)
    return rows.get(department=department)


def later(days: int = 5, hour: int = 17) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def make_world(pmo, *, supporting: bool = True) -> SimpleNamespace:
    """A request of marketing (lead) with tech and design; one task of tech, in progress.

    R = owner (tech staff); A = accountable (marketing staff, not the initiator);
    the task's departments: tech (responsible) and design (supporting). Seats: the A,
    the initiator, tech and design. Each department has one head; tech's head has a
    deputy acting for them today; C is a tech member with no seat.
    """
    mkt, tech, design = DepartmentFactory(), DepartmentFactory(), DepartmentFactory()
    heads = {}
    for dept in (mkt, tech, design):
        heads[dept] = UserFactory(department=dept)
        dept.heads.add(heads[dept])
    initiator = UserFactory(department=mkt)
    req = make_approved_request(
        initiator=initiator, departments=[mkt, tech, design], lead=mkt, pmo=pmo, committed=""
    )
    w = SimpleNamespace(
        request=req,
        mkt=mkt,
        tech=tech,
        design=design,
        mkt_head=heads[mkt],
        tech_head=heads[tech],
        design_head=heads[design],
        initiator=initiator,
        owner=UserFactory(department=tech),
        accountable=UserFactory(department=mkt),
        consulted=UserFactory(department=tech),
        tech_deputy=UserFactory(department=tech),
        outsider=UserFactory(department=DepartmentFactory()),
        pmo=pmo,
    )
    from tests.factories import DelegationFactory

    DelegationFactory(head=w.tech_head, deputy=w.tech_deputy)
    start = timezone.localdate()
    w.task = task_services.task_save(
        request=req,
        by=initiator,
        data={
            "name": "會員中心 API",
            "responsible_department": tech,
            "start_date": start,
            "due_at": task_services.due_at(start + dt.timedelta(days=10)),
            "deliverable": "API 文件與程式",
            "acceptance_criteria": "通過整合測試",
        },
        raci={"R": w.owner, "A": w.accountable, "C": [w.consulted]},
        supporting=[design] if supporting else [],
    )
    for dept in (mkt, tech, design):
        task_services.breakdown_sign(request=req, by=heads[dept], department=dept)
    w.task = task_services.task_start(task=Task.objects.get(pk=w.task.pk), by=w.owner)
    return w


def submit(w, note: str = "API 已完成並通過單元測試", files=()) -> Task:
    task = task_services.task_submit(
        task=Task.objects.get(pk=w.task.pk), by=w.owner, completion_note=note, files=files
    )
    w.task = Task.objects.get(pk=task.pk)
    return w.task
