"""Issue 6's "Must show" list, end to end in real Chromium, as the people would do it.

A request of 市場部 (the lead) and 產品部 to lift 用戶活躍度 is 進行中 with two tasks, one
per department, both submitted. On each task page the reviewers answer: the initiator
asks for 需整改 on 產品部's deliverable (a reason and a new deadline), its owner
resubmits, and then every reviewer passes both deliverables. The initiator opens the
成果驗收確認單 on the case page, both heads sign it and the request reaches 已完成. The
initiator fills in the retrospective: 18 % against a 15 % target shows 120.0 %. Every
participant has a feedback form waiting (notification and e-mail); one of them fills it
in from the to-do page. The PMO archives the case: the request page offers no edit,
the admin change page refuses a superuser's POST, and a colleague from an uninvolved
department finds the case in the knowledge base by searching 「活躍度」.

The steps find things by URL, element id and data attribute, and by the Chinese text
the people type. The `page` fixture fails the test on any browser console error.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from collab.choices import Role
from collab.models import Notification
from collab.services import role_groups_ensure, user_sync_access
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from review_app.choices import AcceptanceOutcome, RetrospectiveState
from review_app.models import Feedback, FeedbackInvitation, TaskAcceptance
from tasks_app import services as task_services
from tasks_app.choices import TaskState
from tasks_app.models import Task
from tests.factories import DepartmentFactory, UserFactory, make_in_progress_request
from tests.helpers import browser_switch_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"


def _cast():
    mkt = DepartmentFactory(code="mkt", name="市場部")
    prod = DepartmentFactory(code="prod", name="產品部")
    other = DepartmentFactory(code="fin", name="財務部")
    people = {
        "initiator": UserFactory(username="amy", full_name="王小美", department=mkt),
        "mkt_head": UserFactory(username="mkt_head", full_name="林美玲", department=mkt),
        "prod_head": UserFactory(username="prod_head", full_name="張志明", department=prod),
        "designer": UserFactory(username="designer", full_name="陳怡君", department=mkt),
        "engineer": UserFactory(username="engineer", full_name="王雅婷", department=prod),
        "colleague": UserFactory(username="colleague", full_name="郭欣怡", department=other),
    }
    mkt.heads.add(people["mkt_head"])
    prod.heads.add(people["prod_head"])
    role_groups_ensure()
    people["pmo"] = UserFactory(username="pmo", full_name="趙雅琪", role=Role.PMO)
    people["admin"] = UserFactory(
        username="root", full_name="系統管理員", is_superuser=True, is_staff=True
    )
    for user in people.values():
        user.set_password(PASSWORD)
        user.save()
        user_sync_access(user)
    return {"mkt": mkt, "prod": prod}, people


def _log_in(page, live_server, user):
    browser_switch_user(page, live_server, user.username, PASSWORD)


def _click_to(page, target, url) -> None:
    page.once("dialog", lambda dialog: dialog.accept())  # data-confirm asks first
    with page.expect_navigation(url=url):
        target.click()


def _submit(task: Task, note: str) -> None:
    owner = task.assignments.get(role="R").user
    task = Task.objects.get(pk=task.pk)
    if task.state == TaskState.TODO:
        task = task_services.task_start(task=task, by=owner)
    task_services.task_submit(task=Task.objects.get(pk=task.pk), by=owner, completion_note=note)


def _answer(page, live_server, user, task, decision, *, reason="", rectify_by=None):
    """`user` answers every open seat they hold on the task page (a head who is also the
    task's A holds two: their own and their department's)."""
    _log_in(page, live_server, user)
    url = live_server.url + reverse("tasks_app:detail", args=[task.pk])
    page.goto(url)
    assert page.locator("form[data-seat]").count() >= 1
    while page.locator("form[data-seat]").count():
        form = page.locator("form[data-seat]").first
        form.locator(f'input[type=radio][value="{decision}"]').check()
        if reason:
            form.locator("textarea[name$=reason]").fill(reason)
        if rectify_by:
            form.locator("input[name$=rectify_date]").fill(rectify_by.isoformat())
            # Ticked whether or not it is earlier than the due date: it is then harmless.
            form.locator("input[name$=confirm_earlier]").check()
        _click_to(page, form.locator("button[type=submit]"), re.compile(re.escape(url)))
        if decision != "passed":
            break  # 需整改 / 不通過 close the round at once


def test_issue6_a_request_goes_all_the_way(page, live_server):
    depts, people = _cast()
    req, (design, build) = make_in_progress_request(
        initiator=people["initiator"],
        departments=[depts["mkt"], depts["prod"]],
        pmo=people["pmo"],
        tasks=[
            {
                "name": "活躍度活動頁設計",
                "responsible": people["designer"],
                "accountable": people["mkt_head"],
            },
            {
                "name": "簽到功能開發",
                "responsible": people["engineer"],
                "accountable": people["prod_head"],
            },
        ],
    )
    CollabRequest.objects.filter(pk=req.pk).update(
        name="Q3 用戶活躍度提升", background="近三個月用戶留存率下降 5%。"
    )
    goal = req.goals.get()
    _submit(design, "活動頁設計稿已完成。")
    _submit(build, "簽到功能已上線測試環境。")

    # 1. The initiator asks for rectification of 產品部's deliverable.
    new_due = timezone.localdate() + dt.timedelta(days=5)
    _answer(
        page,
        live_server,
        people["initiator"],
        build,
        "rectify",
        reason="缺少簽到獎勵規則,請補上後重新提交。",
        rectify_by=new_due,
    )
    build.refresh_from_db()
    assert build.state == TaskState.IN_PROGRESS
    assert timezone.localdate(build.due_at) == new_due
    assert page.locator('[data-round="1"] [data-decision="rectify"]').count() >= 1
    _submit(build, "已補上簽到獎勵規則。")

    # Every reviewer passes both deliverables; 產品部's in its second round.
    for user, task in [
        (people["initiator"], design),
        (people["mkt_head"], design),
        (people["initiator"], build),
        (people["prod_head"], build),
    ]:
        _answer(page, live_server, user, task, "passed")
    assert set(Task.objects.filter(request=req).values_list("state", flat=True)) == {TaskState.DONE}
    outcomes = list(
        TaskAcceptance.objects.filter(task=build)
        .order_by("round")
        .values_list("outcome", flat=True)
    )
    assert outcomes == [AcceptanceOutcome.RECTIFY, AcceptanceOutcome.PASSED]

    # 2. The final acceptance: opened by the initiator, signed by both heads → 已完成.
    case_url = live_server.url + reverse("review_app:case", args=[req.pk])
    case_re = re.compile(re.escape(case_url))
    _log_in(page, live_server, people["initiator"])
    page.goto(live_server.url + req.get_absolute_url())
    _click_to(page, page.locator("#action-case"), case_re)
    page.locator("#final-open-form textarea").fill("活動頁與簽到功能均已驗收通過。")
    _click_to(page, page.locator("#final-open-form button[type=submit]"), case_re)
    for head in ("mkt_head", "prod_head"):
        _log_in(page, live_server, people[head])
        page.goto(case_url)
        _click_to(page, page.locator("[data-final-sign]").first, case_re)
    assert page.locator("#closing-final").get_attribute("data-final-outcome") == "signed"
    assert CollabRequest.objects.get(pk=req.pk).state == RequestState.COMPLETED

    # 3. The retrospective shows target against actual.
    _log_in(page, live_server, people["initiator"])
    page.goto(live_server.url + reverse("review_app:retrospective-edit", args=[req.pk]))
    page.locator("[data-goal] input, input[data-goal]").first.fill("18")
    page.locator("#id_highlights").fill("每日站會同步進度。")
    page.locator("#id_shortcomings").fill("需求變更未走流程。")
    page.locator("#id_actions-0-description").fill("建立需求變更評審機制")
    detail = re.compile(re.escape(reverse("review_app:retrospective", args=[req.pk])) + "$")
    _click_to(page, page.locator("[data-retrospective-save]"), detail)
    achievement = page.locator("#retrospective-goals [data-percent]").first
    assert achievement.get_attribute("data-percent") == "120.0"
    assert "15" in page.locator("#retrospective-goals").inner_text()
    _click_to(page, page.locator("[data-retrospective-file]"), detail)
    goal.refresh_from_db()
    assert goal.actual_value == 18
    assert req.retrospective.__class__.objects.get(request=req).state == RetrospectiveState.FILED

    # 4. Every participant received a feedback form (notification and e-mail).
    participants = {
        people[name].pk for name in ("initiator", "mkt_head", "prod_head", "designer", "engineer")
    }
    invited = set(FeedbackInvitation.objects.filter(request=req).values_list("user", flat=True))
    assert invited == participants
    notified = set(
        Notification.objects.filter(
            url__contains=reverse("review_app:feedback-give", args=[req.pk])
        ).values_list("recipient", flat=True)
    )
    assert participants <= notified
    mailed = {address for message in mail.outbox for address in message.to}
    assert {people["engineer"].email, people["designer"].email} <= mailed
    _log_in(page, live_server, people["engineer"])
    page.goto(live_server.url + reverse("portfolio_app:todo"))
    give = re.compile(re.escape(reverse("review_app:feedback-give", args=[req.pk])))
    _click_to(page, page.locator("#todo-feedback [data-invitation] a").first, give)
    page.locator('#feedback-form input[type=radio][value="praise"]').check()
    page.locator("#feedback-form textarea[name=content]").fill("市場部需求說明清楚,合作順暢。")
    _click_to(page, page.locator("#feedback-submit"), re.compile(".*"))
    given = Feedback.objects.get(request=req, author=people["engineer"])
    assert re.fullmatch(r"FK\d{6}\d{3}", given.number)

    # 5. The PMO records the handling of the feedback, then archives the case; nobody
    # can edit it any more, not even in admin.
    _log_in(page, live_server, people["pmo"])
    detail_url = live_server.url + reverse("review_app:feedback-detail", args=[given.pk])
    page.goto(detail_url)
    page.locator("#handling-form textarea[name=handling_result]").fill(
        "已轉達市場部,納入下季需求模板。"
    )
    _click_to(page, page.locator("#handling-form button[type=submit]"), re.compile(".*"))
    assert Feedback.objects.get(pk=given.pk).handled_by == people["pmo"]
    page.goto(case_url)
    page.locator("#action-archive").click()
    _click_to(page, page.locator("#archive-confirm"), re.compile(".*"))
    req = CollabRequest.objects.get(pk=req.pk)
    assert req.is_archived
    page.goto(live_server.url + req.get_absolute_url())
    assert page.locator("#action-edit").count() == 0
    assert page.locator("#action-cancel").count() == 0

    _log_in(page, live_server, people["admin"])
    change_url = live_server.url + reverse("admin:requests_app_collabrequest_change", args=[req.pk])
    page.goto(change_url)
    assert page.locator("input[name=_save]").count() == 0
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        change_url,
        form={"csrfmiddlewaretoken": token, "name": "改名", "background": "改寫"},
        headers={"Referer": change_url, "X-CSRFToken": token},
    )
    assert response.status == 403
    assert CollabRequest.objects.get(pk=req.pk).name == "Q3 用戶活躍度提升"

    # A colleague of an uninvolved department finds it in the knowledge base.
    _log_in(page, live_server, people["colleague"])
    page.goto(live_server.url + reverse("review_app:knowledge"))
    page.locator("#knowledge-filters input[name=q]").fill("活躍度")
    _click_to(page, page.locator("#knowledge-search"), re.compile(r"q="))
    row = page.locator(f'#knowledge-table [data-request="{req.pk}"]')
    assert row.count() == 1
    assert req.archive_entry.title in row.inner_text()
    page.goto(live_server.url + req.get_absolute_url())
    assert "Q3 用戶活躍度提升" in page.locator("h1").inner_text()
