"""Issue 15's "Must show" journey in real Chromium, by the labels people read.

市場部 (the lead) and 技術部 run 「Q1 會員日活動」, 已立項. Over two weeks of a moved
clock (time_machine, forward from today, so that the browser keeps its cookies):

1. Monday: the initiator, 王小美, schedules the kick-off (啟動會) for Wednesday 14:00
   with an agenda, from the meetings card of the request page.
2. The invitations leave through the outbox to a real SMTP server; the .ics attached
   to a participant's e-mail is parsed back (METHOD:REQUEST, the meeting's UID, the
   attendees, the time).
3. Wednesday 15:30: the recorder, 陳怡君, opens the minutes from her to-do page and files
   them with two conclusions, a problem and two action items (and the breakdown agreed);
   the heads then sign the breakdown, as they do on the breakdown page: 進行中.
4. Thursday: 王雅婷 finds her action item in 我的任務, updates its progress and submits
   it.
5. The organiser confirms its closure (閉環確認) from her to-do page. 郭志明's item,
   due Thursday 17:00, is still open on Friday: the nightly warning run mails him a
   digest naming it, and 我的任務 shows it late.
6. The following Monday: the organiser schedules the next meeting from the minutes'
   「下次會議」 (Friday 16:00), makes it the weekly progress meeting (週例會), and its page
   opens with the open item (and the open problem) carried over; the closed one is not.
7. The minutes print: the PDF link of the kick-off page gives a PDF with the topic,
   the conclusions and the action items in it.

The labels are the zh-Hant ones: typed out where the catalog has them, and read from
the catalog (`zh`) for the model fields' names and choices, which are translated
separately. The `page` fixture fails the test on any browser console error.
"""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from icalendar import Calendar
from playwright.sync_api import expect

from collab.models import WarningDigest, WarningItem
from meetings_app import ics
from meetings_app.choices import (
    ActionState,
    Attendance,
    MeetingKind,
    MeetingState,
    ProblemStatus,
)
from meetings_app.models import (
    ActionDelivery,
    ActionItem,
    ActionProgress,
    Meeting,
    Minutes,
    MinutesItem,
    Problem,
)
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from tasks_app import services as task_services
from tests.factories import (
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_task,
)
from tests.helpers import browser_switch_user, wait_for
from tests.live_worker import smtp_sink
from tests.test_meetings_pdf import _text as pdf_text
from tests.test_warning_rules import at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOPIC = "Q1 會員日活動協作啟動會"
AGENDA = ["確認活動目標與範圍", "任務分工與 RACI"]
CONCLUSIONS = ["活動目標:會員日營收提升 15%", "依任務分工表執行,週五例會追蹤"]
PROBLEM = "會員資料介面尚未開放,影響活動頁個人化"
ITEM_DONE = "提供會員 API 介面文件"
ITEM_LATE = "完成活動頁視覺稿"
NEXT_FOCUS = "檢視行動項進度"
WEEKLY_TOPIC = "Q1 會員日活動週例會"


def zh(text) -> str:
    """What the zh-Hant pages show for a lazy label (a field's name, a choice)."""
    with translation.override("zh-hant"):
        return str(text)


def field(model, name: str) -> str:
    """The label of a form field named after the model field `model.name`."""
    return zh(model._meta.get_field(name).verbose_name)


def exactly(label: str) -> re.Pattern:
    """A label that is `label` alone (a required field's label ends with its " *")."""
    return re.compile(rf"^{re.escape(label)}(\s*\*)?$")


def _cast():
    mkt = DepartmentFactory(code="mkt", name="市場部")
    tech = DepartmentFactory(code="tech", name="技術部")
    people = {
        "initiator": UserFactory(username="amy", full_name="王小美", department=mkt),
        "mkt_head": UserFactory(username="mkt_head", full_name="林美玲", department=mkt),
        "tech_head": UserFactory(username="tech_head", full_name="蔡宗翰", department=tech),
        "recorder": UserFactory(username="recorder", full_name="陳怡君", department=mkt),
        "designer": UserFactory(username="designer", full_name="郭志明", department=mkt),
        "engineer": UserFactory(username="engineer", full_name="王雅婷", department=tech),
    }
    mkt.heads.add(people["mkt_head"])
    tech.heads.add(people["tech_head"])
    return {"mkt": mkt, "tech": tech}, people


def _log_in(page, live_server, user) -> None:
    browser_switch_user(page, live_server, user.username)


def _click_to(page, target, url=re.compile(".*")) -> None:
    with page.expect_navigation(url=url):
        target.click()


