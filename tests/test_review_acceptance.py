"""Task acceptance 成果驗收 through review_app.services.acceptance (issue 6, item 1).

A submission opens a round whose seats are the task's A, the initiator and each
department the task involves; each seat answers 通過, 需整改 (reason + deadline) or
不通過 (reason). All passed → 已完成; the first 需整改 → 進行中 with the new deadline; a
不通過 → 進行中 at 0%, due date unchanged. Every answer is kept.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from collab import calendar
from collab.models import Notification
from review_app.choices import AcceptanceOutcome, Seat, Verdict
from review_app.models import AcceptanceVerdict, TaskAcceptance
from review_app.services import acceptance as services
from review_app.services.acceptance import AcceptanceConflict
from tasks_app import services as task_services
from tasks_app.choices import TaskEventKind, TaskState
from tasks_app.models import DueDateChange, Task, TaskEvent
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_head,
)
from tests.review_acceptance_fixtures import (
    later,
    make_world,
    open_round,
    pass_every_seat,
    seat,
    submit,
)

pytestmark = pytest.mark.django_db


def _seats(task) -> set[tuple]:
    return {(v.seat, v.reviewer_id, v.department_id) for v in open_round(task).verdicts.all()}


def _notified(user, url_part: str = "#acceptance") -> list[Notification]:
    return list(user.notifications.filter(url__contains=url_part))


# --- opening a round and its seats --------------------------------------------------------


def test_submission_opens_a_round_with_a_initiator_and_each_department(pmo):
    """Seats: the A, the initiator, the responsible and the supporting department; the
    round snapshots the note and is due 3 working days after the day of submission."""
    w = make_world(pmo)
    task = submit(w, note="第一版 API")
    acceptance = open_round(task)
    assert acceptance.round == 1
    assert acceptance.completion_note == "第一版 API"
    assert acceptance.submitted_by == w.owner
    assert acceptance.due_date == calendar.add_working_days(timezone.localdate(), 3)
    assert _seats(task) == {
        (Seat.ACCOUNTABLE, w.accountable.pk, None),
        (Seat.INITIATOR, w.initiator.pk, None),
        (Seat.HEAD, None, w.tech.pk),
        (Seat.HEAD, None, w.design.pk),
    }
    assert all(v.decision == Verdict.PENDING for v in acceptance.verdicts.all())


def test_reviewers_are_told_heads_and_their_deputies_included(pmo):
    """Each reviewer hears of the submission; for a department seat its heads and the
    deputies acting for them. The R, C and outsiders are not told."""
    w = make_world(pmo)
    submit(w)
    for user in (w.accountable, w.initiator, w.tech_head, w.tech_deputy, w.design_head):
        assert _notified(user), user
    for user in (w.owner, w.consulted, w.mkt_head, w.outsider):
        assert not _notified(user), user


def test_initiator_who_is_the_a_has_one_seat(pmo):
    """The initiator as A: one person's seat, not two."""
    w = make_world(pmo, supporting=False)
    task = Task.objects.get(pk=w.task.pk)
    task.assignments.filter(role="A").update(user=w.initiator)
    task = submit(w)
    assert _seats(task) == {(Seat.ACCOUNTABLE, w.initiator.pk, None), (Seat.HEAD, None, w.tech.pk)}


