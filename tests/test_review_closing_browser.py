"""In Chromium: the final acceptance signed by every department (one through a deputy)
completes the request, and the retrospective shows target against actual (120.0 %)."""

from __future__ import annotations

import os
import re

import pytest
from django.urls import reverse

from requests_app.choices import RequestState
from review_app.choices import RetrospectiveState
from review_app.models import Retrospective
from tests.helpers import browser_switch_user
from tests.review_closing_fixtures import build_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("CLOSING_SCREENSHOTS")  # a folder, to look at the pages


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def _log_in(page, live_server, user):
    browser_switch_user(page, live_server, user.username)


def _submit(page, target, url) -> None:
    page.once("dialog", lambda dialog: dialog.accept())  # data-confirm asks first
    with page.expect_navigation(url=url):
        target.click()


def test_final_acceptance_and_retrospective_in_the_browser(page, live_server, pmo):
    project = build_project(pmo)
    req = project.request
    case_url = live_server.url + reverse("review_app:case", args=[req.pk])
    case_re = re.compile(re.escape(case_url))

    # The initiator opens the final acceptance from the case page.
    _log_in(page, live_server, project.initiator)
    page.goto(live_server.url + req.get_absolute_url())
    with page.expect_navigation(url=case_re):
        page.locator("#action-case").click()
    page.locator("#final-open-form textarea").fill("三項新功能已上線，需求報告已交付。")
    _submit(page, page.locator("[data-final-open]"), case_re)
    assert page.locator("#closing-final").get_attribute("data-final-outcome") == "open"

    # Each department signs; 銷售部 through the head's deputy, who sees the badge.
    for signer, department in [
        (project.mkt_head, project.mkt),
        (project.design_head, project.design),
        (project.sales_deputy, project.sales),
    ]:
        _log_in(page, live_server, signer)
        page.goto(live_server.url + reverse("portfolio_app:todo"))
        with page.expect_navigation(url=case_re):
            page.locator("#todo-final-signatures a").first.click()
        row = page.locator(f'[data-sign-for="{department.pk}"]')
        if signer == project.sales_deputy:
            assert row.locator(".deputy-badge").count() == 1
            _shot(page, "case-deputy-signing")
        _submit(page, row.locator("[data-final-sign]"), case_re)

    assert page.locator("#closing-final").get_attribute("data-final-outcome") == "signed"
    project.refresh()
    assert project.request.state == RequestState.COMPLETED

    # The initiator writes the retrospective: 18 % against 15 % → 120.0 %.
    _log_in(page, live_server, project.initiator)
    page.goto(live_server.url + reverse("portfolio_app:todo"))
    edit_re = re.compile(re.escape(reverse("review_app:retrospective-edit", args=[req.pk])))
    with page.expect_navigation(url=edit_re):
        page.locator("#todo-retrospectives a").first.click()
    page.locator("[data-goal] input, input[data-goal]").first.fill("18")
    page.locator("#id_highlights").fill("每日站會同步進度")
    page.locator("#id_shortcomings").fill("需求變更未走流程導致返工")
    page.locator("#id_actions-0-description").fill("建立需求變更評審機制")
    page.locator('[data-formset-add="actions"]').click()
    page.locator("#id_actions-1-description").fill("變更需提交變更申請表")
    _shot(page, "retrospective-edit")
    detail = re.compile(re.escape(reverse("review_app:retrospective", args=[req.pk])) + "$")
    _submit(page, page.locator("[data-retrospective-save]"), detail)
    achievement = page.locator("#retrospective-goals [data-percent]").first
    assert achievement.get_attribute("data-percent") == "120.0"
    assert "120%" in achievement.inner_text()
    assert page.locator("#retrospective-actions [data-action]").count() == 2
    _shot(page, "retrospective")
    _submit(page, page.locator("[data-retrospective-file]"), detail)
    assert page.locator("#retrospective-state").get_attribute("data-state") == "filed"
    assert Retrospective.objects.get(request=req).state == RetrospectiveState.FILED
    page.goto(case_url)
    _shot(page, "case-closed")
