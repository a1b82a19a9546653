"""The Django admin of meetings and action items: scoping per role, the state buttons that
call the services (and log), the plan saved through meeting_update, drafts kept from
non-editors, archived cases read-only, and list pages whose queries do not grow.

Heads see the meetings of their departments' requests, the PMO and executives all; staff
do not use admin. Nothing is written by the admin itself: "Cancel meeting" is
services.meeting_cancel, an action item's buttons are action_accept / action_send_back /
action_cancel, "Escalate" is action_escalate.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import messages
from django.urls import reverse
from django.utils import timezone

from collab.choices import Role
from meetings_app import services
from meetings_app.choices import (
    ActionEventKind,
    ActionState,
    MeetingEventKind,
    MeetingForm,
    MeetingKind,
    MeetingState,
    MinutesState,
)
from meetings_app.models import ActionItem, Meeting, Minutes, Problem
from review_app.services import archive as archive_services
from tests.factories import UserFactory, make_admin_org, make_approved_request, make_role_user
from tests.helpers import admin_form_data, assert_constant_queries
from tests.helpers import changelist_pks as listed
from tests.helpers import messages_at as sent
from tests.meetings_fixtures import make_meeting
from tests.review_archive_fixtures import quick_archived_case
from tests.test_meetings_pdf import held_meeting

pytestmark = pytest.mark.django_db

MEETINGS = "admin:meetings_app_meeting_changelist"
ACTIONS = "admin:meetings_app_actionitem_changelist"


def change_url(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def transition_url(obj, name):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_transition", args=[obj.pk, name])


def _action_row(description, owner, department):
    return {
        "description": description,
        "responsible_department": department,
        "owner": owner,
        "deliverable": "書面回覆",
    }


@pytest.fixture
def org(department, head, staff, pmo):
    """市場部 (staff organises, a colleague records) and 技術部 share a project with a
    held kick-off and an upcoming meeting; 運營部 has its own project and meeting."""
    org = make_admin_org(mkt=department, mkt_head=head, staff=staff, pmo=pmo)
    org.tech_staff = UserFactory(department=org.tech)
    org.recorder = UserFactory(department=department)
    org.executive = make_role_user(Role.EXECUTIVE)
    org.project = make_approved_request(
        initiator=staff, departments=[department, org.tech], lead=department, pmo=pmo
    )
    org.ops_project = make_approved_request(initiator=org.ops_staff, departments=[org.ops], pmo=pmo)
    org.meeting = held_meeting(
        org.project,
        organiser=staff,
        recorder=org.recorder,
        participants=[org.tech_staff],
        actions=[
            _action_row("提供介面規格", org.tech_staff, org.tech),
            _action_row("評估所需人力", org.tech_staff, org.tech),
        ],
    )
    org.ops_meeting = held_meeting(
        org.ops_project,
        organiser=org.ops_staff,
        recorder=org.ops_staff,
        participants=[],
        actions=[_action_row("盤點門市庫存", org.ops_staff, org.ops)],
    )
    ahead = timezone.now() + dt.timedelta(days=5)
    org.upcoming = services.meeting_schedule(
        by=staff,
        request=org.project,
        topic="需求B驗收會",
        kind=MeetingKind.REVIEW,
        starts_at=ahead,
        ends_at=ahead + dt.timedelta(hours=1),
        form=MeetingForm.ON_SITE,
        location="3F 會議室A",
        recorder=org.recorder,
        participants=[org.tech_staff],
        agenda=["需求B驗收"],
    )
    return org


def _draft_with_an_action(org) -> ActionItem:
    """The upcoming meeting's recorder starts its minutes with a problem and an action."""
    minutes = services.minutes_draft(meeting=org.upcoming, by=org.recorder)
    services.minutes_save(
        minutes=minutes,
        by=org.recorder,
        actual_start=None,
        actual_end=None,
        items=[{"title": "需求B驗收", "discussion": "", "conclusion": ""}],
        attendance={},
        problems=[{"pk": None, "description": "驗收環境尚未準備", "department": org.tech}],
        actions=[
            {
                "pk": None,
                **_action_row("準備驗收環境", org.tech_staff, org.tech),
                "due_at": org.upcoming.starts_at + dt.timedelta(days=3),
            }
        ],
    )
    return ActionItem.objects.get(raised_in=minutes)


