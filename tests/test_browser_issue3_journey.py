"""Issue 3's "Must show" list, end to end in real Chromium, as the people would do it.

A 市場部 staff member files a request with an attachment and submits it; the 技術部
head's deputy and the 市場部 head agree, the 財務部 head rejects it with a reason; the
initiator reads the reason, edits and resubmits, which opens a new review round; all
three agree again and the PMO confirms it (確認立項) in Django admin. A 法務部 user, who
takes no part, gets 404 on its page, attachment and PDF; the initiator's PDF carries the
request's Chinese name and its number.

Every step checks what the person sees on the page and what the database holds. The
`page` fixture fails the test on any browser console error (a CSP violation included).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from collab.choices import Role
from collab.services import role_groups_ensure, user_sync_access
from requests_app.choices import EventKind, RequestState, ReviewDecision
from requests_app.models import AttachmentVersion, CollabRequest, DepartmentReview
from tests.factories import DelegationFactory, DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "官網改版與會員系統整合"
REJECTION = "預算未列明，請補充費用估算。"


# --- people --------------------------------------------------------------------------


def _cast():
    """Create the departments and the people of the story; return them by role."""
    mkt = DepartmentFactory(code="mkt", name="市場部")
    tech = DepartmentFactory(code="tech", name="技術部")
    fin = DepartmentFactory(code="fin", name="財務部")
    legal = DepartmentFactory(code="legal", name="法務部")
    people = {
        "initiator": UserFactory(username="amy", full_name="王小美", department=mkt),
        "mkt_head": UserFactory(username="mkt_head", full_name="林美玲", department=mkt),
        "tech_head": UserFactory(username="tech_head", full_name="蔡宗翰", department=tech),
        "tech_deputy": UserFactory(username="tech_deputy", full_name="陳怡君", department=tech),
        "fin_head": UserFactory(username="fin_head", full_name="張志明", department=fin),
        "outsider": UserFactory(username="legal_staff", full_name="李法務", department=legal),
    }
    for dept, head in [(mkt, "mkt_head"), (tech, "tech_head"), (fin, "fin_head")]:
        dept.heads.add(people[head])
        user_sync_access(people[head])
    # The tech head is away; the deputy acts for them from yesterday to next week.
    DelegationFactory(head=people["tech_head"], deputy=people["tech_deputy"])
    role_groups_ensure()
    people["pmo"] = UserFactory(username="pmo", full_name="周專案", role=Role.PMO)
    user_sync_access(people["pmo"])
    return {"mkt": mkt, "tech": tech, "fin": fin}, people


# --- browser helpers -----------------------------------------------------------------


def _log_in(page, live_server, user):
    """Leave the current session and log in as `user` through the portal's login form."""
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("使用者名稱").fill(user.username)
    page.get_by_label("密碼").fill("pw-for-tests")
    page.get_by_role("button", name="登入").click()
    page.wait_for_url(live_server.url + reverse("home"))


def _nav(page, label):
    page.get_by_role("navigation", name="主選單").get_by_role("link", name=label).click()


def _state_badge(page):
    return page.locator(".page-header .state-badge")


def _review_status(page, department):
    """The answer of `department` in the current round, in the page's side panel."""
    return page.locator(f'#departments [data-department="{department.pk}"] .review-status')


# --- the steps -----------------------------------------------------------------------


