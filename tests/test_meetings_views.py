"""The meeting pages in the browser's shoes: my meetings, the calendar, a request's
meetings, the meeting page, the forms that schedule, change and cancel a meeting, the
minutes editor, the action item page with its acts, and weekly series; for the people
who may and may not see them (issue 15 §6, §8).

The UI text is translated separately, so the assertions look at status codes, the
database, element ids and data attributes, and user-typed Chinese text.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from meetings_app import services
from meetings_app.choices import (
    ActionState,
    Attendance,
    MeetingForm,
    MeetingKind,
    MeetingState,
    MinutesState,
    ProblemStatus,
)
from meetings_app.models import ActionItem, Meeting, MeetingSeries, Minutes, Problem
from tests.factories import DepartmentFactory, UserFactory
from tests.helpers import assert_constant_queries, count_queries

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


# --- data ----------------------------------------------------------------------------


@pytest.fixture
def recorder(partner):
    """A member of the collaborating department who records the minutes."""
    return UserFactory(department=partner, full_name="林雅婷")


@pytest.fixture
def participant(partner):
    return UserFactory(department=partner, full_name="陳美玲")


@pytest.fixture
def owner(department):
    """Owns an action item; not invited to the meeting."""
    return UserFactory(department=department, full_name="王大明")


@pytest.fixture
def nobody(db):
    """Staff of a department that takes no part, another than `outsider`'s."""
    return UserFactory(department=DepartmentFactory(name="財務部"))


def _future(days=3, hour=10) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def schedule(request_obj, by, *, recorder, participants=(), days=3, **fields):
    """Call a meeting of `request_obj` through the service, `days` ahead at 10:00."""
    start = fields.pop("starts_at", _future(days))
    return services.meeting_schedule(
        by=by,
        request=request_obj,
        topic=fields.pop("topic", "協作啟動會"),
        kind=fields.pop("kind", MeetingKind.KICKOFF),
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        form=MeetingForm.ON_SITE,
        location="三樓會議室",
        recorder=recorder,
        participants=list(participants),
        agenda=fields.pop("agenda", ["確認需求範圍", "任務分工"]),
        **fields,
    )


def move_to_past(meeting: Meeting, hours: int = 3) -> Meeting:
    """The meeting took place `hours` ago (the services refuse a start in the past); an
    hour long, moved earlier that day if it would run past midnight (the minutes' one
    date and two times cannot say so)."""
    start = timezone.now() - dt.timedelta(hours=hours)
    local = timezone.localtime(start)
    if (local + dt.timedelta(hours=1)).date() != local.date():
        start = timezone.make_aware(dt.datetime.combine(local.date(), dt.time(22, 0)))
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=start, ends_at=start + dt.timedelta(hours=1)
    )
    meeting.refresh_from_db()
    return meeting


@pytest.fixture
def meeting(approved, staff, recorder, participant):
    """A kick-off of the approved request: called by its initiator `staff`."""
    return schedule(approved, staff, recorder=recorder, participants=[participant])


def _url(name, *args, **query):
    url = reverse(f"meetings_app:{name}", args=args)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _login(client, user):
    client.force_login(user)
    return client


def start_minutes(client, meeting):
    """Press "Write the minutes": the POST that starts the draft and opens the editor."""
    response = client.post(_url("minutes", meeting.pk), {"start": "1"})
    assert response.status_code == 302 and response.url == _url("minutes", meeting.pk)
    return response


def file_minutes(meeting, by, *, owner, actions=1, next_meeting_at=None):
    """Draft, save and file minutes with two conclusions, a problem and `actions` items."""
    minutes = services.minutes_draft(meeting=meeting, by=by)
    invited = [row.user_id for row in minutes.attendance.all()]
    start = meeting.starts_at
    services.minutes_save(
        minutes=minutes,
        by=by,
        actual_start=start,
        actual_end=start + dt.timedelta(hours=1),
        items=[
            {"title": "確認需求範圍", "discussion": "討論範圍", "conclusion": "範圍確定"},
            {"title": "任務分工", "discussion": "", "conclusion": "分工確定"},
        ],
        attendance=dict.fromkeys(invited, (Attendance.PRESENT, "")),
        problems=[
            {"pk": None, "description": "資料同步延遲", "department": None, "status": "open"}
        ],
        actions=[
            {
                "pk": None,
                "description": f"整理客戶投訴詳情{n}",
                "responsible_department": owner.department,
                "owner": owner,
                "deliverable": "投訴清單",
                "due_at": timezone.now() + dt.timedelta(days=5),
                "problem_index": 0,
            }
            for n in range(actions)
        ],
        next_meeting_at=next_meeting_at,
        next_focus="追蹤投訴處理" if next_meeting_at else "",
    )
    return services.minutes_file(minutes=minutes, by=by)


