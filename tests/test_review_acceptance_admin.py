"""The acceptance's admin pages: rounds and answers read-only, scoped like the tasks; a
head answers the seats they hold from the round's page, through the service."""

from __future__ import annotations

import pytest
from django.urls import reverse

from collab.services import role_groups_ensure, user_sync_access
from review_app.admin.acceptance import SEAT_PARAM
from review_app.choices import Verdict
from review_app.models import AcceptanceVerdict, TaskAcceptance
from tasks_app.models import Task
from tests.factories import DepartmentFactory, UserFactory
from tests.review_acceptance_fixtures import make_world, open_round, seat, submit

pytestmark = pytest.mark.django_db

LIST = "admin:review_app_taskacceptance_changelist"
CHANGE = "admin:review_app_taskacceptance_change"


@pytest.fixture
def w(pmo):
    role_groups_ensure()
    w = make_world(pmo)
    submit(w)
    for user in (w.tech_head, w.design_head, w.pmo):
        user_sync_access(user)
    other = DepartmentFactory()
    w.other_head = UserFactory(department=other)
    other.heads.add(w.other_head)
    user_sync_access(w.other_head)
    w.acceptance = open_round(w.task)
    return w


@pytest.mark.parametrize(("who", "status"), [("pmo", 200), ("tech_head", 200), ("other_head", 302)])
def test_the_round_page_is_scoped_like_the_task(client_for, w, who, status):
    """PMO and the task's heads open the round; a head whose departments take no part
    is sent back (the round is not among what they may see)."""
    client = client_for(getattr(w, who))
    response = client.get(reverse(CHANGE, args=[w.acceptance.pk]))
    assert response.status_code == status
    listed = client.get(reverse(LIST))
    assert listed.status_code == 200
    shown = {obj.pk for obj in listed.context["cl"].result_list}
    assert (w.acceptance.pk in shown) == (status == 200)


def test_staff_without_admin_access_are_sent_to_log_in(client_for, w):
    response = client_for(w.accountable).get(reverse(LIST))
    assert response.status_code == 302 and "login" in response.url


def test_nothing_is_added_changed_or_deleted_in_admin(client_for, w):
    client = client_for(w.pmo)
    assert client.get(reverse("admin:review_app_taskacceptance_add")).status_code == 403
    delete = reverse("admin:review_app_taskacceptance_delete", args=[w.acceptance.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    response = client.post(reverse(CHANGE, args=[w.acceptance.pk]), {"outcome": "passed"})
    assert response.status_code == 403
    assert TaskAcceptance.objects.get(pk=w.acceptance.pk).outcome == "open"


def test_a_head_answers_their_seat_in_admin(client_for, w):
    """The tech head sees one answer form (tech's seat) and passes it through the service."""
    verdict = seat(w.task, department=w.tech)
    client = client_for(w.tech_head)
    html = client.get(reverse(CHANGE, args=[w.acceptance.pk])).content.decode()
    assert f'id="acceptance-answer-{verdict.pk}"' in html
    assert html.count('id="acceptance-answer-') == 1
    response = client.post(
        reverse(CHANGE, args=[w.acceptance.pk]),
        {SEAT_PARAM: verdict.pk, f"seat{verdict.pk}-decision": "passed"},
    )
    assert response.status_code == 302
    verdict.refresh_from_db()
    assert (verdict.decision, verdict.decided_by) == (Verdict.PASSED, w.tech_head)


def test_an_incomplete_answer_in_admin_keeps_the_text(client_for, w):
    verdict = seat(w.task, department=w.design)
    response = client_for(w.design_head).post(
        reverse(CHANGE, args=[w.acceptance.pk]),
        {
            SEAT_PARAM: verdict.pk,
            f"seat{verdict.pk}-decision": "rectify",
            f"seat{verdict.pk}-reason": "請補上色票",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "請補上色票" in html and "errorlist" in html
    assert AcceptanceVerdict.objects.get(pk=verdict.pk).decision == Verdict.PENDING


def test_the_pmo_holds_no_seat_in_admin(client_for, w):
    verdict = seat(w.task, department=w.tech)
    client = client_for(w.pmo)
    html = client.get(reverse(CHANGE, args=[w.acceptance.pk])).content.decode()
    assert 'id="acceptance-answer-' not in html
    response = client.post(
        reverse(CHANGE, args=[w.acceptance.pk]),
        {SEAT_PARAM: verdict.pk, f"seat{verdict.pk}-decision": "passed"},
    )
    assert response.status_code == 302
    assert AcceptanceVerdict.objects.get(pk=verdict.pk).decision == Verdict.PENDING
    assert Task.objects.get(pk=w.task.pk).state == "submitted"
