"""待辦事項 lists the 任務分工表 waiting for the person's 簽署, and Django admin filters them.

A request 已立項 with tasks waits for a signature from each collaborating department on
the breakdown's current version. The head of such a department, or a deputy acting
for that head today (collab.selectors.ActingHeads), finds it on the to-do page and,
in admin, under the breakdowns' "awaiting my signature" filter; it leaves both once
the department signed, and comes back when an edit voids the signature. Staff, the
PMO and executives sign nothing. The assertions look at element ids and data
attributes: the UI text is translated separately.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tasks_app import services
from tasks_app.models import Breakdown
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_head,
)
from tests.helpers import assert_constant_queries

pytestmark = pytest.mark.django_db

TODO = "portfolio_app:todo"
CHANGELIST = "admin:tasks_app_breakdown_changelist"


# `partner` (技術部) is the shared fixture of tests/conftest.py; unlike conftest's
# `partner_head`, this one also gets the admin groups of a head (make_head).
@pytest.fixture
def partner_head(partner):
    return make_head(partner, full_name="蔡宗翰")


def rows(client, user) -> set[tuple[int, int]]:
    """Return the (request, department) rows of the to-do page's breakdown section."""
    client.force_login(user)
    response = client.get(reverse(TODO))
    assert response.status_code == 200
    body = response.content.decode()
    if 'id="todo-breakdowns"' not in body:
        return set()
    section = body.split('id="todo-breakdowns"')[1].split("</section>")[0]
    return {
        tuple(int(n) for n in chunk.split('"')[0].split("-"))
        for chunk in section.split('data-breakdown-signature="')[1:]
    }


@pytest.mark.parametrize(
    ("role", "signs_for"),
    [
        ("head", "department"),
        ("deputy", "department"),
        ("partner_head", "partner"),
        ("staff", None),
        ("pmo", None),
        ("executive", None),
        ("outsider", None),
    ],
)
def test_todo_lists_the_breakdown_each_role_must_sign(request, client, approved, role, signs_for):
    """The head and the deputy of a collaborating department see the breakdown to sign
    for that department; the initiator, the PMO, executives and outsiders see none."""
    user = request.getfixturevalue(role)
    expected = set()
    if signs_for:
        expected = {(approved.pk, request.getfixturevalue(signs_for).pk)}
    assert rows(client, user) == expected
    body = client.get(reverse(TODO)).content.decode()
    if expected:
        assert reverse("tasks_app:breakdown", args=[approved.pk]) in body
        assert 'id="todo-empty"' not in body


def test_the_deputy_is_marked_as_acting_for_the_head(client, approved, head, deputy):
    client.force_login(deputy)
    body = client.get(reverse(TODO)).content.decode()
    section = body.split('id="todo-breakdowns"')[1].split("</section>")[0]
    assert f'data-acting-for="{head.pk}"' in section
    client.force_login(head)
    section = client.get(reverse(TODO)).content.decode().split('id="todo-breakdowns"')[1]
    assert "data-acting-for" not in section.split("</section>")[0]


def test_a_signature_clears_the_row_and_an_edit_brings_it_back(
    client, approved, staff, department, partner, head, deputy, partner_head
):
    """Signing for a department clears it for its head and deputy, not for the other
    department; a change to the breakdown voids the signature, so it waits again."""
    services.breakdown_sign(request=approved, by=deputy, department=department)
    assert rows(client, head) == set()
    assert rows(client, deputy) == set()
    assert rows(client, partner_head) == {(approved.pk, partner.pk)}
    task = approved.tasks.order_by("sequence").first()
    services.task_save(
        request=approved,
        by=staff,
        task=task,
        data={"name": "改過的任務名稱"},
        raci={"R": head, "A": staff},
    )
    assert Breakdown.objects.get(request=approved).version > 1
    assert rows(client, head) == {(approved.pk, department.pk)}


