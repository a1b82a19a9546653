"""The services of risk reports (issue 16 §1, 風險應對申請表).

- risk_report: anyone on the request (or on one of its tasks) files a risk while the
  request is 已立項 or 進行中; its level comes from the editable matrix; a report filed
  more than 24 hours after the discovery is flagged late; the PMO hears of every report,
  and of a high one the heads of the request's and the affected departments too.
- the PMO's response: risk_accept (owner, deadline, plan: 已提報 → 應對中), then
  risk_resolve / risk_occur (the PMO or the owner) or risk_close (the PMO), each with a
  note, each a history row rendered in the reader's language.
- a stale page (expected_state) never makes a second transition; an archived case is
  read-only; editing a matrix cell re-levels the open risks of that cell only.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation

from collab.models import Notification, OutboxMessage, User
from requests_app.choices import RequestState
from requests_app.models import CaseArchived, CollabRequest
from risks_app import rules, services
from risks_app.choices import RiskEventKind, RiskState
from risks_app.models import Risk, RiskEvent, RiskMatrixCell
from risks_app.services import RiskConflict, RiskRefused
from tasks_app import services as task_services
from tasks_app.choices import RiskLevel
from tests.concurrency import race, slow
from tests.factories import make_approved_request, make_request
from tests.risks_fixtures import RiskWorld, accepted, archive, make_risk_world, report

pytestmark = pytest.mark.django_db

TPE = ZoneInfo("Asia/Taipei")


@pytest.fixture
def w(db) -> RiskWorld:
    return make_risk_world()


def notified(risk: Risk) -> set[User]:
    """Who was told about `risk` (in-app notifications linking to it)."""
    return {n.recipient for n in Notification.objects.filter(url=risk.get_absolute_url())}


def texts(event) -> tuple[str, str]:
    """The history line in Chinese and in English."""
    with translation.override("zh-hant"):
        chinese = event.text
    with translation.override("en"):
        english = event.text
    return chinese, english


def another_request(w) -> CollabRequest:
    """A request of the department that takes no part in the world's request (已立項,
    with a draft task and a goal of its own)."""
    return make_approved_request(
        initiator=w.other_staff, departments=[w.other], lead=w.other, pmo=w.pmo
    )


def foreign_task(w):
    return another_request(w).tasks.first()


# --- the level --------------------------------------------------------------------------


def test_the_shipped_matrix_is_the_default_rule():
    """Migration 0002 fills all 25 cells: 15 and more 高, 5 to 12 中, up to 4 低."""
    assert RiskMatrixCell.objects.count() == 25
    assert rules.matrix() == {(p, i): level for p, i, level in rules.default_matrix()}
    assert rules.matrix()[(5, 3)] == RiskLevel.HIGH
    assert rules.matrix()[(2, 2)] == RiskLevel.LOW
    assert rules.matrix()[(1, 5)] == RiskLevel.MEDIUM
    assert rules.matrix()[(3, 4)] == RiskLevel.MEDIUM


@pytest.mark.parametrize(
    ("probability", "impact", "level"),
    [
        (5, 5, RiskLevel.HIGH),
        (5, 3, RiskLevel.HIGH),  # 15: the lowest high score
        (4, 3, RiskLevel.MEDIUM),  # 12
        (1, 5, RiskLevel.MEDIUM),  # 5: the lowest medium score
        (2, 2, RiskLevel.LOW),  # 4
        (1, 1, RiskLevel.LOW),
    ],
)
def test_a_reports_level_comes_from_the_matrix(w, probability, impact, level):
    risk = report(w, probability=probability, impact=impact)
    assert (risk.probability, risk.impact, risk.level) == (probability, impact, level)
    assert risk.score == probability * impact
    assert Risk.objects.get(pk=risk.pk).level == level


def test_an_edited_cell_gives_new_reports_its_level(w):
    """An administrator marks 2 × 2 high: the next report scored so is high; a removed
    cell falls back to the default rule."""
    assert report(w, probability=2, impact=2).level == RiskLevel.LOW
    RiskMatrixCell.objects.filter(probability=2, impact=2).update(level=RiskLevel.HIGH)
    assert report(w, probability=2, impact=2).level == RiskLevel.HIGH
    RiskMatrixCell.objects.filter(probability=2, impact=2).delete()
    assert report(w, probability=2, impact=2).level == RiskLevel.LOW
    assert rules.matrix()[(2, 2)] == RiskLevel.LOW


# --- what a report states --------------------------------------------------------------------


def test_a_report_keeps_its_scope_and_starts_reported(w):
    found = timezone.now() - dt.timedelta(hours=3)
    risk = report(
        w,
        title="  供應商交期延誤  ",
        task=w.task_b,
        discovered_at=found,
        affected_tasks=[w.task_a, w.task_b],
        affected_departments=[w.tech, w.other],
        affected_goals=[w.goal],
        affected_dates="上線日 6/30 可能延後一週",
    )
    risk = Risk.objects.get(pk=risk.pk)
    assert risk.state == RiskState.REPORTED and risk.is_open
    assert risk.title == "供應商交期延誤"  # trimmed
    assert risk.request == w.request and risk.task == w.task_b
    assert risk.reported_by == w.mkt_staff
    assert risk.discovered_at == found and risk.reported_at >= found
    assert set(risk.affected_tasks.all()) == {w.task_a, w.task_b}
    assert set(risk.affected_departments.all()) == {w.tech, w.other}
    assert list(risk.affected_goals.all()) == [w.goal]
    assert risk.affected_dates == "上線日 6/30 可能延後一週"
    assert risk.owner is None and risk.response_due is None and risk.closed_at is None
    assert not risk.is_late_report


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("discovered_at", lambda w: {"discovered_at": timezone.now() + dt.timedelta(hours=1)}),
        ("probability", lambda w: {"probability": 0}),
        ("probability", lambda w: {"probability": 6}),
        ("impact", lambda w: {"impact": 0}),
        ("impact", lambda w: {"impact": 6}),
        ("title", lambda w: {"title": "   "}),
        ("description", lambda w: {"description": ""}),
        ("suggested_measures", lambda w: {"suggested_measures": " \n "}),
        ("task", lambda w: {"task": foreign_task(w)}),
        ("affected_tasks", lambda w: {"affected_tasks": [w.task_a, foreign_task(w)]}),
        ("affected_goals", lambda w: {"affected_goals": [another_request(w).goals.first()]}),
    ],
)  # fmt: skip
def test_a_report_that_cannot_stand_is_refused_by_field(w, field, fields):
    arguments = fields(w)
    with pytest.raises(ValidationError) as refused:
        report(w, **arguments)
    assert field in refused.value.message_dict
    assert not Risk.objects.exists() and not RiskEvent.objects.exists()
    assert not Notification.objects.filter(url__startswith="/risks/").exists()


def high_risk_update(task, by):
    """The task's R starts it and logs progress marked high risk."""
    task = task_services.task_start(task=task, by=by)
    return task_services.progress_log(
        task=task,
        by=by,
        percent=20,
        done="完成供應商詢價",
        risk_note="原料延遲兩週到貨",
        risk_level=RiskLevel.HIGH,
    )


