"""Demo meetings of 官網改版與會員中心升級 (seed_demo, after the tasks' demo).

- the kick-off (協作啟動會) three weeks ago, its minutes filed: the task breakdown agreed,
  a problem, one action item confirmed closed and one late (due last week, in progress);
- the weekly progress meeting (週例會, every Friday 16:00): a series whose two last
  meetings were held, their minutes filed with open action items and a problem, which
  the coming meeting carries over; the series has its next four weeks scheduled;
- a special meeting (專項會議) held several working days ago whose minutes are still
  not filed (the minutes_overdue rule's work).

Like the other apps' demo modules, everything goes through the services, by the people
whose job it is: scheduling, the minutes (draft, save, file), progress, submission and
closure confirmation.

The one exception is time. The services schedule meetings in the future only (the
invitation goes a day ahead) and stamp the filing and the history with the present
moment. `_backdate_meeting` and `_backdate_filing` therefore move a meeting, once
scheduled, into the past, and its minutes' filing, history rows and action items'
start to the day they would have happened, with queryset updates. They are demo-only
and say so; no service ever does this.

Idempotent: each meeting is keyed on its topic in the request, and the whole is seeded
only while the request is 已立項 or 進行中; a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from collab.models import Department, User
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from tasks_app.demo import WEBSITE

from . import services
from .choices import (
    ActionEventKind,
    Attendance,
    HolidayRule,
    MeetingForm,
    MeetingKind,
    ProblemStatus,
)
from .models import DEFAULT_ACTION_DUE_TIME, ActionItem, Meeting, MeetingEvent, MeetingSeries

KICKOFF = "官網改版協作啟動會"
WEEKLY = "官網改版週例會"
SPECIAL = "會員中心訂單查詢 API 專項會議"
ROOM = "8F 第一會議室"


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _dept(code: str) -> Department:
    return Department.objects.get(code=code)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _weekday_before(days_ago: int) -> dt.date:
    """The weekday (Monday to Friday) `days_ago` days before today, or the one before it."""
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _due(day: dt.date) -> dt.datetime:
    """An action item's deadline: 17:00 that day (seed 003)."""
    return _at(day, DEFAULT_ACTION_DUE_TIME.hour)


# --- moving a meeting into the past (demo only) ------------------------------------------


def _backdate_meeting(meeting: Meeting, starts_at: dt.datetime, minutes: int = 60) -> Meeting:
    """DEMO BACKDATING ONLY: put a meeting scheduled in the future on its past day.

    The invitation went a week before; the "scheduled" history line says the new time.
    """
    ends_at = starts_at + dt.timedelta(minutes=minutes)
    invited = starts_at - dt.timedelta(days=7)
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=starts_at, ends_at=ends_at, created_at=invited, invited_at=invited
    )
    for event in MeetingEvent.objects.filter(meeting=meeting):
        params = {**event.params}
        if "starts_at" in params:
            params.update(starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat())
        MeetingEvent.objects.filter(pk=event.pk).update(at=invited, params=params)
    return Meeting.objects.get(pk=meeting.pk)


def _backdate_filing(meeting: Meeting, filed_at: dt.datetime) -> None:
    """DEMO BACKDATING ONLY: the minutes were filed at `filed_at` (an hour or so after
    the meeting), and the action items they opened opened then."""
    meeting.minutes.filter(filed_at__isnull=False).update(filed_at=filed_at)
    Meeting.objects.filter(pk=meeting.pk).update(minutes_filed_at=filed_at)
    MeetingEvent.objects.filter(meeting=meeting).exclude(at__lt=filed_at).update(at=filed_at)
    for action in meeting.actions.all():
        action.events.filter(kind=ActionEventKind.OPENED).update(at=filed_at)


def _schedule(request: CollabRequest, *, topic: str, kind: str, organiser, recorder, **fields):
    """Schedule through the service two days ahead, as the organiser would have."""
    starts_at = timezone.now() + dt.timedelta(days=2)
    return services.meeting_schedule(
        by=organiser,
        request=request,
        topic=topic,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=1),
        form=fields.pop("form", MeetingForm.ON_SITE),
        location=fields.pop("location", ROOM),
        organiser=organiser,
        recorder=recorder,
        **fields,
    )


def _file(meeting: Meeting, *, items, problems=(), actions=(), absent=(), **fields) -> None:
    """Write and file the minutes as the recorder: everyone present but `absent`
    (username -> reason)."""
    recorder = meeting.recorder
    minutes = services.minutes_draft(meeting=meeting, by=recorder)
    attendance = {
        row.user_id: (
            (Attendance.ABSENT, absent[row.user.username])
            if row.user.username in absent
            else (Attendance.PRESENT, "")
        )
        for row in minutes.attendance.select_related("user")
    }
    services.minutes_save(
        minutes=minutes,
        by=recorder,
        actual_start=meeting.starts_at + dt.timedelta(minutes=3),
        actual_end=meeting.ends_at + dt.timedelta(minutes=5),
        items=[
            {"title": item.title, "discussion": discussion, "conclusion": conclusion}
            for item, (discussion, conclusion) in zip(
                minutes.items.order_by("position"), items, strict=True
            )
        ],
        attendance=attendance,
        problems=[{"pk": None, "status": ProblemStatus.OPEN, **p} for p in problems],
        actions=[{"pk": None, **a} for a in actions],
        **fields,
    )
    services.minutes_file(minutes=minutes, by=recorder)
    _backdate_filing(meeting, meeting.ends_at + dt.timedelta(hours=2))