# --- who sees what -------------------------------------------------------------------


def test_meeting_changelist_is_scoped_per_role(org, client_for):
    """Heads list their departments' meetings; the PMO and executives list all."""
    project = {org.meeting.pk, org.upcoming.pk}
    everything = project | {org.ops_meeting.pk}
    for user, expected in (
        (org.mkt_head, project),
        (org.tech_head, project),
        (org.ops_head, {org.ops_meeting.pk}),
        (org.pmo, everything),
        (org.executive, everything),
    ):
        response = client_for(user).get(reverse(MEETINGS))
        assert response.status_code == 200, user
        assert listed(response) == expected, user
    # Staff do not use admin at all.
    assert client_for(org.staff).get(reverse(MEETINGS)).status_code == 302


def test_changelist_filters_and_search(org, client_for):
    client = client_for(org.pmo)
    response = client.get(reverse(MEETINGS), {"q": "驗收會"})
    assert listed(response) == {org.upcoming.pk}
    response = client.get(reverse(MEETINGS), {"minutes": "filed"})
    assert listed(response) == {org.meeting.pk, org.ops_meeting.pk}
    Meeting.objects.filter(pk=org.meeting.pk).update(state=MeetingState.SCHEDULED)
    response = client.get(reverse(MEETINGS), {"minutes": "awaiting"})
    assert listed(response) == {org.meeting.pk}
    # The timing filter reads an action item as tasks_app.deadlines reads a task.
    late = org.meeting.actions.order_by("position").first()
    ActionItem.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(days=1))
    response = client.get(reverse(ACTIONS), {"timing": "overdue"})
    assert listed(response) == {late.pk}
    response = client.get(reverse(ACTIONS), {"escalated": "yes"})
    assert listed(response) == set()


def test_action_changelist_is_scoped_and_a_draft_is_the_editors_only(org, client_for):
    draft = _draft_with_an_action(org)
    project = set(org.meeting.actions.values_list("pk", flat=True))
    ops = set(org.ops_meeting.actions.values_list("pk", flat=True))
    for user, expected in (
        (org.mkt_head, project),
        (org.tech_head, project),
        (org.ops_head, ops),
        (org.pmo, project | ops | {draft.pk}),
    ):
        response = client_for(user).get(reverse(ACTIONS))
        assert response.status_code == 200, user
        assert listed(response) == expected, user
    # On the meeting's page, a head sees neither the draft minutes nor its problem.
    response = client_for(org.mkt_head).get(change_url(org.upcoming))
    inlines = {fs.formset.model: fs.formset for fs in response.context["inline_admin_formsets"]}
    assert not inlines[Minutes].queryset.exists()
    assert not inlines[Problem].queryset.exists()
    assert not inlines[ActionItem].queryset.exists()
    response = client_for(org.pmo).get(change_url(org.upcoming))
    inlines = {fs.formset.model: fs.formset for fs in response.context["inline_admin_formsets"]}
    assert [m.state for m in inlines[Minutes].queryset] == [MinutesState.DRAFT]
    assert inlines[Problem].queryset.count() == 1


def test_another_departments_meeting_is_not_found(org, client_for):
    """Django admin's "not found" (back to the index with a message) for a meeting or an
    action item the person may not see; staff are sent to the login page."""
    action = org.meeting.actions.first()
    for obj in (org.meeting, action):
        response = client_for(org.ops_head).get(change_url(obj))
        assert response.status_code == 302
        assert response.url == reverse("admin:index")
        assert client_for(org.staff).get(change_url(obj)).url.startswith(reverse("admin:login"))
    assert client_for(org.ops_head).get(change_url(org.ops_meeting)).status_code == 200


def test_changelists_queries_do_not_grow_with_rows(org, client_for):
    client = client_for(org.pmo)

    def make_meetings(n):
        for _ in range(n):
            make_meeting(
                request=org.project,
                organiser=org.staff,
                recorder=org.recorder,
                participants=[org.tech_staff],
                departments=[org.mkt, org.tech],
            )

    assert_constant_queries(make_meetings, lambda: client.get(reverse(MEETINGS)))
    head = client_for(org.mkt_head)
    assert_constant_queries(make_meetings, lambda: head.get(reverse(MEETINGS)))

    def make_actions(n):
        for i in range(n):
            ActionItem.objects.create(
                meeting=org.meeting,
                description=f"行動項{i}",
                responsible_department=org.tech,
                owner=org.tech_staff,
                start_date=timezone.localdate(),
                due_at=timezone.now() + dt.timedelta(days=3),
            )

    assert_constant_queries(make_actions, lambda: client.get(reverse(ACTIONS)))


