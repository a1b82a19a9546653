"""The printable 任務分工表 (with the RACI matrix and signatures) and 進度跟蹤表."""

from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from tasks_app import board, services
from tests.factories import UserFactory, make_approved_request, make_task
from tests.test_board import build_project


def _run(tool: list[str], content: bytes, tmp_path) -> str:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(content)
    return subprocess.run(
        [*tool, str(path), "-"] if tool[0] == "pdftotext" else [*tool, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _text(content: bytes, tmp_path, *, layout: bool = True) -> str:
    """The PDF's text; -layout keeps table rows on one line, raw keeps cells together."""
    return _run(["pdftotext", "-layout" if layout else "-raw"], content, tmp_path)


def _compact(text: str) -> str:
    return "".join(text.split())


def _lines(text: str) -> list[str]:
    return [_compact(line) for line in text.splitlines()]


def _assert_cjk_font_embedded(content: bytes, tmp_path) -> None:
    fonts = _run(["pdffonts"], content, tmp_path)
    cjk = [line for line in fonts.splitlines() if "Noto" in line or "CJK" in line]
    assert cjk, fonts
    assert all(" yes " in line for line in cjk), fonts  # the "emb" column


def _get(client, user, name, req):
    client.force_login(user)
    return client.get(reverse(f"tasks_app:{name}", args=[req.pk]))


@pytest.fixture
def project(pmo):
    return build_project(pmo)


@pytest.mark.django_db
def test_breakdown_pdf_has_the_tasks_the_raci_matrix_and_the_signatures(client, project, tmp_path):
    """Every task with its columns, one RACI row per task, a signed block per department.

    The matrix's columns are the people with a role, by department then name:
    張志明 黃詩涵 (設計部), 林美玲 王小美 (市場部), 吳建宏 李國華 (銷售部); the sales
    department signed through 陳怡君 acting for 李國華.
    """
    req = project.request
    response = _get(client, project.initiator, "breakdown-pdf", req)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    text = _text(response.content, tmp_path)
    compact = _compact(_text(response.content, tmp_path, layout=False))
    for expected in [
        req.number,
        "新品上市推廣",
        "市場調研報告",
        "主視覺設計",
        "通路推廣方案",
        "客戶名單整理",
        "上市活動執行",
        "《推廣活動方案》",
        "市場部",
        "設計部",
        "銷售部",
    ]:
        assert expected in compact, expected
    # The RACI matrix: each row reads its letters in the people's column order.
    lines = _lines(text)
    for row in [
        "04市場調研報告IARC",
        "05主視覺設計RCA",
        "06通路推廣方案ARI",
        "07客戶名單整理RA",
        "08上市活動執行CARC",
    ]:
        assert any(line.endswith(row) for line in lines), (row, text)
    assert any("張志明黃詩涵林美玲王小美吳建宏李國華" in line for line in lines), text
    # Signatures: the signer's name (the deputy with the head), the time and the version.
    signatures = req.breakdown.signatures.filter(voided_at__isnull=True)
    assert signatures.count() == 3
    assert "陳怡君" in compact and "李國華" in compact
    for signature in signatures:
        assert timezone.localtime(signature.signed_at).strftime("%Y-%m-%d%H:%M") in compact
        assert signature.version == req.breakdown.version
    _assert_cjk_font_embedded(response.content, tmp_path)


@pytest.mark.django_db
def test_only_valid_signatures_of_the_current_version_are_printed(client, pmo, tmp_path):
    """A signature voided by an edit leaves its department's block empty again."""
    project = build_project(pmo, sign=False)
    req = project.request
    services.breakdown_sign(
        request=req, by=project.sales_deputy, department=project.departments.sales
    )
    services.breakdown_sign(
        request=req, by=project.design_head, department=project.departments.design
    )

    sheet = board.breakdown_sheet(user=project.initiator, request_pk=req.pk)
    signed = {block.department.name: block.signature for block in sheet.signatures}
    assert signed["市場部"] is None
    assert signed["銷售部"].signed_by == project.sales_deputy
    assert signed["銷售部"].on_behalf_of == project.sales_head
    assert signed["銷售部"].version == sheet.version
    assert sheet.signed_count == 2
    # 陳怡君 has no RACI role: her name is on the sheet only as the signer.
    text = _compact(_text(_get(client, project.initiator, "breakdown-pdf", req).content, tmp_path))
    assert "陳怡君" in text

    launch = project.tasks.launch
    services.task_save(
        request=req,
        by=project.initiator,
        task=launch,
        data={"name": "上市活動執行與檢討"},
        raci={"R": project.initiator, "A": project.mkt_head},
    )
    sheet = board.breakdown_sheet(user=project.initiator, request_pk=req.pk)
    assert [block.signature for block in sheet.signatures] == [None, None, None]
    text = _compact(_text(_get(client, project.initiator, "breakdown-pdf", req).content, tmp_path))
    assert "陳怡君" not in text
    assert "上市活動執行與檢討" in text


@pytest.mark.django_db
def test_progress_pdf_has_each_task_state_percent_risk_and_history(client, project, tmp_path):
    """The 進度跟蹤表 line per task and the updates with problems, support and risk."""
    req = project.request
    response = _get(client, project.mkt_head, "progress-pdf", req)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    compact = _compact(_text(response.content, tmp_path, layout=False))
    for expected in [
        req.number,
        "市場調研報告",
        "主視覺設計",
        "通路推廣方案",
        "客戶名單整理",
        "上市活動執行",
        "60%",
        "30%",
        "可能影響區域推廣策略",  # the latest risk note
        "印刷廠排期緊張",
        "完成渠道策略框架",  # what was done
        "重點客戶區域數據未同步",  # problems met
        "請銷售部提供客戶區域數據",  # support needed
        "吳建宏",
        "黃詩涵",
    ]:
        assert expected in compact, expected
    channels = project.tasks.channels
    channels.refresh_from_db()
    assert timezone.localtime(channels.last_progress_at).strftime("%Y-%m-%d%H:%M") in compact
    _assert_cjk_font_embedded(response.content, tmp_path)


@pytest.mark.django_db
def test_progress_pdf_prints_the_newest_updates_of_a_long_history(client, project, tmp_path):
    """Past the limit only the newest updates are printed, with a count of the others."""
    channels = project.tasks.channels
    for i in range(1, board.PROGRESS_HISTORY_LIMIT + 3):
        services.progress_log(
            task=channels, by=project.initiator, percent=60 + i, done=f"第{i:02d}號進展"
        )
    sheet = board.progress_sheet(user=project.initiator, request_pk=project.request.pk)
    row = next(r for r in sheet.rows if r.task.pk == channels.pk)
    # 12 new updates + the one from the fixture; the newest 10 are kept.
    assert row.earlier == 3
    assert [u.done for u in row.updates][:2] == ["第12號進展", "第11號進展"]
    text = _compact(
        _text(_get(client, project.initiator, "progress-pdf", project.request).content, tmp_path)
    )
    assert "第12號進展" in text and "第03號進展" in text
    assert "第02號進展" not in text and "第01號進展" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["breakdown-pdf", "progress-pdf"])
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("initiator", 200),
        ("design_head", 200),
        ("sales_deputy", 200),
        ("raci_only", 200),
        ("pmo", 200),
        ("executive", 200),
        ("outsider", 404),
    ],
)
def test_pdfs_are_for_those_who_see_the_request(request, client, pmo, name, who, status):
    """Involved departments, deputies, RACI members, PMO and executives print; others 404.

    raci_only belongs to no involved department and sees the request only through the
    Informed role given on one task.
    """
    project = build_project(pmo, sign=False)
    if who == "raci_only":
        user = UserFactory(full_name="周知會")
        services.task_save(
            request=project.request,
            by=project.initiator,
            task=project.tasks.launch,
            data={},
            raci={"R": project.initiator, "A": project.mkt_head, "I": [user]},
        )
    else:
        user = getattr(project, who, None) or request.getfixturevalue(who)
    assert _get(client, user, name, project.request).status_code == status


@pytest.mark.django_db
def test_raci_matrix_splits_wide_teams_and_joins_two_roles(project, pmo):
    """Past `columns` people the matrix continues in another table; R and A held by one
    person read "R/A" in one cell."""
    sheet = board.breakdown_sheet(user=pmo, request_pk=project.request.pk)
    people = [p for matrix in board.raci_matrices(sheet.tasks, columns=4) for p in matrix.people]
    assert len(people) == 6 and len(set(people)) == 6
    matrices = board.raci_matrices(sheet.tasks, columns=4)
    assert [len(m.people) for m in matrices] == [4, 2]
    assert all(len(m.rows) == 5 for m in matrices)

    department = project.departments.mkt
    head = project.mkt_head
    req = make_approved_request(initiator=head, departments=[department], pmo=pmo)
    task = make_task(request=req, responsible=head, accountable=head, name="自己負責自己審批")
    sheet = board.breakdown_sheet(user=head, request_pk=req.pk)
    row = next(r for r in sheet.matrices[0].rows if r.task.pk == task.pk)
    assert row.cells[sheet.matrices[0].people.index(head)] == "R/A"
