"""The breakdown from 立項 to 進行中 and one task from start to done, via the services."""

import pytest
from django.db import IntegrityError, connection, transaction

from requests_app.choices import RequestState
from tasks_app import services
from tasks_app.choices import TaskState
from tasks_app.models import TaskAssignment
from tests.factories import (
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_head,
    make_mkt_tech_request,
    make_task,
)
from tests.review_acceptance_fixtures import open_round, pass_every_seat


@pytest.mark.django_db
def test_breakdown_sign_start_and_deliver(pmo):
    w = make_mkt_tech_request(pmo=pmo)
    mkt, tech, mkt_head, tech_head = w.mkt, w.tech, w.mkt_head, w.tech_head
    staff, req = w.initiator, w.request
    generated = list(req.tasks.order_by("sequence"))
    assert [t.number for t in generated] == [f"{req.number}-01", f"{req.number}-02"]
    assert generated[0].assignments.get(role="R").user in (mkt_head, tech_head)
    services.breakdown_sign(request=req, by=mkt_head, department=mkt)
    # An edit voids the signature.
    extra = make_task(request=req, responsible=staff, accountable=mkt_head, department=mkt)
    assert extra.number == f"{req.number}-03"
    services.breakdown_sign(request=req, by=tech_head, department=tech)
    req.refresh_from_db()
    assert req.state == RequestState.APPROVED
    services.breakdown_sign(request=req, by=mkt_head, department=mkt)
    req.refresh_from_db()
    assert req.state == RequestState.IN_PROGRESS
    extra.refresh_from_db()
    extra = services.task_start(task=extra, by=staff)
    services.progress_log(task=extra, by=staff, percent=40, done="完成框架", problems="缺資料")
    extra = services.task_submit(task=extra, by=staff, completion_note="已交付")
    pass_every_seat(extra)  # A and the head accept; R never accepts its own
    extra.refresh_from_db()
    assert extra.state == TaskState.DONE and extra.progress_percent == 100


@pytest.mark.django_db
def test_database_holds_exactly_one_responsible(pmo):
    mkt = DepartmentFactory()
    make_head(mkt, admin_groups=False)
    req = make_approved_request(initiator=UserFactory(department=mkt), departments=[mkt], pmo=pmo)
    task = req.tasks.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskAssignment.objects.filter(task=task, role="R").delete()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_owner_cannot_accept_own_deliverable(pmo):
    """The Responsible person never accepts their own delivery, even as the initiator."""
    from django.core.exceptions import PermissionDenied

    from review_app.services import acceptance

    mkt = DepartmentFactory()
    head = make_head(mkt, admin_groups=False)
    initiator = UserFactory(department=mkt)
    req = make_approved_request(initiator=initiator, departments=[mkt], pmo=pmo)
    task = make_task(request=req, responsible=initiator, accountable=head, department=mkt)
    services.breakdown_sign(request=req, by=head, department=mkt)
    task = services.task_start(task=task, by=initiator)
    task = services.task_submit(task=task, by=initiator, completion_note="完成")
    seats = list(open_round(task).verdicts.all())
    assert seats  # the A's and the department's, not the initiator's (the R)
    for seat in seats:
        with pytest.raises(PermissionDenied):
            acceptance.acceptance_answer(verdict=seat, by=initiator, decision="passed")
    for seat in seats:
        acceptance.acceptance_answer(verdict=seat, by=head, decision="passed")
    task.refresh_from_db()
    assert task.state == TaskState.DONE


@pytest.mark.django_db
def test_saving_a_task_unchanged_keeps_the_signatures(pmo):
    """Only a real edit voids signatures; saving the same values is not a change."""
    mkt, tech = DepartmentFactory(), DepartmentFactory()
    head = make_head(mkt, admin_groups=False)
    tech.heads.add(UserFactory(department=tech))  # has not signed: the request stays 已立項
    initiator = UserFactory(department=mkt)
    req = make_approved_request(initiator=initiator, departments=[mkt, tech], pmo=pmo)
    task = req.tasks.order_by("sequence").first()
    services.breakdown_sign(request=req, by=head, department=mkt)
    version = req.breakdown.version
    same = {f: getattr(task, f) for f in services.TASK_FIELDS}
    raci = {"R": task.assignments.get(role="R").user, "A": task.assignments.get(role="A").user}
    services.task_save(request=req, by=initiator, data=same, raci=raci, task=task)
    req.breakdown.refresh_from_db()
    assert req.breakdown.version == version
    assert req.breakdown.signatures.filter(voided_at__isnull=True).count() == 1
    services.task_save(
        request=req, by=initiator, data={**same, "name": "改過的名稱"}, raci=raci, task=task
    )
    req.breakdown.refresh_from_db()
    assert req.breakdown.version == version + 1
    assert not req.breakdown.signatures.filter(voided_at__isnull=True).exists()
