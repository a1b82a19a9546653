"""The printable minutes, 溝通記錄表 (meetings_app.pdf): laid out like seed 003's table,
the Chinese text embedded; which version prints (the one in force, ?version=N, a draft
for its editors only, marked DRAFT); 404 for whoever may not see the meeting and for a
meeting without minutes.

`held_meeting` (used by the admin tests too) takes a meeting through the services:
scheduled ahead (the service refuses the past), then moved to its past day with a
queryset update, as seed_demo does, and its minutes drafted, saved and filed.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from meetings_app import services
from meetings_app.choices import ActionState, Attendance, MeetingForm, MeetingKind, ProblemStatus
from meetings_app.models import Meeting
from tests.factories import DepartmentFactory, UserFactory, make_approved_request, make_head

pytestmark = pytest.mark.django_db

TOPIC = "產品V2.0上線跨部門協作"
ITEMS = [
    (
        "需求優先級確認",
        "市場部提出客戶核心需求為A、B、C,技術部評估需求A開發週期2週。",
        "優先上線需求B,需求A延後至第二階段。",
    ),
    (
        "設計資源協調",
        "設計部目前有2名設計師在崗,需同時支援產品優化和行銷活動。",
        "產品優化由專員負責,行銷活動由主管負責。",
    ),
]


def held_meeting(
    request, *, organiser, recorder, participants, absent=(), days_ago=2, problems=(), actions=()
) -> Meeting:
    """A meeting of `request` held `days_ago` days ago, its minutes (version 1) filed.

    `problems`: [{"description", "department"}]; `actions`: action rows of minutes_save
    (due_at defaults to a week after the meeting, 17:00). Everyone attended but `absent`.
    """
    ahead = timezone.now() + dt.timedelta(days=3)
    meeting = services.meeting_schedule(
        by=organiser,
        request=request,
        topic=TOPIC,
        kind=MeetingKind.KICKOFF,
        starts_at=ahead,
        ends_at=ahead + dt.timedelta(hours=1),
        form=MeetingForm.ON_SITE,
        location="3F 會議室A",
        organiser=organiser,
        recorder=recorder,
        participants=participants,
        agenda=[title for title, _d, _c in ITEMS],
    )
    held = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    held -= dt.timedelta(days=days_ago)
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=held, ends_at=held + dt.timedelta(minutes=90)
    )
    meeting = Meeting.objects.get(pk=meeting.pk)
    minutes = services.minutes_draft(meeting=meeting, by=recorder)
    due = timezone.make_aware(dt.datetime.combine(held.date() + dt.timedelta(days=7), dt.time(17)))
    services.minutes_save(
        minutes=minutes,
        by=recorder,
        actual_start=held + dt.timedelta(minutes=5),
        actual_end=held + dt.timedelta(minutes=95),
        items=[{"title": t, "discussion": d, "conclusion": c} for t, d, c in ITEMS],
        attendance={
            row.user_id: (
                (Attendance.ABSENT, "出差") if row.user in absent else (Attendance.PRESENT, "")
            )
            for row in minutes.attendance.select_related("user")
        },
        problems=[{"pk": None, "status": ProblemStatus.OPEN, **p} for p in problems],
        actions=[{"pk": None, "due_at": due, **a} for a in actions],
        next_meeting_at=held + dt.timedelta(days=7),
        next_focus="需求B開發進展驗收、客戶投訴處理結果同步",
        other_matters="專案預算調整需財務部配合,已單獨發送郵件。",
    )
    services.minutes_file(minutes=minutes, by=recorder)
    return Meeting.objects.get(pk=meeting.pk)


@pytest.fixture
def cast(pmo):
    """市場部 (the initiator, its head, the recorder) and 技術部 (its head, an engineer)
    share a project; 法務部's staff member takes no part."""
    mkt = DepartmentFactory(name="市場部")
    tech = DepartmentFactory(name="技術部")
    legal = DepartmentFactory(name="法務部")
    c = SimpleNamespace(
        mkt=mkt,
        tech=tech,
        mkt_head=make_head(mkt, full_name="林美玲"),
        tech_head=make_head(tech, full_name="蔡宗翰"),
        initiator=UserFactory(department=mkt, full_name="陳怡君"),
        recorder=UserFactory(department=mkt, full_name="項目助理小王"),
        engineer=UserFactory(department=tech, full_name="楊子軒"),
        outsider=UserFactory(department=legal, full_name="郭欣怡"),
        pmo=pmo,
    )
    c.request = make_approved_request(
        initiator=c.initiator, departments=[mkt, tech], lead=mkt, pmo=pmo
    )
    c.meeting = held_meeting(
        c.request,
        organiser=c.initiator,
        recorder=c.recorder,
        participants=[c.engineer, c.tech_head],
        absent=[c.tech_head],
        problems=[
            {"description": "客戶反饋功能操作複雜,投訴量上升20%", "department": tech},
            {"description": "跨部門數據同步存在延遲,影響市場部報表準確性", "department": mkt},
        ],
        actions=[
            {
                "description": "排查系統原因並提出修復方案",
                "responsible_department": tech,
                "owner": c.engineer,
                "deliverable": "排查報告含原因及修復方案",
                "problem_index": 0,
            },
        ],
    )
    return c