def _open_act(page, name: str, label: str):
    """Open the action page's collapsed form `name` by its button and wait until Bootstrap's
    collapse has finished (a click while the panel still grows can land beside the button),
    and return the form."""
    page.get_by_role("button", name=label).first.click()
    page.locator(f"#act-{name}-panel.collapse.show").wait_for()
    return page.locator(f"#act-{name}-form")


def _row(page, prefix: str, index: int):
    """Row `index` of the minutes editor's list `prefix` (items, problems, actions)."""
    return page.locator(f"#{prefix}-forms [data-formset-row]").nth(index)


def _attachment(message) -> Calendar:
    """The invite.ics attached to an e-mail, parsed."""
    [part] = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    return Calendar.from_ical(part.get_payload(decode=True))


def test_issue15_meeting_minutes_and_action_items(
    page, live_server, settings, time_machine, pmo, tmp_path
):
    settings.SITE_URL = live_server.url
    depts, people = _cast()
    initiator, recorder = people["initiator"], people["recorder"]
    engineer, designer = people["engineer"], people["designer"]
    invited = [people["mkt_head"], people["tech_head"], engineer, designer]

    # Two weeks from a Monday at least a week ahead: the clock only ever moves forward
    # from the real one (the browser drops cookies that expire in its past).
    today = timezone.localdate()
    monday = today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)
    wednesday, thursday, friday = (monday + dt.timedelta(days=n) for n in (2, 3, 4))
    next_monday, next_friday = monday + dt.timedelta(days=7), monday + dt.timedelta(days=11)
    time_machine.move_to(at(monday, 9), tick=True)

    req = make_approved_request(
        initiator=initiator, departments=[depts["mkt"], depts["tech"]], lead=depts["mkt"],
        pmo=pmo, committed="",
    )  # fmt: skip
    CollabRequest.objects.filter(pk=req.pk).update(name="Q1 會員日活動")
    for department, owner, head in [
        (depts["mkt"], designer, people["mkt_head"]),
        (depts["tech"], engineer, people["tech_head"]),
    ]:
        make_task(
            request=req, responsible=owner, accountable=head, department=department,
            name=f"{department.name}活動執行", due_at=at(monday + dt.timedelta(days=30), 17),
        )  # fmt: skip
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm asks first

    with smtp_sink(settings) as sink:
        # 1. The initiator schedules the kick-off from the request page's meetings card.
        _log_in(page, live_server, initiator)
        page.goto(live_server.url + req.get_absolute_url())
        card = page.locator("#meetings-card")
        expect(card).to_contain_text("尚無會議")
        _click_to(page, card.get_by_role("link", name="安排會議"))
        expect(page.get_by_role("heading", name="安排會議", level=1)).to_be_visible()
        page.get_by_label(field(Meeting, "topic")).fill(TOPIC)
        page.get_by_label(field(Meeting, "kind")).select_option(label=zh(MeetingKind.KICKOFF.label))
        page.get_by_label("日期").fill(wednesday.isoformat())
        page.get_by_label(exactly("起")).fill("14:00")
        page.get_by_label(exactly("迄")).fill("15:00")
        expect(page.locator("#short-notice")).to_be_hidden()  # two days ahead
        page.get_by_label(field(Meeting, "location")).fill("3F 大會議室")
        page.get_by_label(field(Meeting, "recorder")).select_option(label="陳怡君 · 市場部")
        page.get_by_label(field(Meeting, "participants")).select_option(
            label=["林美玲", "蔡宗翰", "王雅婷", "郭志明"]
        )
        page.get_by_label(exactly("議程")).fill("\n".join(AGENDA))
        _click_to(page, page.get_by_role("button", name="安排並邀請"))
        kickoff = Meeting.objects.get(topic=TOPIC)
        assert page.url == live_server.url + kickoff.get_absolute_url()
        expect(page.get_by_text("會議已安排，邀請已寄出。")).to_be_visible()
        expect(page.locator("h1")).to_have_text(TOPIC)
        expect(page.locator("#agenda-items li")).to_have_text(AGENDA)
        expect(page.locator("#meeting-summary")).to_contain_text("陳怡君")
        assert kickoff.kind == MeetingKind.KICKOFF and kickoff.organiser == initiator
        assert kickoff.starts_at == at(wednesday, 14)

        # 2. Everyone invited gets the e-mail with a calendar that parses back.
        everyone = [initiator, recorder, *invited]
        sink.wait_for(len(everyone))
        for person in everyone:
            [message] = sink.to(person.email)
            assert TOPIC in str(message["Subject"])
        message = sink.to(engineer.email)[0]
        assert "3F 大會議室" in message.get_body(("plain",)).get_content()
        calendar = _attachment(message)
        [event] = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == f"{kickoff.uid}@{ics.host()}"
        assert str(event["SUMMARY"]) == TOPIC
        assert event.start == at(wednesday, 14) and event.end == at(wednesday, 15)
        assert str(event["ORGANIZER"]) == f"mailto:{initiator.email}"
        attendees = {str(a).removeprefix("mailto:") for a in event["ATTENDEE"]}
        assert attendees == {p.email for p in [recorder, *invited]}
        assert all(a.params["PARTSTAT"] == "NEEDS-ACTION" for a in event["ATTENDEE"])
        assert "1. 確認活動目標與範圍\n2. 任務分工與 RACI" in str(event["DESCRIPTION"])

        # 3. After the meeting, the recorder files the minutes from her to-do page.
        time_machine.move_to(at(wednesday, 15, 30), tick=True)
        _log_in(page, live_server, recorder)
        _click_to(page, page.get_by_role("link", name="待辦事項", exact=True))
        todo = page.locator("#todo-minutes")
        expect(todo).to_contain_text("待寫紀要")
        _click_to(page, todo.get_by_role("link", name=TOPIC))
        expect(page.locator("h1")).to_contain_text(TOPIC)
        # Opening the editor starts nothing; "Write the minutes" (a POST) starts the draft.
        _click_to(page, page.get_by_role("button", name="撰寫紀要"))
        for index, conclusion in enumerate(CONCLUSIONS):
            row = _row(page, "items", index)
            expect(row.get_by_label(field(MinutesItem, "title"))).to_have_value(AGENDA[index])
            row.get_by_label(field(MinutesItem, "conclusion")).fill(conclusion)
        _row(page, "items", 0).get_by_label(field(MinutesItem, "discussion")).fill(
            "市場部說明活動檔期,技術部評估會員資料介面。"
        )
        absent = page.locator("#attendance-table tr", has_text="蔡宗翰")
        absent.get_by_label("出席情況").select_option(label=zh(Attendance.ABSENT.label))
        absent.get_by_label("備註").fill("出差")

        page.get_by_role("button", name="新增問題").click()
        problem = _row(page, "problems", 0)
        problem.get_by_label(field(Problem, "description")).fill(PROBLEM)
        problem.get_by_label(field(Problem, "department")).select_option(label="技術部")

        actions = [
            # description, department, owner, deliverable, due, problem #
            (ITEM_DONE, "技術部", "王雅婷", "API 文件 v1", friday, "1"),
            (ITEM_LATE, "市場部", "郭志明", "活動頁視覺稿(桌機與手機版)", thursday, ""),
        ]
        for index, (what, department, owner, deliverable, due, number) in enumerate(actions):
            page.get_by_role("button", name="新增行動項").click()
            row = _row(page, "actions", index)
            row.get_by_label(field(ActionItem, "description")).fill(what)
            row.get_by_label(field(ActionItem, "responsible_department")).select_option(
                label=department
            )
            row.get_by_label(field(ActionItem, "owner")).select_option(label=owner)
            row.get_by_label(field(ActionItem, "deliverable")).fill(deliverable)
            row.get_by_label("截止日期").fill(due.isoformat())
            expect(row.get_by_label("截止時刻")).to_have_value("17:00")  # seed 003's 17:00前
            if number:
                row.get_by_label("對應問題編號").fill(number)

        page.get_by_label("下次會議日期").fill(next_friday.isoformat())
        page.get_by_label(exactly("時間")).fill("16:00")
        page.get_by_label(field(Minutes, "next_focus")).fill(NEXT_FOCUS)
        page.get_by_label(field(Minutes, "breakdown_agreed")).check()
        _click_to(page, page.get_by_role("button", name="歸檔紀要"))

        assert page.url == live_server.url + kickoff.get_absolute_url()
        expect(page.get_by_text("紀要已歸檔，並已寄送給所有相關人員。")).to_be_visible()
        expect(page.locator("#minutes-items tbody tr")).to_have_count(2)
        for conclusion in CONCLUSIONS:
            expect(page.locator("#minutes-items")).to_contain_text(conclusion)
        expect(page.locator("#problems")).to_contain_text(PROBLEM)
        table = page.locator("#meeting-actions-table")
        expect(table.locator("tbody tr")).to_have_count(2)
        expect(table).to_contain_text(ITEM_DONE)
        expect(table).to_contain_text(ITEM_LATE)
        expect(page.locator("#participant-list [data-attendance=absent]")).to_contain_text("蔡宗翰")
        expect(page.locator("#next-meeting")).to_contain_text(NEXT_FOCUS)
        expect(page.locator("#breakdown-agreed")).to_be_visible()
        kickoff.refresh_from_db()
        assert kickoff.state == MeetingState.MINUTES_FILED
        done_item = ActionItem.objects.get(description=ITEM_DONE)
        late_item = ActionItem.objects.get(description=ITEM_LATE)
        assert done_item.problem.description == PROBLEM
        assert (done_item.owner, late_item.owner) == (engineer, designer)
        assert late_item.due_at == at(thursday, 17)
        assert {done_item.state, late_item.state} == {ActionState.TODO}

        # The heads sign the breakdown the kick-off agreed (on the breakdown page, not
        # this journey's subject): the request is under way, its items watched.
        for department in depts.values():
            task_services.breakdown_sign(
                request=req, by=department.heads.get(), department=department
            )
        assert CollabRequest.objects.get(pk=req.pk).state == RequestState.IN_PROGRESS

        # 4. Thursday: the owner finds the item in 我的任務, updates it, submits it.
        time_machine.move_to(at(thursday, 10), tick=True)
        _log_in(page, live_server, engineer)
        _click_to(page, page.get_by_role("link", name="我的任務", exact=True))
        mine = page.locator("#section-actions")
        expect(mine.get_by_role("heading", name="我的行動項")).to_be_visible()
        card = mine.locator("article", has_text=ITEM_DONE)
        expect(card).to_contain_text(TOPIC)
        _click_to(page, card.get_by_role("link", name=ITEM_DONE))
        expect(page.locator("#action-description")).to_have_text(ITEM_DONE)

        progress = _open_act(page, "progress", "更新進度")
        progress.get_by_label(field(ActionProgress, "percent")).fill("60")
        progress.get_by_label(field(ActionProgress, "note")).fill("介面規格初稿已完成。")
        _click_to(page, progress.get_by_role("button", name="更新進度"))
        expect(page.get_by_text("進度已儲存。")).to_be_visible()
        expect(page.locator("#latest-percent")).to_have_text("60%")
        expect(page.locator("#progress-updates")).to_contain_text("介面規格初稿已完成。")

        submit = _open_act(page, "submit", "提交成果")
        submit.get_by_label(field(ActionDelivery, "note")).fill("API 文件 v1 已上傳 wiki。")
        _click_to(page, submit.get_by_role("button", name="提交成果"))
        expect(page.get_by_text("交付成果已提交，等待閉環確認。")).to_be_visible()
        expect(page.locator("#action-badges")).to_contain_text(zh(ActionState.SUBMITTED.label))
        expect(page.locator("#delivery-list")).to_contain_text("API 文件 v1 已上傳 wiki。")

        # 5. The organiser confirms its closure from her to-do page…
        _log_in(page, live_server, initiator)
        _click_to(page, page.get_by_role("link", name="待辦事項", exact=True))
        confirm = page.locator("#todo-confirm-actions")
        expect(confirm).to_contain_text("待閉環確認的行動項")
        expect(confirm).not_to_contain_text(ITEM_LATE)
        _click_to(page, confirm.get_by_role("link", name=ITEM_DONE))
        accept = _open_act(page, "accept", "閉環確認")
        accept.get_by_label("備註").fill("文件完整,結案。")
        _click_to(page, accept.get_by_role("button", name="閉環確認"))
        expect(page.get_by_text("已閉環確認：此行動項已解決。")).to_be_visible()
        expect(page.locator("#action-badges")).to_contain_text(zh(ActionState.DONE.label))
        assert ActionItem.objects.get(pk=done_item.pk).state == ActionState.DONE

        # …and the other item, due Thursday 17:00, is late in Friday's nightly run.
        time_machine.move_to(at(friday, 6), tick=True)
        sink.clear()
        out = StringIO()
        call_command("send_warnings", stdout=out)  # what beat runs each night
        assert "[task_overdue]" in out.getvalue()
        kind = ContentType.objects.get_for_model(ActionItem)
        warned = WarningItem.objects.filter(content_type=kind, rule="task_overdue")
        assert set(warned.values_list("object_id", flat=True)) == {late_item.pk}
        assert designer.pk in set(warned.values_list("recipient", flat=True))
        wait_for(lambda: sink.to(designer.email), "the warning digest")
        [digest] = sink.to(designer.email)
        assert WarningDigest.objects.get(recipient=designer).sent_at is not None
        body = digest.get_body(("plain",)).get_content()
        assert ITEM_LATE in body and TOPIC in body
        assert reverse("meetings_app:action", args=[late_item.pk]) in body
        assert ITEM_DONE not in body

        _log_in(page, live_server, designer)
        _click_to(page, page.get_by_role("link", name="我的任務", exact=True))
        late_card = page.locator("#section-actions article", has_text=ITEM_LATE)
        expect(late_card.locator('[data-badge="overdue"]')).to_be_visible()
        expect(page.locator("#section-actions")).not_to_contain_text(ITEM_DONE)

        # 6. The following Monday: the next meeting, from the minutes' 「下次會議」, is the
        # weekly progress meeting; it opens with what is still open.
        time_machine.move_to(at(next_monday, 9), tick=True)
        sink.clear()
        _log_in(page, live_server, initiator)
        page.goto(live_server.url + kickoff.get_absolute_url())
        page.get_by_role("button", name="安排下次會議").click()
        dialog = page.locator("#next-modal")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text(NEXT_FOCUS)
        _click_to(page, dialog.get_by_role("button", name="安排並邀請"))
        expect(page.get_by_text("下次會議已安排，邀請已寄出。請確認會議安排。")).to_be_visible()
        weekly = Meeting.objects.get(previous=kickoff)
        assert weekly.starts_at == at(next_friday, 16)
        assert page.url == live_server.url + weekly.get_absolute_url()
        # Its invitation's agenda follows up the open item, not the closed one.
        wait_for(lambda: sink.to(designer.email), "the next meeting's invitation")
        [event] = _attachment(sink.to(designer.email)[0]).walk("VEVENT")
        assert str(event["UID"]) == f"{weekly.uid}@{ics.host()}" != f"{kickoff.uid}@{ics.host()}"
        assert f"跟進：{ITEM_LATE}" in str(event["DESCRIPTION"])
        assert ITEM_DONE not in str(event["DESCRIPTION"])

        _click_to(page, page.get_by_role("link", name="變更", exact=True))
        page.get_by_label(field(Meeting, "topic")).fill(WEEKLY_TOPIC)
        page.get_by_label(field(Meeting, "kind")).select_option(label=zh(MeetingKind.WEEKLY.label))
        _click_to(page, page.get_by_role("button", name="儲存並寄出更新"))
        expect(page.get_by_text("會議已變更。")).to_be_visible()
        expect(page.locator("h1")).to_have_text(WEEKLY_TOPIC)
        expect(page.get_by_text(zh(MeetingKind.WEEKLY.label), exact=True)).to_be_visible()
        expect(page.locator("#previous-meeting")).to_contain_text(TOPIC)
        expect(page.locator("#agenda-items")).to_contain_text(NEXT_FOCUS)
        expect(page.locator("#agenda-items")).to_contain_text(f"跟進：{ITEM_LATE}")
        carried = page.locator("#carried-over")
        expect(carried.get_by_role("heading", name="先前會議尚未結案的事項")).to_be_visible()
        expect(carried.locator("#carried-actions tbody tr")).to_have_count(1)
        late_row = carried.locator("#carried-actions tbody tr", has_text=ITEM_LATE)
        expect(late_row).to_have_class(re.compile("row-late"))
        expect(carried).not_to_contain_text(ITEM_DONE)
        expect(carried.locator("#carried-problems")).to_contain_text(PROBLEM)
        expect(carried.locator("#carried-problems")).to_contain_text(zh(ProblemStatus.OPEN.label))
        weekly.refresh_from_db()
        assert weekly.kind == MeetingKind.WEEKLY and weekly.state == MeetingState.SCHEDULED

    # 7. The minutes print: the kick-off page's PDF link, fetched in the browser's session.
    page.goto(live_server.url + kickoff.get_absolute_url())
    href = page.get_by_role("link", name="會議紀要（PDF）").get_attribute("href")
    assert href == reverse("meetings_app:minutes-pdf", args=[kickoff.pk])
    response = page.context.request.get(live_server.url + href)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    content = response.body()
    assert content.startswith(b"%PDF")
    text = pdf_text(content, tmp_path)  # without blanks: wrapped cells read as one
    for expected in [TOPIC, *CONCLUSIONS, PROBLEM, ITEM_DONE, ITEM_LATE, "王雅婷", "郭志明"]:
        assert "".join(expected.split()) in text, expected