def test_a_report_from_a_high_risk_progress_update_keeps_the_link(w):
    update = high_risk_update(w.task_a, w.mkt_staff)
    risk = report(w, task=w.task_a, progress_update=update, probability=5, impact=4)
    stored = Risk.objects.get(pk=risk.pk)
    assert stored.progress_update == update and stored.task == w.task_a
    assert list(update.risks.all()) == [stored]


def test_a_progress_update_of_another_request_is_refused(w):
    elsewhere = another_request(w)
    task = elsewhere.tasks.first()
    task_services.breakdown_sign(request=elsewhere, by=w.other_head, department=w.other)
    responsible = task.assignments.get(role="R").user
    update = high_risk_update(task, responsible)
    with pytest.raises(ValidationError) as refused:
        report(w, progress_update=update)
    assert "progress_update" in refused.value.message_dict
    assert not Risk.objects.exists()


def test_every_mistake_is_reported_at_once(w):
    with pytest.raises(ValidationError) as refused:
        report(w, title="", probability=9, impact=0, suggested_measures="")
    assert set(refused.value.message_dict) == {
        "title",
        "probability",
        "impact",
        "suggested_measures",
    }


# --- late reports (seed 001: within 24 hours) ------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "late"),
    [(1, False), (23, False), (24, False), (24.5, True), (72, True)],
)
def test_a_report_more_than_24_hours_after_the_discovery_is_late(time_machine, w, hours, late):
    found = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TPE)
    time_machine.move_to(found + dt.timedelta(hours=hours), tick=False)
    risk = report(w, discovered_at=found)
    assert risk.is_late_report is late
    assert Risk.objects.filter(rules.late_report_q(), pk=risk.pk).exists() is late
    event = risk.events.get()
    assert event.params["late"] is late
    with translation.override("en"):
        assert ("more than 24 hours" in event.text) is late