# --- who sees which page ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "recorder", "participant", "partner_head", "pmo"])
def test_the_meeting_pages_open_for_those_who_see_the_meeting(request, client, meeting, role):
    """The organiser, the recorder, a participant, a head of the request's departments
    and the PMO read the meeting, its request's meetings, my meetings and the calendar."""
    _login(client, request.getfixturevalue(role))
    for url in (
        _url("detail", meeting.pk),
        _url("request", meeting.request_id),
        _url("mine"),
        _url("calendar"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert f'data-meeting="{meeting.pk}"' in client.get(_url("request", meeting.request_id)).text


@pytest.mark.parametrize("role", ["outsider", "nobody"])
def test_whoever_may_not_see_the_meeting_gets_404_everywhere(request, client, meeting, owner, role):
    """Staff of an unrelated department get 404 for the meeting, its request's meetings,
    its forms and its action items, GET and POST alike; their lists do not show it."""
    move_to_past(meeting)
    file_minutes(meeting, meeting.recorder, owner=owner)
    action = meeting.actions.get()
    problem = meeting.problems.get()
    _login(client, request.getfixturevalue(role))
    for url in (
        _url("detail", meeting.pk),
        _url("edit", meeting.pk),
        _url("minutes", meeting.pk),
        _url("request", meeting.request_id),
        _url("action", action.pk),
        _url("problem", meeting.pk, problem.pk),
        _url("action-act", action.pk, "accept"),
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"reason": "x"}).status_code == 404, url
    assert client.get(_url("new", request=meeting.request_id)).status_code == 404
    assert f'data-meeting="{meeting.pk}"' not in client.get(_url("mine"), {"tab": "past"}).text
    month = f"{timezone.localtime(meeting.starts_at):%Y-%m}"
    assert f'data-meeting="{meeting.pk}"' not in client.get(_url("calendar", month=month)).text


def test_a_participant_sees_the_meeting_but_may_not_change_it(client, meeting, participant):
    """Seeing the meeting is not editing it: its forms answer 403 (not 404)."""
    _login(client, participant)
    page = client.get(_url("detail", meeting.pk))
    assert 'id="action-edit"' not in page.text and 'id="action-cancel"' not in page.text
    assert client.get(_url("edit", meeting.pk)).status_code == 403
    assert client.get(_url("minutes", meeting.pk)).status_code == 403
    response = client.post(_url("cancel", meeting.pk), {"reason": "不開了"})
    assert response.status_code == 403
    assert Meeting.objects.get(pk=meeting.pk).state == MeetingState.SCHEDULED


def test_a_guest_from_another_department_lists_only_the_meetings_they_see(
    client, approved, staff, recorder, meeting, nobody
):
    """Someone invited from outside the request lists the request's meetings they were
    invited to, not the others."""
    invited = schedule(approved, staff, recorder=recorder, participants=[nobody], topic="專項會議")
    _login(client, nobody)
    page = client.get(_url("request", approved.pk))
    assert page.status_code == 200
    assert f'data-meeting="{invited.pk}"' in page.text
    assert f'data-meeting="{meeting.pk}"' not in page.text


# --- scheduling, changing, cancelling -------------------------------------------------------


def _plan(day, **fields) -> dict:
    data = {
        "topic": "新品上市協作啟動會",
        "kind": MeetingKind.KICKOFF,
        "date": day.isoformat(),
        "start_time": "14:00",
        "end_time": "15:30",
        "form": MeetingForm.ON_SITE,
        "location": "五樓大會議室",
        "online_link": "",
        "guests": "外部顧問 李先生",
        "focus": "確認分工",
        "agenda": "確認需求範圍\n\n任務分工與 RACI\n",
        "short_notice_reason": "",
    }
    data.update(fields)
    return data


def test_the_initiator_schedules_a_kickoff_with_an_agenda(
    client, approved, staff, recorder, participant, partner
):
    """The form makes the meeting with its agenda (one item per line), people and place,
    and the request's meetings list it."""
    _login(client, staff)
    form = client.get(_url("new", request=approved.pk))
    assert form.status_code == 200 and 'id="meeting-form"' in form.text
    day = timezone.localdate() + dt.timedelta(days=4)
    data = _plan(
        day,
        organiser=staff.pk,
        recorder=recorder.pk,
        participants=[participant.pk],
        departments=[partner.pk],
        request=approved.pk,
    )
    response = client.post(_url("new", request=approved.pk), data)
    meeting = Meeting.objects.get(topic="新品上市協作啟動會")
    assert response.status_code == 302 and response.url == meeting.get_absolute_url()
    assert (
        meeting.request == approved and meeting.organiser == staff and meeting.recorder == recorder
    )
    assert [a.title for a in meeting.agenda.all()] == ["確認需求範圍", "任務分工與 RACI"]
    assert list(meeting.participants.all()) == [participant]
    assert timezone.localtime(meeting.starts_at).time() == dt.time(14, 0)
    assert meeting.location == "五樓大會議室" and meeting.guests == "外部顧問 李先生"
    page = client.get(meeting.get_absolute_url())
    assert "確認需求範圍" in page.text and "data-agenda=" in page.text


def test_a_meeting_at_short_notice_needs_a_reason(client, approved, staff, recorder):
    """Less than a day ahead, the form comes back with the reason field in error and
    the typed values; with a reason the meeting is made."""
    _login(client, staff)
    soon = timezone.localtime(timezone.now() + dt.timedelta(hours=2))
    if soon.hour == 23:  # the half hour would cross midnight: early the next day instead
        soon += dt.timedelta(hours=2)
    data = _plan(
        soon.date(),
        start_time=f"{soon:%H:%M}",
        end_time=f"{(soon + dt.timedelta(minutes=30)):%H:%M}",
        organiser=staff.pk,
        recorder=recorder.pk,
        request=approved.pk,
    )
    response = client.post(_url("new", request=approved.pk), data)
    assert response.status_code == 200
    assert response.context["form"].errors.get("short_notice_reason")
    assert 'id="short-notice"' in response.text and "data-always" in response.text
    assert not Meeting.objects.filter(topic=data["topic"]).exists()
    data["short_notice_reason"] = "客戶明天要答覆"
    response = client.post(_url("new", request=approved.pk), data)
    assert response.status_code == 302
    assert Meeting.objects.filter(topic=data["topic"]).exists()


def test_someone_who_may_not_call_a_standing_meeting_is_sent_to_their_requests(
    client, approved, staff
):
    """A staff member opening "schedule a meeting" without a request is offered their
    open requests instead of a form they could not send."""
    _login(client, staff)
    response = client.get(_url("new"))
    assert response.status_code == 200
    assert (
        'id="choose-request"' in response.text and f'data-request="{approved.pk}"' in response.text
    )
    assert client.post(_url("new"), _plan(timezone.localdate())).status_code == 200
    assert not Meeting.objects.exists()


def test_the_organiser_changes_the_meeting(client, meeting, staff, recorder, participant):
    """The edit form starts from the meeting; a new time re-sends the invitation (the
    SEQUENCE goes up)."""
    _login(client, staff)
    form = client.get(_url("edit", meeting.pk))
    assert form.status_code == 200
    assert form.context["form"].initial["topic"] == meeting.topic
    day = timezone.localdate() + dt.timedelta(days=6)
    data = _plan(
        day,
        topic="協作啟動會（改期）",
        organiser=staff.pk,
        recorder=recorder.pk,
        participants=[participant.pk],
        departments=[d.pk for d in meeting.departments.all()],
    )
    response = client.post(_url("edit", meeting.pk), data)
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.topic == "協作啟動會（改期）"
    assert timezone.localdate(meeting.starts_at) == day
    assert meeting.ics_sequence == 1


def test_the_organiser_cancels_with_a_reason(client, meeting, staff):
    """Without a reason the dialog comes back with its error; with one the meeting is
    cancelled and the page says why."""
    _login(client, staff)
    response = client.post(
        _url("cancel", meeting.pk), {"reason": "", "expected_state": "scheduled"}
    )
    assert response.status_code == 200 and "data-open-modal" in response.text
    assert Meeting.objects.get(pk=meeting.pk).state == MeetingState.SCHEDULED
    response = client.post(
        _url("cancel", meeting.pk), {"reason": "客戶延期", "expected_state": "scheduled"}
    )
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.state == MeetingState.CANCELLED and meeting.cancel_reason == "客戶延期"
    page = client.get(meeting.get_absolute_url())
    assert 'id="cancel-reason"' in page.text and "客戶延期" in page.text
    assert 'id="action-edit"' not in page.text
    # Changing a cancelled meeting: the organiser is told, not shown the form.
    assert client.get(_url("edit", meeting.pk)).status_code == 302


# --- minutes ----------------------------------------------------------------------------------


def _editor_post(page, **overrides) -> dict:
    """The minutes editor's POST data as the page rendered it, with `overrides`."""
    editor = page.context["editor"]
    data = {}
    for form in [editor.form, *editor.attendance.forms]:
        for field in form:
            value = field.value()
            if value in (None, False):
                continue
            if isinstance(value, list):
                data[field.html_name] = [str(v) for v in value]
            else:
                data[field.html_name] = "on" if value is True else str(value)
    for formset in [editor.attendance, *editor.formsets.values()]:
        for field in formset.management_form:
            data[field.html_name] = str(field.value())
    for formset in editor.formsets.values():
        for form in formset.forms:
            for field in form:
                value = field.value()
                if value not in (None, "", False):
                    data[field.html_name] = str(value)
    data.update(overrides)
    return data


def _rows(prefix: str, rows: list[dict], *, start: int = 0) -> dict:
    data = {f"{prefix}-TOTAL_FORMS": str(start + len(rows)), f"{prefix}-INITIAL_FORMS": str(start)}
    for index, row in enumerate(rows, start=start):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def test_the_recorder_drafts_saves_and_files_the_minutes(client, meeting, recorder, owner):
    """The editor starts from the agenda and the people invited; saving keeps the draft
    (nothing opens); filing opens the action items and shows the minutes read-only."""
    move_to_past(meeting)
    _login(client, recorder)
    start_minutes(client, meeting)
    page = client.get(_url("minutes", meeting.pk))
    assert page.status_code == 200
    draft = Minutes.objects.get(meeting=meeting)
    assert draft.state == MinutesState.DRAFT and draft.version == 1
    assert [i.title for i in draft.items.all()] == ["確認需求範圍", "任務分工"]
    editor = page.context["editor"]
    assert len(editor.attendance.forms) == meeting.participants.count() + 2  # organiser, recorder
    assert 'id="kickoff-breakdown"' in page.text  # a kick-off of a request with tasks

    due = timezone.localdate() + dt.timedelta(days=5)
    data = _editor_post(page)
    data.update(
        _rows(
            "items",
            [
                {
                    "title": "確認需求範圍",
                    "discussion": "需求範圍討論",
                    "conclusion": "範圍確定為三項",
                },
                {"title": "任務分工", "discussion": "", "conclusion": "依 RACI 分工"},
            ],
        )
    )
    data.update(
        _rows("problems", [{"description": "資料同步延遲", "department": "", "status": "open"}])
    )
    data.update(
        _rows(
            "actions",
            [
                {
                    "description": "整理客戶投訴詳情",
                    "responsible_department": str(owner.department_id),
                    "owner": str(owner.pk),
                    "deliverable": "投訴清單",
                    "due_date": due.isoformat(),
                    "due_time": "17:00",
                    "importance": "normal",
                    "problem_number": "1",
                },
                {
                    "description": "更新上線時程",
                    "responsible_department": str(recorder.department_id),
                    "owner": str(recorder.pk),
                    "deliverable": "",
                    "due_date": due.isoformat(),
                    "due_time": "12:00",
                    "importance": "important",
                    "problem_number": "",
                },
            ],
        )
    )
    data["save"] = "1"
    response = client.post(_url("minutes", meeting.pk), data)
    assert response.status_code == 302 and response.url == _url("minutes", meeting.pk)
    draft.refresh_from_db()
    assert draft.state == MinutesState.DRAFT
    actions = list(ActionItem.objects.filter(meeting=meeting).order_by("position"))
    assert [a.state for a in actions] == [ActionState.DRAFT, ActionState.DRAFT]
    assert timezone.localtime(actions[0].due_at).time() == dt.time(17, 0)
    assert actions[0].problem == Problem.objects.get(meeting=meeting)
    assert actions[1].problem is None and actions[1].importance == "important"

    # The saved draft comes back in the editor; filing it opens the items.
    page = client.get(_url("minutes", meeting.pk))
    assert page.context["editor"].formsets["actions"].forms[0].initial["problem_number"] == 1
    data = _editor_post(page, file="1")
    response = client.post(_url("minutes", meeting.pk), data)
    assert response.status_code == 302 and response.url == meeting.get_absolute_url()
    meeting.refresh_from_db()
    assert meeting.state == MeetingState.MINUTES_FILED
    assert set(meeting.actions.values_list("state", flat=True)) == {ActionState.TODO}
    page = client.get(meeting.get_absolute_url())
    assert 'id="minutes-version" data-version="1"' in page.text
    assert "範圍確定為三項" in page.text and 'id="problem-list"' in page.text
    assert page.text.count('data-action="') == 2
    # Filed minutes are not edited: the editor sends to the meeting page.
    assert client.get(_url("minutes", meeting.pk)).status_code == 302


def test_the_editor_shows_what_is_missing_and_keeps_what_was_typed(client, meeting, recorder):
    """An action item naming a problem that is not listed, and one without an owner,
    come back with their errors; nothing is saved."""
    move_to_past(meeting)
    _login(client, recorder)
    start_minutes(client, meeting)
    page = client.get(_url("minutes", meeting.pk))
    data = _editor_post(page, save="1")
    data.update(
        _rows(
            "actions",
            [
                {
                    "description": "補上報價單",
                    "responsible_department": str(recorder.department_id),
                    "owner": "",
                    "due_date": timezone.localdate().isoformat(),
                    "due_time": "17:00",
                    "importance": "normal",
                    "problem_number": "3",
                }
            ],
        )
    )
    response = client.post(_url("minutes", meeting.pk), data)
    assert response.status_code == 200
    row = response.context["editor"].formsets["actions"].forms[0]
    assert "owner" in row.errors and "problem_number" in row.errors
    assert "補上報價單" in response.text
    assert not ActionItem.objects.filter(meeting=meeting).exists()


def test_filing_unfinished_minutes_is_refused_with_the_reasons(client, meeting, recorder):
    """Filing a draft without conclusions keeps it a draft and says why."""
    move_to_past(meeting)
    _login(client, recorder)
    start_minutes(client, meeting)
    response = client.post(_url("minutes-file", meeting.pk), follow=True)
    assert response.redirect_chain[-1][0] == _url("minutes", meeting.pk)
    assert [m.level_tag for m in response.context["messages"]].count("error") >= 1
    assert Minutes.objects.get(meeting=meeting).state == MinutesState.DRAFT


def test_a_correction_is_a_new_version_and_keeps_the_old_one(client, meeting, recorder, owner):
    """Correcting filed minutes starts version 2 from version 1; once filed, the meeting
    page shows "version 2 of 2" and version 1 read-only on ?version=1."""
    move_to_past(meeting)
    file_minutes(meeting, recorder, owner=owner)
    _login(client, recorder)
    page = client.get(meeting.get_absolute_url())
    assert 'id="action-correct"' in page.text
    response = client.post(_url("minutes-correct", meeting.pk), {"reason": ""})
    assert response.status_code == 200 and "data-open-modal" in response.text
    response = client.post(_url("minutes-correct", meeting.pk), {"reason": "結論二寫錯"})
    assert response.status_code == 302 and response.url == _url("minutes", meeting.pk)
    page = client.get(_url("minutes", meeting.pk))
    assert page.context["draft"].version == 2
    # The filed problem is listed read-only; the filed action item beside the editor.
    problem_row = page.context["editor"].formsets["problems"].forms[0]
    assert problem_row.locked and problem_row.fields["description"].disabled
    assert 'id="filed-actions"' in page.text
    data = _editor_post(page, file="1")
    data["items-1-conclusion"] = "分工確定（修正）"
    response = client.post(_url("minutes", meeting.pk), data)
    assert response.status_code == 302 and response.url == meeting.get_absolute_url()
    states = dict(Minutes.objects.filter(meeting=meeting).values_list("version", "state"))
    assert states == {1: MinutesState.SUPERSEDED, 2: MinutesState.FILED}
    assert Problem.objects.filter(meeting=meeting).count() == 1
    page = client.get(meeting.get_absolute_url())
    assert 'data-version="2"' in page.text and "分工確定（修正）" in page.text
    old = client.get(meeting.get_absolute_url(), {"version": 1})
    assert 'id="superseded"' in old.text and "分工確定" in old.text
    assert client.get(meeting.get_absolute_url(), {"version": 9}).status_code == 404


def test_the_organiser_moves_a_problem_on_in_place(client, meeting, recorder, owner, staff):
    """The status form of a filed problem answers htmx with the problems card."""
    move_to_past(meeting)
    file_minutes(meeting, recorder, owner=owner)
    problem = meeting.problems.get()
    _login(client, staff)
    response = client.post(
        _url("problem", meeting.pk, problem.pk),
        {"status": ProblemStatus.RESOLVED, "note": "已修正同步排程"},
        **HTMX,
    )
    assert response.status_code == 200
    assert 'id="problems"' in response.text and 'data-status="resolved"' in response.text
    assert "<html" not in response.text
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.RESOLVED and problem.status_note == "已修正同步排程"


def test_a_participant_comments_in_place(client, meeting, participant):
    _login(client, participant)
    response = client.post(_url("comment", meeting.pk), {"body": "我會帶上週數據"}, **HTMX)
    assert response.status_code == 200
    assert 'id="comments"' in response.text and "我會帶上週數據" in response.text
    assert 'data-comment-count="1"' in response.text
    response = client.post(_url("comment", meeting.pk), {"body": "  "}, **HTMX)
    assert response.status_code == 200 and "invalid-feedback" in response.text


def test_the_next_meeting_is_scheduled_from_the_minutes_and_carries_the_open_items(
    client, meeting, recorder, owner, staff
):
    """ "Schedule the next meeting" makes it from the minutes' next time; its page opens
    with the open action item and problem of this one."""
    move_to_past(meeting)
    file_minutes(meeting, recorder, owner=owner, next_meeting_at=_future(7, 15))
    _login(client, staff)
    page = client.get(meeting.get_absolute_url())
    assert 'id="action-next"' in page.text
    response = client.post(_url("next", meeting.pk))
    following = Meeting.objects.get(previous=meeting)
    assert response.status_code == 302 and response.url == following.get_absolute_url()
    page = client.get(following.get_absolute_url())
    assert 'id="carried-over"' in page.text
    action = meeting.actions.get()
    assert f'data-action="{action.pk}"' in page.text
    assert 'id="carried-problems"' in page.text
    assert 'id="action-next"' not in client.get(meeting.get_absolute_url()).text


# --- action items -------------------------------------------------------------------------------


@pytest.fixture
def filed_action(meeting, recorder, owner):
    move_to_past(meeting)
    file_minutes(meeting, recorder, owner=owner)
    return meeting.actions.get()


def _act(client, action, name, **data):
    action.refresh_from_db()
    data.setdefault("expected_state", action.state)
    return client.post(_url("action-act", action.pk, name), data)


def test_the_owner_works_on_the_item_and_the_organiser_confirms_it(
    client, filed_action, owner, staff
):
    """The owner starts, logs progress and submits a file; the organiser accepts it."""
    action = filed_action
    _login(client, owner)
    page = client.get(action.get_absolute_url())
    assert page.status_code == 200 and 'id="act-start"' in page.text
    assert 'id="act-accept"' not in page.text
    assert _act(client, action, "start").status_code == 302
    assert _act(client, action, "progress", percent="40", note="已整理一半").status_code == 302
    action.refresh_from_db()
    assert action.state == ActionState.IN_PROGRESS and action.progress_percent == 40
    upload = SimpleUploadedFile("投訴清單.txt", "客戶投訴\n".encode(), content_type="text/plain")
    response = _act(client, action, "submit", note="清單已完成", file=upload)
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.state == ActionState.SUBMITTED
    delivery = action.deliveries.get()
    page = client.get(action.get_absolute_url())
    assert f'data-download="{delivery.pk}"' in page.text and "清單已完成" in page.text
    download = client.get(action.get_absolute_url(), {"download": delivery.pk})
    assert download.status_code == 200
    assert b"".join(download.streaming_content).decode() == "客戶投訴\n"
    # The owner may not confirm their own delivery.
    assert _act(client, action, "accept").status_code == 403

    _login(client, staff)
    page = client.get(action.get_absolute_url())
    assert 'id="act-accept"' in page.text and 'id="act-send_back"' in page.text
    assert _act(client, action, "accept", note="確認").status_code == 302
    action.refresh_from_db()
    assert action.state == ActionState.DONE


def test_the_organiser_sends_back_escalates_and_cancels(client, filed_action, owner, staff):
    action = filed_action
    _login(client, owner)
    _act(client, action, "submit", note="初版")
    _login(client, staff)
    response = _act(client, action, "send_back", reason="")
    assert response.status_code == 200 and response.context["open_form"] == "send_back"
    assert _act(client, action, "send_back", reason="缺少來源").status_code == 302
    action.refresh_from_db()
    assert action.state == ActionState.IN_PROGRESS
    assert _act(client, action, "escalate", reason="需要總監決定").status_code == 302
    action.refresh_from_db()
    assert action.escalated_at is not None
    assert 'id="escalation"' in client.get(action.get_absolute_url()).text
    assert _act(client, action, "cancel", reason="已不需要").status_code == 302
    action.refresh_from_db()
    assert action.state == ActionState.CANCELLED


def test_an_act_on_a_page_that_is_out_of_date_is_refused_with_the_typed_text(
    client, filed_action, owner
):
    """The page showed "to do" but someone moved the item on: nothing happens and the
    typed note stays on screen."""
    _login(client, owner)
    services.action_start(action=filed_action, by=owner)
    response = client.post(
        _url("action-act", filed_action.pk, "submit"),
        {"expected_state": ActionState.TODO, "note": "我的交付說明"},
    )
    assert response.status_code == 200 and "我的交付說明" in response.text
    filed_action.refresh_from_db()
    assert filed_action.state == ActionState.IN_PROGRESS


def test_an_unknown_act_is_404_and_someone_elses_item_is_403(client, filed_action, participant):
    _login(client, participant)
    assert client.get(filed_action.get_absolute_url()).status_code == 200
    assert client.post(_url("action-act", filed_action.pk, "explode")).status_code == 404
    assert _act(client, filed_action, "progress", percent="10", note="x").status_code == 403


def test_my_meetings_lists_the_minutes_to_write_and_my_action_items(
    client, approved, staff, recorder, participant, owner, filed_action
):
    """The recorder sees an ended meeting without minutes under "minutes to write"; the
    owner sees the open item with the task lists' badges under "my action items"."""
    ended = move_to_past(schedule(approved, staff, recorder=recorder, topic="專項會議"), hours=30)
    _login(client, recorder)
    page = client.get(_url("mine"), {"tab": "minutes"})
    assert f'data-meeting="{ended.pk}"' in page.text and 'data-minutes="missing"' in page.text
    assert f'data-meeting="{filed_action.meeting_id}"' not in page.text
    _login(client, owner)
    page = client.get(_url("mine"), {"tab": "actions"})
    assert f'data-action="{filed_action.pk}"' in page.text
    assert page.context["rows"][0].badges is not None


# --- calendar and series ---------------------------------------------------------------------


def test_the_calendar_shows_a_meeting_in_its_month(client, meeting, participant):
    _login(client, participant)
    local = timezone.localtime(meeting.starts_at)
    page = client.get(_url("calendar", month=f"{local:%Y-%m}"))
    assert page.status_code == 200
    assert f'data-meeting="{meeting.pk}"' in page.text
    assert f'data-date="{local:%Y-%m-%d}"' in page.text
    weeks = page.context["weeks"]
    assert all(len(week) == 7 for week in weeks)
    assert weeks[0][0]["date"].weekday() == 0  # Monday first
    assert any(not day["workday"] for week in weeks for day in week)  # weekends greyed
    later = local.date().replace(day=1) + dt.timedelta(days=70)
    other = client.get(_url("calendar", month=f"{later:%Y-%m}"))
    assert f'data-meeting="{meeting.pk}"' not in other.text
    assert client.get(_url("calendar", month="not-a-month")).status_code == 200


def test_a_weekly_series_is_started_from_the_form(client, approved, staff, recorder, participant):
    """The series form makes the series and its meetings; the series page lists them and
    links its calendar file."""
    _login(client, staff)
    first = timezone.localdate() + dt.timedelta(days=7)
    data = {
        "topic": "專案週例會",
        "weekday": str(first.weekday()),
        "start_time": "16:00",
        "duration_minutes": "60",
        "first_date": first.isoformat(),
        "until": "",
        "holiday_rule": "skip",
        "form": MeetingForm.ONLINE,
        "location": "",
        "online_link": "https://meet.example.com/weekly",
        "organiser": str(staff.pk),
        "recorder": str(recorder.pk),
        "participants": [str(participant.pk)],
        "guests": "",
        "agenda_template": "上週進度\n風險與問題",
        "request": str(approved.pk),
    }
    assert client.get(_url("series-new", request=approved.pk)).status_code == 200
    response = client.post(_url("series-new", request=approved.pk), data)
    series = MeetingSeries.objects.get(topic="專案週例會")
    assert response.status_code == 302 and response.url == series.get_absolute_url()
    page = client.get(series.get_absolute_url())
    assert page.status_code == 200 and 'id="series-ics"' in page.text
    assert page.text.count("data-meeting=") == series.meetings.count() >= 1
    assert f'data-series="{series.pk}"' in client.get(_url("request", approved.pk)).text


# --- the request page, the navigation -------------------------------------------------------------


def test_the_request_page_shows_its_meetings_card(client, approved, staff, meeting):
    _login(client, staff)
    page = client.get(approved.get_absolute_url())
    assert 'id="meetings-card" data-meetings="1"' in page.text
    assert 'id="next-meeting-link"' in page.text and 'id="schedule-meeting"' in page.text
    assert 'id="nav-meetings"' in page.text


# --- query counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tab", ["upcoming", "past", "minutes", "actions"])
def test_my_meetings_runs_as_many_queries_with_5_meetings_as_with_1(
    client, approved, staff, recorder, participant, owner, tab
):
    _login(client, staff)

    def make_rows(n):
        for _ in range(n):
            meeting = schedule(approved, staff, recorder=recorder, participants=[participant])
            move_to_past(schedule(approved, staff, recorder=recorder))
            past = move_to_past(meeting, hours=5)
            file_minutes(past, recorder, owner=staff)

    assert_constant_queries(
        make_rows, lambda: client.get(_url("mine"), {"tab": tab}), small=1, large=5
    )


def test_a_requests_meetings_run_as_many_queries_with_5_meetings_as_with_1(
    client, approved, staff, recorder, participant, owner
):
    _login(client, participant)

    def make_rows(n):
        for _ in range(n):
            meeting = schedule(approved, staff, recorder=recorder, participants=[participant])
            file_minutes(move_to_past(meeting), recorder, owner=owner)
            schedule(approved, staff, recorder=recorder)

    assert_constant_queries(
        make_rows, lambda: client.get(_url("request", approved.pk)), small=1, large=5
    )


def test_the_meeting_page_runs_as_many_queries_with_5_action_items_as_with_1(
    client, approved, staff, recorder, participant, owner
):
    meetings = []

    def make_rows(n):
        meeting = schedule(approved, staff, recorder=recorder, participants=[participant])
        file_minutes(move_to_past(meeting), recorder, owner=owner, actions=n)
        meetings.append(meeting)

    _login(client, staff)
    counts = []
    for n in (1, 5):
        make_rows(n)
        count, _queries = count_queries(lambda: client.get(meetings[-1].get_absolute_url()))
        counts.append(count)
    assert counts[0] == counts[1]


# --- in Chromium ----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_schedule_write_and_file_minutes_in_the_browser(page, live_server, pmo):
    """In Chromium: the form shows the link field for an online meeting and no short-
    notice reason for a meeting days ahead; the minutes editor adds a problem and an
    action item row (formsets.js), and filing (after the confirmation) shows the minutes.
    The page fixture fails the test on any console error (a CSP violation included)."""
    from tests.factories import make_approved_request
    from tests.helpers import browser_log_in, browser_switch_user

    mkt = DepartmentFactory(code="mkt", name="市場部")
    amy = UserFactory(username="amy", full_name="王小美", department=mkt)
    bob = UserFactory(username="bob", full_name="陳志明", department=mkt)
    boss = UserFactory(username="mkt_head", full_name="李建國", department=mkt)
    mkt.heads.add(boss)
    req = make_approved_request(initiator=amy, departments=[mkt], pmo=pmo, committed="")

    browser_log_in(page, live_server, amy)
    page.goto(live_server.url + _url("new", request=req.pk))
    assert page.locator("#short-notice").is_hidden()
    page.fill("#id_topic", "行銷協作啟動會")
    page.fill("#id_date", (timezone.localdate() + dt.timedelta(days=5)).isoformat())
    page.select_option("#id_form", MeetingForm.ONLINE)
    assert page.locator("#id_location").is_hidden() and page.locator("#id_online_link").is_visible()
    page.fill("#id_online_link", "https://meet.example.com/kickoff")
    page.select_option("#id_recorder", str(bob.pk))
    page.select_option("#id_participants", [str(boss.pk)])
    page.fill("#id_agenda", "確認需求範圍\n任務分工")
    with page.expect_navigation():
        page.click("#save-meeting")
    meeting = Meeting.objects.get(topic="行銷協作啟動會")
    assert page.url == live_server.url + meeting.get_absolute_url()
    assert meeting.online_link == "https://meet.example.com/kickoff"

    # Held yesterday morning: the minutes' one date and two times cannot span midnight.
    start = timezone.make_aware(
        dt.datetime.combine(timezone.localdate() - dt.timedelta(days=1), dt.time(10, 0))
    )
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=start, ends_at=start + dt.timedelta(hours=1)
    )
    page.on("dialog", lambda dialog: dialog.accept())
    browser_switch_user(page, live_server, "bob")
    page.goto(live_server.url + meeting.get_absolute_url())
    with page.expect_navigation():
        page.click("#action-write-minutes")  # a POST: it starts the draft
    assert page.url == live_server.url + _url("minutes", meeting.pk)
    page.fill("#id_items-0-conclusion", "範圍確定")
    page.fill("#id_items-1-conclusion", "依 RACI 分工")
    page.click('[data-formset-add="problems"]')
    page.fill("#id_problems-0-description", "缺少產品照片")
    page.click('[data-formset-add="actions"]')
    page.fill("#id_actions-0-description", "提供產品照片")
    page.select_option("#id_actions-0-responsible_department", str(mkt.pk))
    page.select_option("#id_actions-0-owner", str(amy.pk))
    page.fill("#id_actions-0-due_date", (timezone.localdate() + dt.timedelta(days=3)).isoformat())
    assert page.input_value("#id_actions-0-due_time") == "17:00"
    page.fill("#id_actions-0-problem_number", "1")
    with page.expect_navigation():
        page.click("#file-minutes")
    assert page.url == live_server.url + meeting.get_absolute_url()
    meeting.refresh_from_db()
    assert meeting.state == MeetingState.MINUTES_FILED
    action = meeting.actions.get()
    assert action.state == ActionState.TODO and action.problem.description == "缺少產品照片"
    assert page.locator("#minutes-items").inner_text().count("範圍確定") == 1