def test_the_responsible_person_never_holds_a_seat(pmo):
    """R as initiator gets no seat; a department whose only head is the R gets none either;
    a department with another head keeps its seat, which the R still cannot answer."""
    mkt, tech = DepartmentFactory(), DepartmentFactory()
    make_head(mkt, admin_groups=False)
    make_head(tech, admin_groups=False)
    owner = UserFactory(department=tech)
    req = make_approved_request(
        initiator=owner, departments=[mkt, tech], lead=tech, pmo=pmo, committed=""
    )
    accountable = UserFactory(department=mkt)
    # The R is the initiator and tech's only head; marketing has the R as a second head.
    tech.heads.set([owner])
    mkt.heads.add(owner)
    start = timezone.localdate()
    task = task_services.task_save(
        request=req,
        by=owner,
        data={
            "name": "整合測試",
            "responsible_department": tech,
            "start_date": start,
            "due_at": task_services.due_at(start + dt.timedelta(days=5)),
        },
        raci={"R": owner, "A": accountable},
        supporting=[mkt],
    )
    for dept in (mkt, tech):
        task_services.breakdown_sign(request=req, by=owner, department=dept)
    task = task_services.task_start(task=task, by=owner)
    task = task_services.task_submit(task=task, by=owner, completion_note="完成")
    assert _seats(task) == {(Seat.ACCOUNTABLE, accountable.pk, None), (Seat.HEAD, None, mkt.pk)}
    with pytest.raises(PermissionDenied):
        services.acceptance_answer(
            verdict=seat(task, department=mkt), by=owner, decision=Verdict.PASSED
        )


def test_submission_with_nobody_else_to_accept_is_refused(pmo):
    """When the R is the A, the initiator and the only head, the submission is refused
    with a translated reason and nothing changes."""
    tech = DepartmentFactory()
    owner = UserFactory(department=tech)
    tech.heads.add(owner)
    req = make_approved_request(initiator=owner, departments=[tech], pmo=pmo, committed="")
    start = timezone.localdate()
    task = task_services.task_save(
        request=req,
        by=owner,
        data={
            "name": "自驗",
            "responsible_department": tech,
            "start_date": start,
            "due_at": task_services.due_at(start + dt.timedelta(days=5)),
        },
        raci={"R": owner, "A": owner},
    )
    task_services.breakdown_sign(request=req, by=owner, department=tech)
    task = task_services.task_start(task=task, by=owner)
    with pytest.raises(ValidationError) as info:
        task_services.task_submit(task=task, by=owner, completion_note="完成")
    assert "PMO" in " ".join(info.value.messages)
    task.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS
    assert not TaskAcceptance.objects.filter(task=task).exists()


# --- answers -------------------------------------------------------------------------------


def test_every_seat_passing_completes_the_task(pmo):
    """Each 通過 is kept; the last one makes the task 已完成 and the round PASSED; the R,
    the A and the initiator are told."""
    w = make_world(pmo)
    task = submit(w)
    services.acceptance_answer(
        verdict=seat(task, person=w.accountable), by=w.accountable, decision=Verdict.PASSED
    )
    services.acceptance_answer(
        verdict=seat(task, person=w.initiator), by=w.initiator, decision=Verdict.PASSED
    )
    services.acceptance_answer(
        verdict=seat(task, department=w.design), by=w.design_head, decision=Verdict.PASSED
    )
    task.refresh_from_db()
    assert task.state == TaskState.SUBMITTED  # one seat still to answer
    last = seat(task, department=w.tech)
    services.acceptance_answer(verdict=last, by=w.tech_head, decision=Verdict.PASSED)
    task.refresh_from_db()
    assert task.state == TaskState.DONE and task.completed_at is not None
    acceptance = TaskAcceptance.objects.get(task=task)
    assert acceptance.outcome == AcceptanceOutcome.PASSED and acceptance.closed_at
    assert list(acceptance.verdicts.values_list("decision", flat=True)) == [Verdict.PASSED] * 4
    assert TaskEvent.objects.filter(task=task, kind=TaskEventKind.VERDICT).count() == 4
    accept = task.events.get(kind=TaskEventKind.ACCEPT)
    assert (accept.from_state, accept.to_state, accept.by) == (
        TaskState.SUBMITTED,
        TaskState.DONE,
        w.tech_head,
    )
    url = acceptance.get_absolute_url()
    assert w.owner.notifications.filter(url=url).count() == 1  # told it passed
    assert w.accountable.notifications.filter(url=url).count() == 2  # asked, then told
    assert w.initiator.notifications.filter(url=url).count() == 2
    assert w.tech_head.notifications.filter(url=url).count() == 1  # asked; answered last