# --- who reports, on what --------------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    ["initiator", "mkt_staff", "mkt_head", "tech_staff", "tech_head", "tech_deputy",
     "consultant", "pmo", "admin"],
)  # fmt: skip
def test_everyone_on_the_request_or_a_task_of_it_reports(w, role):
    risk = report(w, by=getattr(w, role))
    assert risk.reported_by == getattr(w, role)


@pytest.mark.parametrize("role", ["other_staff", "other_head", "inactive", "anonymous"])
def test_someone_not_on_the_request_may_not_report(w, role):
    with pytest.raises(PermissionDenied):
        report(w, by=getattr(w, role))
    assert not Risk.objects.exists()


@pytest.mark.parametrize(
    "state",
    [RequestState.DRAFT, RequestState.PENDING, RequestState.COMPLETED, RequestState.CANCELLED],
)
def test_no_report_on_a_request_not_approved_or_running(w, state):
    CollabRequest.objects.filter(pk=w.request.pk).update(state=state)
    for user in (w.mkt_staff, w.pmo):
        with pytest.raises(PermissionDenied):
            report(w, by=user)
    assert not Risk.objects.exists()


def test_a_report_on_an_approved_request_before_its_breakdown_is_signed(w):
    approved = another_request(w)
    assert approved.state == RequestState.APPROVED
    risk = report(w, request=approved, by=w.other_staff, task=approved.tasks.first())
    assert risk.request == approved


def test_a_draft_requests_people_may_not_report_either(w):
    draft = make_request(initiator=w.mkt_staff, departments=[w.mkt], lead=w.mkt)
    with pytest.raises(PermissionDenied):
        report(w, request=draft, by=w.mkt_staff)


def test_an_archived_case_takes_no_new_report(w):
    request = archive(w.request, by=w.pmo)
    for user in (w.mkt_staff, w.pmo):
        with pytest.raises(CaseArchived):
            report(w, request=request, by=user)
    assert not Risk.objects.exists()


# --- who hears of a report -------------------------------------------------------------------


def test_the_pmo_hears_of_every_report(w):
    risk = report(w, probability=2, impact=3)  # medium
    assert risk.level == RiskLevel.MEDIUM
    assert notified(risk) == {w.pmo}
    [note] = Notification.objects.filter(url=risk.get_absolute_url())
    assert "供應商交期延誤" in note.title
    assert OutboxMessage.objects.filter(kind="notification", params__notification=note.pk).exists()
    low = report(w, probability=1, impact=1)
    assert notified(low) == {w.pmo}


def test_a_high_risk_reaches_the_pmo_and_every_head_involved_at_once(w):
    """The heads (and today's deputy) of the request's departments and of the departments
    the risk affects; not the reporter, not the staff."""
    risk = report(w, probability=5, impact=4, affected_departments=[w.other])
    assert risk.level == RiskLevel.HIGH
    assert notified(risk) == {w.pmo, w.mkt_head, w.tech_head, w.tech_deputy, w.other_head}
    titles = set(
        Notification.objects.filter(url=risk.get_absolute_url()).values_list("title", flat=True)
    )
    assert len(titles) == 1 and "供應商交期延誤" in titles.pop()


def test_a_high_risk_reported_by_a_head_does_not_notify_the_head(w):
    risk = report(w, by=w.mkt_head, probability=5, impact=5)
    assert notified(risk) == {w.pmo, w.tech_head, w.tech_deputy}


def test_a_high_risk_without_affected_departments_stays_within_the_request(w):
    risk = report(w, probability=5, impact=5)
    assert w.other_head not in notified(risk)


# --- the report's history line ---------------------------------------------------------------


