"""Issue 16's "Must show" risk journey in real Chromium, by the labels people read:
a high-risk progress update → a risk report → the PMO names an owner → the risk is
resolved, and the heat map counts it.

1. 王志明 (技術部, the R of 「開發活動頁面」) logs progress marked 高 on the task page; the
   page offers to file a risk report from it, and the form opens pre-filled.
2. He scores it 4 × 5 and files it: a 高 risk, 已提報; the PMO hears of it.
3. The PMO finds it on her to-do page, organises the response (王志明 owns it, a
   deadline, a plan): 應對中. The register's heat map counts it in cell 4 × 5.
4. 王志明 marks it resolved with a note: 已解除. The open map no longer counts it, the
   map of every risk does, and its cell opens the list with it.
The `page` fixture fails the test on any browser console error.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import expect

from collab.models import Notification
from risks_app.choices import RiskState
from risks_app.models import Risk
from tasks_app import services as task_services
from tasks_app.models import ProgressUpdate
from tests.helpers import browser_switch_user
from tests.risks_fixtures import make_risk_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def zh(text) -> str:
    with translation.override("zh-hant"):
        return str(text)


def field(model, name: str) -> str:
    return zh(model._meta.get_field(name).verbose_name)


def exactly(label: str) -> re.Pattern:
    return re.compile(rf"^{re.escape(label)}(\s*\*)?$")


def _click_to(page, target) -> None:
    with page.expect_navigation():
        target.click()


def test_issue16_a_high_risk_update_becomes_a_resolved_risk(page, live_server):
    w = make_risk_world()
    engineer = w.tech_staff
    task_services.task_start(task=w.task_b, by=engineer)

    # 1. Progress marked 高 on the task page, and the offer to report it.
    browser_switch_user(page, live_server, engineer.username)
    page.goto(live_server.url + w.task_b.get_absolute_url())
    page.locator("#action-progress").click()
    form = page.locator("form.progress-form").first
    form.wait_for()
    form.get_by_label(field(ProgressUpdate, "percent")).fill("40")
    form.get_by_label(field(ProgressUpdate, "risk_level")).select_option(label="高")
    form.get_by_label(field(ProgressUpdate, "done")).fill("完成活動頁切版")
    form.get_by_label(field(ProgressUpdate, "support_needed")).fill("請市場部協調金流廠商")
    form.get_by_label(field(ProgressUpdate, "risk_note")).fill("金流介面尚未開放,上線可能延誤")
    _click_to(page, form.get_by_role("button", name="儲存進度"))
    offer = page.locator("#risk-offer")
    expect(offer).to_contain_text("標示為高風險")
    _click_to(page, offer.get_by_role("link", name="據此提報風險"))

    # 2. The form comes pre-filled; scored 4 × 5 and filed.
    expect(page.get_by_role("heading", name="提報風險", level=1)).to_be_visible()
    expect(page.locator("#from-update")).to_be_visible()
    expect(page.get_by_label(exactly("風險描述"))).to_have_value(re.compile("金流介面尚未開放"))
    expect(page.get_by_label(exactly("建議措施"))).to_have_value("請市場部協調金流廠商")
    page.get_by_label(exactly("標題")).fill("金流介面延遲影響上線")
    page.get_by_label(exactly("可能性")).select_option(value="4")
    page.get_by_label(exactly("影響程度")).select_option(value="5")
    _click_to(page, page.get_by_role("button", name="提報風險"))
    risk = Risk.objects.get()
    assert page.url == live_server.url + risk.get_absolute_url()
    expect(page.get_by_text("風險應對申請已提報，已通知 PMO。")).to_be_visible()
    expect(page.locator("#risk-level")).to_have_text("高")
    expect(page.locator("#risk-state")).to_have_text("已提報")
    assert risk.progress_update is not None and risk.task == w.task_b
    assert Notification.objects.filter(recipient=w.pmo, url=risk.get_absolute_url()).exists()

    # 3. The PMO organises the response from her to-do page.
    browser_switch_user(page, live_server, w.pmo.username)
    page.goto(live_server.url + reverse("portfolio_app:todo"))
    todo = page.locator("#todo-risks-organise")
    expect(todo).to_contain_text("待組織應對的風險")
    _click_to(page, todo.get_by_role("link", name="金流介面延遲影響上線"))
    page.get_by_role("button", name="組織應對").first.click()
    page.locator("#act-accept-panel.collapse.show").wait_for()
    accept = page.locator("#act-accept-form")
    accept.get_by_label(exactly("應對責任人")).select_option(label=f"{engineer} · {w.tech}")
    due = timezone.localtime() + dt.timedelta(days=3)
    accept.get_by_label(exactly("應對期限")).fill(due.strftime("%Y-%m-%dT%H:%M"))
    accept.get_by_label(exactly("應對方案")).fill("先以模擬介面開發,每日追蹤廠商進度。")
    _click_to(page, accept.get_by_role("button", name="組織應對"))
    expect(page.get_by_text("已組織應對，並已通知責任人。")).to_be_visible()
    expect(page.locator("#risk-state")).to_have_text("應對中")
    expect(page.locator("#risk-owner")).to_have_text(str(engineer))

    page.goto(live_server.url + reverse("risks_app:register"))
    expect(page.locator('[data-cell="4-5"]')).to_have_text("1")

    # 4. The owner resolves it.
    browser_switch_user(page, live_server, engineer.username)
    page.goto(live_server.url + risk.get_absolute_url())
    page.get_by_role("button", name="標記為已解除").first.click()
    page.locator("#act-resolve-panel.collapse.show").wait_for()
    resolve = page.locator("#act-resolve-form")
    resolve.get_by_label(exactly("備註")).fill("廠商已開放介面,整合測試通過。")
    _click_to(page, resolve.get_by_role("button", name="標記為已解除"))
    expect(page.locator("#risk-state")).to_have_text("已解除")
    expect(page.locator("#risk-history")).to_contain_text("廠商已開放介面")
    assert Risk.objects.get().state == RiskState.RESOLVED

    # The heat map: not among the open risks any more, counted among all of them.
    browser_switch_user(page, live_server, w.pmo.username)
    page.goto(live_server.url + reverse("risks_app:register"))
    expect(page.locator('[data-cell="4-5"]')).not_to_contain_text("1")
    page.locator("#f-scope").select_option(label="全部")
    _click_to(page, page.get_by_role("button", name="篩選"))
    cell = page.locator('[data-cell="4-5"]')
    expect(cell).to_have_text("1")
    _click_to(page, cell.get_by_role("link"))
    expect(page.locator("#risk-table")).to_contain_text("金流介面延遲影響上線")
    expect(page.locator("#risk-count")).to_have_text("1")
