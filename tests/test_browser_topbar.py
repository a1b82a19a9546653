"""The top bar and the list tables fit the window, in real Chromium (issue 13, part 5).

For every role, in zh-Hant and in English, from a phone to a 1920 px screen: the page
never scrolls sideways, every visible item of the bar lies inside the window, the
primary links stand in the bar from 1280 px up, and the bell, the language menu and the
user menu (with 登出) are on screen or one tap of the hamburger away. Table headers of
the request list, 我的任務 and 部門任務 keep a CJK label whole at 1366 px (no 序/號).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from collab.models import Notification
from collab.services import user_sync_access
from tests.factories import DepartmentFactory, UserFactory, make_in_progress_request, make_request

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = ["staff", "head", "deputy", "pmo", "executive", "superuser"]
# A phone and a small laptop fold the bar behind the hamburger; 1200 and 1400 are the
# breakpoints where the bar expands and where the brand's name comes back.
WIDTHS = [390, 1024, 1200, 1280, 1366, 1400, 1920]
LANGUAGES = {
    "zh-hant": {"primary": ["我的需求", "我的任務", "待辦事項"], "log_out": "登出"},
    "en": {"primary": ["My requests", "My tasks", "To-do"], "log_out": "Log out"},
}
DEPARTMENT_LINK = {"zh-hant": "部門任務", "en": "Department tasks"}
DASHBOARD_LINK = {"zh-hant": "儀表板", "en": "Dashboard"}
MORE = {
    "zh-hant": ["協作反饋", "優化建議", "知識庫"],
    "en": ["Feedback", "Suggestions", "Knowledge base"],
}

# Every visible item of the bar that lies (even partly) outside the window.
OUTSIDE_JS = """() => {
  const width = window.innerWidth;
  const nav = document.querySelector('nav.navbar');
  const items = nav.querySelectorAll('.navbar-brand, .navbar-toggler, .nav-link, .dropdown-item,'
    + ' a.btn, button, select, .badge');
  return Array.from(items).filter(el => {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return false;
    return box.left < -0.5 || box.right > width + 0.5;
  }).map(el => {
    const box = el.getBoundingClientRect();
    return `${el.id || el.className}: ${el.innerText.trim()} [${box.left}, ${box.right}]`;
  });
}"""

# Header cells whose height (padding excluded) exceeds two lines of their text.
TALL_HEADERS_JS = """(selector) => Array.from(document.querySelectorAll(selector + ' thead th'))
  .filter(th => th.offsetParent !== null)
  .filter(th => {
    const style = getComputedStyle(th);
    const height = th.getBoundingClientRect().height
      - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    return height > 2 * parseFloat(style.lineHeight) + 1;
  })
  .map(th => th.innerText.trim())"""


def _log_in(page, live_server, user, language):
    """Log in through the form, then choose `language` as the switcher's cookie does."""
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("使用者名稱").fill(user.username)
    page.get_by_label("密碼").fill("pw-for-tests")
    page.get_by_role("button", name="登入").click()
    page.wait_for_url(live_server.url + reverse("home"))
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )


def _inside(page, locator, what):
    """Assert that `locator` is visible and its box lies inside the window."""
    assert locator.is_visible(), f"{what} is not visible"
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    assert box["x"] >= -0.5 and box["x"] + box["width"] <= width + 0.5, f"{what} is cut off: {box}"


def _open_menu(page, toggle, menu):
    """Open a dropdown and wait until its menu is shown."""
    toggle.click()
    menu.wait_for(state="visible")


def _close_menu(page, toggle):
    page.keyboard.press("Escape")
    page.wait_for_function(
        "(el) => el.getAttribute('aria-expanded') === 'false'", arg=toggle.element_handle()
    )