def test_the_report_writes_a_history_line_read_in_each_language(w):
    risk = report(w, probability=5, impact=4)
    event = risk.events.get()
    assert event.kind == RiskEventKind.REPORT and event.transition == RiskEventKind.REPORT
    assert event.by == w.mkt_staff and event.to_state == RiskState.REPORTED
    assert event.params == {"level": "high", "probability": 5, "impact": 4, "late": False}
    assert event.comment == ""
    chinese, english = texts(event)
    assert english == "Level High (probability 5 × impact 4)"
    assert "高" in chinese and "High" not in chinese
    assert "5" in chinese and "4" in chinese


def test_the_history_lines_read_in_chinese(w):
    """The system's sentences are translated (locale/zh_Hant): nothing English is left
    in a report's or a response's line read in Chinese."""
    found = timezone.now() - dt.timedelta(hours=30)
    risk = accepted(w, report(w, probability=5, impact=4, discovered_at=found))
    report_line, accept_line = risk.events.order_by("at", "pk")
    for event in (report_line, accept_line):
        chinese, english = texts(event)
        assert chinese != english
        for word in ("Level", "probability", "impact", "hours", "Owner", "respond"):
            assert word not in chinese, (word, chinese)


# --- the PMO's response ----------------------------------------------------------------------


def test_the_pmo_names_an_owner_a_deadline_and_a_plan(w):
    risk = report(w)
    due = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    risk = services.risk_accept(
        risk=risk, by=w.pmo, owner=w.tech_staff, response_due=due, plan="  改用備用供應商  "
    )
    assert risk.state == RiskState.RESPONDING
    stored = Risk.objects.get(pk=risk.pk)
    assert stored.state == RiskState.RESPONDING and stored.is_open
    assert stored.owner == w.tech_staff and stored.response_due == due
    assert stored.response_plan == "改用備用供應商"
    event = stored.events.get(kind=RiskEventKind.ACCEPT)
    assert (event.from_state, event.to_state, event.by) == (
        RiskState.REPORTED,
        RiskState.RESPONDING,
        w.pmo,
    )
    assert event.params["owner"] == w.tech_staff.pk
    assert event.params["owner_name"] == str(w.tech_staff)
    _chinese, english = texts(event)
    local = timezone.localtime(due)
    assert english == f"Owner {w.tech_staff}, respond by {local:%Y-%m-%d %H:%M}"
    # The owner is told (the PMO heard of the report already, and acted here).
    owner_notes = Notification.objects.filter(recipient=w.tech_staff, url=risk.get_absolute_url())
    [note] = owner_notes
    assert "供應商交期延誤" in note.title
    assert "改用備用供應商" in note.body


def test_a_platform_administrator_may_organise_the_response(w):
    risk = services.risk_accept(
        risk=report(w),
        by=w.admin,
        owner=w.mkt_staff,
        response_due=timezone.now() + dt.timedelta(days=1),
        plan="每日追蹤",
    )
    assert risk.state == RiskState.RESPONDING


@pytest.mark.parametrize(
    "role", ["mkt_staff", "mkt_head", "tech_head", "initiator", "executive", "consultant"]
)
def test_only_the_pmo_organises_the_response(w, role):
    risk = report(w)
    with pytest.raises(PermissionDenied):
        services.risk_accept(
            risk=risk,
            by=getattr(w, role),
            owner=w.tech_staff,
            response_due=timezone.now() + dt.timedelta(days=3),
            plan="改用備用供應商",
        )
    risk.refresh_from_db()
    assert risk.state == RiskState.REPORTED and risk.owner is None
    assert risk.events.count() == 1


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("owner", lambda w: {"owner": None}),
        ("owner", lambda w: {"owner": w.inactive}),
        ("response_due", lambda w: {"response_due": None}),
        ("response_due", lambda w: {"response_due": timezone.now() - dt.timedelta(minutes=1)}),
        ("plan", lambda w: {"plan": "  "}),
    ],
)
def test_an_incomplete_response_is_refused(w, field, changes):
    risk = report(w)
    arguments = {
        "risk": risk,
        "by": w.pmo,
        "owner": w.tech_staff,
        "response_due": timezone.now() + dt.timedelta(days=3),
        "plan": "改用備用供應商",
        **changes(w),
    }
    with pytest.raises(ValidationError) as refused:
        services.risk_accept(**arguments)
    assert field in refused.value.message_dict
    risk.refresh_from_db()
    assert risk.state == RiskState.REPORTED and risk.events.count() == 1
    assert not Notification.objects.filter(
        recipient=w.tech_staff, url__startswith="/risks/"
    ).exists()


