"""The meeting services (issue 15): scheduling and changing a meeting with its invitation,
the minutes (draft, save, file, correct), problems, the action items' life (progress,
submission, 閉環確認, escalation, conversion into a task, cancellation), the next meeting
from the minutes, and a weekly series.

Each service checks who acts (meetings_app.permissions), refuses an archived case and a
state moved on, writes its history row as a kind with parameters (read in the reader's
language) and leaves notifications and e-mails in the outbox.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from collab.models import Notification, OutboxMessage, User
from collab.registry import registry
from meetings_app import services
from meetings_app.choices import (
    ActionEventKind,
    ActionState,
    Attendance,
    MeetingEventKind,
    MeetingForm,
    MeetingKind,
    MeetingState,
    MinutesState,
    ProblemStatus,
)
from meetings_app.models import (
    DEFAULT_ACTION_DUE_TIME,
    ActionDelivery,
    ActionItem,
    ActionProgress,
    Meeting,
    MeetingEvent,
    MeetingSeries,
    Minutes,
    Problem,
)
from meetings_app.services import ActionConflict, ActionRefused, MeetingConflict, MeetingRefused
from requests_app.choices import RequestState
from requests_app.models import CaseArchived, CollabRequest
from review_app.services import archive as archive_services
from tasks_app import services as task_services
from tasks_app.choices import RaciRole, TaskEventKind
from tasks_app.models import Breakdown, TaskEvent
from tests.concurrency import race, slow
from tests.factories import DepartmentFactory, UserFactory, make_head, make_mkt_tech_request
from tests.review_archive_fixtures import file_retrospective

pytestmark = pytest.mark.django_db


# --- the world -------------------------------------------------------------------------


@pytest.fixture
def w(pmo):
    """A 已立項 request of marketing (lead) with tech; the initiator organises, a
    marketing colleague records, a tech member owns the action items; an outsider of a
    third department takes no part."""
    w = make_mkt_tech_request(pmo=pmo)
    w.recorder = UserFactory(department=w.mkt, full_name="記錄人")
    w.owner = UserFactory(department=w.tech, full_name="行動負責人")
    w.tech_staff = UserFactory(department=w.tech)
    w.other = DepartmentFactory()
    w.outsider = UserFactory(department=w.other)
    w.other_head = make_head(w.other, admin_groups=False)
    return w


def schedule(w, **fields) -> Meeting:
    start = fields.pop("starts_at", timezone.now() + dt.timedelta(days=2))
    arguments = {
        "by": w.initiator,
        "request": w.request,
        "topic": "協作啟動會",
        "kind": MeetingKind.KICKOFF,
        "starts_at": start,
        "ends_at": start + dt.timedelta(hours=1),
        "form": MeetingForm.ON_SITE,
        "location": "3F 大會議室",
        "recorder": w.recorder,
        "participants": [w.owner, w.tech_head],
        "agenda": ["確認專案目標", ("任務分工", w.tech)],
        **fields,
    }
    return services.meeting_schedule(**arguments)


def weekly_series(w, **fields) -> MeetingSeries:
    """A weekly series of the request from the day after tomorrow, Fridays or not."""
    first = timezone.localdate() + dt.timedelta(days=2)
    arguments = {
        "by": w.initiator,
        "request": w.request,
        "topic": "專案週例會",
        "weekday": first.weekday(),
        "start_time": dt.time(16, 0),
        "duration_minutes": 60,
        "first_date": first,
        "holiday_rule": "skip",
        "form": MeetingForm.ONLINE,
        "online_link": "https://meet.example.com/weekly",
        "recorder": w.recorder,
        "participants": [w.owner],
        "agenda_template": "上週進度\n本週計畫",
    }
    return services.series_create(**{**arguments, **fields})


def held(meeting: Meeting, *, days_ago: int = 1) -> Meeting:
    """Move a meeting into the past, as if it had taken place (it was called ahead)."""
    start = timezone.now() - dt.timedelta(days=days_ago)
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=start, ends_at=start + dt.timedelta(hours=1)
    )
    return Meeting.objects.get(pk=meeting.pk)


def due(days: int = 5) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, DEFAULT_ACTION_DUE_TIME))


def action_row(w, description="整理客戶投訴詳情", **fields) -> dict:
    return {
        "pk": None,
        "description": description,
        "responsible_department": w.tech,
        "owner": w.owner,
        "deliverable": "投訴分析報告",
        "due_at": due(),
        **fields,
    }


def problem_row(description="客服回覆時間過長", **fields) -> dict:
    return {"pk": None, "description": description, "department": None, **fields}


def write_minutes(w, meeting, *, by=None, problems=None, actions=None, **fields) -> Minutes:
    """Draft and save complete minutes: each item concluded, everyone present."""
    by = by or w.recorder
    minutes = services.minutes_draft(meeting=meeting, by=by)
    items = [
        {"title": item.title, "discussion": "充分討論", "conclusion": f"結論{n}"}
        for n, item in enumerate(minutes.items.all(), start=1)
    ]
    attendance = {row.user_id: (Attendance.PRESENT, "") for row in minutes.attendance.all()}
    return services.minutes_save(
        minutes=minutes,
        by=by,
        actual_start=meeting.starts_at,
        actual_end=meeting.ends_at,
        items=items,
        attendance=attendance,
        problems=[problem_row()] if problems is None else problems,
        actions=[action_row(w)] if actions is None else actions,
        **fields,
    )


def filed_meeting(w, **fields) -> tuple[Meeting, Minutes]:
    meeting = held(schedule(w))
    minutes = write_minutes(w, meeting, **fields)
    minutes = services.minutes_file(minutes=minutes, by=w.recorder)
    return Meeting.objects.get(pk=meeting.pk), minutes


def the_action(meeting) -> ActionItem:
    return ActionItem.objects.get(meeting=meeting)


def notified(event_title_part: str = "") -> set:
    rows = Notification.objects.all()
    if event_title_part:
        rows = rows.filter(title__contains=event_title_part)
    return {n.recipient for n in rows}


def texts(event) -> tuple[str, str]:
    """The history line in Chinese and in English."""
    with translation.override("zh-hant"):
        chinese = event.text
    with translation.override("en"):
        english = event.text
    return chinese, english


def archive(request: CollabRequest, *, by) -> CollabRequest:
    """Complete (forced) and archive the case, its retrospective filed."""
    CollabRequest.objects.filter(pk=request.pk).update(
        state=RequestState.COMPLETED, completed_at=timezone.now()
    )
    request = CollabRequest.objects.get(pk=request.pk)
    file_retrospective(request, by=request.initiator)
    return archive_services.archive_case(request=request, by=by).request


def invitation_rows(meeting, method) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(
            kind="meeting_invitation", params__meeting=meeting.pk, params__method=method
        )
    )


# --- scheduling --------------------------------------------------------------------------


def test_scheduling_a_kickoff_sends_the_invitation_with_the_agenda(w):
    """The meeting takes the request's departments, its agenda in order, a SCHEDULED line
    and an invitation (in-app and an outbox e-mail with the .ics) to every person."""
    meeting = schedule(w)
    assert meeting.organiser == w.initiator and meeting.state == MeetingState.SCHEDULED
    assert set(meeting.departments.all()) == {w.mkt, w.tech}
    assert [(a.title, a.department) for a in meeting.agenda.all()] == [
        ("確認專案目標", None),
        ("任務分工", w.tech),
    ]
    event = meeting.events.get()
    assert event.kind == MeetingEventKind.SCHEDULED and event.comment == ""
    people = {w.initiator, w.recorder, w.owner, w.tech_head}
    rows = invitation_rows(meeting, "REQUEST")
    assert {row.recipient for row in rows} == people
    assert {n.recipient for n in Notification.objects.filter(url=meeting.get_absolute_url())} == (
        people
    )


def test_less_than_a_day_ahead_needs_a_reason_kept_in_the_history(w):
    soon = timezone.now() + dt.timedelta(hours=3)
    with pytest.raises(ValidationError) as refused:
        schedule(w, starts_at=soon)
    assert "short_notice_reason" in refused.value.message_dict
    assert not Meeting.objects.exists()
    meeting = schedule(w, starts_at=soon, short_notice_reason="客訴升溫，需當日處理")
    event = meeting.events.get()
    assert event.comment == "客訴升溫，需當日處理" and event.params["short_notice"] is True
    chinese, english = texts(event)
    assert "臨時通知" in chinese and "short notice" in english


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"topic": "  "}, "topic"),
        ({"form": MeetingForm.ONLINE, "online_link": ""}, "online_link"),
        ({"form": MeetingForm.ON_SITE, "location": ""}, "location"),
        ({"starts_at": timezone.now() - dt.timedelta(hours=2)}, "starts_at"),
    ],
)
def test_a_plan_that_cannot_be_a_meeting_is_refused(w, fields, field):
    with pytest.raises(ValidationError) as refused:
        schedule(w, **fields)
    assert field in refused.value.message_dict


def test_the_meeting_must_end_after_it_starts_and_invite_active_people(w):
    start = timezone.now() + dt.timedelta(days=2)
    with pytest.raises(ValidationError) as refused:
        schedule(w, starts_at=start, ends_at=start)
    assert "ends_at" in refused.value.message_dict
    gone = UserFactory(department=w.tech, is_active=False)
    with pytest.raises(ValidationError) as refused:
        schedule(w, participants=[gone])
    assert "participants" in refused.value.message_dict


def test_who_may_call_a_meeting(w, pmo):
    """A request's meeting: whoever takes part in it; a meeting of no request: the PMO
    and department heads; nobody for a request that is closed."""
    with pytest.raises(PermissionDenied):
        schedule(w, by=w.outsider)
    assert schedule(w, by=w.tech_staff).organiser == w.tech_staff
    standing = {"request": None, "departments": [w.mkt, w.tech], "topic": "跨部門週會"}
    with pytest.raises(PermissionDenied):
        schedule(w, by=w.tech_staff, **standing)
    with pytest.raises(ValidationError) as refused:
        schedule(w, by=pmo, **{**standing, "departments": []})
    assert "departments" in refused.value.message_dict
    assert schedule(w, by=pmo, **standing).request is None
    assert schedule(w, by=w.other_head, **standing).organiser == w.other_head
    CollabRequest.objects.filter(pk=w.request.pk).update(state=RequestState.CANCELLED)
    with pytest.raises(MeetingRefused):
        schedule(w)


# --- changing and cancelling ----------------------------------------------------------------


def test_a_new_time_and_people_resend_the_invitation_and_cancel_the_removed(w):
    """Same UID, SEQUENCE + 1: a REQUEST to everyone invited now, a CANCEL to the person
    taken off; the history says what changed and the time from → to."""
    meeting = schedule(w)
    uid = meeting.uid
    new_start = meeting.starts_at + dt.timedelta(days=1)
    meeting = services.meeting_update(
        meeting=meeting,
        by=w.recorder,
        starts_at=new_start,
        ends_at=new_start + dt.timedelta(hours=2),
        participants=[w.owner, w.tech_staff],
    )
    meeting.refresh_from_db()
    assert meeting.uid == uid and meeting.ics_sequence == 1
    requests = [r for r in invitation_rows(meeting, "REQUEST") if r.params["sequence"] == 1]
    assert {r.recipient for r in requests} == {w.initiator, w.recorder, w.owner, w.tech_staff}
    assert {r.recipient for r in invitation_rows(meeting, "CANCEL")} == {w.tech_head}
    event = meeting.events.get(kind=MeetingEventKind.RESCHEDULED)
    assert event.params["changed"] == ["starts_at", "ends_at", "participants"]
    assert event.params["to"]["starts_at"] == new_start.isoformat()
    chinese, english = texts(event)
    local = timezone.localtime(new_start)
    assert f"{local:%Y-%m-%d %H:%M}" in chinese and "→" in chinese
    assert english.startswith("Changed: starts at, ends at, participants")


def test_an_update_that_changes_nothing_writes_and_sends_nothing(w):
    meeting = schedule(w)
    before = OutboxMessage.objects.count()
    services.meeting_update(
        meeting=meeting, by=w.initiator, topic=" 協作啟動會 ", location="3F 大會議室"
    )
    meeting.refresh_from_db()
    assert meeting.ics_sequence == 0 and meeting.events.count() == 1
    assert OutboxMessage.objects.count() == before


def test_a_change_of_focus_is_logged_without_a_new_invitation(w):
    meeting = schedule(w)
    before = OutboxMessage.objects.count()
    services.meeting_update(meeting=meeting, by=w.initiator, focus="確認上線日期")
    meeting.refresh_from_db()
    assert meeting.focus == "確認上線日期" and meeting.ics_sequence == 0
    assert meeting.events.filter(kind=MeetingEventKind.RESCHEDULED).get().params == {
        "changed": ["focus"]
    }
    assert OutboxMessage.objects.count() == before


def test_only_the_organiser_recorder_or_pmo_change_a_scheduled_meeting(w, pmo):
    meeting = schedule(w)
    for person in (w.owner, w.tech_head, w.outsider):
        with pytest.raises(PermissionDenied):
            services.meeting_update(meeting=meeting, by=person, topic="改期")
    services.meeting_update(meeting=meeting, by=pmo, topic="啟動會（改）")
    services.meeting_cancel(meeting=Meeting.objects.get(pk=meeting.pk), by=pmo, reason="延期")
    with pytest.raises(MeetingRefused):
        services.meeting_update(meeting=Meeting.objects.get(pk=meeting.pk), by=pmo, topic="再改")


def test_cancelling_sends_a_cancel_to_everyone_and_keeps_the_reason(w):
    meeting = schedule(w)
    with pytest.raises(ValidationError):
        services.meeting_cancel(meeting=meeting, by=w.initiator, reason=" ")
    with pytest.raises(PermissionDenied):
        services.meeting_cancel(meeting=meeting, by=w.owner, reason="不需要")
    meeting = services.meeting_cancel(meeting=meeting, by=w.initiator, reason="需求暫停")
    assert meeting.state == MeetingState.CANCELLED and meeting.cancel_reason == "需求暫停"
    assert meeting.ics_sequence == 1
    assert {r.recipient for r in invitation_rows(meeting, "CANCEL")} == {
        w.initiator,
        w.recorder,
        w.owner,
        w.tech_head,
    }
    assert meeting.events.get(kind=MeetingEventKind.CANCELLED).comment == "需求暫停"


def test_a_state_other_than_the_one_seen_is_a_conflict(w):
    meeting = schedule(w)
    with pytest.raises(MeetingConflict):
        services.meeting_cancel(
            meeting=meeting, by=w.initiator, reason="x", expected_state=MeetingState.CANCELLED
        )
    stale = Meeting.objects.get(pk=meeting.pk)
    services.meeting_cancel(meeting=meeting, by=w.initiator, reason="需求暫停")
    with translation.override("en"), pytest.raises(MeetingConflict) as conflict:
        services.meeting_cancel(meeting=stale, by=w.recorder, reason="重複")
    assert "it is now “Cancelled”" in str(conflict.value)


def test_a_comment_tells_the_organiser_and_recorder_but_not_its_author(w):
    meeting = schedule(w)
    Notification.objects.all().delete()
    with pytest.raises(ValidationError):
        services.meeting_comment(meeting=meeting, by=w.owner, body="  ")
    with pytest.raises(PermissionDenied):
        services.meeting_comment(meeting=meeting, by=w.outsider, body="我也想參加")
    comment = services.meeting_comment(meeting=meeting, by=w.owner, body="請準備上月數據")
    assert comment.author == w.owner
    assert notified() == {w.initiator, w.recorder}
    Notification.objects.all().delete()
    services.meeting_comment(meeting=meeting, by=w.recorder, body="收到")
    assert notified() == {w.initiator}
    assert OutboxMessage.objects.filter(kind="notification", recipient=w.initiator).exists()


# --- minutes -------------------------------------------------------------------------------


def test_the_first_draft_takes_the_agenda_and_the_people_invited(w):
    meeting = schedule(w)
    minutes = services.minutes_draft(meeting=meeting, by=w.recorder)
    assert minutes.version == 1 and minutes.state == MinutesState.DRAFT
    assert [i.title for i in minutes.items.all()] == ["確認專案目標", "任務分工"]
    assert {row.user for row in minutes.attendance.all()} == {
        w.initiator,
        w.recorder,
        w.owner,
        w.tech_head,
    }
    assert {row.attendance for row in minutes.attendance.all()} == {Attendance.UNKNOWN}
    assert services.minutes_draft(meeting=meeting, by=w.initiator) == minutes
    with pytest.raises(PermissionDenied):
        services.minutes_draft(meeting=meeting, by=w.owner)


def test_an_action_item_needs_its_owner_department_and_a_deadline_after_the_meeting(w):
    meeting = held(schedule(w))
    bad = [
        action_row(w, owner=None),
        action_row(w, responsible_department=None),
        action_row(w, due_at=meeting.starts_at - dt.timedelta(hours=1)),
        action_row(w, description=" "),
        action_row(w, problem_index=3),
    ]
    with pytest.raises(ValidationError) as refused:
        write_minutes(w, meeting, actions=bad)
    messages = refused.value.message_dict["actions"]
    assert len(messages) == 5
    assert any("第 3 列" in m or "Row 3" in m for m in messages)
    assert not ActionItem.objects.exists()


def test_saving_replaces_the_drafts_rows_and_links_an_action_to_its_problem(w):
    meeting = held(schedule(w))
    minutes = write_minutes(
        w,
        meeting,
        problems=[problem_row("問題甲"), problem_row("問題乙", department=w.tech)],
        actions=[action_row(w, "行動甲", problem_index=1), action_row(w, "行動乙")],
    )
    problems = {p.description: p for p in Problem.objects.all()}
    first = ActionItem.objects.get(description="行動甲")
    assert first.problem == problems["問題乙"] and first.state == ActionState.DRAFT
    assert first.start_date == timezone.localdate(meeting.starts_at)
    kept = {**action_row(w, "行動甲（修）"), "pk": first.pk}
    write_minutes(w, meeting, problems=[], actions=[kept])
    assert list(ActionItem.objects.values_list("description", flat=True)) == ["行動甲（修）"]
    assert not Problem.objects.exists()
    assert Minutes.objects.get(pk=minutes.pk).items.count() == 2


def test_filing_opens_the_action_items_and_sends_the_minutes(w, deputy, head):
    """Version 1 moves the meeting on; each owner is told of their item, the problems are
    filed, and the minutes go to the people invited and the departments' heads (and a
    deputy acting today)."""
    w.mkt.heads.add(head)
    meeting = held(schedule(w))
    minutes = write_minutes(w, meeting)
    Notification.objects.all().delete()
    minutes = services.minutes_file(minutes=minutes, by=w.recorder)
    meeting.refresh_from_db()
    assert meeting.state == MeetingState.MINUTES_FILED and meeting.minutes_filed_at
    assert minutes.state == MinutesState.FILED and minutes.filed_by == w.recorder
    action = the_action(meeting)
    assert action.state == ActionState.TODO
    assert action.start_date == timezone.localdate(meeting.starts_at)
    assert action.events.get().kind == ActionEventKind.OPENED
    assert Problem.objects.get().is_filed
    assignment = Notification.objects.get(url=action.get_absolute_url())
    assert assignment.recipient == w.owner and "協作啟動會" in assignment.title
    sent = {n.recipient for n in Notification.objects.filter(url=meeting.get_absolute_url())}
    # The recorder filed them (no message to oneself); heads of both departments and the
    # deputy acting for the marketing head are told.
    assert sent == {w.initiator, w.owner, w.tech_head, w.mkt_head, head, deputy}
    assert OutboxMessage.objects.filter(kind="notification", recipient=w.owner).count() == 2
    event = meeting.events.get(kind=MeetingEventKind.MINUTES_FILED)
    chinese, english = texts(event)
    assert chinese == "第 1 版" and english == "Version 1"


def test_minutes_are_filed_only_complete(w):
    meeting = held(schedule(w))
    minutes = services.minutes_draft(meeting=meeting, by=w.recorder)
    with pytest.raises(ValidationError) as refused:
        services.minutes_file(minutes=minutes, by=w.recorder)
    assert {"actual_start", "items", "attendance"} <= set(refused.value.message_dict)
    assert Meeting.objects.get(pk=meeting.pk).state == MeetingState.SCHEDULED


def test_filed_minutes_are_read_only(w):
    meeting, minutes = filed_meeting(w)
    with pytest.raises(MeetingRefused):
        services.minutes_save(
            minutes=minutes,
            by=w.recorder,
            actual_start=minutes.actual_start,
            actual_end=minutes.actual_end,
            items=[],
            attendance={},
            problems=[],
            actions=[],
        )
    with pytest.raises(MeetingRefused):
        services.minutes_draft(meeting=meeting, by=w.recorder)
    assert Minutes.objects.get(pk=minutes.pk).items.count() == 2


def test_a_correction_is_a_new_version_that_keeps_the_old_one(w):
    meeting, first = filed_meeting(w)
    with pytest.raises(ValidationError):
        services.minutes_correct(meeting=meeting, by=w.recorder, reason="")
    with pytest.raises(PermissionDenied):
        services.minutes_correct(meeting=meeting, by=w.owner, reason="結論有誤")
    draft = services.minutes_correct(meeting=meeting, by=w.recorder, reason="結論二記錯")
    assert draft.version == 2 and draft.state == MinutesState.DRAFT
    assert [i.conclusion for i in draft.items.all()] == ["結論1", "結論2"]
    with pytest.raises(MeetingConflict):
        services.minutes_correct(meeting=meeting, by=w.initiator, reason="再改")
    old_action = the_action(meeting)
    items = [
        {"title": i.title, "discussion": i.discussion, "conclusion": c}
        for i, c in zip(draft.items.all(), ["結論1", "結論2（更正）"], strict=True)
    ]
    attendance = {r.user_id: (r.attendance, r.note) for r in draft.attendance.all()}
    services.minutes_save(
        minutes=draft,
        by=w.recorder,
        actual_start=draft.actual_start,
        actual_end=draft.actual_end,
        items=items,
        attendance=attendance,
        problems=[],
        # The filed item is a live record: what the correction sends for it is left aside.
        actions=[{**action_row(w, "改掉"), "pk": old_action.pk}, action_row(w, "補充行動")],
    )
    services.minutes_file(minutes=draft, by=w.recorder)
    first.refresh_from_db()
    draft.refresh_from_db()
    assert first.state == MinutesState.SUPERSEDED and draft.state == MinutesState.FILED
    assert [i.conclusion for i in first.items.all()] == ["結論1", "結論2"]
    assert ActionItem.objects.get(pk=old_action.pk).description == "整理客戶投訴詳情"
    assert ActionItem.objects.get(description="補充行動").state == ActionState.TODO
    assert Problem.objects.count() == 1  # the filed problem stays
    event = meeting.events.get(kind=MeetingEventKind.MINUTES_CORRECTED)
    assert event.comment == "結論二記錯"
    chinese, english = texts(event)
    assert chinese.startswith("第 2 版取代第 1 版") and english.startswith(
        "Version 2 replaces version 1"
    )
    assert Meeting.objects.get(pk=meeting.pk).state == MeetingState.MINUTES_FILED


def test_a_kickoff_records_the_breakdown_version_agreed_and_the_tasks_discussed(w, pmo):
    version = Breakdown.objects.get(request=w.request).version
    task = w.request.tasks.first()
    meeting = held(schedule(w))
    minutes = write_minutes(w, meeting, breakdown_agreed=True, tasks_discussed=[task])
    assert minutes.breakdown_agreed and minutes.breakdown_version == version
    assert list(minutes.tasks_discussed.all()) == [task]
    other = make_mkt_tech_request(pmo=pmo).request.tasks.first()
    with pytest.raises(ValidationError) as refused:
        write_minutes(w, meeting, tasks_discussed=[other])
    assert "tasks_discussed" in refused.value.message_dict
    weekly = held(schedule(w, kind=MeetingKind.WEEKLY, topic="週例會"))
    with pytest.raises(ValidationError) as refused:
        write_minutes(w, weekly, breakdown_agreed=True)
    assert "breakdown_agreed" in refused.value.message_dict


def test_a_problems_status_moves_with_a_note_in_the_meeting_history(w):
    meeting, _minutes = filed_meeting(w)
    problem = Problem.objects.get()
    with pytest.raises(PermissionDenied):
        services.problem_set_status(problem=problem, by=w.owner, status=ProblemStatus.RESOLVED)
    with pytest.raises(ValidationError):
        services.problem_set_status(problem=problem, by=w.recorder, status=ProblemStatus.OPEN)
    services.problem_set_status(
        problem=problem, by=w.recorder, status=ProblemStatus.RESOLVED, note="客服增派人手"
    )
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.RESOLVED and problem.status_note == "客服增派人手"
    event = meeting.events.get(kind=MeetingEventKind.PROBLEM)
    assert event.params["from"] == "open" and event.params["to"] == "resolved"
    chinese, english = texts(event)
    assert chinese == "「客服回覆時間過長」：進行中 → 已解決 · 客服增派人手"
    assert english == "“客服回覆時間過長”: In progress → Resolved · 客服增派人手"


# --- action items --------------------------------------------------------------------------


def test_an_action_item_from_progress_to_closure(w):
    """The first progress update starts it; the submission (with a file) goes to the
    confirmers; sent back with a reason, resubmitted, then confirmed resolved."""
    meeting, _minutes = filed_meeting(w)
    action = the_action(meeting)
    with pytest.raises(ValidationError):
        services.action_progress(action=action, by=w.owner, percent=30, note=" ")
    update = services.action_progress(action=action, by=w.owner, percent=30, note="已整理一半")
    action.refresh_from_db()
    assert action.state == ActionState.IN_PROGRESS and action.progress_percent == 30
    assert action.last_progress_at == update.created_at and action.started_at
    assert ActionProgress.objects.get().note == "已整理一半"
    Notification.objects.all().delete()
    report = SimpleUploadedFile("投訴分析.txt", "分析內容".encode(), content_type="text/plain")
    delivery = services.action_submit(action=action, by=w.owner, note="報告已完成", file=report)
    assert delivery.round == 1 and delivery.original_name == "投訴分析.txt"
    assert delivery.file.read() == "分析內容".encode()
    action.refresh_from_db()
    assert action.state == ActionState.SUBMITTED and action.submitted_at
    assert notified() == {w.initiator}  # the organiser is the initiator
    with pytest.raises(PermissionDenied):
        services.action_accept(action=action, by=w.owner)
    with pytest.raises(ValidationError):
        services.action_send_back(action=action, by=w.initiator, reason="")
    Notification.objects.all().delete()
    services.action_send_back(action=action, by=w.initiator, reason="缺少改善建議")
    action.refresh_from_db()
    assert action.state == ActionState.IN_PROGRESS and action.submitted_at is None
    assert notified() == {w.owner}
    second = services.action_submit(action=action, by=w.owner, note="已補改善建議")
    assert second.round == 2 and not second.file
    action.refresh_from_db()
    Notification.objects.all().delete()
    services.action_accept(action=action, by=w.initiator, note="確認結案")
    action.refresh_from_db()
    assert action.state == ActionState.DONE and action.completed_at
    assert notified() == {w.owner}
    kinds = list(action.events.values_list("kind", flat=True))
    assert kinds == ["opened", "start", "progress", "submit", "send_back", "submit", "accept"]
    submit = action.events.filter(kind=ActionEventKind.SUBMIT).last()
    assert texts(submit) == ("第 2 次提交 · 已補改善建議", "Submission 2 · 已補改善建議")
    progress = action.events.get(kind=ActionEventKind.PROGRESS)
    assert texts(progress) == ("30% · 已整理一半", "30% · 已整理一半")


def test_a_refused_upload_submits_nothing(w):
    meeting, _minutes = filed_meeting(w)
    action = the_action(meeting)
    bad = SimpleUploadedFile("tool.exe", b"MZ\x90\x00", content_type="application/x")
    with pytest.raises(ValidationError) as refused:
        services.action_submit(action=action, by=w.owner, note="附件", file=bad)
    assert "file" in refused.value.message_dict
    assert not ActionDelivery.objects.exists()
    assert the_action(meeting).state == ActionState.TODO


def test_only_the_owner_works_on_an_action_item(w, pmo):
    meeting, _minutes = filed_meeting(w)
    action = the_action(meeting)
    for person in (w.initiator, w.recorder, w.tech_head, pmo):
        with pytest.raises(PermissionDenied):
            services.action_start(action=action, by=person)
        with pytest.raises(PermissionDenied):
            services.action_progress(action=action, by=person, percent=10, note="x")
    with pytest.raises(ActionConflict):
        services.action_start(action=action, by=w.owner, expected_state=ActionState.IN_PROGRESS)
    services.action_start(action=action, by=w.owner)
    with pytest.raises(ActionConflict):
        services.action_start(action=action, by=w.owner)  # the page still showed 待辦
    with pytest.raises(ActionRefused):
        services.action_start(action=the_action(meeting), by=w.owner)


def test_escalating_tells_the_organiser_pmo_and_heads_and_runs_the_hooks(w, pmo):
    meeting, _minutes = filed_meeting(w)
    action = the_action(meeting)
    calls = []

    def hook(*, action, by, reason):
        calls.append((action.pk, by, reason, action.escalated_at is not None))

    registry["action_escalated"].append(hook)
    try:
        with pytest.raises(ValidationError):
            services.action_escalate(action=action, by=w.owner, reason="")
        with pytest.raises(PermissionDenied):
            services.action_escalate(action=action, by=w.tech_staff, reason="無法處理")
        Notification.objects.all().delete()
        services.action_escalate(action=action, by=w.owner, reason="需法務部介入")
    finally:
        registry["action_escalated"].remove(hook)
    assert calls == [(action.pk, w.owner, "需法務部介入", True)]
    action.refresh_from_db()
    assert action.escalated_at and action.escalation_reason == "需法務部介入"
    assert action.state == ActionState.TODO
    assert notified() == {w.initiator, pmo, w.tech_head}
    assert action.events.get(kind=ActionEventKind.ESCALATE).comment == "需法務部介入"
    with pytest.raises(ActionConflict):
        services.action_escalate(action=action, by=w.initiator, reason="再升級")


def test_an_escalation_hook_that_fails_undoes_the_escalation(w):
    meeting, _minutes = filed_meeting(w)
    action = the_action(meeting)

    def hook(**kwargs):
        raise RuntimeError("the ladder is down")

    registry["action_escalated"].append(hook)
    try:
        with pytest.raises(RuntimeError):
            services.action_escalate(action=action, by=w.owner, reason="需法務部介入")
    finally:
        registry["action_escalated"].remove(hook)
    action.refresh_from_db()
    assert action.escalated_at is None and not action.events.filter(kind="escalate").exists()


def test_an_action_item_becomes_a_task_of_the_breakdown(w):
    """While the request is 已立項: a task through tasks_app's own service (R the owner,
    A the organiser); the item keeps its history and links the task, whose own history
    says nothing of meetings."""
    meeting, _minutes = filed_meeting(w)
    action = the_action(meeting)
    version = Breakdown.objects.get(request=w.request).version
    with pytest.raises(PermissionDenied):
        services.action_convert(action=action, by=w.owner)
    task = services.action_convert(action=action, by=w.initiator)
    action.refresh_from_db()
    assert action.state == ActionState.CONVERTED and action.converted_task == task
    assert task.request == w.request and task.name == "整理客戶投訴詳情"
    assert task.responsible_department == w.tech and task.due_at == action.due_at
    roles = {(a.role, a.user) for a in task.assignments.all()}
    assert roles == {(RaciRole.RESPONSIBLE, w.owner), (RaciRole.ACCOUNTABLE, w.initiator)}
    assert Breakdown.objects.get(request=w.request).version == version + 1
    convert = action.events.get(kind=ActionEventKind.CONVERT)
    assert convert.params["task_id"] == task.pk
    assert texts(convert) == (f"轉為任務 {task.number}", f"Became task {task.number}")
    created = TaskEvent.objects.get(task=task)
    assert created.kind == TaskEventKind.CREATED and created.params == {}
    for text in texts(created):
        assert "會議" not in text and "meeting" not in text.lower()
    assert action.events.filter(kind=ActionEventKind.OPENED).exists()  # history kept


def test_no_conversion_once_the_breakdown_is_frozen(w):
    meeting, _minutes = filed_meeting(w)
    request = w.request
    for link in request.department_links.select_related("department"):
        task_services.breakdown_sign(
            request=request, by=link.department.heads.first(), department=link.department
        )
    assert CollabRequest.objects.get(pk=request.pk).state == RequestState.IN_PROGRESS
    action = the_action(meeting)
    with pytest.raises(ActionRefused) as refused:
        services.action_convert(action=action, by=w.initiator)
    assert "進行中" in str(refused.value) and "凍結" in str(refused.value)
    with translation.override("en"), pytest.raises(ActionRefused) as refused:
        services.action_convert(action=action, by=w.initiator)
    assert "frozen" in str(refused.value)
    # Someone who decides nothing on the item learns nothing of the request's stage.
    with pytest.raises(PermissionDenied):
        services.action_convert(action=action, by=w.tech_staff)
    assert the_action(meeting).state == ActionState.TODO


def test_cancelling_an_action_item_says_why(w):
    meeting, _minutes = filed_meeting(w)
    action = the_action(meeting)
    with pytest.raises(PermissionDenied):
        services.action_cancel(action=action, by=w.owner, reason="不做了")
    with pytest.raises(ValidationError):
        services.action_cancel(action=action, by=w.initiator, reason="")
    Notification.objects.all().delete()
    services.action_cancel(action=action, by=w.initiator, reason="需求已取消")
    action.refresh_from_db()
    assert action.state == ActionState.CANCELLED
    assert notified() == {w.owner}
    with pytest.raises(ActionRefused):
        services.action_cancel(action=action, by=w.initiator, reason="再取消")


# --- the archive ---------------------------------------------------------------------------


def test_an_archived_cases_meetings_are_read_only(w, pmo):
    meeting, _minutes = filed_meeting(w)
    action, problem = the_action(meeting), Problem.objects.get()
    archive(w.request, by=pmo)
    meeting = Meeting.objects.get(pk=meeting.pk)
    attempts = [
        lambda: services.minutes_correct(meeting=meeting, by=w.recorder, reason="補記"),
        lambda: services.meeting_comment(meeting=meeting, by=w.owner, body="補充"),
        lambda: services.action_progress(action=action, by=w.owner, percent=50, note="進行"),
        lambda: services.action_cancel(action=action, by=pmo, reason="結案"),
        lambda: services.problem_set_status(
            problem=problem, by=w.recorder, status=ProblemStatus.RESOLVED
        ),
        lambda: services.meeting_schedule_next(meeting=meeting, by=w.recorder),
    ]
    for attempt in attempts:
        with pytest.raises(CaseArchived) as refused:
            attempt()
        assert "唯讀" in str(refused.value)
    assert the_action(meeting).state == ActionState.TODO
    assert Minutes.objects.filter(meeting=meeting).count() == 1


# --- the next meeting and series -------------------------------------------------------------


def test_the_next_meeting_opens_with_the_focus_and_what_is_still_open(w):
    next_at = timezone.now() + dt.timedelta(days=7)
    meeting, _minutes = filed_meeting(
        w,
        next_meeting_at=next_at,
        next_focus="確認上線日期\n檢討客服流程",
        actions=[action_row(w, "整理客戶投訴詳情"), action_row(w, "更新FAQ")],
    )
    done = ActionItem.objects.get(description="更新FAQ")
    services.action_cancel(action=done, by=w.initiator, reason="已由他人完成")
    # Taking part in the request is not enough: the meeting's editors schedule its next.
    with pytest.raises(PermissionDenied):
        services.meeting_schedule_next(meeting=meeting, by=w.tech_staff)
    following = services.meeting_schedule_next(meeting=meeting, by=w.recorder)
    assert following.previous == meeting and following.request == w.request
    assert following.starts_at == next_at
    assert following.ends_at - following.starts_at == meeting.ends_at - meeting.starts_at
    assert following.organiser == w.initiator
    # A kick-off is followed week by week.
    assert meeting.kind == MeetingKind.KICKOFF and following.kind == MeetingKind.WEEKLY
    assert set(following.participants.all()) == set(meeting.participants.all())
    assert set(following.departments.all()) == set(meeting.departments.all())
    assert following.focus == "確認上線日期\n檢討客服流程"
    assert [a.title for a in following.agenda.all()] == [
        "確認上線日期",
        "檢討客服流程",
        "跟進：整理客戶投訴詳情",
        "跟進：客服回覆時間過長",
    ]
    assert invitation_rows(following, "REQUEST")
    with pytest.raises(MeetingConflict):
        services.meeting_schedule_next(meeting=meeting, by=w.recorder)


def test_no_next_meeting_without_its_time_in_the_minutes(w):
    meeting, _minutes = filed_meeting(w)
    with pytest.raises(MeetingRefused) as refused:
        services.meeting_schedule_next(meeting=meeting, by=w.recorder)
    assert "下次" in str(refused.value)
    with pytest.raises(PermissionDenied):
        services.meeting_schedule_next(meeting=meeting, by=w.outsider)
    scheduled = schedule(w)
    with pytest.raises(MeetingRefused):
        services.meeting_schedule_next(meeting=scheduled, by=w.recorder)


def test_a_weekly_series_makes_its_coming_meetings(w):
    first = timezone.localdate() + dt.timedelta(days=2)
    series = weekly_series(w)
    assert set(series.departments.all()) == {w.mkt, w.tech}
    meetings = list(series.meetings.order_by("starts_at"))
    assert meetings, "the series made no meeting"
    assert all(m.series_date for m in meetings)
    assert [a.title for a in meetings[0].agenda.all()] == ["上週進度", "本週計畫"]
    with pytest.raises(ValidationError) as refused:
        services.series_create(
            by=w.initiator,
            request=w.request,
            topic="",
            weekday=9,
            start_time=dt.time(16, 0),
            duration_minutes=60,
            first_date=first,
            holiday_rule="skip",
            form=MeetingForm.ON_SITE,
            recorder=w.recorder,
        )
    assert {"topic", "weekday", "location"} <= set(refused.value.message_dict)
    with pytest.raises(PermissionDenied):
        services.series_create(
            by=w.outsider,
            request=w.request,
            topic="週會",
            weekday=4,
            start_time=dt.time(16, 0),
            duration_minutes=60,
            first_date=first,
            holiday_rule="skip",
            form=MeetingForm.PHONE,
            recorder=w.recorder,
        )


# --- at the same moment --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_people_filing_the_same_draft_at_once_file_it_once(w, monkeypatch):
    """The recorder and the organiser file together: one filing (one event, the action
    items opened once), the other is told someone filed first."""
    meeting = held(schedule(w))
    minutes = write_minutes(w, meeting)
    slow(monkeypatch, services, "meeting_event_log")

    def filer(user_id):
        def racer(wait):
            draft = Minutes.objects.select_related("meeting").get(pk=minutes.pk)
            by = User.objects.get(pk=user_id)
            wait()
            return services.minutes_file(minutes=draft, by=by)

        return racer

    results = race(filer(w.recorder.pk), filer(w.initiator.pk))
    assert sorted(kind for kind, _value in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, MeetingConflict) and str(error).strip()
    assert MeetingEvent.objects.filter(meeting=meeting, kind="minutes_filed").count() == 1
    action = ActionItem.objects.get(meeting=meeting)
    assert action.state == ActionState.TODO and action.events.count() == 1
    assert Notification.objects.filter(url=action.get_absolute_url()).count() == 1


def test_a_series_meeting_is_not_followed_twice(w):
    """A weekly meeting's next one is the series' own: "schedule the next meeting" from its
    minutes is refused while the series has a later meeting, so nobody gets two."""
    series = weekly_series(w, agenda_template="上週進度")
    weekly, later = list(series.meetings.order_by("starts_at"))[:2]
    weekly = held(weekly)
    next_at = later.starts_at + dt.timedelta(hours=1)
    minutes = write_minutes(w, weekly, next_meeting_at=next_at, next_focus="上線準備")
    services.minutes_file(minutes=minutes, by=w.recorder)
    weekly = Meeting.objects.get(pk=weekly.pk)
    with pytest.raises(MeetingConflict) as refused:
        services.meeting_schedule_next(meeting=weekly, by=w.recorder)
    assert str(later) in str(refused.value)  # the meeting already on the calendar
    assert Meeting.objects.filter(series=series).count() == series.meetings.count()
    assert not Meeting.objects.filter(previous=weekly).exists()


def test_an_agenda_edited_by_its_titles_keeps_the_presenting_departments(w):
    """The page edits the agenda as lines of text: an item kept by its title keeps the
    department presenting it, and the same titles are no change (no new invitation)."""
    meeting = schedule(w, agenda=[("需求確認", w.mkt), ("排期", w.tech)])
    sequence = meeting.ics_sequence
    meeting = services.meeting_update(meeting=meeting, by=w.initiator, agenda=["需求確認", "排期"])
    assert meeting.ics_sequence == sequence
    meeting = services.meeting_update(
        meeting=meeting, by=w.initiator, agenda=["排期", "風險", "需求確認"]
    )
    rows = [(a.title, a.department) for a in meeting.agenda.order_by("position")]
    assert rows == [("排期", w.tech), ("風險", None), ("需求確認", w.mkt)]
    assert meeting.ics_sequence == sequence + 1


# --- stale pages (a save over someone else's newer save is refused) -----------------------


def _save_items(w, minutes, *, by, conclusion, problems, actions, **fields) -> Minutes:
    """Save the draft with every agenda item concluded as `conclusion`."""
    items = [
        {"title": item.title, "discussion": "", "conclusion": conclusion}
        for item in minutes.items.all()
    ]
    attendance = {row.user_id: (Attendance.PRESENT, "") for row in minutes.attendance.all()}
    meeting = minutes.meeting
    return services.minutes_save(
        minutes=minutes,
        by=by,
        actual_start=meeting.starts_at,
        actual_end=meeting.ends_at,
        items=items,
        attendance=attendance,
        problems=problems,
        actions=actions,
        **fields,
    )


def test_saving_minutes_from_an_older_page_is_refused_and_keeps_the_newer_save(w):
    """The organiser and the recorder open the same draft; the recorder saves a new
    problem and action item; the organiser's save from the older page is refused, so
    nothing of the recorder's is replaced or deleted. Filing from that page is refused
    too; from the page as now saved, both go through."""
    meeting = held(schedule(w))
    draft = services.minutes_draft(meeting=meeting, by=w.recorder)
    seen = services.revision(draft)  # both pages show this draft
    _save_items(
        w,
        draft,
        by=w.recorder,
        conclusion="記錄人的結論",
        problems=[problem_row()],
        actions=[action_row(w)],
        expected_revision=seen,
    )
    with translation.override("en"), pytest.raises(MeetingConflict) as refused:
        _save_items(
            w,
            Minutes.objects.get(pk=draft.pk),
            by=w.initiator,
            conclusion="召集人的結論",
            problems=[],
            actions=[],
            expected_revision=seen,
        )
    assert "reload" in str(refused.value).lower()
    draft = Minutes.objects.get(pk=draft.pk)
    assert {item.conclusion for item in draft.items.all()} == {"記錄人的結論"}
    assert Problem.objects.filter(raised_in=draft).count() == 1
    assert ActionItem.objects.filter(raised_in=draft, state=ActionState.DRAFT).count() == 1
    with pytest.raises(MeetingConflict):
        services.minutes_file(minutes=draft, by=w.initiator, expected_revision=seen)
    assert Minutes.objects.get(pk=draft.pk).state == MinutesState.DRAFT
    services.minutes_file(minutes=draft, by=w.initiator, expected_revision=services.revision(draft))
    assert Minutes.objects.get(pk=draft.pk).state == MinutesState.FILED


def test_a_meeting_changed_from_an_older_form_is_refused_and_not_reverted(w):
    """Two editors open the change form; the first moves the meeting; the second's form,
    showing the old time, is refused: the new time stays and no calendar gets the old
    one again. Without a revision (the callers that show no page) it still saves."""
    meeting = schedule(w)
    seen = services.revision(meeting)
    moved = meeting.starts_at + dt.timedelta(days=1)
    services.meeting_update(
        meeting=meeting,
        by=w.initiator,
        starts_at=moved,
        ends_at=moved + dt.timedelta(hours=1),
        expected_revision=seen,
    )
    sent = OutboxMessage.objects.count()
    stale = Meeting.objects.get(pk=meeting.pk)
    with translation.override("en"), pytest.raises(MeetingConflict) as refused:
        services.meeting_update(
            meeting=stale,
            by=w.recorder,
            starts_at=meeting.starts_at,
            ends_at=meeting.ends_at,
            location="5F 小會議室",
            expected_revision=seen,
        )
    assert "reload" in str(refused.value).lower()
    stale.refresh_from_db()
    assert stale.starts_at == moved and stale.location == "3F 大會議室"
    assert stale.ics_sequence == 1 and OutboxMessage.objects.count() == sent
    services.meeting_update(meeting=stale, by=w.recorder, location="5F 小會議室")
    stale.refresh_from_db()
    assert stale.starts_at == moved and stale.location == "5F 小會議室"


def test_a_problems_status_from_an_older_page_is_refused_naming_the_current_one(w):
    """Both saw the problem 進行中; the first resolves it; the second's 需升級 from the
    older page is refused with the status it now has, and the first's note stays."""
    _meeting, _minutes = filed_meeting(w)
    problem = Problem.objects.get()
    seen = problem.status
    services.problem_set_status(
        problem=problem,
        by=w.recorder,
        status=ProblemStatus.RESOLVED,
        note="客服增派人手",
        expected_status=seen,
    )
    with translation.override("en"), pytest.raises(MeetingConflict) as refused:
        services.problem_set_status(
            problem=problem,
            by=w.initiator,
            status=ProblemStatus.ESCALATE,
            note="需要高層決定",
            expected_status=seen,
        )
    assert "Resolved" in str(refused.value)
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.RESOLVED and problem.status_note == "客服增派人手"