def _file_and_submit(page, live_server, people, depts, tmp_path) -> CollabRequest:
    """Step 1: the initiator files the request, attaches a file on its page, submits."""
    mkt, tech, fin = depts["mkt"], depts["tech"], depts["fin"]
    _log_in(page, live_server, people["initiator"])
    _nav(page, "我的需求")
    page.wait_for_url("**/requests/mine/")
    page.get_by_role("link", name="新增需求").click()
    page.wait_for_url("**/requests/new/")

    page.get_by_label("需求名稱").fill(NAME)
    page.get_by_label("需求背景").fill("會員資料分散在兩個系統，客服查詢耗時。")
    completion = timezone.localdate() + dt.timedelta(days=90)
    page.get_by_label("期望完成時間").fill(completion.isoformat())

    departments = page.get_by_role("region", name="協作部門")
    rows = departments.locator("[data-formset-row]")
    # Nothing is filled in for the initiator: they list their own department, as the lead.
    first = rows.nth(0)
    assert first.get_by_role("combobox", name="部門").input_value() == ""
    first.get_by_role("combobox", name="部門").select_option(label=mkt.name)
    first.get_by_label("主導部門").check()
    for index, dept in [(1, tech), (2, fin)]:
        departments.get_by_role("button", name="新增部門").click()
        rows.nth(index).get_by_role("combobox", name="部門").select_option(label=dept.name)
    assert rows.count() == 3

    goal = page.get_by_role("region", name="可量化目標").locator("[data-formset-row]").first
    goal.get_by_role("textbox", name="目標", exact=True).fill("會員登入轉換率提升")
    goal.get_by_label("衡量指標").fill("轉換率")
    goal.get_by_label("目標值").fill("15")
    goal.get_by_label("單位").fill("%")
    milestone = page.get_by_role("region", name="關鍵里程碑").locator("[data-formset-row]").first
    milestone.get_by_label("關鍵里程碑").fill("會員系統上線")
    milestone.get_by_label("日期").fill((completion - dt.timedelta(days=30)).isoformat())

    page.get_by_role("button", name="儲存草稿").click()
    page.wait_for_url(re.compile(r".*/requests/\d+/$"))
    req = CollabRequest.objects.get()
    assert req.state == RequestState.DRAFT and req.number is None
    assert req.initiator == people["initiator"] and req.initiating_department == mkt
    assert {(link.department_id, link.is_lead) for link in req.department_links.all()} == {
        (mkt.pk, True),
        (tech.pk, False),
        (fin.pk, False),
    }
    assert [(g.description, g.metric) for g in req.goals.all()] == [
        ("會員登入轉換率提升", "轉換率")
    ]
    assert [m.name for m in req.milestones.all()] == ["會員系統上線"]
    assert _state_badge(page).inner_text() == "草稿"

    # The attachment, uploaded on the request's page (htmx swaps the panel in place).
    upload = tmp_path / "需求說明.txt"
    upload.write_text("會員系統整合的需求說明。\n", encoding="utf-8")
    attachments = page.get_by_role("region", name="附件")
    attachments.get_by_label("檔案").set_input_files(upload)
    attachments.get_by_label("更新說明").fill("初版說明")
    attachments.get_by_role("button", name="上傳").click()
    page.locator('[data-upload-result="ok"]').wait_for()
    assert attachments.get_by_role("link", name="需求說明.txt").is_visible()
    version = AttachmentVersion.objects.get(attachment__request=req)
    assert (version.version, version.original_name, version.note) == (1, "需求說明.txt", "初版說明")

    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_url(live_server.url + req.get_absolute_url())
    page.get_by_text("需求已提交審核。").wait_for()
    req.refresh_from_db()
    assert req.state == RequestState.PENDING and req.review_round == 1
    assert re.fullmatch(rf"XQ{timezone.localdate():%Y%m}\d{{3}}", req.number)
    assert _state_badge(page).inner_text() == "待審核"
    assert page.locator("#request-number").inner_text() == req.number
    assert sorted(
        req.reviews.filter(round=1, decision=ReviewDecision.PENDING).values_list(
            "department_id", flat=True
        )
    ) == sorted([mkt.pk, tech.pk, fin.pk])
    return req


def _open_from_todo(page, live_server, user, req):
    """Log in as `user`, open 待辦事項 and return the row of the request to review."""
    _log_in(page, live_server, user)
    _nav(page, "待辦事項")
    page.wait_for_url("**/review/todo/")
    todo = page.get_by_role("region", name="待審核的需求")
    return todo.get_by_role("row").filter(has_text=NAME)


def _decide(page, live_server, req, department, *, approve, tasks="", comment=""):
    """From a 待辦事項 row, open the request and answer 同意 or 駁回 in the review panel."""
    page.get_by_role("region", name="待審核的需求").get_by_role("link", name=NAME).click()
    page.wait_for_url(live_server.url + req.get_absolute_url())
    review = DepartmentReview.objects.get(
        request=req, department=department, round=req.review_round
    )
    panel = page.get_by_role("region", name=f"您的審核（{department.name}）")
    if tasks:
        panel.get_by_label("本部門可承接的任務").fill(tasks)
    if comment:
        panel.get_by_label("意見").fill(comment)
    panel.get_by_role("button", name="同意" if approve else "駁回", exact=True).click()
    decision = ReviewDecision.APPROVED if approve else ReviewDecision.REJECTED
    # htmx reloads the page; the department's answer then shows in the side panel.
    page.locator(f'[data-review="{review.pk}"][data-decision="{decision}"]').wait_for()
    assert panel.count() == 0
    review.refresh_from_db()
    assert review.decision == decision
    return review


def _head_answers(page, live_server, head, req, department, **answer):
    """A head answers for their own department: the answer is theirs, on no one's behalf."""
    _open_from_todo(page, live_server, head, req)
    review = _decide(page, live_server, req, department, **answer)
    assert (review.decided_by, review.on_behalf_of) == (head, None)
    assert head.full_name in _review_status(page, department).inner_text()
    return review