def test_unfiled_minutes_show_overdue_only_past_the_rules_working_days(
    client, approved, staff, recorder
):
    """The list's badge says what the minutes_overdue rule says: "not filed" while the
    recorder still has time, "overdue" once the working days of the rule have passed."""
    recent = move_to_past(schedule(approved, staff, recorder=recorder, topic="剛開完"), hours=2)
    old = schedule(approved, staff, recorder=recorder, topic="上月會議")
    old = move_to_past(old, hours=24 * 12)
    _login(client, recorder)
    page = client.get(_url("mine"), {"tab": "minutes"}).text
    row = {m: page[page.index(f'data-meeting="{m.pk}"') :][:3000] for m in (recent, old)}
    assert 'data-minutes="missing"' in row[recent] and 'data-minutes="overdue"' not in row[recent]
    assert 'data-minutes="overdue"' in row[old]


# --- stopping a weekly series; opening the minutes editor ---------------------------------


def _weekly(approved, staff, recorder, participant) -> MeetingSeries:
    return services.series_create(
        by=staff,
        request=approved,
        topic="專案週例會",
        weekday=(timezone.localdate() + dt.timedelta(days=7)).weekday(),
        start_time=dt.time(16, 0),
        duration_minutes=60,
        first_date=timezone.localdate() + dt.timedelta(days=7),
        holiday_rule="skip",
        form=MeetingForm.ONLINE,
        online_link="https://meet.example.com/weekly",
        recorder=recorder,
        participants=[participant],
    )


