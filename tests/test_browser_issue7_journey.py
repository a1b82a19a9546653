"""Issue 7's "Must show" in real Chromium: on the demo data (`seed_demo`), the dashboard
draws its charts, and each number opens the list behind it with as many rows; a bar of a
chart opens its list too; a head sees the same dashboard scoped to their departments.

The `page` fixture fails the test on any browser console error (a CSP refusal of the
chart library would show there).
"""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from collab.models import User
from tests.helpers import browser_switch_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "collab-demo"
CHARTS = ["chart-states", "chart-tasks", "chart-risks", "chart-departments", "chart-on-time",
          "chart-cycle"]  # fmt: skip


def _log_in(page, live_server, username):
    browser_switch_user(page, live_server, username, PASSWORD)


def _count_on_list(page) -> int:
    text = page.locator("#result-count").inner_text()
    return int(re.search(r"\d+", text.replace(",", "")).group())


def test_issue7_dashboard_on_the_demo_data(page, live_server):
    call_command("seed_demo", verbosity=0)
    _log_in(page, live_server, "pmo")
    page.locator('a[href="/review/dashboard/"]').first.click()
    page.wait_for_url(re.compile(r"/review/dashboard/$"))
    for chart in CHARTS:
        assert page.locator(f"#{chart}[data-ready='1']").count() == 1, chart
    dashboard_url = page.url

    # The demo has work in the period: the figures are not all zero.
    figures = page.locator("#kpis a[data-number]")
    values = [figures.nth(i).inner_text().strip() for i in range(figures.count())]
    assert any(v not in ("0", "—", "0%") for v in values), values

    # Every count on the page opens a list with exactly that many rows.
    links = page.locator("a[data-number]")
    targets = []
    for i in range(links.count()):
        link = links.nth(i)
        value = link.inner_text().strip()
        if value.isdigit():
            targets.append(
                (link.get_attribute("data-number"), int(value), link.get_attribute("href"))
            )
    assert len(targets) >= 20
    opened_non_empty = 0
    for key, value, href in targets[:12] + targets[-6:]:
        page.goto(live_server.url + href)
        assert _count_on_list(page) == value, (key, href)
        if value:
            assert page.locator("#list-table tbody tr").count() == min(value, 25)
            opened_non_empty += 1
    assert opened_non_empty >= 3

    # Clicking a number (not just following its URL) opens its list; back goes home.
    page.goto(dashboard_url)
    late = page.locator("#kpis a[data-number=done]")
    shown = int(late.inner_text())
    late.click()
    page.wait_for_url(re.compile(r"/review/dashboard/tasks/"))
    assert _count_on_list(page) == shown
    page.locator("#back-to-dashboard").click()
    page.wait_for_url(re.compile(r"/review/dashboard/\?"))

    # A slice of the tasks chart opens its list as well.
    page.goto(dashboard_url)
    box = page.locator("#chart-tasks").bounding_box()
    # Where Chart.js drew the first non-empty slice (its tooltip anchor lies on the ring).
    point = page.evaluate(
        """() => {
            const chart = Chart.getChart("chart-tasks");
            const values = chart.data.datasets[0].data;
            const index = values.findIndex((v) => v > 0);
            const p = chart.getDatasetMeta(0).data[index].tooltipPosition();
            return {x: p.x, y: p.y, index: index};
        }"""
    )
    with page.expect_navigation(url=re.compile(r"/review/dashboard/tasks/\?.*metric=")):
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])

    # A head of one department sees the same page, scoped to it.
    head = User.objects.filter(headed_departments__isnull=False).order_by("username").first()
    departments = set(head.headed_departments.values_list("name", flat=True))
    _log_in(page, live_server, head.username)
    page.goto(live_server.url + reverse("portfolio_app:dashboard"))
    assert page.locator("h1").inner_text() in ("部門儀表板", "Department dashboard")
    rows = page.locator("#departments-table tbody th")
    shown_departments = {rows.nth(i).inner_text().strip() for i in range(rows.count())}
    assert shown_departments <= departments
    for chart in CHARTS:
        assert page.locator(f"#{chart}[data-ready='1']").count() == 1, chart