def _deputy_answers(page, live_server, people, req, tech, tasks):
    """The tech head's deputy sees the review in 待辦事項 as 代理 and agrees with tasks."""
    deputy, head = people["tech_deputy"], people["tech_head"]
    row = _open_from_todo(page, live_server, deputy, req)
    assert f"代理 {head.full_name}" in row.inner_text()
    review = _decide(page, live_server, req, tech, approve=True, tasks=tasks)
    assert (review.decided_by, review.on_behalf_of) == (deputy, head)
    assert review.committed_task_lines == tasks.splitlines()
    # The page says whose answer it was: the deputy's, on behalf of the head.
    acted_for = f"{deputy.full_name}（代理 {head.full_name}）"
    status = _review_status(page, tech).inner_text()
    assert acted_for in status
    assert all(line in status for line in tasks.splitlines())
    events = req.events.filter(
        kind=EventKind.REVIEW_APPROVED, by=deputy, on_behalf_of=head, department=tech
    )
    assert events.count() == req.review_round
    timeline = page.locator('#timeline [data-event="review_approved"]').filter(has_text=acted_for)
    assert timeline.count() == req.review_round
    assert timeline.locator(".deputy-badge").count() == req.review_round


def _reject_and_read(page, live_server, people, req, fin):
    """Step 3: the fin head rejects with a reason; the initiator sees it on the page."""
    review = _head_answers(
        page, live_server, people["fin_head"], req, fin, approve=False, comment=REJECTION
    )
    assert review.comment == REJECTION
    req.refresh_from_db()
    assert req.state == RequestState.REVISION
    assert _state_badge(page).inner_text() == "待修改"
    assert req.events.filter(
        kind=EventKind.REVIEW_REJECTED,
        by=people["fin_head"],
        from_state=RequestState.PENDING,
        to_state=RequestState.REVISION,
        comment=REJECTION,
    ).exists()

    _log_in(page, live_server, people["initiator"])
    _nav(page, "待辦事項")
    page.wait_for_url("**/review/todo/")
    page.get_by_role("region", name="您被退回修改的需求").get_by_role("link", name=NAME).click()
    page.wait_for_url(live_server.url + req.get_absolute_url())
    rejection = page.locator("#rejection")
    assert f"已由 {fin.name} 退回修改" in rejection.inner_text()
    assert REJECTION in rejection.inner_text()
    assert _state_badge(page).inner_text() == "待修改"


def _edit_and_resubmit(page, live_server, req, depts):
    """Step 4: the initiator edits and resubmits; a second review round starts."""
    page.get_by_role("link", name="編輯", exact=True).click()
    page.wait_for_url(live_server.url + reverse("requests_app:edit", args=[req.pk]))
    resources = page.get_by_role("region", name="關鍵資源需求")
    need = resources.locator("[data-formset-row]").first
    need.get_by_role("combobox", name="部門").select_option(label=depts["fin"].name)
    need.get_by_role("combobox", name="類型").select_option(label="預算")
    need.get_by_label("說明").fill("會員系統授權費約 NT$ 300,000")
    page.get_by_role("button", name="儲存並提交").click()
    page.wait_for_url(live_server.url + req.get_absolute_url())
    page.get_by_text("需求已提交審核。").wait_for()

    number = req.number
    req.refresh_from_db()
    assert req.state == RequestState.PENDING and req.review_round == 2
    assert req.number == number  # the number given at the first submission stays
    assert [n.description for n in req.resource_needs.all()] == ["會員系統授權費約 NT$ 300,000"]
    assert _state_badge(page).inner_text() == "待審核"
    for dept in depts.values():
        assert _review_status(page, dept).get_attribute("data-decision") == "pending"
    # The first round's answers stay, in the history and among the past rounds.
    assert sorted(req.reviews.filter(round=1).values_list("department__code", "decision")) == [
        ("fin", ReviewDecision.REJECTED),
        ("mkt", ReviewDecision.APPROVED),
        ("tech", ReviewDecision.APPROVED),
    ]
    assert req.reviews.filter(round=2, decision=ReviewDecision.PENDING).count() == 3
    past = page.locator('details.past-round[data-round="1"]')
    past.get_by_text("第 1 輪審核").click()
    assert REJECTION in past.inner_text()
    assert past.locator('[data-decision="approved"]').count() == 2
    timeline = page.locator("#timeline")
    assert timeline.locator('[data-event="reject"]').count() == 1
    assert REJECTION in timeline.locator('[data-event="reject"]').inner_text()
    assert timeline.locator('[data-event="resubmit"]').count() == 1
    assert req.events.filter(kind=EventKind.RESUBMITTED).count() == 1


