"""Browser journey through the shell in real Chromium (Playwright, Debian's chromium)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_logs_in_navigates_and_switches_language(page, live_server, department):
    """A person logs in through the form, sees the zh-Hant shell, and switches to English."""
    UserFactory(username="amy", full_name="王小美", department=department)
    page.goto(live_server.url + reverse("home"))
    assert "/accounts/login/" in page.url
    page.get_by_label("使用者名稱").fill("amy")
    page.get_by_label("密碼").fill("pw-for-tests")
    page.get_by_role("button", name="登入").click()
    page.wait_for_url(live_server.url + reverse("home"))
    assert page.locator("h1").inner_text() == "王小美，您好"
    nav = page.get_by_role("navigation", name="主選單")
    for label in ["我的需求", "我的任務", "待辦事項"]:
        assert nav.get_by_role("link", name=label).is_visible()
    nav.get_by_role("link", name="我的任務").click()
    page.wait_for_url("**/tasks/mine/")
    page.select_option("#language-select", "en")
    # The switch posts a form and reloads; wait for the new page, not the old one.
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("My tasks")


def test_menu_collapses_on_a_phone(page, live_server, staff):
    """On a narrow screen the navigation folds behind the toggler and opens on tap."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("使用者名稱").fill(staff.username)
    page.get_by_label("密碼").fill("pw-for-tests")
    page.get_by_role("button", name="登入").click()
    page.wait_for_url(live_server.url + reverse("home"))
    link = page.get_by_role("navigation", name="主選單").get_by_role("link", name="我的需求")
    assert not link.is_visible()
    page.get_by_role("button", name="展開或收合選單").click()
    link.wait_for(state="visible")
    assert link.is_visible()