@pytest.mark.parametrize("conclude", ["risk_resolve", "risk_occur"])
@pytest.mark.parametrize("role", ["pmo", "tech_staff"])  # the PMO, the owner
def test_the_pmo_or_the_owner_concludes_a_response(w, conclude, role):
    risk = accepted(w, report(w))
    by = getattr(w, role)
    before = timezone.now()
    risk = getattr(services, conclude)(risk=risk, by=by, note="  備用供應商已到貨  ")
    target = RiskState.RESOLVED if conclude == "risk_resolve" else RiskState.OCCURRED
    stored = Risk.objects.get(pk=risk.pk)
    assert stored.state == target and not stored.is_open
    assert stored.closed_at is not None and stored.closed_at >= before
    event = stored.events.order_by("-at", "-pk").first()
    kind = RiskEventKind.RESOLVE if conclude == "risk_resolve" else RiskEventKind.OCCUR
    assert event.kind == kind
    assert (event.from_state, event.to_state, event.by) == (RiskState.RESPONDING, target, by)
    assert event.comment == "備用供應商已到貨"
    assert texts(event) == ("備用供應商已到貨", "備用供應商已到貨")
    # The reporter, the owner and the PMO hear of it, the actor aside.
    told = {
        n.recipient
        for n in Notification.objects.filter(
            url=risk.get_absolute_url(), body__contains="備用供應商已到貨"
        )
    }
    assert told == {w.mkt_staff, w.tech_staff, w.pmo} - {by}


@pytest.mark.parametrize("conclude", ["risk_resolve", "risk_occur"])
@pytest.mark.parametrize("role", ["mkt_staff", "tech_head", "mkt_head", "executive"])
def test_nobody_else_concludes_a_response(w, conclude, role):
    risk = accepted(w, report(w))
    with pytest.raises(PermissionDenied):
        getattr(services, conclude)(risk=risk, by=getattr(w, role), note="已解除")
    assert Risk.objects.get(pk=risk.pk).state == RiskState.RESPONDING


@pytest.mark.parametrize("conclude", ["risk_resolve", "risk_occur", "risk_close"])
def test_a_conclusion_needs_a_note(w, conclude):
    risk = accepted(w, report(w))
    with pytest.raises(ValidationError) as refused:
        getattr(services, conclude)(risk=risk, by=w.pmo, note="  ")
    assert "note" in refused.value.message_dict
    stored = Risk.objects.get(pk=risk.pk)
    assert stored.state == RiskState.RESPONDING and stored.closed_at is None
    assert stored.events.count() == 2


@pytest.mark.parametrize("accept_first", [False, True])
def test_the_pmo_closes_a_report_as_not_relevant(w, accept_first):
    risk = report(w)
    if accept_first:
        risk = accepted(w, risk)
    source = risk.state
    risk = services.risk_close(risk=risk, by=w.pmo, note="經確認與本案無關")
    stored = Risk.objects.get(pk=risk.pk)
    assert stored.state == RiskState.CLOSED and stored.closed_at is not None
    event = stored.events.get(kind=RiskEventKind.CLOSE)
    assert (event.from_state, event.to_state) == (source, RiskState.CLOSED)
    assert event.comment == "經確認與本案無關"
    assert w.mkt_staff in notified(risk)


@pytest.mark.parametrize("role", ["tech_staff", "mkt_staff", "mkt_head", "executive"])
def test_only_the_pmo_closes_a_report(w, role):
    """The owner concludes a response but does not dismiss it."""
    risk = accepted(w, report(w))
    with pytest.raises(PermissionDenied):
        services.risk_close(risk=risk, by=getattr(w, role), note="無關")
    assert Risk.objects.get(pk=risk.pk).state == RiskState.RESPONDING


def test_a_report_not_taken_on_cannot_be_resolved_or_have_occurred(w):
    risk = report(w)
    for conclude in (services.risk_resolve, services.risk_occur):
        with pytest.raises(RiskRefused) as refused:
            conclude(risk=risk, by=w.pmo, note="已解除")
        assert str(refused.value).strip()
    assert Risk.objects.get(pk=risk.pk).state == RiskState.REPORTED
    assert RiskEvent.objects.filter(risk=risk).count() == 1