# --- stopping a weekly series -----------------------------------------------------------------


def test_stopping_a_series_cancels_its_coming_meetings_and_makes_no_more(w):
    """The recorder stops the series: it ends today, each meeting to come is cancelled
    with the reason (a CANCEL to everyone invited, a CANCELLED line in its history), a
    meeting already held stays, and the daily extension makes nothing any more."""
    from meetings_app import series as series_module

    series = weekly_series(w)
    coming = list(series.meetings.order_by("starts_at"))
    assert len(coming) >= 2
    past = held(coming.pop(0))
    # The series began with the meeting held.
    MeetingSeries.objects.filter(pk=series.pk).update(first_date=timezone.localdate(past.starts_at))
    stopped = services.series_stop(series=series, by=w.recorder, reason="專案改為雙週檢討")
    assert stopped.is_active is False and stopped.until == timezone.localdate()
    series.refresh_from_db()
    assert series.is_active is False and series.until == timezone.localdate()
    for meeting in coming:
        meeting.refresh_from_db()
        assert meeting.state == MeetingState.CANCELLED
        assert meeting.cancel_reason == "專案改為雙週檢討" and meeting.ics_sequence == 1
        assert {r.recipient for r in invitation_rows(meeting, "CANCEL")} == {
            w.initiator,
            w.recorder,
            w.owner,
        }
        event = meeting.events.get(kind=MeetingEventKind.CANCELLED)
        assert event.comment == "專案改為雙週檢討" and event.by == w.recorder
    past.refresh_from_db()
    assert past.state == MeetingState.SCHEDULED and not invitation_rows(past, "CANCEL")
    count = series.meetings.count()
    for today in (timezone.localdate(), timezone.localdate() + dt.timedelta(days=30)):
        assert series_module.extend_all(schedule=services.meeting_schedule, today=today) == 0
    assert series_module.generate(series, by=w.initiator, schedule=services.meeting_schedule) == []
    assert series.meetings.count() == count