def test_rectify_sends_the_task_back_with_the_new_deadline(pmo):
    """The first 需整改 closes the round: 進行中, due date = the deadline (a DueDateChange
    with the reviewer's reason), the seats not yet answered CLOSED, the R told."""
    w = make_world(pmo)
    task = submit(w)
    services.acceptance_answer(
        verdict=seat(task, person=w.accountable), by=w.accountable, decision=Verdict.PASSED
    )
    deadline = later(7)
    old_due = task.due_at
    services.acceptance_answer(
        verdict=seat(task, person=w.initiator),
        by=w.initiator,
        decision=Verdict.RECTIFY,
        reason="缺少錯誤碼說明",
        rectify_due_at=deadline,
        earlier_confirmed=True,  # before the task's due date
    )
    task.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS and task.submitted_at is None
    assert task.due_at == deadline
    change = DueDateChange.objects.get(task=task)
    assert (change.old_due_at, change.new_due_at, change.reason) == (
        old_due,
        deadline,
        "缺少錯誤碼說明",
    )
    acceptance = TaskAcceptance.objects.get(task=task)
    assert acceptance.outcome == AcceptanceOutcome.RECTIFY
    assert acceptance.rectify_due_at == deadline
    decisions = dict(acceptance.verdicts.values_list("seat", "decision").filter(department=None))
    assert decisions == {Seat.ACCOUNTABLE: Verdict.PASSED, Seat.INITIATOR: Verdict.RECTIFY}
    assert set(acceptance.verdicts.filter(seat=Seat.HEAD).values_list("decision", flat=True)) == {
        Verdict.CLOSED
    }
    event = task.events.get(kind=TaskEventKind.RECTIFY)
    assert (event.from_state, event.to_state, event.by, event.comment) == (
        TaskState.SUBMITTED,
        TaskState.IN_PROGRESS,
        w.initiator,
        "缺少錯誤碼說明",
    )
    assert w.owner.notifications.filter(body__contains="缺少錯誤碼說明").exists()


def test_resubmission_opens_round_two_and_versions_the_files(pmo):
    """After 需整改 the R submits again: round 2 with fresh seats; files are v1 and v2;
    round 1 and its answers stay."""
    w = make_world(pmo)
    v1 = SimpleUploadedFile("api.txt", "第一版".encode(), content_type="text/plain")
    task = submit(w, note="第一版", files=[v1])
    services.acceptance_answer(
        verdict=seat(task, department=w.tech),
        by=w.tech_head,
        decision=Verdict.RECTIFY,
        reason="補上錯誤碼",
        rectify_due_at=later(3),
        earlier_confirmed=True,  # before the task's due date
    )
    v2 = SimpleUploadedFile("api.txt", "第二版".encode(), content_type="text/plain")
    task = submit(w, note="第二版,已補錯誤碼", files=[v2])
    rounds = list(TaskAcceptance.objects.filter(task=task).order_by("round"))
    assert [(r.round, r.outcome) for r in rounds] == [
        (1, AcceptanceOutcome.RECTIFY),
        (2, AcceptanceOutcome.OPEN),
    ]
    assert rounds[1].completion_note == "第二版,已補錯誤碼"
    assert rounds[1].verdicts.filter(decision=Verdict.PENDING).count() == 4
    assert rounds[0].verdicts.filter(decision=Verdict.RECTIFY).get().reason == "補上錯誤碼"
    assert sorted(task.deliverables.values_list("round", flat=True)) == [1, 2]
    pass_every_seat(task)
    assert Task.objects.get(pk=task.pk).state == TaskState.DONE