# --- the meeting's state button and plan ---------------------------------------------


def test_pmo_cancels_a_meeting_through_the_service(org, client_for):
    """The button asks for the reason, then services.meeting_cancel moves the meeting
    and writes its history line, as the portal's page does."""
    client = client_for(org.pmo)
    response = client.get(change_url(org.upcoming))
    [block] = response.context["fsm_object_transitions"]
    assert [(t.name, t.label) for t in block.available_transitions] == [("cancel", "取消會議")]
    response = client.post(
        change_url(org.upcoming),
        {"_fsm_transition_to": "cancel", "_fsm_expected_state": MeetingState.SCHEDULED},
    )
    assert response.status_code == 302
    assert response.url == transition_url(org.upcoming, "cancel")
    # No reason: the form asks again, nothing moves.
    response = client.post(response.url, {"reason": "", "_fsm_expected_state": "scheduled"})
    assert response.status_code == 200 and response.context["transition_form"].errors
    response = client.post(
        transition_url(org.upcoming, "cancel"),
        {"reason": "驗收改於下週會議一併進行", "_fsm_expected_state": "scheduled"},
    )
    assert response.status_code == 302 and response.url == change_url(org.upcoming)
    meeting = Meeting.objects.get(pk=org.upcoming.pk)
    assert meeting.state == MeetingState.CANCELLED
    assert meeting.cancel_reason == "驗收改於下週會議一併進行"
    event = meeting.events.get(kind=MeetingEventKind.CANCELLED)
    assert (event.by, event.comment) == (org.pmo, "驗收改於下週會議一併進行")
    assert (event.from_state, event.to_state) == (MeetingState.SCHEDULED, MeetingState.CANCELLED)
    assert sent(response, messages.SUCCESS)
    # A page from before the cancellation gets no second one.
    response = client.post(
        transition_url(org.upcoming, "cancel"),
        {"reason": "再取消一次", "_fsm_expected_state": "scheduled"},
    )
    assert sent(response, messages.ERROR)
    assert meeting.events.filter(kind=MeetingEventKind.CANCELLED).count() == 1


def test_a_head_who_only_views_gets_no_button(org, client_for):
    client = client_for(org.tech_head)
    response = client.get(change_url(org.upcoming))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert not list(response.context["fsm_object_transitions"])
    response = client.post(
        transition_url(org.upcoming, "cancel"),
        {"reason": "不該取消", "_fsm_expected_state": "scheduled"},
    )
    assert sent(response, messages.ERROR)
    assert Meeting.objects.get(pk=org.upcoming.pk).state == MeetingState.SCHEDULED


