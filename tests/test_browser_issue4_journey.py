"""Issue 4's "Must show" list, end to end in real Chromium, as the people would do it.

A request of 市場部 (the lead) and 技術部 is 已立項: each department committed one task
line, so the breakdown starts with two draft tasks. The initiator opens the 任務分工表,
edits 技術部's task (its name, its dates, R, A, a C and a dependency on 市場部's task)
and the table shows the RACI. The two heads sign it, one each, and the request moves to
進行中. On a second 已立項 request that one head has already signed, an edit by the
initiator voids that signature. The owner (R) of 市場部's task starts it on 我的任務,
logs 40% with a problem and the support needed through the htmx quick-update form (no
page load), and submits the deliverable with a note and a file: the task is 待驗收. The
board shows the totals as the database has them and draws the timeline with its
dependency arrow; the breakdown PDF carries the RACI matrix and the signers' names.

The zh-Hant catalog is still being completed, so the steps find things by URL, element
id, data attribute and form field name, and by the Chinese text the people type; where
a visible label is asserted, either its zh-Hant or its English text is accepted. The
`page` fixture fails the test on any browser console error (a CSP violation included).
"""

from __future__ import annotations

import re
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from collab.choices import Role
from collab.services import role_groups_ensure, user_sync_access
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from tasks_app import services
from tasks_app.choices import RaciRole, TaskState
from tasks_app.models import Breakdown, BreakdownSignature, ProgressUpdate, Task
from tests.factories import DepartmentFactory, UserFactory, make_approved_request
from tests.helpers import days_from_today as _day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MKT_TASK = "活動頁設計"
TECH_TASK = "會員系統接口開發"
PROBLEM = "第三方登入文件不完整，接口欄位待確認。"
SUPPORT = "請技術部協助確認會員接口的欄位定義。"
COMPLETION_NOTE = "活動頁設計稿與切版已完成，附設計說明。"


def _label(zh: str, en: str) -> re.Pattern:
    """A visible label in zh-Hant, or in English while the catalog is being completed."""
    return re.compile(f"{re.escape(zh)}|{re.escape(en)}")


# --- people and the requests ---------------------------------------------------------


def _cast():
    """Create the two departments, their heads, an engineer, the initiator and the PMO."""
    mkt = DepartmentFactory(code="mkt", name="市場部")
    tech = DepartmentFactory(code="tech", name="技術部")
    people = {
        "initiator": UserFactory(username="amy", full_name="王小美", department=mkt),
        "mkt_head": UserFactory(username="mkt_head", full_name="林美玲", department=mkt),
        "tech_head": UserFactory(username="tech_head", full_name="蔡宗翰", department=tech),
        "engineer": UserFactory(username="engineer", full_name="陳志豪", department=tech),
    }
    mkt.heads.add(people["mkt_head"])
    tech.heads.add(people["tech_head"])
    for head in ("mkt_head", "tech_head"):
        user_sync_access(people[head])
    role_groups_ensure()
    people["pmo"] = UserFactory(username="pmo", full_name="周專案", role=Role.PMO)
    user_sync_access(people["pmo"])
    return {"mkt": mkt, "tech": tech}, people


def _approved_request(depts, people) -> CollabRequest:
    """A 已立項 request: each department committed one line, so two draft tasks exist.

    The draft tasks have the committing head as R and the initiator as A.
    """
    req = make_approved_request(
        initiator=people["initiator"],
        departments=[depts["mkt"], depts["tech"]],
        lead=depts["mkt"],
        pmo=people["pmo"],
        committed=MKT_TASK,
    )
    assert req.state == RequestState.APPROVED
    return req


def _task_of(req, department) -> Task:
    return req.tasks.get(responsible_department=department)


def _raci(task) -> dict[str, list]:
    roles = {role: [] for role in RaciRole.values}
    for assignment in task.assignments.select_related("user").order_by("user__username"):
        roles[assignment.role].append(assignment.user)
    return roles


# --- browser helpers -----------------------------------------------------------------