def test_who_may_stop_a_series(w, pmo):
    """The organiser, the recorder and the PMO stop a series, with a reason; a
    participant or an outsider may not; a stopped series is not stopped twice."""
    series = weekly_series(w)
    for person in (w.owner, w.outsider, w.tech_head):
        with pytest.raises(PermissionDenied):
            services.series_stop(series=series, by=person, reason="不開了")
    with pytest.raises(ValidationError) as refused:
        services.series_stop(series=series, by=w.initiator, reason="  ")
    assert "reason" in refused.value.message_dict
    series.refresh_from_db()
    assert series.is_active and not series.meetings.filter(state=MeetingState.CANCELLED).exists()
    services.series_stop(series=series, by=pmo, reason="專案暫停")
    with pytest.raises(MeetingRefused):
        services.series_stop(series=series, by=w.initiator, reason="再停一次")


def test_a_series_keeps_an_earlier_end_and_only_its_scheduled_meetings_are_cancelled(w):
    """An `until` before today stays; a meeting already cancelled is not cancelled again."""
    series = weekly_series(w)
    first, *rest = series.meetings.order_by("starts_at")
    services.meeting_cancel(meeting=first, by=w.initiator, reason="颱風假")
    services.series_stop(series=series, by=w.initiator, reason="改期")
    first.refresh_from_db()
    assert first.cancel_reason == "颱風假" and first.ics_sequence == 1
    rest = Meeting.objects.filter(pk__in=[m.pk for m in rest])
    assert rest and all(m.state == MeetingState.CANCELLED for m in rest)
    ended = weekly_series(w, topic="另一週會")
    earlier = timezone.localdate() - dt.timedelta(days=1)
    MeetingSeries.objects.filter(pk=ended.pk).update(until=earlier)
    services.series_stop(series=ended, by=w.initiator, reason="結束")
    ended.refresh_from_db()
    assert ended.until == earlier and not ended.is_active


def test_a_series_of_an_archived_case_cannot_be_stopped(w, pmo):
    series = weekly_series(w)
    for meeting in series.meetings.all():
        services.meeting_cancel(meeting=meeting, by=w.initiator, reason="結案")
    archive(w.request, by=pmo)
    with pytest.raises(CaseArchived):
        services.series_stop(series=series, by=pmo, reason="結案")
    series.refresh_from_db()
    assert series.is_active


def test_a_series_stopped_before_its_first_meeting_keeps_its_dates(w):
    """Stopped before it began, a series makes nothing (inactive) and its end stays at
    or after its first day, as series_create requires."""
    series = weekly_series(w, first_date=timezone.localdate() + dt.timedelta(days=60))
    stopped = services.series_stop(series=series, by=w.initiator, reason="計畫取消")
    assert stopped.is_active is False
    assert stopped.until is None or stopped.until >= stopped.first_date