@pytest.mark.parametrize("end", ["risk_resolve", "risk_occur", "risk_close"])
def test_a_concluded_risk_takes_no_further_step(w, end):
    risk = getattr(services, end)(risk=accepted(w, report(w)), by=w.pmo, note="結束")
    risk = Risk.objects.get(pk=risk.pk)
    count = risk.events.count()
    attempts = [
        lambda: services.risk_resolve(risk=risk, by=w.pmo, note="再解除"),
        lambda: services.risk_occur(risk=risk, by=w.pmo, note="再發生"),
        lambda: services.risk_close(risk=risk, by=w.pmo, note="再關閉"),
        lambda: accepted(w, risk),
    ]
    for attempt in attempts:
        with pytest.raises(RiskRefused):
            attempt()
    assert Risk.objects.get(pk=risk.pk).state == risk.state
    assert risk.events.count() == count


# --- stale pages and two people at once ------------------------------------------------------


def test_a_stale_page_gets_a_conflict_and_no_second_transition(w):
    """The PMO took the report on while the owner's page still showed 已提報; a second
    PMO member's page too."""
    risk = report(w)
    stale = Risk.objects.get(pk=risk.pk)  # as a page loaded it: 已提報
    accepted(w, risk)
    with pytest.raises(RiskConflict) as refused:
        services.risk_close(risk=stale, by=w.pmo, note="無關")
    assert "Reload" in str(refused.value) or "重新" in str(refused.value)
    with pytest.raises(RiskConflict):
        services.risk_accept(
            risk=stale,
            by=w.pmo,
            owner=w.mkt_staff,
            response_due=timezone.now() + dt.timedelta(days=5),
            plan="另一個計畫",
        )
    fresh = Risk.objects.get(pk=risk.pk)
    with pytest.raises(RiskConflict):
        services.risk_resolve(
            risk=fresh, by=w.tech_staff, note="已解除", expected_state=RiskState.REPORTED
        )
    stored = Risk.objects.get(pk=risk.pk)
    assert stored.state == RiskState.RESPONDING and stored.owner == w.tech_staff
    assert list(stored.events.values_list("kind", flat=True).order_by("at", "pk")) == [
        RiskEventKind.REPORT,
        RiskEventKind.ACCEPT,
    ]


def test_the_expected_state_the_page_showed_is_honoured(w):
    risk = accepted(w, report(w))
    risk = services.risk_resolve(
        risk=risk, by=w.tech_staff, note="已解除", expected_state=RiskState.RESPONDING
    )
    assert Risk.objects.get(pk=risk.pk).state == RiskState.RESOLVED


@pytest.mark.django_db(transaction=True)
def test_the_owner_and_the_pmo_concluding_at_once_conclude_once(w, monkeypatch):
    """The owner marks it resolved while the PMO marks it occurred: one conclusion, one
    history line; the other is told someone acted first."""
    risk = accepted(w, report(w))
    slow(monkeypatch, services, "risk_event_log")

    def concluder(conclude, user_id):
        def racer(wait):
            seen = Risk.objects.get(pk=risk.pk)
            by = User.objects.get(pk=user_id)
            wait()
            return conclude(risk=seen, by=by, note="結論")

        return racer

    results = race(
        concluder(services.risk_resolve, w.tech_staff.pk),
        concluder(services.risk_occur, w.pmo.pk),
    )
    assert sorted(kind for kind, _value in results) == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, RiskConflict) and str(error).strip()
    stored = Risk.objects.get(pk=risk.pk)
    assert stored.state in (RiskState.RESOLVED, RiskState.OCCURRED)
    concluded = RiskEvent.objects.filter(
        risk=risk, kind__in=[RiskEventKind.RESOLVE, RiskEventKind.OCCUR]
    )
    assert concluded.count() == 1


# --- the archive -----------------------------------------------------------------------------


def test_an_archived_cases_risks_are_read_only(w):
    reported = report(w)
    responding = accepted(w, report(w, title="設計人力不足"))
    archive(w.request, by=w.pmo)
    reported, responding = (Risk.objects.get(pk=r.pk) for r in (reported, responding))
    attempts = [
        lambda: accepted(w, reported),
        lambda: services.risk_close(risk=reported, by=w.pmo, note="結案"),
        lambda: services.risk_resolve(risk=responding, by=w.pmo, note="結案"),
        lambda: services.risk_occur(risk=responding, by=w.tech_staff, note="結案"),
    ]
    for attempt in attempts:
        with pytest.raises(CaseArchived):
            attempt()
    assert Risk.objects.get(pk=reported.pk).state == RiskState.REPORTED
    assert Risk.objects.get(pk=responding.pk).state == RiskState.RESPONDING
    assert RiskEvent.objects.count() == 3