def test_fail_rejects_the_delivery_to_be_replanned(pmo):
    """不通過: the round FAILED, the task 進行中 at 0% with its due date unchanged and no
    DueDateChange; a FAIL event; the R, A, initiator and responsible heads are told."""
    w = make_world(pmo)
    task = submit(w)
    due = task.due_at
    services.acceptance_answer(
        verdict=seat(task, person=w.accountable),
        by=w.accountable,
        decision=Verdict.FAILED,
        reason="方向錯誤,需重新規劃",
    )
    task.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS
    assert task.progress_percent == 0 and task.due_at == due
    assert not DueDateChange.objects.filter(task=task).exists()
    acceptance = TaskAcceptance.objects.get(task=task)
    assert acceptance.outcome == AcceptanceOutcome.FAILED
    assert acceptance.verdicts.filter(decision=Verdict.CLOSED).count() == 3
    event = task.events.get(kind=TaskEventKind.FAIL)
    assert (event.to_state, event.comment) == (TaskState.IN_PROGRESS, "方向錯誤,需重新規劃")
    for user in (w.owner, w.initiator, w.tech_head, w.tech_deputy):
        assert user.notifications.filter(body__contains="方向錯誤").exists(), user
    assert not w.design_head.notifications.filter(body__contains="方向錯誤").exists()
    # Re-planned with the ordinary due-date change, then submitted again: round 2.
    task_services.task_change_due(
        task=task,
        by=w.accountable,
        new_due_at=later(20),
        reason="重新規劃",
        solution="改用新架構",
    )
    task = submit(w)
    assert open_round(task).round == 2


@pytest.mark.parametrize(
    ("decision", "reason", "deadline", "field"),
    [
        ("maybe", "", None, "decision"),
        (Verdict.RECTIFY, "", "later", "reason"),
        (Verdict.RECTIFY, "補資料", None, "rectify_due_at"),
        (Verdict.RECTIFY, "補資料", "past", "rectify_due_at"),
        (Verdict.FAILED, "  ", None, "reason"),
    ],
)
def test_an_incomplete_answer_is_refused_by_field(pmo, decision, reason, deadline, field):
    """需整改 needs a reason and a future deadline; 不通過 a reason; nothing is saved."""
    w = make_world(pmo)
    task = submit(w)
    when = {"later": later(3), "past": timezone.now() - dt.timedelta(hours=1), None: None}
    verdict = seat(task, person=w.accountable)
    with pytest.raises(ValidationError) as info:
        services.acceptance_answer(
            verdict=verdict,
            by=w.accountable,
            decision=decision,
            reason=reason,
            rectify_due_at=when[deadline],
        )
    assert field in info.value.message_dict
    verdict.refresh_from_db()
    assert verdict.decision == Verdict.PENDING
    assert Task.objects.get(pk=task.pk).state == TaskState.SUBMITTED


def test_a_deputy_answers_on_behalf_of_the_head(pmo):
    """The tech head's deputy answers tech's seat; the answer and the history say on whose
    behalf; after the delegation ends the deputy may not."""
    w = make_world(pmo)
    task = submit(w)
    verdict = seat(task, department=w.tech)
    services.acceptance_answer(verdict=verdict, by=w.tech_deputy, decision=Verdict.PASSED)
    verdict.refresh_from_db()
    assert (verdict.decided_by, verdict.on_behalf_of) == (w.tech_deputy, w.tech_head)
    event = task.events.filter(kind=TaskEventKind.VERDICT).latest("pk")
    assert (event.by, event.on_behalf_of) == (w.tech_deputy, w.tech_head)

    lapsed = UserFactory(department=w.design)
    DelegationFactory(
        head=w.design_head,
        deputy=lapsed,
        start_date=timezone.localdate() - dt.timedelta(days=9),
        end_date=timezone.localdate() - dt.timedelta(days=1),
    )
    with pytest.raises(PermissionDenied):
        services.acceptance_answer(
            verdict=seat(task, department=w.design), by=lapsed, decision=Verdict.PASSED
        )


@pytest.mark.parametrize("who", ["owner", "consulted", "mkt_head", "outsider", "pmo"])
def test_those_without_a_seat_cannot_answer(pmo, who):
    """The R, C, the head of an uninvolved department, an outsider and the PMO hold no
    seat: PermissionDenied for every seat, nothing changes."""
    w = make_world(pmo)
    task = submit(w)
    user = getattr(w, who)
    for verdict in open_round(task).verdicts.all():
        with pytest.raises(PermissionDenied):
            services.acceptance_answer(verdict=verdict, by=user, decision=Verdict.PASSED)
    assert not AcceptanceVerdict.objects.exclude(decision=Verdict.PENDING).exists()


