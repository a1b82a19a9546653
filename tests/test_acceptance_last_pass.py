"""The last 通過 of an acceptance round says that the task is now done.

Every seat but one passes; the last reviewer's 通過 completes the task (已完成). The
answer page and the admin's round page then tell that reviewer so, in zh-Hant and in
English, instead of only "your answer was recorded"; an earlier 通過 or a 需整改 does
not claim it. The Responsible person's notification says the task is done.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from collab.models import Notification
from collab.services import role_groups_ensure, user_sync_access
from review_app.admin.acceptance import SEAT_PARAM
from review_app.choices import AcceptanceOutcome, Verdict
from review_app.services import acceptance as services
from tasks_app.choices import TaskState
from tasks_app.models import Task
from tests.review_acceptance_fixtures import answerer, later, make_world, open_round, seat, submit

pytestmark = pytest.mark.django_db

TASK_DONE_ZH = "已通過。這是最後一個驗收，任務已完成。"
TASK_DONE_EN = "Passed. This was the last acceptance answer: the task is now done."
RECORDED_ZH = "已記錄您的回覆「通過」。"


@pytest.fixture
def w(pmo):
    w = make_world(pmo)
    submit(w, note="第一版 API")
    return w


def pass_all_but(w, last):
    """Pass every open seat of the round except `last`, through the service."""
    for verdict in open_round(w.task).verdicts.filter(decision=Verdict.PENDING).exclude(pk=last.pk):
        services.acceptance_answer(verdict=verdict, by=answerer(verdict), decision=Verdict.PASSED)


def answer_on_the_page(client, verdict, **fields) -> list[str]:
    """Post an answer on the task page; return the messages of the page it leads to."""
    prefix = f"seat{verdict.pk}-"
    response = client.post(
        reverse("review_app:acceptance-answer", args=[verdict.pk]),
        {prefix + key: value for key, value in fields.items()},
    )
    assert response.status_code == 302
    return [str(m) for m in client.get(response.url).context["messages"]]


def test_the_last_pass_says_the_task_is_done(client_for, w):
    """An earlier 通過 is only recorded; the last one says the task is done, and it is."""
    design = seat(w.task, department=w.design)
    first = seat(w.task, person=w.accountable)
    assert answer_on_the_page(client_for(w.accountable), first, decision="passed") == [RECORDED_ZH]
    assert Task.objects.get(pk=w.task.pk).state == TaskState.SUBMITTED
    pass_all_but(w, design)
    shown = answer_on_the_page(client_for(w.design_head), design, decision="passed")
    assert shown == [TASK_DONE_ZH]
    assert Task.objects.get(pk=w.task.pk).state == TaskState.DONE
    design.refresh_from_db()
    assert design.acceptance.outcome == AcceptanceOutcome.PASSED


def test_the_last_pass_says_so_in_english(client_for, w):
    design = seat(w.task, department=w.design)
    pass_all_but(w, design)
    client = client_for(w.design_head)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert answer_on_the_page(client, design, decision="passed") == [TASK_DONE_EN]


def test_a_rectification_does_not_claim_the_task_is_done(client_for, w):
    design = seat(w.task, department=w.design)
    pass_all_but(w, design)
    shown = answer_on_the_page(
        client_for(w.design_head),
        design,
        decision="rectify",
        reason="請補上錯誤處理",
        rectify_date=later().date().isoformat(),
        rectify_time="17:00",
        confirm_earlier="on",  # before the task's due date
    )
    assert len(shown) == 1 and "任務已完成" not in shown[0]
    assert Task.objects.get(pk=w.task.pk).state == TaskState.IN_PROGRESS


def test_the_last_pass_in_admin_says_the_task_is_done(client_for, w):
    role_groups_ensure()
    user_sync_access(w.design_head)
    design = seat(w.task, department=w.design)
    pass_all_but(w, design)
    client = client_for(w.design_head)
    url = reverse("admin:review_app_taskacceptance_change", args=[design.acceptance_id])
    response = client.post(url, {SEAT_PARAM: design.pk, f"seat{design.pk}-decision": "passed"})
    assert response.status_code == 302
    assert [str(m) for m in client.get(response.url).context["messages"]] == [TASK_DONE_ZH]


def test_the_responsible_person_is_told_the_task_is_done(client_for, w):
    design = seat(w.task, department=w.design)
    pass_all_but(w, design)
    assert not Notification.objects.filter(recipient=w.owner, body__contains="任務已完成")
    answer_on_the_page(client_for(w.design_head), design, decision="passed")
    note = Notification.objects.filter(recipient=w.owner).latest("pk")
    assert "任務已完成" in note.body and w.task.number in note.title