# --- the matrix ------------------------------------------------------------------------------


def test_editing_a_cell_relevels_the_open_risks_of_that_cell_only(w):
    """3 × 3 becomes high: the reported and the responding risks scored 3 × 3 follow;
    a resolved and a closed one keep the level they were handled at; other cells and an
    archived case's risk do not move."""
    reported = report(w, probability=3, impact=3)
    responding = accepted(w, report(w, probability=3, impact=3))
    resolved = services.risk_resolve(
        risk=accepted(w, report(w, probability=3, impact=3)), by=w.pmo, note="已解除"
    )
    closed = services.risk_close(risk=report(w, probability=3, impact=3), by=w.pmo, note="無關")
    neighbour = report(w, probability=3, impact=4)
    elsewhere = another_request(w)
    archived_risk = report(w, request=elsewhere, by=w.other_staff, probability=3, impact=3)
    archive(elsewhere, by=w.pmo)

    cell = RiskMatrixCell.objects.get(probability=3, impact=3)
    changed = services.matrix_set_level(cell=cell, level=RiskLevel.HIGH, by=w.pmo)
    assert changed == 2
    assert RiskMatrixCell.objects.get(probability=3, impact=3).level == RiskLevel.HIGH

    def level(risk):
        return Risk.objects.get(pk=risk.pk).level

    assert level(reported) == level(responding) == RiskLevel.HIGH
    assert level(resolved) == level(closed) == RiskLevel.MEDIUM
    assert level(neighbour) == RiskLevel.MEDIUM
    assert level(archived_risk) == RiskLevel.MEDIUM
    # Setting the same level again changes nothing.
    assert services.matrix_set_level(cell=cell, level=RiskLevel.HIGH, by=w.pmo) == 0
    # And the next report of that cell is high.
    assert report(w, probability=3, impact=3).level == RiskLevel.HIGH


def test_only_the_pmo_edits_the_matrix(w):
    cell = RiskMatrixCell.objects.get(probability=2, impact=2)
    for person in (w.tech_head, w.executive, w.mkt_staff):
        with pytest.raises(PermissionDenied):
            services.matrix_set_level(cell=cell, level=RiskLevel.HIGH, by=person)
    with pytest.raises(ValidationError):
        services.matrix_set_level(cell=cell, level=RiskLevel.NONE, by=w.pmo)
    assert RiskMatrixCell.objects.get(pk=cell.pk).level == RiskLevel.LOW
    services.matrix_set_level(cell=cell, level=RiskLevel.MEDIUM, by=w.admin)
    assert RiskMatrixCell.objects.get(pk=cell.pk).level == RiskLevel.MEDIUM


def test_a_completed_case_closes_its_open_risks_with_it(w):
    """requests_app's after_complete hook: the open risks close (已關閉), each with a
    history line saying so; concluded ones keep their outcome. Nothing counts as open."""
    from requests_app import hooks as request_hooks

    waiting = report(w, title="待處理")
    responding = accepted(w, report(w, title="應對中"))
    done = services.risk_resolve(risk=accepted(w, report(w, title="已解除")), by=w.pmo, note="好")
    with transaction.atomic():
        request_hooks.run_after_complete(request=w.request, by=w.pmo)
    for risk in (waiting, responding):
        risk.refresh_from_db()
        assert risk.state == RiskState.CLOSED and risk.closed_at is not None
        line = risk.events.order_by("at", "pk").last()
        assert line.kind == RiskEventKind.CLOSE and line.params == {"with_case": True}
        with translation.override("zh-hant"):
            assert line.text == "需求已完成，隨之關閉"
    done.refresh_from_db()
    assert done.state == RiskState.RESOLVED


def test_a_cancelled_cases_risks_no_longer_count_as_open(w):
    risk = accepted(w, report(w, probability=5, impact=5))
    CollabRequest.objects.filter(pk=w.request.pk).update(state=RequestState.CANCELLED)
    assert not Risk.objects.filter(rules.open_q()).exists()
    assert not Risk.objects.get(pk=risk.pk).is_open
