"""RACI: exactly one Responsible and one Accountable per task (DOMAIN §2, issue 4 item 2).

The rule is held three times: the service refuses a missing R or A on its field; the
database refuses a second R or A (partial unique constraints) and, at commit, a task
with none (a deferred constraint trigger). R belongs to the responsible department or a
supporting one (or heads it). A RACI role grants the right to see the task and its
request; taking the role away takes the right away.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from requests_app import permissions as request_permissions
from tasks_app import permissions, services
from tasks_app.choices import RaciRole
from tasks_app.models import Task, TaskAssignment
from tests.factories import DepartmentFactory, UserFactory, make_approved_request
from tests.helpers import days_from_today as _days


def _data(w, **overrides) -> dict:
    return {
        "name": "活動頁開發",
        "responsible_department": w.tech,
        "start_date": _days(1),
        "due_at": services.due_at(_days(15)),
        **overrides,
    }


@pytest.fixture
def w(pmo):
    """A request between marketing (lead) and tech; design and sales take no part."""
    mkt, tech, design, sales = (DepartmentFactory() for _ in range(4))
    for dept in (mkt, tech):
        dept.heads.add(UserFactory(department=dept))
    initiator = UserFactory(department=mkt)
    req = make_approved_request(
        initiator=initiator, departments=[mkt, tech], lead=mkt, pmo=pmo, committed=""
    )
    return SimpleNamespace(
        request=req,
        mkt=mkt,
        tech=tech,
        design=design,
        initiator=initiator,
        tech_staff=UserFactory(department=tech),
        mkt_staff=UserFactory(department=mkt),
        designer=UserFactory(department=design),
        seller=UserFactory(department=sales),
        tech_head=tech.heads.get(),
    )


def _save(w, *, raci, supporting=(), task=None, **data):
    return services.task_save(
        request=w.request,
        by=w.initiator,
        data=_data(w, **data),
        raci=raci,
        supporting=supporting,
        task=task,
    )


# --- the service ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("missing", "field"), [("R", "responsible"), ("A", "accountable")])
def test_service_refuses_a_missing_r_or_a(w, missing, field):
    """Without an R (or an A) the service raises ValidationError on that field and
    stores nothing."""
    raci = {"R": w.tech_staff, "A": w.initiator}
    del raci[missing]
    with pytest.raises(ValidationError) as info:
        _save(w, raci=raci)
    assert field in info.value.message_dict
    assert not Task.objects.exists()
    assert w.request.breakdown.version == 1


@pytest.mark.django_db
def test_service_refuses_r_outside_the_responsible_and_supporting_departments(w):
    """R from a department with no part in the task is refused on the R field."""
    with pytest.raises(ValidationError) as info:
        _save(w, raci={"R": w.mkt_staff, "A": w.initiator})
    assert "responsible" in info.value.message_dict
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_r_may_come_from_a_supporting_department(w):
    """R may belong to a supporting department rather than the responsible one."""
    task = _save(w, raci={"R": w.mkt_staff, "A": w.initiator}, supporting=[w.mkt])
    assert task.assignments.get(role=RaciRole.RESPONSIBLE).user == w.mkt_staff


@pytest.mark.django_db
def test_r_may_be_the_head_of_the_responsible_department(w):
    """A head whose own department field points elsewhere still counts for the
    department they head."""
    head = UserFactory(department=w.design)
    w.tech.heads.add(head)
    task = _save(w, raci={"R": head, "A": w.initiator})
    assert task.assignments.get(role=RaciRole.RESPONSIBLE).user == head


@pytest.mark.django_db
def test_disabled_account_cannot_be_r(w):
    w.tech_staff.is_active = False
    w.tech_staff.save(update_fields=["is_active"])
    with pytest.raises(ValidationError) as info:
        _save(w, raci={"R": w.tech_staff, "A": w.initiator})
    assert "responsible" in info.value.message_dict


@pytest.mark.django_db
def test_supporting_departments_must_take_part_in_the_request(w):
    with pytest.raises(ValidationError) as info:
        _save(w, raci={"R": w.tech_staff, "A": w.initiator}, supporting=[w.design])
    assert "supporting_departments" in info.value.message_dict


@pytest.mark.django_db
def test_raci_rows_are_replaced_on_edit(w):
    """Saving a task with a new RACI replaces its rows: still one R and one A, with the
    C and I given (a person listed twice counts once)."""
    task = _save(w, raci={"R": w.tech_staff, "A": w.initiator, "C": [w.designer]})
    task = _save(
        w,
        task=task,
        raci={"R": w.tech_head, "A": w.mkt_staff, "I": [w.seller, w.seller]},
    )
    rows = sorted(task.assignments.values_list("role", "user_id"))
    assert rows == sorted([("R", w.tech_head.pk), ("A", w.mkt_staff.pk), ("I", w.seller.pk)])


# --- the database ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["R", "A"])
def test_database_refuses_a_second_r_or_a(w, role):
    """The partial unique constraints refuse a second R (or A) on the spot."""
    task = _save(w, raci={"R": w.tech_staff, "A": w.initiator})
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskAssignment.objects.create(task=task, user=w.tech_head, role=role)
    assert task.assignments.filter(role=role).count() == 1


@pytest.mark.django_db
def test_database_allows_many_c_and_i(w):
    task = _save(w, raci={"R": w.tech_staff, "A": w.initiator})
    with transaction.atomic():
        TaskAssignment.objects.create(task=task, user=w.designer, role="C")
        TaskAssignment.objects.create(task=task, user=w.seller, role="C")
        TaskAssignment.objects.create(task=task, user=w.seller, role="I")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert task.assignments.count() == 5


def _immediately(check) -> None:
    """Run `check` and then the deferred constraint checks, all in one savepoint."""
    with transaction.atomic():
        check()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["R", "A"])
def test_database_refuses_a_task_left_without_r_or_a(w, role):
    """Deleting the only R (or A) passes until the deferred trigger runs, then fails."""
    task = _save(w, raci={"R": w.tech_staff, "A": w.initiator})
    with pytest.raises(IntegrityError) as info:
        _immediately(lambda: TaskAssignment.objects.filter(task=task, role=role).delete())
    assert "raci_exactly_one" in str(info.value)
    assert task.assignments.filter(role=role).count() == 1


@pytest.mark.django_db
def test_database_refuses_a_task_created_without_raci(w):
    """A task inserted behind the services' back, with no assignments, fails at commit."""
    template = _save(w, raci={"R": w.tech_staff, "A": w.initiator})

    def insert():
        Task.objects.create(
            request=w.request,
            sequence=99,
            number=f"{w.request.number}-99",
            name="沒有負責人",
            responsible_department=w.tech,
            start_date=template.start_date,
            due_at=template.due_at,
        )

    with pytest.raises(IntegrityError):
        _immediately(insert)
    assert not Task.objects.filter(sequence=99).exists()