def _action(meeting: Meeting, description: str) -> ActionItem:
    return meeting.actions.get(description=description)


# --- the kick-off ------------------------------------------------------------------------


def _seed_kickoff(request: CollabRequest) -> None:
    """Three weeks ago: the breakdown agreed, one item done, one late."""
    if request.meetings.filter(topic=KICKOFF).exists():
        return
    organiser, recorder = _user("prod_head"), _user("prod_staff")
    meeting = _schedule(
        request,
        topic=KICKOFF,
        kind=MeetingKind.KICKOFF,
        organiser=organiser,
        recorder=recorder,
        participants=[
            _user(name)
            for name in ("tech_head", "tech_staff", "design_head", "design_staff", "cs_head")
        ],
        agenda=[
            ("協作目標與範圍確認", _dept("prod")),
            ("任務分工表與 RACI 確認", _dept("prod")),
            ("里程碑與溝通機制", None),
        ],
    )
    held = _weekday_before(21)
    meeting = _backdate_meeting(meeting, _at(held, 10), minutes=90)
    tasks = list(request.tasks.order_by("sequence")[:4])
    _file(
        meeting,
        items=[
            (
                "產品部說明改版目標:行動版跳出率降至 45%,訂單查詢來電減少 40%。",
                "範圍確認:第一階段含官網改版與會員中心訂單、物流、保固查詢。",
            ),
            (
                "逐項確認任務分工表的負責部門、R/A 與截止日期,技術部提出 API 串接需原廠配合。",
                "任務分工表通過,各部門主管於本週內完成簽署。",
            ),
            (
                "討論每週同步方式與問題升級路徑。",
                "每週五 16:00 召開週例會;跨部門卡點 3 個工作日未解決即升級。",
            ),
        ],
        problems=[
            {
                "description": "保固查詢需串接原廠系統,介面規格尚未取得。",
                "department": _dept("tech"),
            }
        ],
        actions=[
            {
                "description": "取得原廠保固系統介面規格並評估串接方式",
                "responsible_department": _dept("tech"),
                "owner": _user("tech_staff"),
                "deliverable": "介面規格與串接評估報告",
                "due_at": _due(held + dt.timedelta(days=9)),
                "problem_index": 0,
            },
            {
                "description": "提交網站地圖初稿供各部門確認",
                "responsible_department": _dept("design"),
                "owner": _user("design_staff"),
                "deliverable": "網站地圖初稿",
                "due_at": _due(held + dt.timedelta(days=7)),
            },
        ],
        breakdown_agreed=True,
        tasks_discussed=tasks,
        next_meeting_at=_at(held + dt.timedelta(days=(4 - held.weekday()) % 7 or 7), 16),
        next_focus="各任務啟動情況、原廠介面規格進度",
        other_matters="雲端主機預算已由產品部另行簽核。",
        absent={"cs_head": "出差"},
    )
    # Done: submitted by the owner, confirmed closed by the organiser.
    sitemap = _action(meeting, "提交網站地圖初稿供各部門確認")
    services.action_submit(
        action=sitemap, by=sitemap.owner, note="網站地圖初稿已上傳共用資料夾,各部門已閱。"
    )
    services.action_accept(action=_action(meeting, sitemap.description), by=organiser)
    # Late: due last week, still in progress.
    spec = _action(meeting, "取得原廠保固系統介面規格並評估串接方式")
    services.action_progress(
        action=spec, by=spec.owner, percent=40, note="已取得訂單與物流介面,保固介面待原廠回覆。"
    )


# --- the weekly series -------------------------------------------------------------------


def _last_fridays() -> tuple[dt.date, dt.date]:
    """The two last Fridays before today."""
    today = timezone.localdate()
    last = today - dt.timedelta(days=(today.weekday() - 4) % 7 or 7)
    return last - dt.timedelta(days=7), last