def test_the_organiser_stops_a_weekly_series_with_a_reason(
    client, approved, staff, recorder, participant
):
    """The series page offers "Stop the series" to its organiser (not to a participant,
    who gets 403 on the POST); no reason shows the dialog again; with one, the series
    ends and its coming meetings are cancelled."""
    series = _weekly(approved, staff, recorder, participant)
    url = _url("series-stop", series.pk)
    _login(client, participant)
    assert 'id="series-stop"' not in client.get(series.get_absolute_url()).text
    assert client.post(url, {"reason": "不開了"}).status_code == 403
    assert client.get(url).status_code == 405

    _login(client, staff)
    page = client.get(series.get_absolute_url())
    assert 'id="series-stop"' in page.text and 'id="stop-form"' in page.text
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200 and 'data-open-modal="#stop-modal"' in response.text
    series.refresh_from_db()
    assert series.is_active

    response = client.post(url, {"reason": "改為雙週檢討"})
    assert response.status_code == 302 and response.url == series.get_absolute_url()
    series.refresh_from_db()
    # Stopped before its first meeting: inactive, its dates kept (until stays unset).
    assert not series.is_active and series.until is None
    meetings = list(series.meetings.all())
    assert meetings and all(m.state == MeetingState.CANCELLED for m in meetings)
    assert {m.cancel_reason for m in meetings} == {"改為雙週檢討"}
    assert 'id="series-stop"' not in client.get(series.get_absolute_url()).text