def test_nothing_to_sign_without_tasks_or_once_under_way(
    client, approved, staff, department, partner, head, partner_head
):
    """An empty breakdown cannot be signed yet; once every head signed, the request is
    進行中 and nothing waits."""
    tasks = list(approved.tasks.all())
    for task in tasks:
        services.task_remove(task=task, by=staff)
    assert rows(client, head) == set()
    services.task_save(
        request=approved,
        by=staff,
        data={
            "name": "推廣活動策劃",
            "responsible_department": department,
            "start_date": tasks[0].start_date,
            "due_at": tasks[0].due_at,
        },
        raci={"R": head, "A": staff},
    )
    assert rows(client, head) == {(approved.pk, department.pk)}
    services.breakdown_sign(request=approved, by=head, department=department)
    services.breakdown_sign(request=approved, by=partner_head, department=partner)
    assert rows(client, partner_head) == set()
    assert 'id="todo-empty"' in client.get(reverse(TODO)).content.decode()


def test_a_deputy_signs_only_for_the_departments_the_delegation_covers(
    client, approved, department, partner, head
):
    """The head leads both departments; a delegation for `partner` alone lists only
    `partner` to the stand-in, and one for all the head leads lists both."""
    partner.heads.add(head)
    stand_in = UserFactory(department=DepartmentFactory())
    delegation = DelegationFactory(head=head, deputy=stand_in, department=partner)
    assert rows(client, stand_in) == {(approved.pk, partner.pk)}
    delegation.department = None
    delegation.save()
    assert rows(client, stand_in) == {(approved.pk, department.pk), (approved.pk, partner.pk)}
    assert rows(client, head) == {(approved.pk, department.pk), (approved.pk, partner.pk)}


def test_todo_query_count_does_not_grow_with_breakdowns(
    client, staff, department, partner, head, deputy, partner_head, pmo
):
    """Breakdowns, their requests, departments and the deputies' heads come in a fixed
    number of queries, for a head and for a deputy."""

    def make_rows(n):
        for _ in range(n):
            make_approved_request(
                initiator=staff, departments=[department, partner], lead=department, pmo=pmo
            )

    url = reverse(TODO)
    for user in (head, deputy):
        client.force_login(user)
        assert_constant_queries(make_rows, lambda: client.get(url))
    assert len(rows(client, deputy)) == 16


# --- Django admin ----------------------------------------------------------------------


def listed(client, user, **params) -> set[int]:
    client.force_login(user)
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return {obj.request_id for obj in response.context["cl"].result_list}


def test_admin_filters_the_breakdowns_awaiting_my_signature(
    client, approved, staff, department, partner, head, partner_head, pmo
):
    """Heads find the breakdown under "awaiting my signature" until their department
    signed; the PMO sees every breakdown but signs none; staff have no admin."""
    other = make_approved_request(
        initiator=staff, departments=[department], lead=department, pmo=pmo
    )
    assert listed(client, head, awaiting_me="1") == {approved.pk, other.pk}
    assert listed(client, partner_head, awaiting_me="1") == {approved.pk}
    assert listed(client, partner_head) == {approved.pk}  # other is not theirs to see
    assert listed(client, pmo) == {approved.pk, other.pk}
    assert listed(client, pmo, awaiting_me="1") == set()
    services.breakdown_sign(request=approved, by=head, department=department)
    assert listed(client, head, awaiting_me="1") == {other.pk}
    client.force_login(head)
    body = client.get(reverse(CHANGELIST)).content.decode()
    assert reverse("tasks_app:breakdown", args=[approved.pk]) in body
    row = next(
        b
        for b in client.get(reverse(CHANGELIST)).context["cl"].result_list
        if b.request_id == approved.pk
    )
    assert (row.signed_count, row.department_count) == (1, 2)
    client.force_login(staff)
    assert client.get(reverse(CHANGELIST)).status_code == 302  # to the admin login


def test_admin_changelist_query_count_does_not_grow(client, staff, department, head, pmo):
    def make_rows(n):
        for _ in range(n):
            make_approved_request(initiator=staff, departments=[department], pmo=pmo)

    client.force_login(head)
    url = reverse(CHANGELIST)
    assert_constant_queries(make_rows, lambda: client.get(url, {"awaiting_me": "1"}))