def _check_bar(page, language, width, *, department, dashboard):
    nav = page.get_by_role(
        "navigation", name="主選單" if language == "zh-hant" else "Main navigation"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate(
        "window.innerWidth"
    ), f"the page scrolls sideways at {width} px"
    assert page.evaluate(OUTSIDE_JS) == []

    toggler = page.locator(".navbar-toggler")
    primary = list(LANGUAGES[language]["primary"])
    if department:
        primary.append(DEPARTMENT_LINK[language])
    if dashboard:
        primary.append(DASHBOARD_LINK[language])
    if width >= 1280:
        # The primary links stand in the bar, no hamburger needed.
        assert not toggler.is_visible()
    if toggler.is_visible():
        assert not page.locator("#nav-notifications").is_visible()
        toggler.click()
        page.locator("#nav-main.collapse.show").wait_for()
        page.wait_for_function("!document.querySelector('#nav-main.collapsing')")
        assert page.evaluate(OUTSIDE_JS) == []
    for label in primary:
        _inside(page, nav.get_by_role("link", name=label, exact=True), label)
    if not department:
        assert nav.get_by_role("link", name=DEPARTMENT_LINK[language]).count() == 0
    if not dashboard:
        assert nav.get_by_role("link", name=DASHBOARD_LINK[language]).count() == 0

    _inside(page, page.locator("#nav-notifications"), "the bell")
    _inside(page, page.locator("#language-select"), "the language menu")
    user_menu = page.locator("#nav-user")
    _inside(page, user_menu, "the user menu")

    log_out = nav.get_by_role("button", name=LANGUAGES[language]["log_out"])
    _open_menu(page, user_menu, log_out)
    _inside(page, log_out, LANGUAGES[language]["log_out"])
    _close_menu(page, user_menu)

    more = page.locator("#nav-more")
    _inside(page, more, "More")
    _open_menu(page, more, page.locator("#nav-knowledge"))
    for label in MORE[language]:
        _inside(page, nav.get_by_role("link", name=label, exact=True), label)
    _close_menu(page, more)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate(
        "window.innerWidth"
    )


@pytest.mark.parametrize("role", ROLES)
def test_the_top_bar_fits_every_width_in_both_languages(
    role, request, page, live_server, other_department
):
    """Nothing of the bar is cut off and nothing scrolls sideways, for every role."""
    user = request.getfixturevalue(role)
    if role == "head":
        # Head of two departments, with a long name: the widest bar a head gets.
        other_department.heads.add(user)
        user_sync_access(user)
        user.full_name = "歐陽志明（Alexander Montgomery-Wellington）"
        user.save(update_fields=["full_name"])
    for n in range(120):  # the bell's badge shows 99+
        Notification.objects.create(recipient=user, title=f"通知{n}", body="內容", url="/")
    department = role in {"head", "deputy"}
    dashboard = role != "staff"
    for language in LANGUAGES:
        _log_in(page, live_server, user, language)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(live_server.url + reverse("home"))
            assert page.locator("html").get_attribute("lang") == language
            _check_bar(page, language, width, department=department, dashboard=dashboard)


def test_the_active_page_under_more_marks_the_more_menu(page, live_server, staff):
    """On the knowledge base the More toggle is marked active and the item is current."""
    _log_in(page, live_server, staff, "zh-hant")
    page.goto(live_server.url + reverse("review_app:knowledge"))
    more = page.locator("#nav-more")
    assert "active" in more.get_attribute("class").split()
    assert page.locator("#nav-knowledge").get_attribute("aria-current") == "page"
    assert page.locator("#nav-feedback").get_attribute("aria-current") is None
    _open_menu(page, more, page.locator("#nav-knowledge"))
    with page.expect_navigation():
        page.locator("#nav-feedback").click()
    assert page.url == live_server.url + reverse("review_app:feedback-mine")


# --- list tables -------------------------------------------------------------------


def _long_lists(staff, head, department, pmo):
    """Fill the lists the way a busy department does: long names, many departments."""
    partners = []
    for name in ["數位轉型暨客戶體驗發展部", "全球供應鏈營運管理部", "品牌行銷暨公共關係部"]:
        dept = DepartmentFactory(name=name)
        dept_head = UserFactory(department=dept)
        dept.heads.add(dept_head)
        user_sync_access(dept_head)
        partners.append(dept)
    long_name = "二〇二六年度全通路會員忠誠度計畫整合暨客戶資料平台建置與跨部門營運流程再造專案"
    for n in range(3):
        make_request(initiator=staff, departments=[department, *partners], name=f"{long_name}{n}")
    colleague = UserFactory(department=department, full_name="歐陽志明")
    tasks = [
        {
            "responsible": colleague,
            "accountable": staff,
            "name": f"完成會員資料平台與既有客服系統及電商後台之雙向資料同步介接{n}",
        }
        for n in range(3)
    ]
    make_in_progress_request(
        initiator=staff, departments=[department, partners[0]], pmo=pmo, tasks=tasks
    )


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_list_headers_stay_on_two_lines_at_1366(
    language, page, live_server, staff, head, department, pmo
):
    """No header cell of the request list, 我的任務 or 部門任務 is taller than two lines:
    a CJK label is never broken one character per line, and the page does not scroll
    sideways."""
    _long_lists(staff, head, department, pmo)
    pages = [
        (staff, reverse("requests_app:mine"), "#request-table"),
        (staff, reverse("tasks_app:mine") + "?tab=watching", "#watched-table"),
        (head, reverse("tasks_app:department"), "#department-table"),
    ]
    for user, url, table in pages:
        _log_in(page, live_server, user, language)
        page.set_viewport_size({"width": 1366, "height": 800})
        page.goto(live_server.url + url)
        assert page.locator(f"{table} tbody tr").count() >= 3, url
        assert page.evaluate(TALL_HEADERS_JS, table) == [], url
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366, url