def test_pmo_changes_the_plan_through_meeting_update(org, client_for):
    """Saving the form re-sends the invitation (SEQUENCE + 1) and logs the change; a
    head may not save."""
    client = client_for(org.pmo)
    response = client.get(change_url(org.upcoming))
    assert response.context["has_change_permission"] is True
    data = admin_form_data(response)
    data.update(location="5F 大會議室", _save="1")
    response = client.post(change_url(org.upcoming), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    meeting = Meeting.objects.get(pk=org.upcoming.pk)
    assert meeting.location == "5F 大會議室"
    assert meeting.ics_sequence == org.upcoming.ics_sequence + 1
    event = meeting.events.get(kind=MeetingEventKind.RESCHEDULED)
    assert event.by == org.pmo and event.params["changed"] == ["location"]
    # The service's refusal comes back on the form: an online meeting needs its link.
    data.update(form=MeetingForm.ONLINE, online_link="")
    response = client.post(change_url(org.upcoming), data)
    assert response.status_code == 200 and response.context["errors"]
    assert Meeting.objects.get(pk=org.upcoming.pk).form == MeetingForm.ON_SITE
    # Heads only view.
    response = client_for(org.mkt_head).post(change_url(org.upcoming), data)
    assert response.status_code == 403


# --- the action item's buttons ------------------------------------------------------


def test_confirmer_buttons_call_the_action_services(org, client_for):
    """閉環確認 of a submitted item, then 需升級 of another, each through its service."""
    first, second = org.meeting.actions.order_by("position")
    services.action_submit(action=first, by=org.tech_staff, note="規格文件已上傳。")
    client = client_for(org.pmo)
    response = client.get(change_url(first))
    [block] = response.context["fsm_object_transitions"]
    assert {t.name for t in block.available_transitions} == {"accept", "send_back"}
    response = client.post(
        change_url(first),
        {"_fsm_transition_to": "accept", "_fsm_expected_state": ActionState.SUBMITTED},
    )
    assert response.url == transition_url(first, "accept")
    response = client.post(
        response.url, {"note": "符合需求", "_fsm_expected_state": ActionState.SUBMITTED}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.state == ActionState.DONE and first.completed_at is not None
    event = first.events.get(kind=ActionEventKind.ACCEPT)
    assert (event.by, event.comment) == (org.pmo, "符合需求")

    escalate = reverse("admin:meetings_app_actionitem_escalate", args=[second.pk])
    response = client.get(change_url(second))
    assert response.context["escalate_url"] == escalate
    assert client.get(escalate).status_code == 200
    response = client.post(escalate, {"reason": "需其他部門支援人力"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.escalated_at is not None and second.escalation_reason == "需其他部門支援人力"
    assert second.events.get(kind=ActionEventKind.ESCALATE).by == org.pmo
    # Escalated once: the button is gone and a second post is refused.
    assert "escalate_url" not in client.get(change_url(second)).context
    response = client.post(escalate, {"reason": "再一次"})
    assert sent(response, messages.ERROR)
    # A head who only views gets no buttons on the items.
    response = client_for(org.tech_head).get(change_url(second))
    assert not list(response.context["fsm_object_transitions"])
    assert "escalate_url" not in response.context


def test_a_stale_button_gets_the_conflict(org, client_for):
    """The state the person saw travels with the button: a page from before the owner's
    submission cannot cancel the item."""
    action = org.meeting.actions.order_by("position").first()
    services.action_submit(action=action, by=org.tech_staff, note="已交付。")
    response = client_for(org.pmo).post(
        transition_url(action, "send_back"),
        {"reason": "缺附件", "_fsm_expected_state": ActionState.TODO},
    )
    assert sent(response, messages.ERROR)
    action.refresh_from_db()
    assert action.state == ActionState.SUBMITTED


# --- archived cases ---------------------------------------------------------------


def test_an_archived_cases_meeting_is_read_only(org, client_for):
    req = quick_archived_case(
        initiator=org.staff, departments=[org.mkt], pmo=org.pmo, archive=False
    )
    meeting = make_meeting(
        request=req, organiser=org.staff, recorder=org.recorder, departments=[org.mkt]
    )
    archive_services.archive_case(request=req, by=org.pmo)
    client = client_for(org.pmo)
    response = client.get(change_url(meeting))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert not list(response.context["fsm_object_transitions"])
    response = client.post(
        transition_url(meeting, "cancel"),
        {"reason": "歸檔後取消", "_fsm_expected_state": "scheduled"},
    )
    assert sent(response, messages.ERROR)
    assert Meeting.objects.get(pk=meeting.pk).state == MeetingState.SCHEDULED


def test_series_admin_is_read_only_and_scoped(org, client_for):
    """A weekly series and the meetings it made: its request's heads see it, read-only."""
    series = services.series_create(
        by=org.staff,
        request=org.project,
        topic="需求B週例會",
        weekday=4,
        start_time=dt.time(16, 0),
        duration_minutes=60,
        first_date=timezone.localdate(),
        holiday_rule="skip",
        form=MeetingForm.ONLINE,
        online_link="https://meet.example.com/weekly",
        recorder=org.recorder,
        participants=[org.tech_staff],
    )
    changelist = reverse("admin:meetings_app_meetingseries_changelist")
    assert listed(client_for(org.tech_head).get(changelist)) == {series.pk}
    assert listed(client_for(org.ops_head).get(changelist)) == set()
    response = client_for(org.pmo).get(change_url(series))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    [meetings] = [
        fs.formset
        for fs in response.context["inline_admin_formsets"]
        if fs.formset.model is Meeting
    ]
    assert set(meetings.queryset) == set(series.meetings.all()) and meetings.queryset.exists()