def _pmo_confirms_in_admin(page, live_server, pmo, req):
    """Step 5: the PMO logs in to Django admin and presses 確認立項 on the request."""
    page.context.clear_cookies()
    page.goto(live_server.url + "/admin/")
    page.wait_for_url("**/admin/login/**")
    page.get_by_label("使用者名稱").fill(pmo.username)
    page.get_by_label("密碼").fill("pw-for-tests")
    page.get_by_role("button", name="登入").click()
    page.wait_for_url(live_server.url + "/admin/")
    page.goto(live_server.url + reverse("admin:requests_app_collabrequest_changelist"))
    page.get_by_role("link", name=req.number).click()
    change_url = reverse("admin:requests_app_collabrequest_change", args=[req.pk])
    page.wait_for_url(live_server.url + change_url)
    state = page.locator(".field-state .readonly")
    assert state.inner_text() == "待審核"
    page.locator("#fsm-transitions").get_by_role("button", name="確認立項").click()
    page.locator(".messagelist .success").wait_for()
    assert page.url == live_server.url + change_url
    assert "已立項" in page.locator(".messagelist").inner_text()
    assert state.inner_text() == "已立項"
    assert page.locator("#fsm-transitions").get_by_role("button", name="確認立項").count() == 0

    req.refresh_from_db()
    assert req.state == RequestState.APPROVED and req.approved_at is not None
    event = req.events.get(kind=EventKind.CONFIRMED)
    assert (event.by, event.from_state, event.to_state) == (
        pmo,
        RequestState.PENDING,
        RequestState.APPROVED,
    )
    # The portal page shows the new state and the PMO's confirmation in its timeline.
    page.goto(live_server.url + req.get_absolute_url())
    assert _state_badge(page).inner_text() == "已立項"
    confirmed = page.locator('#timeline [data-event="confirm"]')
    assert confirmed.count() == 1
    assert "已確認立項" in confirmed.inner_text()
    assert pmo.full_name in confirmed.inner_text()


def _outsider_gets_404(page, live_server, outsider, req):
    """Step 6: someone of an uninvolved department finds nothing at any of its URLs."""
    version = AttachmentVersion.objects.get(attachment__request=req)
    _log_in(page, live_server, outsider)
    urls = [
        req.get_absolute_url(),
        reverse("requests_app:attachment-download", args=[req.pk, version.pk]),
        reverse("requests_app:pdf", args=[req.pk]),
    ]
    for url in urls:
        response = page.request.get(live_server.url + url)
        assert response.status == 404, url
    # Nor does the request show in their lists.
    _nav(page, "我的需求")
    page.wait_for_url("**/requests/mine/")
    assert page.get_by_text(NAME).count() == 0


def _pdf_as_initiator(page, live_server, initiator, req, tmp_path):
    """Step 7: the initiator's PDF carries the request's Chinese name and its number.

    The initiator also downloads the attachment the outsider could not: the URLs of
    step 6 are the right ones, and only the person differs.
    """
    _log_in(page, live_server, initiator)
    page.goto(live_server.url + req.get_absolute_url())
    download = page.get_by_role("region", name="附件").get_by_role("link", name="需求說明.txt")
    response = page.request.get(live_server.url + download.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.body().decode("utf-8") == "會員系統整合的需求說明。\n"
    href = page.get_by_role("link", name="PDF", exact=True).get_attribute("href")
    assert href == reverse("requests_app:pdf", args=[req.pk])
    response = page.request.get(live_server.url + href)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    path = tmp_path / "request.pdf"
    path.write_bytes(response.body())
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    assert NAME in flat
    assert req.number in flat


# --- the journey ---------------------------------------------------------------------


def test_request_journey_from_filing_to_project(page, live_server, tmp_path):
    """Filed, reviewed (one head as deputy), rejected, resubmitted, agreed, confirmed in
    admin; hidden from an uninvolved department; printed as a PDF with its Chinese text.
    """
    depts, people = _cast()
    mkt, tech, fin = depts["mkt"], depts["tech"], depts["fin"]

    req = _file_and_submit(page, live_server, people, depts, tmp_path)

    # Round 1: the tech deputy and the mkt head agree, the fin head rejects.
    _deputy_answers(page, live_server, people, req, tech, tasks="會員系統接口開發\n單點登入")
    _head_answers(page, live_server, people["mkt_head"], req, mkt, approve=True, tasks="活動頁設計")
    _reject_and_read(page, live_server, people, req, fin)

    _edit_and_resubmit(page, live_server, req, depts)

    # Round 2: everyone agrees (tech again through the deputy); then the PMO confirms.
    _deputy_answers(page, live_server, people, req, tech, tasks="會員系統接口開發")
    _head_answers(page, live_server, people["mkt_head"], req, mkt, approve=True, tasks="活動頁設計")
    _head_answers(page, live_server, people["fin_head"], req, fin, approve=True, comment="預算同意")
    page.locator("#all-agreed").wait_for()
    assert req.events.filter(kind=EventKind.ALL_AGREED).count() == 1
    _pmo_confirms_in_admin(page, live_server, people["pmo"], req)

    _outsider_gets_404(page, live_server, people["outsider"], req)
    _pdf_as_initiator(page, live_server, people["initiator"], req, tmp_path)