def test_a_person_seat_is_answered_by_that_person_only(pmo):
    """The initiator cannot answer the A's seat, nor a head a person's seat."""
    w = make_world(pmo)
    task = submit(w)
    with pytest.raises(PermissionDenied):
        services.acceptance_answer(
            verdict=seat(task, person=w.accountable), by=w.initiator, decision=Verdict.PASSED
        )
    with pytest.raises(PermissionDenied):
        services.acceptance_answer(
            verdict=seat(task, person=w.initiator), by=w.tech_head, decision=Verdict.PASSED
        )


def test_second_and_stale_answers_are_conflicts(pmo):
    """Answering a seat twice, or a seat of a round closed by someone else's 需整改, is
    refused with a translated conflict; the first answers stay as they were."""
    w = make_world(pmo)
    task = submit(w)
    mine = seat(task, person=w.accountable)
    services.acceptance_answer(verdict=mine, by=w.accountable, decision=Verdict.PASSED)
    with pytest.raises(AcceptanceConflict) as info:
        services.acceptance_answer(
            verdict=mine, by=w.accountable, decision=Verdict.FAILED, reason="改變心意"
        )
    assert str(info.value).strip()
    stale = seat(task, department=w.design)
    services.acceptance_answer(
        verdict=seat(task, person=w.initiator),
        by=w.initiator,
        decision=Verdict.RECTIFY,
        reason="補文件",
        rectify_due_at=later(2),
        earlier_confirmed=True,  # before the task's due date
    )
    with pytest.raises(AcceptanceConflict) as info:
        services.acceptance_answer(verdict=stale, by=w.design_head, decision=Verdict.PASSED)
    assert str(AcceptanceOutcome.RECTIFY.label) in str(info.value)
    mine.refresh_from_db()
    stale.refresh_from_db()
    assert (mine.decision, stale.decision) == (Verdict.PASSED, Verdict.CLOSED)


def test_task_movers_refuse_without_the_procedure(pmo):
    """tasks_app's accept / reject are state movers for the procedure only: called
    through their public names they are refused, whoever calls."""
    w = make_world(pmo)
    task = submit(w)
    for user in (w.accountable, w.initiator, w.pmo):
        with pytest.raises(PermissionDenied):
            task_services.task_accept(task=task, by=user)
        with pytest.raises(PermissionDenied):
            task_services.task_reject_delivery(task=task, by=user, reason="退回")
    assert Task.objects.get(pk=task.pk).state == TaskState.SUBMITTED


def test_calendar_change_moves_open_due_dates(pmo):
    """An administrator's new holiday pushes the open rounds' answer due dates."""
    w = make_world(pmo)
    task = submit(w)
    acceptance = open_round(task)
    before = acceptance.due_date
    day = timezone.localdate() + dt.timedelta(days=1)
    while not calendar.is_workday(day):
        day += dt.timedelta(days=1)
    calendar.calendar_day_save(day=day, is_workday=False, name="颱風假")
    acceptance.refresh_from_db()
    assert acceptance.due_date > before
    assert acceptance.due_date == calendar.add_working_days(timezone.localdate(), 3)


def test_answers_on_an_archived_case_are_refused(pmo):
    """Once the case is archived nothing is answered (read-only everywhere)."""
    from requests_app.models import CollabRequest

    w = make_world(pmo)
    task = submit(w)
    CollabRequest.objects.filter(pk=w.request.pk).update(is_archived=True)
    with pytest.raises(ValidationError):
        services.acceptance_answer(
            verdict=seat(task, person=w.accountable), by=w.accountable, decision=Verdict.PASSED
        )
    assert seat(task, person=w.accountable).decision == Verdict.PENDING
