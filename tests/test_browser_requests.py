"""A request's first steps in real Chromium: filed and submitted by staff, approved by a head."""

import re

import pytest
from django.urls import reverse

from requests_app.choices import RequestState, ReviewDecision
from requests_app.models import CollabRequest
from tests.factories import DepartmentFactory, UserFactory
from tests.helpers import browser_log_in as _log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_files_and_submits_a_request_and_a_head_approves_it(page, live_server):
    """The form's add-row buttons work under the CSP; submit; the head answers 同意 in the panel.

    The page fixture fails the test on any console error, so a blocked inline script or
    style would show up here.
    """
    mkt = DepartmentFactory(code="mkt", name="市場部")
    tech = DepartmentFactory(code="tech", name="技術部")
    staff = UserFactory(username="amy", full_name="王小美", department=mkt)
    mkt_head = UserFactory(username="mkt_head", department=mkt)
    mkt.heads.add(mkt_head)
    tech_head = UserFactory(username="tech_head", full_name="蔡宗翰", department=tech)
    tech.heads.add(tech_head)

    _log_in(page, live_server, staff)
    page.goto(live_server.url + reverse("requests_app:mine"))
    page.click("#new-request")
    page.wait_for_url("**/requests/new/")
    page.fill("#id_name", "官網改版與會員系統整合")
    page.fill("#id_expected_completion", "2030-06-30")
    page.fill("#id_background", "會員資料分散在兩個系統，客服查詢耗時。")
    page.fill("#id_data_needs", "會員名單\n訂單紀錄")
    # Nothing is filled in: the staff member lists their own department, then the partner.
    assert page.input_value("#id_departments-0-department") == ""
    page.select_option("#id_departments-0-department", str(mkt.pk))
    page.check("#id_departments-0-is_lead")
    page.click('[data-formset-add="departments"]')
    page.select_option("#id_departments-1-department", str(tech.pk))
    page.fill("#id_goals-0-description", "會員登入轉換率提升")
    page.fill("#id_goals-0-metric", "轉換率")
    page.fill("#id_goals-0-target_value", "15")
    page.fill("#id_goals-0-unit", "%")
    page.click('[data-formset-add="goals"]')
    assert page.input_value("#id_goals-TOTAL_FORMS") == "2"
    page.fill("#id_goals-1-description", "客服查詢時間縮短")
    page.fill("#id_goals-1-metric", "平均處理時間")
    page.fill("#id_goals-1-target_value", "30")
    page.fill("#id_goals-1-unit", "%")
    page.click("#save-submit")
    page.wait_for_url(re.compile(r".*/requests/\d+/$"))

    req = CollabRequest.objects.get()
    assert req.state == RequestState.PENDING
    assert [g.description for g in req.goals.all()] == ["會員登入轉換率提升", "客服查詢時間縮短"]
    assert page.locator(".page-header .state-badge").get_attribute("data-state") == "pending"
    assert page.locator("#request-number").inner_text() == req.number

    page.context.clear_cookies()
    _log_in(page, live_server, tech_head)
    page.goto(live_server.url + reverse("portfolio_app:todo"))
    page.locator("#todo-reviews").get_by_role("link", name="官網改版與會員系統整合").click()
    page.wait_for_url(live_server.url + req.get_absolute_url())
    review = req.reviews.get(department=tech)
    panel = page.locator(f"#review-panel-{review.pk}")
    panel.locator(f"#id_review-{review.pk}-committed_tasks").fill("會員系統接口開發\n單點登入")
    panel.locator("[data-review-approve]").click()
    page.locator(f'[data-review="{review.pk}"][data-decision="approved"]').wait_for()
    assert page.locator(f"#review-panel-{review.pk}").count() == 0

    review.refresh_from_db()
    assert review.decision == ReviewDecision.APPROVED and review.decided_by == tech_head
    assert review.committed_task_lines == ["會員系統接口開發", "單點登入"]