def _seed_weekly(request: CollabRequest) -> None:
    """Fridays 16:00: the two last meetings held with open items, the next four to come."""
    if MeetingSeries.objects.filter(request=request, topic=WEEKLY).exists():
        return
    organiser, recorder = _user("prod_head"), _user("prod_staff")
    people = [_user(name) for name in ("tech_staff", "design_staff", "cs_staff", "tech_head")]
    series = services.series_create(
        by=organiser,
        request=request,
        topic=WEEKLY,
        weekday=4,
        start_time=dt.time(16, 0),
        duration_minutes=60,
        first_date=timezone.localdate(),
        holiday_rule=HolidayRule.NEXT,
        form=MeetingForm.ONLINE,
        online_link="https://meet.example.com/website-weekly",
        organiser=organiser,
        recorder=recorder,
        participants=people,
        agenda_template="上週行動項追蹤\n各任務進度與卡點\n下週工作重點",
    )
    first, second = _last_fridays()
    # The series started two weeks ago (demo only: series_create starts from today).
    MeetingSeries.objects.filter(pk=series.pk).update(first_date=first)
    held = []
    for day in (first, second):
        meeting = _schedule(
            request,
            topic=WEEKLY,
            kind=MeetingKind.WEEKLY,
            organiser=organiser,
            recorder=recorder,
            form=MeetingForm.ONLINE,
            location="",
            online_link="https://meet.example.com/website-weekly",
            participants=people,
            agenda=["上週行動項追蹤", "各任務進度與卡點", "下週工作重點"],
            series=series,
            series_date=day,
        )
        held.append(_backdate_meeting(meeting, _at(day, 16)))
    _file(
        held[0],
        items=[
            ("啟動會行動項:網站地圖已確認;原廠介面規格仍在等待。", "持續追蹤原廠回覆。"),
            ("線框圖進度約 50%;訂單查詢 API 完成單元測試。", "依計畫進行。"),
            ("物流商測試環境回應時間常超過 3 秒。", "由產品部出面協調物流商。"),
        ],
        problems=[
            {
                "description": "物流商測試環境不穩定,影響 API 串接測試。",
                "department": _dept("tech"),
            }
        ],
        actions=[
            {
                "description": "協調物流商提供穩定的測試環境",
                "responsible_department": _dept("prod"),
                "owner": _user("prod_staff"),
                "deliverable": "物流商書面回覆與測試環境排程",
                "due_at": _due(second + dt.timedelta(days=10)),
                "problem_index": 0,
            },
            {
                "description": "整理客服常見詢問路徑供線框圖走查",
                "responsible_department": _dept("cs"),
                "owner": _user("cs_staff"),
                "deliverable": "常見詢問路徑清單",
                "due_at": _due(second),
            },
        ],
        next_meeting_at=_at(second, 16),
        next_focus="物流商測試環境、線框圖走查",
    )
    walkthrough = _action(held[0], "整理客服常見詢問路徑供線框圖走查")
    services.action_submit(
        action=walkthrough, by=walkthrough.owner, note="已整理 18 條常見詢問路徑。"
    )
    services.action_accept(action=_action(held[0], walkthrough.description), by=organiser)
    _file(
        held[1],
        items=[
            ("物流商已提供備援測試環境,正式環境排程待確認。", "產品部持續追蹤至正式排程確認。"),
            ("線框圖完成並送驗收;視覺設計先行啟動。", "設計部下週提交首頁視覺定稿。"),
            ("深色模式下品牌色對比不足。", "請設計部提出兩案,下次例會決定。"),
        ],
        actions=[
            {
                "description": "提出深色模式品牌色調整方案兩案",
                "responsible_department": _dept("design"),
                "owner": _user("design_staff"),
                "deliverable": "品牌色調整方案(兩案)",
                "due_at": _due(timezone.localdate() + dt.timedelta(days=5)),
            }
        ],
        next_meeting_at=Meeting.objects.filter(series=series, starts_at__gt=timezone.now())
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
        .first(),
        next_focus="深色模式品牌色定案、物流商正式環境排程",
        absent={"tech_head": "出差"},
    )


# --- minutes not filed on time -----------------------------------------------------------


def _seed_unfiled(request: CollabRequest) -> None:
    """A special meeting held over two working days ago; its minutes are a draft still."""
    if request.meetings.filter(topic=SPECIAL).exists():
        return
    organiser, recorder = _user("tech_head"), _user("tech_staff")
    meeting = _schedule(
        request,
        topic=SPECIAL,
        kind=MeetingKind.SPECIAL,
        organiser=organiser,
        recorder=recorder,
        form=MeetingForm.PHONE,
        location="",
        participants=[_user("prod_staff"), _user("cs_head")],
        agenda=["物流查詢 API 回應時間", "保固查詢分階段上線的影響"],
    )
    _backdate_meeting(meeting, _at(_weekday_before(6), 14))
    services.minutes_draft(meeting=Meeting.objects.get(pk=meeting.pk), by=recorder)


def seed_meetings() -> None:
    """Create the demo meetings, minutes and action items; idempotent."""
    request = CollabRequest.objects.filter(
        Q(state=RequestState.APPROVED) | Q(state=RequestState.IN_PROGRESS),
        name=WEBSITE,
        is_archived=False,
    ).first()
    if request is None:
        return
    _seed_kickoff(request)
    _seed_weekly(request)
    _seed_unfiled(request)