def test_opening_the_minutes_editor_starts_no_draft(client, meeting, recorder, pmo):
    """A look at the editor (the PMO's, the recorder's) makes no draft: the page offers
    "Write the minutes", a POST, which starts it; the meeting page's button posts too."""
    move_to_past(meeting)
    for person in (pmo, recorder):
        _login(client, person)
        page = client.get(_url("minutes", meeting.pk))
        assert page.status_code == 200 and 'id="start-minutes"' in page.text
        assert 'id="minutes-form"' not in page.text
    detail = client.get(meeting.get_absolute_url())
    assert 'name="start"' in detail.text and 'id="action-write-minutes"' in detail.text
    assert not Minutes.objects.filter(meeting=meeting).exists()

    start_minutes(client, meeting)
    draft = Minutes.objects.get(meeting=meeting)
    assert draft.state == MinutesState.DRAFT and draft.drafted_by == recorder
    page = client.get(_url("minutes", meeting.pk))
    assert 'id="minutes-form"' in page.text
    start_minutes(client, meeting)  # pressed twice: the same draft
    assert Minutes.objects.filter(meeting=meeting).count() == 1


# --- stale pages (issue 15 review: lost writes) -----------------------------------------


def _two_clients(first_user, second_user):
    from django.test import Client

    first, second = Client(), Client()
    first.force_login(first_user)
    second.force_login(second_user)
    return first, second