def _run(tool: list[str], content: bytes, tmp_path) -> str:
    path = tmp_path / "minutes.pdf"
    path.write_bytes(content)
    args = [*tool, str(path), "-"] if tool[0] == "pdftotext" else [*tool, str(path)]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _text(content: bytes, tmp_path) -> str:
    """The PDF's text without blanks, so that wrapped cells read as one."""
    return "".join(_run(["pdftotext", "-raw"], content, tmp_path).split())


def _get(client, user, meeting, query=""):
    client.force_login(user)
    return client.get(reverse("meetings_app:minutes-pdf", args=[meeting.pk]) + query)


def test_the_minutes_print_like_the_seed_table(client, cast, tmp_path):
    """Every part of seed 003's 溝通記錄表, in Chinese, with the font embedded."""
    response = _get(client, cast.engineer, cast.meeting)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    text = _text(response.content, tmp_path)
    held = timezone.localtime(cast.meeting.starts_at)
    for expected in [
        "跨部門協作溝通記錄表",
        cast.request.number,
        # 基本資訊
        "基本資訊",
        TOPIC,
        "市場部",
        "技術部",
        "楊子軒",
        "蔡宗翰（技術部）[缺席:出差]",
        f"{held:%Y-%m-%d}{held + dt.timedelta(minutes=5):%H:%M}–",
        "3F會議室A",
        "項目助理小王",
        # 議題討論結果
        "議題1：需求優先級確認",
        "技術部評估需求A開發週期2週。",
        "結論：優先上線需求B,需求A延後至第二階段。",
        "議題2：設計資源協調",
        "結論：產品優化由專員負責,行銷活動由主管負責。",
        # 問題與行動項跟蹤
        "客戶反饋功能操作複雜,投訴量上升20%",
        "跨部門數據同步存在延遲",
        "排查系統原因並提出修復方案",
        "排查報告含原因及修復方案",
        f"{held + dt.timedelta(days=7):%Y-%m-%d}17:00",
        # 後續計畫, 其他需同步事項
        "需求B開發進展驗收、客戶投訴處理結果同步",
        "專案預算調整需財務部配合,已單獨發送郵件。",
    ]:
        assert expected.replace(" ", "") in text, expected
    # The action item names the problem it addresses, and its state; the filing footer.
    assert "針對問題1" in text
    for label in (ActionState.TODO.label, ProblemStatus.OPEN.label):
        assert "".join(str(label).split()) in text, label
    filed = timezone.localtime(cast.meeting.minutes.get().filed_at)
    assert f"第1版，{filed:%Y-%m-%d%H:%M}由項目助理小王歸檔" in text
    assert "草稿" not in text
    fonts = _run(["pdffonts"], response.content, tmp_path)
    cjk = [line for line in fonts.splitlines() if "Noto" in line or "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts


def test_the_version_in_force_prints_and_older_ones_on_request(client, cast, tmp_path):
    """A correction supersedes version 1: the PDF prints version 2 by default, version 1
    with ?version=1 marked superseded; the correction's draft prints only for editors."""
    services.minutes_correct(meeting=cast.meeting, by=cast.recorder, reason="補充結論")
    draft = cast.meeting.minutes.get(version=2)
    services.minutes_save(
        minutes=draft,
        by=cast.recorder,
        actual_start=draft.actual_start,
        actual_end=draft.actual_end,
        items=[{"title": t, "discussion": d, "conclusion": c + "(已修正)"} for t, d, c in ITEMS],
        attendance={row.user_id: (row.attendance, row.note) for row in draft.attendance.all()},
        problems=[],
        actions=[],
        next_focus=draft.next_focus,
        other_matters=draft.other_matters,
    )
    # Nothing filed yet but version 1: the draft is for the editors only.
    assert "(已修正)" not in _text(_get(client, cast.engineer, cast.meeting).content, tmp_path)
    assert _get(client, cast.engineer, cast.meeting, "?version=2").status_code == 404
    text = _text(_get(client, cast.recorder, cast.meeting, "?version=2").content, tmp_path)
    assert "草稿" in text and "(已修正)" in text
    services.minutes_file(minutes=draft, by=cast.recorder)

    text = _text(_get(client, cast.engineer, cast.meeting).content, tmp_path)
    assert "第2版" in text and "(已修正)" in text and "補充結論" in text
    assert "草稿" not in text and "已被更正取代" not in text
    text = _text(_get(client, cast.engineer, cast.meeting, "?version=1").content, tmp_path)
    assert "第1版" in text and "(已修正)" not in text and "已被更正取代" in text
    # The problems and action items raised by version 1 print with it still.
    assert "排查系統原因並提出修復方案" in text
    for query in ("?version=9", "?version=x"):
        assert _get(client, cast.engineer, cast.meeting, query).status_code == 404


def test_who_may_not_see_the_meeting_gets_not_found(client, cast):
    assert _get(client, cast.outsider, cast.meeting).status_code == 404
    for user in (cast.mkt_head, cast.tech_head, cast.pmo, cast.initiator):
        assert _get(client, user, cast.meeting).status_code == 200, user
    client.logout()
    response = client.get(reverse("meetings_app:minutes-pdf", args=[cast.meeting.pk]))
    assert response.status_code == 302  # to the login page


def test_a_meeting_without_minutes_has_no_pdf(client, cast, tmp_path):
    """Scheduled: nothing to print, for anyone. With a draft begun: its editors print it
    marked DRAFT; the participants still get 404."""
    ahead = timezone.now() + dt.timedelta(days=3)
    meeting = services.meeting_schedule(
        by=cast.initiator,
        request=cast.request,
        topic="需求B驗收會",
        kind=MeetingKind.REVIEW,
        starts_at=ahead,
        ends_at=ahead + dt.timedelta(hours=1),
        form=MeetingForm.PHONE,
        recorder=cast.recorder,
        participants=[cast.engineer],
        agenda=["需求B驗收"],
    )
    for user in (cast.pmo, cast.recorder, cast.engineer):
        assert _get(client, user, meeting).status_code == 404, user
    services.minutes_draft(meeting=meeting, by=cast.recorder)
    assert _get(client, cast.engineer, meeting).status_code == 404
    response = _get(client, cast.recorder, meeting)
    assert response.status_code == 200
    text = _text(response.content, tmp_path)
    assert "草稿" in text and "需求B驗收" in text and "計畫" in text