def _log_in(page, live_server, user):
    """Leave the current session and log in as `user` through the portal's login form."""
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill("pw-for-tests")
    login = page.locator(f'form[action="{reverse("login")}"] button[type=submit]')
    _click_to(page, login, live_server.url + reverse("home"))


def _click_to(page, target, url) -> None:
    """Click `target` and wait until the page it leads to (`url`: text or pattern) loaded.

    Waiting on the navigation itself, not on page.url, also works when the next page
    has the same address as this one (a form posting back to its page).
    """
    with page.expect_navigation(url=url):
        target.click()


def _breakdown_url(live_server, req) -> re.Pattern:
    """The breakdown page's address, with or without the #task-N a save jumps to."""
    url = live_server.url + reverse("tasks_app:breakdown", args=[req.pk])
    return re.compile(rf"{re.escape(url)}(#task-\d+)?$")


def _open_breakdown(page, live_server, req):
    """From the request's page, follow its link to the 任務分工表."""
    page.goto(live_server.url + req.get_absolute_url())
    _click_to(page, page.locator("#action-breakdown"), _breakdown_url(live_server, req))


def _accept_confirm(page) -> list[str]:
    """Accept the next window.confirm (a data-confirm button); return what it asked."""
    asked = []

    def accept(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    return asked


def _signature_cell(page, department):
    return page.locator(f'#signatures .signature-cell[data-department="{department.pk}"]')


def _request_state_badge(page):
    return page.locator(".page-header .state-badge")


def _raci_cell(page, task, role):
    return page.locator(f'#breakdown-table tr#task-{task.pk} td[data-raci="{role}"]')


def _raci_matrix(layout: str, people: list[str]) -> dict[str, dict[str, str]]:
    """Read the RACI matrix of a `pdftotext -layout` text: {"01 task": {person: role}}.

    The heading line names the people; each letter of a task's line belongs to the
    person whose heading is nearest to it.
    """
    lines = layout.splitlines()
    at = next(i for i, line in enumerate(lines) if all(p in line for p in people))
    columns = {person: lines[at].index(person) for person in people}
    rows = {}
    for line in lines[at + 1 :]:
        match = re.match(r"\s*(\d{2}) (\S+)", line)
        if not match:
            continue
        cells = {}
        for letter in re.finditer(r"(?<=\s)[RACI](?:/[RACI])*(?=\s|$)", line):
            person = min(people, key=lambda p: abs(columns[p] - letter.start()))
            cells[person] = letter.group()
        rows[f"{match[1]} {match[2]}"] = cells
    return rows


def _assert_in_order(text: str, parts: list[str]) -> None:
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, f"{part!r} not found after {text[position : position + 80]!r}"
        position = found + len(part)


def _pdf_text(content: bytes, tmp_path, *mode: str) -> str:
    path = tmp_path / "breakdown.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", *mode, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


# --- the steps -----------------------------------------------------------------------


def _edit_task_with_raci(page, live_server, req, depts, people) -> Task:
    """Step 1: the initiator edits 技術部's draft task on the breakdown page: a new name,
    dates, R (the engineer), A (the tech head), C (the mkt head) and a dependency on
    市場部's task. The table then shows R, A and C, and the database holds them.

    The planned start is a week ago while the task is not started yet, so the board
    will count it late (滯後: behind its even-pace plan).
    """
    mkt_task, tech_task = _task_of(req, depts["mkt"]), _task_of(req, depts["tech"])
    _log_in(page, live_server, people["initiator"])
    _open_breakdown(page, live_server, req)
    assert page.locator("#breakdown-table tbody tr[data-task]").count() == 2
    version = Breakdown.objects.get(request=req).version
    assert page.locator("#breakdown-version").get_attribute("data-version") == str(version)
    # The draft task: its committing head is R, the initiator A, nobody C.
    assert people["tech_head"].full_name in _raci_cell(page, tech_task, "R").inner_text()
    assert people["initiator"].full_name in _raci_cell(page, tech_task, "A").inner_text()

    _click_to(
        page,
        page.locator(f'[data-edit="{tech_task.pk}"]'),
        live_server.url + reverse("tasks_app:task-edit", args=[req.pk, tech_task.pk]),
    )
    form = page.locator("#task-form")
    assert form.locator("[name=name]").input_value() == MKT_TASK
    form.locator("[name=name]").fill(TECH_TASK)
    form.locator("[name=start_date]").fill(_day(-7).isoformat())
    form.locator("[name=due_date]").fill(_day(7).isoformat())
    assert form.locator("[name=due_time]").input_value() == "17:00"
    form.locator("[name=responsible]").select_option(str(people["engineer"].pk))
    form.locator("[name=accountable]").select_option(str(people["tech_head"].pk))
    form.locator("[name=consulted]").select_option([str(people["mkt_head"].pk)])
    form.locator(f'[name=depends_on][value="{mkt_task.pk}"]').check()
    form.locator("[name=deliverable]").fill("會員 API 與接口文件")
    form.locator("[name=acceptance_criteria]").fill("通過整合測試，登入成功率 99%")
    _click_to(page, form.locator("#save-task"), _breakdown_url(live_server, req))

    row = page.locator(f"#breakdown-table tr#task-{tech_task.pk}")
    assert TECH_TASK in row.locator("td.col-task").inner_text()
    assert _raci_cell(page, tech_task, "R").inner_text().strip() == people["engineer"].full_name
    assert _raci_cell(page, tech_task, "A").inner_text().strip() == people["tech_head"].full_name
    assert _raci_cell(page, tech_task, "C").inner_text().strip() == people["mkt_head"].full_name
    assert row.locator("td[data-depends]").get_attribute("data-depends") == mkt_task.number
    assert page.locator("#breakdown-version").get_attribute("data-version") == str(version + 1)

    tech_task.refresh_from_db()
    assert tech_task.name == TECH_TASK
    assert tech_task.start_date == _day(-7)
    assert tech_task.due_at == services.due_at(_day(7))
    assert list(tech_task.depends_on.all()) == [mkt_task]
    assert _raci(tech_task) == {
        "R": [people["engineer"]],
        "A": [people["tech_head"]],
        "C": [people["mkt_head"]],
        "I": [],
    }
    assert Breakdown.objects.get(request=req).version == version + 1
    return tech_task


def _head_signs(page, live_server, req, head, department, *, last: bool):
    """Step 2 (one head): open the breakdown from the request page and sign (簽署)."""
    _log_in(page, live_server, head)
    _open_breakdown(page, live_server, req)
    cell = _signature_cell(page, department)
    assert cell.get_attribute("data-signed") == "0"
    version = Breakdown.objects.get(request=req).version
    asked = _accept_confirm(page)
    button = cell.locator(f'[data-sign-department="{department.pk}"]')
    assert re.search(_label("簽署", "Sign"), button.inner_text())
    _click_to(page, button, _breakdown_url(live_server, req))
    # The page comes back with the department signed, by this head, for this version.
    assert cell.get_attribute("data-signed") == "1"
    assert len(asked) == 1 and department.name in asked[0]
    assert head.full_name in cell.locator(".signature-line").inner_text()
    signature = BreakdownSignature.objects.get(
        breakdown__request=req, department=department, voided_at__isnull=True
    )
    assert (signature.signed_by, signature.on_behalf_of, signature.version) == (
        head,
        None,
        version,
    )
    req.refresh_from_db()
    if last:
        assert req.state == RequestState.IN_PROGRESS
        assert page.locator("#breakdown-status").get_attribute("data-status") == "started"
        badge = _request_state_badge(page)
        assert badge.get_attribute("data-state") == RequestState.IN_PROGRESS
        assert re.fullmatch(_label("進行中", "In progress"), badge.inner_text().strip())
        # The breakdown cannot be edited any more.
        assert page.locator("[data-edit]").count() == 0
    else:
        assert req.state == RequestState.APPROVED
        status = page.locator("#breakdown-status")
        assert status.get_attribute("data-signed") == "1"
        assert status.get_attribute("data-total") == "2"


def _edit_voids_signature(page, live_server, depts, people):
    """Step 3: on a second 已立項 request that 市場部's head has signed, the initiator
    changes a task; the signature is voided and 市場部 shows as unsigned again.
    """
    mkt = depts["mkt"]
    req = _approved_request(depts, people)
    signature = services.breakdown_sign(request=req, by=people["mkt_head"], department=mkt)
    task = _task_of(req, depts["tech"])

    _log_in(page, live_server, people["initiator"])
    _open_breakdown(page, live_server, req)
    assert _signature_cell(page, mkt).get_attribute("data-signed") == "1"
    # The editor is warned before changing anything.
    assert page.locator("#edit-voids-warning").get_attribute("data-count") == "1"
    _click_to(
        page,
        page.locator(f'[data-edit="{task.pk}"]'),
        live_server.url + reverse("tasks_app:task-edit", args=[req.pk, task.pk]),
    )
    warning = page.locator("#void-warning")
    assert warning.get_attribute("data-count") == "1"
    assert mkt.name in warning.inner_text()
    page.locator("#task-form [name=buffer_days]").fill("3")
    _click_to(page, page.locator("#task-form #save-task"), _breakdown_url(live_server, req))

    cell = _signature_cell(page, mkt)
    assert cell.get_attribute("data-signed") == "0"
    assert re.search(_label("尚未簽署", "Not signed yet"), cell.inner_text())
    assert cell.locator(".signature-line").count() == 0
    # The voided signature stays in the history under the panel (a closed <details>).
    page.locator("#signature-history > summary").click()
    voided = page.locator(f'#signature-history .voided-signature[data-signature="{signature.pk}"]')
    assert voided.count() == 1
    assert people["mkt_head"].full_name in voided.inner_text()

    signature.refresh_from_db()
    assert signature.voided_at is not None
    breakdown = Breakdown.objects.get(request=req)
    assert breakdown.version == signature.version + 1
    assert not breakdown.signatures.filter(voided_at__isnull=True).exists()
    task.refresh_from_db()
    assert task.buffer_days == 3
    req.refresh_from_db()
    assert req.state == RequestState.APPROVED


def _start_and_log_progress(page, live_server, owner, task):
    """Step 4a: the owner starts the task on 我的任務 (開始執行) and logs 40% with a
    problem and the support needed through the quick-update form, which htmx posts:
    the card is swapped in place and the page is not loaded again.
    """
    _log_in(page, live_server, owner)
    mine = live_server.url + reverse("tasks_app:mine")
    _click_to(page, page.locator(f'nav a[href="{reverse("tasks_app:mine")}"]').first, mine)
    card = page.locator(f"#task-card-{task.pk}")
    assert card.get_attribute("data-state") == TaskState.TODO
    start = card.locator("form[data-start-form] button[type=submit]")
    assert re.search(_label("開始執行", "Start work"), start.inner_text())
    # The form posts and comes back to the card on 我的任務.
    _click_to(page, start, re.compile(rf"{re.escape(mine)}(#task-card-{task.pk})?$"))
    page.locator(f'#task-card-{task.pk}[data-state="{TaskState.IN_PROGRESS}"]').wait_for()
    task.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS and task.started_at is not None

    # A marker on window survives an htmx swap, never a page load.
    url_before = page.url
    page.evaluate("window.__journeyMarker = 'still-here'")
    navigations = []

    def navigated(frame):
        navigations.append(frame.url)

    page.on("framenavigated", navigated)

    card.locator("[data-quick-update-toggle]").click()
    form = card.locator(f"#progress-form-{task.pk}")
    form.locator("[name=percent]").wait_for(state="visible")
    form.locator("[name=percent]").fill("40")
    form.locator("[name=done]").fill("完成活動頁主視覺與版型初稿。")
    form.locator("[name=problems]").fill(PROBLEM)
    form.locator("[name=support_needed]").fill(SUPPORT)
    form.locator("[name=risk_level]").select_option("medium")
    form.locator("[name=risk_note]").fill("接口延誤可能影響上線日期。")
    with page.expect_response(
        lambda r: (
            r.url.endswith(reverse("tasks_app:progress", args=[task.pk]))
            and r.request.method == "POST"
        )
    ) as posted:
        form.locator("[data-progress-save]").click()
    assert posted.value.status == 200
    assert posted.value.request.headers.get("hx-request") == "true"
    page.locator(f'#task-card-{task.pk}[data-percent="40"] [data-notice]').wait_for()

    page.remove_listener("framenavigated", navigated)
    assert page.evaluate("window.__journeyMarker") == "still-here"
    assert page.url == url_before
    assert navigations == []
    assert card.locator(".task-progress").get_attribute("aria-valuenow") == "40"
    update = ProgressUpdate.objects.get(task=task)
    assert (update.percent, update.problems, update.support_needed, update.author) == (
        40,
        PROBLEM,
        SUPPORT,
        owner,
    )
    task.refresh_from_db()
    assert task.progress_percent == 40


def _submit_deliverable(page, live_server, task, tmp_path):
    """Step 4b: on the task page the owner sees the 40% and its history, then submits
    the deliverable with a completion note (完成說明) and a file; the task is 待驗收.
    """
    _click_to(
        page, page.locator(f"#task-card-title-{task.pk}"), live_server.url + task.get_absolute_url()
    )
    assert page.locator("#latest-percent").inner_text().strip() == "40%"
    history = page.locator('#progress-table tr[data-percent="40"]')
    assert PROBLEM in history.inner_text() and SUPPORT in history.inner_text()

    page.locator("#action-submit [aria-controls=submit-panel]").click()
    form = page.locator("#submit-form")
    form.locator("[name=completion_note]").wait_for(state="visible")
    form.locator("[name=completion_note]").fill(COMPLETION_NOTE)
    upload = tmp_path / "活動頁設計說明.txt"
    upload.write_text("活動頁的設計說明與切版規格。\n", encoding="utf-8")
    form.locator("[name=files]").set_input_files(upload)
    _click_to(page, form.locator("button[type=submit]"), live_server.url + task.get_absolute_url())
    badge = page.locator(f'#task-badges [data-task-state="{TaskState.SUBMITTED}"]')
    badge.wait_for()
    assert re.fullmatch(_label("待驗收", "Awaiting acceptance"), badge.inner_text().strip())
    assert COMPLETION_NOTE in page.locator("#completion-note").inner_text()
    assert "活動頁設計說明.txt" in page.locator("#deliverable-files").inner_text()

    task.refresh_from_db()
    assert task.state == TaskState.SUBMITTED
    assert task.completion_note == COMPLETION_NOTE
    assert [d.original_name for d in task.deliverables.all()] == ["活動頁設計說明.txt"]


def _board_counts_and_timeline(page, live_server, req, mkt_task, tech_task):
    """Step 5: the board's totals are the database's, and the timeline is drawn: one bar
    per task (the late one marked) and an arrow from 市場部's task to the one waiting on it.
    """
    board = live_server.url + reverse("tasks_app:board", args=[req.pk])
    _click_to(page, page.locator("#board-link"), board)

    tasks = list(req.tasks.all())
    expected = {
        "total": len(tasks),
        "done": sum(t.state == TaskState.DONE for t in tasks),
        "late": sum(t.state != TaskState.DONE and t.is_late for t in tasks),
        "in_progress": sum(
            t.state in (TaskState.IN_PROGRESS, TaskState.SUBMITTED) and not t.is_late for t in tasks
        ),
    }
    # 活動頁設計 awaits acceptance (in progress); 會員系統接口開發 has not started a week
    # after its planned start (late).
    assert expected == {"total": 2, "done": 0, "late": 1, "in_progress": 1}
    summary = page.locator("#board-summary")
    for stat, count in expected.items():
        assert summary.get_attribute(f"data-{stat.replace('_', '-')}") == str(count), stat
        shown = page.locator(f'#board-stats [data-stat="{stat}"] [data-count]').inner_text()
        assert shown.strip() == str(count), stat
    late_row = page.locator(f'#board-tasks tr[data-task="{tech_task.pk}"]')
    assert late_row.get_attribute("data-bucket") == "late"

    gantt = page.locator('#board-gantt[data-rendered="true"]')
    gantt.wait_for()
    bars = gantt.locator(".vis-item.gantt-task")
    assert bars.count() == 2
    assert "gantt-state-submitted" in (
        gantt.locator(f'.vis-item[data-id="t-{mkt_task.pk}"]').get_attribute("class")
    )
    assert "gantt-late" in (
        gantt.locator(f'.vis-item[data-id="t-{tech_task.pk}"]').get_attribute("class")
    )
    arrow = gantt.locator(
        f'svg.gantt-arrows path.gantt-arrow[data-from="{mkt_task.pk}"][data-to="{tech_task.pk}"]'
    )
    arrow.wait_for(state="attached")
    assert arrow.count() == 1
    assert gantt.locator("svg.gantt-arrows path.gantt-arrow").count() == 1


def _breakdown_pdf(page, live_server, req, people, depts, tmp_path):
    """Step 6: the initiator's 任務分工表 PDF has the tasks, the RACI matrix (R/A/C in the
    right cells) and the heads' signature blocks with their names and times.
    """
    _log_in(page, live_server, people["initiator"])
    _open_breakdown(page, live_server, req)
    href = page.locator("#action-breakdown-pdf").get_attribute("href")
    assert href == reverse("tasks_app:breakdown-pdf", args=[req.pk])
    response = page.request.get(live_server.url + href)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    layout = _pdf_text(response.body(), tmp_path, "-layout")
    flat = "".join(layout.split())
    assert req.number in flat
    assert MKT_TASK in flat and TECH_TASK in flat

    # The matrix: one column per person with a role, by department then name; a row per
    # task with each role under its person.
    rows = _raci_matrix(layout, ["林美玲", "王小美", "蔡宗翰", "陳志豪"])
    assert rows[f"01 {MKT_TASK}"] == {"林美玲": "R", "王小美": "A"}
    assert rows[f"02 {TECH_TASK}"] == {"林美玲": "C", "蔡宗翰": "A", "陳志豪": "R"}

    # The signature blocks come last: each department, its head's name, the time signed.
    raw = "".join(_pdf_text(response.body(), tmp_path, "-raw").split())
    blocks = raw[raw.rindex(f"02{TECH_TASK}CAR") :]
    breakdown = Breakdown.objects.get(request=req)
    expected = []
    for department, head in (
        (depts["mkt"], people["mkt_head"]),
        (depts["tech"], people["tech_head"]),
    ):
        signature = breakdown.signatures.get(department=department, voided_at__isnull=True)
        assert signature.signed_by == head
        signed_at = timezone.localtime(signature.signed_at)
        expected += [department.name, head.full_name, f"{signed_at:%Y-%m-%d%H:%M}"]
    _assert_in_order(blocks, expected)


# --- the journey ---------------------------------------------------------------------


def test_breakdown_signing_progress_board_and_pdf(page, live_server, tmp_path):
    """A breakdown with RACI is made and signed (the request goes 進行中); an edit on
    another request voids a signature; the owner starts, logs 40% through htmx and
    submits; the board and the breakdown PDF show the result.
    """
    depts, people = _cast()
    req = _approved_request(depts, people)
    mkt_task = _task_of(req, depts["mkt"])
    assert _raci(mkt_task)["R"] == [people["mkt_head"]]

    tech_task = _edit_task_with_raci(page, live_server, req, depts, people)

    _head_signs(page, live_server, req, people["mkt_head"], depts["mkt"], last=False)
    _head_signs(page, live_server, req, people["tech_head"], depts["tech"], last=True)

    _edit_voids_signature(page, live_server, depts, people)

    # 市場部's task is the one that can start: 會員系統接口開發 waits on it.
    _start_and_log_progress(page, live_server, people["mkt_head"], mkt_task)
    _submit_deliverable(page, live_server, mkt_task, tmp_path)

    _board_counts_and_timeline(page, live_server, req, mkt_task, tech_task)
    _breakdown_pdf(page, live_server, req, people, depts, tmp_path)