def test_minutes_saved_from_an_older_editor_page_are_refused_and_lose_nothing(
    meeting, recorder, staff, owner
):
    """The organiser and the recorder open the same draft; the recorder saves a problem
    and an action item; the organiser's save, then filing, from the older page are
    refused: the recorder's conclusion, problem and action item are all still there."""
    move_to_past(meeting)
    draft = services.minutes_draft(meeting=meeting, by=recorder)
    by_recorder, by_organiser = _two_clients(recorder, staff)
    recorder_page = by_recorder.get(_url("minutes", meeting.pk))
    organiser_page = by_organiser.get(_url("minutes", meeting.pk))
    assert 'name="minutes-revision"' in organiser_page.text
    due = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    data = _editor_post(recorder_page, save="1")
    data.update(
        _rows(
            "items",
            [
                {"title": "確認需求範圍", "discussion": "", "conclusion": "記錄人的結論"},
                {"title": "任務分工", "discussion": "", "conclusion": "依 RACI 分工"},
            ],
        )
    )
    data.update(
        _rows("problems", [{"description": "資料同步延遲", "department": "", "status": "open"}])
    )
    data.update(
        _rows(
            "actions",
            [
                {
                    "description": "整理客戶投訴詳情",
                    "responsible_department": str(owner.department_id),
                    "owner": str(owner.pk),
                    "due_date": due,
                    "due_time": "17:00",
                    "importance": "normal",
                }
            ],
        )
    )
    assert by_recorder.post(_url("minutes", meeting.pk), data).status_code == 302

    stale = _editor_post(organiser_page, save="1")
    stale.update(
        _rows(
            "items",
            [
                {"title": "確認需求範圍", "discussion": "", "conclusion": "召集人的結論"},
                {"title": "任務分工", "discussion": "", "conclusion": "召集人的結論"},
            ],
        )
    )
    response = by_organiser.post(_url("minutes", meeting.pk), stale)
    assert response.status_code == 200  # the editor again, with what was typed
    assert "召集人的結論" in response.text
    stale["file"] = "1"
    del stale["save"]
    assert by_organiser.post(_url("minutes", meeting.pk), stale).status_code == 200
    draft.refresh_from_db()
    assert draft.state == MinutesState.DRAFT
    assert [i.conclusion for i in draft.items.order_by("position")] == [
        "記錄人的結論",
        "依 RACI 分工",
    ]
    assert list(Problem.objects.filter(raised_in=draft).values_list("description", flat=True)) == [
        "資料同步延遲"
    ]
    assert ActionItem.objects.filter(raised_in=draft, state=ActionState.DRAFT).count() == 1


