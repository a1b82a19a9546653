"""Issue 6's archive "Must show" items in real Chromium: the PMO archives a completed
case from its case page (the confirm dialog with the confidential box), the case then
reads "archived, read-only" and cannot be edited, not even in admin; another
department's member finds it by searching the knowledge base for 「活躍度」.

The zh-Hant catalog is still being completed, so the steps find things by URL, element
id and data attribute. The `page` fixture fails the test on any browser console error
(a CSP violation included).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from requests_app.models import CollabRequest
from tests import review_archive_fixtures as fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

case = fixtures.case  # fixture of this module


def _log_in(page, live_server, user):
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill("pw-for-tests")
    with page.expect_navigation():
        page.locator(f'form[action="{reverse("login")}"] button[type=submit]').click()


def test_the_pmo_archives_and_staff_find_it_in_the_knowledge_base(page, live_server, case):
    req = case.req
    _log_in(page, live_server, case.pmo)
    page.goto(live_server.url + reverse("review_app:case", args=[req.pk]))
    page.locator("#action-archive").click()
    dialog = page.locator("#archive-modal")
    dialog.wait_for(state="visible")
    assert dialog.locator("input[name=confidential]").is_visible()
    with page.expect_navigation():
        dialog.locator("#archive-confirm").click()
    page.locator("#archive-done").wait_for()
    req = CollabRequest.objects.get(pk=req.pk)
    assert req.is_archived and not req.is_confidential
    title = req.archive_entry.title
    assert title in page.locator("#archive-entry").inner_text()

    # Read-only everywhere: no edit on the portal, no save button in admin.
    page.goto(live_server.url + req.get_absolute_url())
    page.locator("#archived-banner").wait_for()
    assert page.locator("#action-edit").count() == 0
    assert page.locator("#action-cancel").count() == 0
    case.pmo.is_staff = True
    case.pmo.save(update_fields=["is_staff"])
    page.goto(live_server.url + reverse("admin:requests_app_collabrequest_change", args=[req.pk]))
    assert page.locator("input[name=_save]").count() == 0
    page.goto(live_server.url + reverse("admin:tasks_app_task_change", args=[case.task.pk]))
    assert page.locator("input[name=_save]").count() == 0

    # Another department finds it as a reference.
    _log_in(page, live_server, case.outsider)
    page.locator("#nav-more").click()  # the knowledge base sits in the bar's 更多 menu
    with page.expect_navigation():
        page.locator("#nav-knowledge").click()
    page.locator("input[name=q]").fill("活躍度")
    with page.expect_navigation():
        page.locator("#knowledge-search").click()
    row = page.locator(f'tr[data-request="{req.pk}"]')
    assert title in row.inner_text()
    with page.expect_navigation():
        row.locator("a[data-entry-link]").click()
    page.locator("#archived-banner").wait_for()
    assert page.url.endswith(req.get_absolute_url())