@pytest.mark.django_db
def test_replacing_r_within_one_transaction_is_fine(w):
    """The trigger is deferred: a service may swap R inside its transaction."""
    task = _save(w, raci={"R": w.tech_staff, "A": w.initiator})

    def swap():
        TaskAssignment.objects.filter(task=task, role="R").delete()
        TaskAssignment.objects.create(task=task, user=w.tech_head, role="R")

    _immediately(swap)
    assert task.assignments.get(role="R").user == w.tech_head


@pytest.mark.django_db(transaction=True)
def test_commit_without_r_is_refused_by_the_trigger(pmo):
    """In a real commit (no test transaction around it) a task left with no R fails."""
    dept = DepartmentFactory()
    dept.heads.add(UserFactory(department=dept))
    req = make_approved_request(initiator=UserFactory(department=dept), departments=[dept], pmo=pmo)
    task = req.tasks.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskAssignment.objects.filter(task=task, role="R").delete()
    assert task.assignments.filter(role="R").count() == 1


# --- RACI gives sight of the task and its request ---------------------------------------


@pytest.mark.django_db
def test_raci_role_grants_view_of_the_request_and_task(w):
    """An outsider (design, no part in the request) made C sees the request and the task;
    removing the role removes both."""
    assert not request_permissions.can_view(w.designer, w.request)
    task = _save(w, raci={"R": w.tech_staff, "A": w.initiator, "C": [w.designer]})
    assert request_permissions.can_view(w.designer, w.request)
    assert permissions.can_view(w.designer, task)

    task = _save(w, task=task, raci={"R": w.tech_staff, "A": w.initiator})
    assert not request_permissions.can_view(w.designer, w.request)
    assert not permissions.can_view(w.designer, task)


@pytest.mark.django_db
def test_grant_stays_while_another_task_keeps_a_role(w):
    """Taken off one task, a person keeps sight of the request through another role."""
    first = _save(w, raci={"R": w.tech_staff, "A": w.initiator, "I": [w.seller]})
    second = _save(w, name="數據埋點", raci={"R": w.tech_staff, "A": w.initiator, "C": [w.seller]})
    _save(w, task=first, raci={"R": w.tech_staff, "A": w.initiator})
    # Seeing the request means seeing its tasks, the one they left included.
    assert request_permissions.can_view(w.seller, w.request)
    assert permissions.can_view(w.seller, first) and permissions.can_view(w.seller, second)
    services.task_remove(task=second, by=w.initiator)
    assert not request_permissions.can_view(w.seller, w.request)


@pytest.mark.django_db
def test_removing_the_task_removes_the_grant(w):
    task = _save(w, raci={"R": w.tech_staff, "A": w.designer})
    assert request_permissions.can_view(w.designer, w.request)
    services.task_remove(task=task, by=w.initiator)
    assert not request_permissions.can_view(w.designer, w.request)