def test_a_meeting_changed_from_an_older_form_is_refused(meeting, staff, recorder, participant):
    """Two editors open the change form; the first moves the meeting; the second's form
    still shows the old time: it is refused, the new time stays and no invitation goes
    out for the old one."""
    by_organiser, by_recorder = _two_clients(staff, recorder)
    first = by_organiser.get(_url("edit", meeting.pk))
    second = by_recorder.get(_url("edit", meeting.pk))
    assert 'name="revision"' in second.text
    people = {
        "organiser": staff.pk,
        "recorder": recorder.pk,
        "participants": [participant.pk],
        "departments": [d.pk for d in meeting.departments.all()],
    }
    moved = timezone.localdate() + dt.timedelta(days=6)
    data = _plan(moved, revision=first.context["form"]["revision"].value(), **people)
    assert by_organiser.post(_url("edit", meeting.pk), data).status_code == 302
    meeting.refresh_from_db()
    sequence = meeting.ics_sequence
    old_day = timezone.localdate(meeting.starts_at) - dt.timedelta(days=1)
    stale = _plan(
        old_day,
        location="二樓小會議室",
        revision=second.context["form"]["revision"].value(),
        **people,
    )
    response = by_recorder.post(_url("edit", meeting.pk), stale)
    assert response.status_code == 200
    meeting.refresh_from_db()
    assert timezone.localdate(meeting.starts_at) == moved
    assert meeting.location == "五樓大會議室" and meeting.ics_sequence == sequence


def test_a_problems_status_from_an_older_page_is_refused_in_place(
    client, meeting, recorder, owner, staff
):
    """Both editors saw the problem 進行中; the first resolves it; the second's status
    form (htmx) from the older page is refused: the card shows the error and the status
    now, and the first's note stays."""
    move_to_past(meeting)
    file_minutes(meeting, recorder, owner=owner)
    problem = meeting.problems.get()
    by_recorder, by_organiser = _two_clients(recorder, staff)
    page = by_organiser.get(meeting.get_absolute_url())
    assert f'name="expected_status" value="{ProblemStatus.OPEN}"' in page.text
    url = _url("problem", meeting.pk, problem.pk)
    seen = {"expected_status": ProblemStatus.OPEN}
    response = by_recorder.post(
        url, {"status": ProblemStatus.RESOLVED, "note": "已修正同步排程", **seen}, **HTMX
    )
    assert response.status_code == 200
    response = by_organiser.post(
        url, {"status": ProblemStatus.ESCALATE, "note": "需要主管決定", **seen}, **HTMX
    )
    assert response.status_code == 200
    assert 'id="problems-error"' in response.text and 'data-status="resolved"' in response.text
    # The form now carries the status shown, and keeps what was typed.
    assert f'name="expected_status" value="{ProblemStatus.RESOLVED}"' in response.text
    assert "需要主管決定" in response.text
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.RESOLVED and problem.status_note == "已修正同步排程"


def test_the_admins_change_form_from_an_older_page_is_refused(client, meeting, staff, pmo):
    """The admin's change form carries the meeting's revision too: saved over a change
    made on the portal since, it comes back with the conflict and reverts nothing."""
    from tests.helpers import admin_form_data

    _login(client, pmo)
    url = reverse("admin:meetings_app_meeting_change", args=[meeting.pk])
    data = admin_form_data(client.get(url))
    assert data["revision"] == services.revision(meeting)
    services.meeting_update(meeting=meeting, by=staff, location="二樓小會議室")
    response = client.post(url, {**data, "focus": "確認分工與時程", "_save": "1"})
    assert response.status_code == 200 and response.context["errors"]
    meeting.refresh_from_db()
    assert meeting.location == "二樓小會議室" and meeting.focus == ""
    data = admin_form_data(client.get(url))
    assert client.post(url, {**data, "focus": "確認分工與時程", "_save": "1"}).status_code == 302
    meeting.refresh_from_db()
    assert meeting.location == "二樓小會議室" and meeting.focus == "確認分工與時程"


def test_filing_from_a_meeting_page_older_than_the_last_save_is_refused(
    client, meeting, recorder, staff
):
    """The meeting page's "File the minutes" carries the draft's revision it showed: a
    save made since (by the recorder) refuses the organiser's filing from that page."""
    move_to_past(meeting)
    draft = services.minutes_draft(meeting=meeting, by=recorder)
    _login(client, staff)
    page = client.get(meeting.get_absolute_url()).text
    shown = services.revision(draft)
    assert f'name="revision" value="{shown}"' in page
    Minutes.objects.filter(pk=draft.pk).update(other_matters="記錄人剛補充")  # a later save
    Minutes.objects.get(pk=draft.pk).save()
    response = client.post(_url("minutes-file", meeting.pk), {"revision": shown}, follow=True)
    assert "其他人已在此期間儲存這份會議紀要" in response.text
    assert Minutes.objects.get(pk=draft.pk).state == MinutesState.DRAFT
