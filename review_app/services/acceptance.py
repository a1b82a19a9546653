"""Task acceptance 成果驗收: verdicts 通過 / 需整改 / 不通過 on each submitted deliverable.

The rules (decided for issue 6; README "Acceptance rules"):

- Opening. When the Responsible person submits (tasks_app.services.task_submit), a
  round opens in the same transaction (tasks_app.hooks.register_after_submit): round =
  previous rounds + 1, a snapshot of the completion note, answers due 3 working days
  after the day of submission (collab.calendar). The files of that submission get the
  round's number, so they show as versions v1, v2….
- Seats (AcceptanceVerdict rows). The task's A (a person's seat); the request's
  initiator (a person's seat, one seat only if the initiator is the A); one seat per
  department the task involves (responsible + supporting), answered by any head of it
  or a deputy acting for one. Nobody accepts their own deliverable: the R never
  answers; no person's seat is made for the R; a department's seat is not made when
  its only active heads are the R (or it has no active head at all: nobody could
  answer it). Inactive people get no seat. If no seat is left (the R is the A, the
  initiator and the only head), the submission is refused: the PMO names another A
  first (in admin).
- Answers. 通過; 需整改 with a reason and a rectification deadline in the future
  (one before the task's current due date only when the reviewer confirms moving the
  due date earlier; the history then says by how many working days); 不通過 with a
  reason. Each answer is kept and logged on the task (TaskEvent VERDICT: who, on whose
  behalf, the answer as parameters, the reason as the comment). A second or stale
  answer to a closed round or an answered seat is refused with AcceptanceConflict.
- Outcome. Every seat passed → the task is 已完成 (outcome PASSED). The first 需整改
  closes the round (RECTIFY): the task goes back to 進行中, its due date moves to the
  rectification deadline (a DueDateChange with the reviewer's reason), the seats not
  yet answered are marked CLOSED and the R is told. A 不通過 closes the round (FAILED):
  the delivery is rejected outright and must be re-planned, so the task goes back to
  進行中 with its progress reset to 0% and its due date unchanged (the A or the PMO
  moves it with the ordinary due-date change); the R, the A, the initiator and the
  responsible department's heads are told.

Locks: the task row first (with its request, as every task service does), then the
round, then the seat, so concurrent answers on one task queue up and the second sees
what the first did.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Prefetch
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from collab import calendar, events, notifications
from collab import selectors as org
from collab.errors import Conflict
from collab.models import Department, User
from collab.warnings import Hit, People, RuleSpec, day_text, link
from collab.warnings import register as register_rule
from requests_app import services as request_services
from requests_app.choices import RequestState
from tasks_app import hooks as task_hooks
from tasks_app import services as task_services
from tasks_app.choices import RaciRole, TaskEventKind, TaskState
from tasks_app.models import Task, TaskAssignment, TaskDeliverable

from ..choices import AcceptanceOutcome, Seat, Verdict
from ..models import AcceptanceVerdict, TaskAcceptance
from ..permissions import acceptance as permissions

# Reviewers answer within this many working days of the day of submission.
ANSWER_WORKING_DAYS = 3
ANSWERS = (Verdict.PASSED, Verdict.RECTIFY, Verdict.FAILED)


class AcceptanceConflict(Conflict):
    """Someone answered first or the round closed; the message says what happened."""


@dataclass(frozen=True)
class SeatSpec:
    """A seat to open: a person's (reviewer) or a department's."""

    seat: str
    reviewer: User | None = None
    department: Department | None = None


# --- seats and the opening of a round ----------------------------------------------------


def acceptance_seats(task: Task) -> list[SeatSpec]:
    """Return the seats of a new round of `task`: A, initiator, involved departments.

    See the module docstring for who is left out (the R, inactive people, departments
    only the R could answer for).
    """
    assignments = list(task.assignments.select_related("user"))
    responsible = next((a.user_id for a in assignments if a.role == RaciRole.RESPONSIBLE), None)
    accountable = next((a.user for a in assignments if a.role == RaciRole.ACCOUNTABLE), None)
    seats: list[SeatSpec] = []
    seen: set[int] = set()
    for seat, person in ((Seat.ACCOUNTABLE, accountable), (Seat.INITIATOR, task.request.initiator)):
        if person is None or not person.is_active or person.pk == responsible:
            continue
        if person.pk in seen:
            continue  # the initiator is also the A: one seat
        seen.add(person.pk)
        seats.append(SeatSpec(seat=seat, reviewer=person))
    departments = [task.responsible_department, *task.supporting_departments.order_by("code")]
    for department in departments:
        heads = department.heads.filter(is_active=True).exclude(pk=responsible)
        if heads.exists():
            seats.append(SeatSpec(seat=Seat.HEAD, department=department))
    return seats


def _department_reviewers(department_ids, *, exclude: int | None, on: dt.date | None = None):
    """Return {department id: active heads (not `exclude`) and the deputies acting for them}."""
    acting = org.ActingHeads(on=on)
    heads: dict[int, list[User]] = defaultdict(list)
    rows = Department.heads.through.objects.filter(
        department_id__in=department_ids, user__is_active=True
    ).select_related("user")
    for row in rows:
        if row.user_id != exclude:
            heads[row.department_id].append(row.user)
    return {pk: acting.of(pk, heads[pk]) for pk in department_ids}


def seat_reviewers(verdicts: Sequence[AcceptanceVerdict], *, responsible: int | None) -> list[User]:
    """Return everyone who may answer one of these seats today (never the R)."""
    people = [v.reviewer for v in verdicts if v.reviewer_id]
    department_ids = [v.department_id for v in verdicts if v.department_id]
    if department_ids:
        for users in _department_reviewers(department_ids, exclude=responsible).values():
            people += users
    return [u for u in people if u.pk != responsible]


def acceptance_open(*, task: Task, by: User, deliverables: Sequence = ()) -> TaskAcceptance:
    """Open the next acceptance round of a task just submitted (after-submit hook).

    Runs inside task_submit's transaction, on the locked task: numbers the round,
    snapshots the completion note, makes the seats, stamps the submission's files
    with the round (their version) and tells the reviewers.
    """
    seats = acceptance_seats(task)
    if not seats:
        raise ValidationError(
            _(
                "Nobody else can accept this deliverable: its Accountable person, the "
                "initiator and the heads of its departments are all you. Ask the PMO to "
                "name another Accountable person."
            )
        )
    last = TaskAcceptance.objects.filter(task=task).aggregate(n=Max("round"))["n"] or 0
    submitted_at = task.submitted_at or timezone.now()
    acceptance = TaskAcceptance.objects.create(
        task=task,
        round=last + 1,
        completion_note=task.completion_note,
        submitted_by=by,
        submitted_at=submitted_at,
        due_date=calendar.add_working_days(timezone.localdate(submitted_at), ANSWER_WORKING_DAYS),
    )
    verdicts = AcceptanceVerdict.objects.bulk_create(
        AcceptanceVerdict(
            acceptance=acceptance,
            seat=spec.seat,
            reviewer=spec.reviewer,
            department=spec.department,
        )
        for spec in seats
    )
    for verdict, spec in zip(verdicts, seats, strict=True):
        verdict.reviewer, verdict.department = spec.reviewer, spec.department
    ids = [d.pk for d in deliverables]
    if ids:
        TaskDeliverable.objects.filter(pk__in=ids).update(round=acceptance.round)
        for deliverable in deliverables:
            deliverable.round = acceptance.round
    notifications.notify(
        event="acceptance_requested",
        recipients=seat_reviewers(verdicts, responsible=by.pk),
        context={"task": task, "acceptance": acceptance, "files": list(deliverables)},
        url=acceptance.get_absolute_url(),
        actor=by,
    )
    return acceptance


# --- answers -----------------------------------------------------------------------------


def _check_answer(decision: str, reason: str, rectify_due_at: dt.datetime | None) -> None:
    errors: dict[str, str] = {}
    if decision not in ANSWERS:
        errors["decision"] = _("Choose pass, needs rectification or fail.")
    elif decision == Verdict.RECTIFY:
        if not reason:
            errors["reason"] = _("Say what must be rectified.")
        if rectify_due_at is None:
            errors["rectify_due_at"] = _("Give the deadline for the rectification.")
        elif rectify_due_at <= timezone.now():
            errors["rectify_due_at"] = _("The rectification deadline must be in the future.")
    elif decision == Verdict.FAILED and not reason:
        errors["reason"] = _("Say why the deliverable fails.")
    if errors:
        raise ValidationError(errors)


def _check_earlier(task: Task, rectify_due_at: dt.datetime, confirmed: bool) -> None:
    """Refuse a rectification deadline before the task's due date unless confirmed.

    The deadline becomes the task's due date (_rectify): moving it earlier shortens the
    Responsible person's time, so the reviewer says so on purpose (issue 14).
    """
    if task.due_at and rectify_due_at < task.due_at and not confirmed:
        due = date_format(timezone.localtime(task.due_at), "Y-m-d H:i")
        raise ValidationError(
            {
                "confirm_earlier": _(
                    "This deadline is earlier than the task's current due date (%(due)s). "
                    "Tick the box to confirm that the due date moves earlier."
                )
                % {"due": due}
            }
        )


def verdict_params(verdict: AcceptanceVerdict, acceptance: TaskAcceptance) -> dict:
    """The answer's history line as values: rendered when read (review_app.event_texts)."""
    params = {
        "round": acceptance.round,
        "seat": verdict.seat,
        "decision": verdict.decision,
    }
    if verdict.department_id:
        params["department_id"] = verdict.department_id
        params["department"] = str(verdict.department)
    if verdict.rectify_due_at:
        params["rectify_due_at"] = events.iso(verdict.rectify_due_at)
    return params


def _close(acceptance: TaskAcceptance, outcome: str, rectify_due_at=None) -> None:
    acceptance.outcome = outcome
    acceptance.closed_at = timezone.now()
    acceptance.rectify_due_at = rectify_due_at
    acceptance.save(update_fields=["outcome", "closed_at", "rectify_due_at"])
    if outcome != AcceptanceOutcome.PASSED:
        # The seats not answered yet are no longer needed; their rows stay as history.
        acceptance.verdicts.filter(decision=Verdict.PENDING).update(decision=Verdict.CLOSED)


def _people(task: Task, role: str) -> list[User]:
    return [a.user for a in task.assignments.select_related("user") if a.role == role]


@transaction.atomic
def acceptance_answer(
    *,
    verdict: AcceptanceVerdict,
    by: User,
    decision: str,
    reason: str = "",
    rectify_due_at: dt.datetime | None = None,
    earlier_confirmed: bool = False,
) -> AcceptanceVerdict:
    """Answer one seat of an open round: 通過, 需整改 (reason, deadline) or 不通過 (reason).

    Raises PermissionDenied when `by` may not answer this seat, AcceptanceConflict when
    the seat was answered or the round closed meanwhile, ValidationError (keyed by
    decision, reason, rectify_due_at, confirm_earlier) for a bad answer. A 需整改
    deadline before the task's current due date needs `earlier_confirmed`. The last 通過
    completes the task; a 需整改 or a 不通過 closes the round at once (module docstring).

    Returns the answered seat; its `acceptance.outcome` is PASSED when this answer was
    the round's last 通過 and the task is now 已完成 (what the answer page then says).
    """
    task_id = TaskAcceptance.objects.values_list("task_id", flat=True).get(pk=verdict.acceptance_id)
    task = Task.objects.select_for_update().select_related("request").get(pk=task_id)
    request_services.refuse_archived(task.request)
    acceptance = TaskAcceptance.objects.select_for_update().get(pk=verdict.acceptance_id)
    verdict = (
        AcceptanceVerdict.objects.select_for_update(of=("self",))
        .select_related("reviewer", "department")
        .get(pk=verdict.pk)
    )
    verdict.acceptance = acceptance
    responsible = next(iter(_people(task, RaciRole.RESPONSIBLE)), None)
    actor = permissions.seat_actor(by, verdict, responsible=responsible.pk if responsible else None)
    if actor is None:
        raise PermissionDenied(_("You do not hold this acceptance seat."))
    if acceptance.outcome != AcceptanceOutcome.OPEN:
        raise AcceptanceConflict(
            _(
                "This acceptance round is already closed (“%(outcome)s”). Reload the "
                "page to see the answers."
            )
            % {"outcome": acceptance.get_outcome_display()}
        )
    if verdict.decision != Verdict.PENDING:
        raise AcceptanceConflict(
            _("%(who)s already answered this seat: “%(decision)s”. Reload the page.")
            % {"who": verdict.decided_by, "decision": verdict.get_decision_display()}
        )
    reason = (reason or "").strip()
    _check_answer(decision, reason, rectify_due_at)
    if decision == Verdict.RECTIFY:
        _check_earlier(task, rectify_due_at, earlier_confirmed)
    verdict.decision = decision
    verdict.reason = reason
    verdict.rectify_due_at = rectify_due_at if decision == Verdict.RECTIFY else None
    verdict.decided_by = actor.user
    verdict.on_behalf_of = actor.on_behalf_of
    verdict.decided_at = timezone.now()
    verdict.save()
    task_services.task_event_log(
        task=task,
        kind=TaskEventKind.VERDICT,
        by=actor.user,
        on_behalf_of=actor.on_behalf_of,
        comment=reason,
        params=verdict_params(verdict, acceptance),
    )
    if decision == Verdict.PASSED:
        if not acceptance.verdicts.filter(decision=Verdict.PENDING).exists():
            _passed(task, acceptance, actor, responsible)
    elif decision == Verdict.RECTIFY:
        _rectify(task, acceptance, verdict, actor, responsible)
    else:
        _failed(task, acceptance, verdict, actor, responsible)
    return verdict


def _passed(task, acceptance, actor, responsible) -> None:
    _close(acceptance, AcceptanceOutcome.PASSED)
    task_services.task_accept_unchecked(
        task=task,
        by=actor.user,
        on_behalf_of=actor.on_behalf_of,
        params={"msg": "all_passed", "round": acceptance.round},
    )
    notifications.notify(
        event="acceptance_passed",
        recipients=[responsible, *_people(task, RaciRole.ACCOUNTABLE), task.request.initiator],
        context={"task": task, "acceptance": acceptance},
        url=acceptance.get_absolute_url(),
        actor=actor.user,
    )


def _rectify(task, acceptance, verdict, actor, responsible) -> None:
    _close(acceptance, AcceptanceOutcome.RECTIFY, verdict.rectify_due_at)
    task = task_services.task_reject_delivery_unchecked(
        task=task,
        by=actor.user,
        on_behalf_of=actor.on_behalf_of,
        reason=verdict.reason,
        kind=TaskEventKind.RECTIFY,
    )
    if task.due_at != verdict.rectify_due_at:
        task_services.task_change_due_unchecked(
            task=task,
            by=actor.user,
            on_behalf_of=actor.on_behalf_of,
            new_due_at=verdict.rectify_due_at,
            reason=verdict.reason,
            rectify_round=acceptance.round,
        )
    notifications.notify(
        event="acceptance_rectify",
        recipients=[responsible],
        context={"task": task, "acceptance": acceptance, "verdict": verdict},
        url=acceptance.get_absolute_url(),
        actor=actor.user,
    )


def _failed(task, acceptance, verdict, actor, responsible) -> None:
    _close(acceptance, AcceptanceOutcome.FAILED)
    task_services.task_reject_delivery_unchecked(
        task=task,
        by=actor.user,
        on_behalf_of=actor.on_behalf_of,
        reason=verdict.reason,
        kind=TaskEventKind.FAIL,
        reset_progress=True,
    )
    department = task.responsible_department_id
    heads = _department_reviewers([department], exclude=None)[department]
    notifications.notify(
        event="acceptance_failed",
        recipients=[
            responsible,
            *_people(task, RaciRole.ACCOUNTABLE),
            task.request.initiator,
            *heads,
        ],
        context={"task": task, "acceptance": acceptance, "verdict": verdict},
        url=acceptance.get_absolute_url(),
        actor=actor.user,
    )


# --- reads -------------------------------------------------------------------------------


def rounds_of(task: Task) -> list[TaskAcceptance]:
    """Return the task's rounds, newest first, with their answers and files (3 queries)."""
    rounds = list(
        TaskAcceptance.objects.filter(task=task)
        .select_related("submitted_by")
        .prefetch_related(
            Prefetch(
                "verdicts",
                queryset=AcceptanceVerdict.objects.select_related(
                    "reviewer", "department", "decided_by", "on_behalf_of"
                ).order_by("pk"),
            )
        )
        .order_by("-round")
    )
    files: dict[int, list[TaskDeliverable]] = defaultdict(list)
    if rounds:
        for deliverable in TaskDeliverable.objects.filter(task=task).order_by("uploaded_at", "pk"):
            files[deliverable.round].append(deliverable)
    for acceptance in rounds:
        acceptance.task = task
        acceptance.files = files.get(acceptance.round, [])
        acceptance.answers = list(acceptance.verdicts.all())
        for verdict in acceptance.answers:
            verdict.acceptance = acceptance
    return rounds


# --- the warning rule and the calendar ---------------------------------------------------


def scan_acceptance_overdue(rule, now):
    """Seats of an acceptance round still unanswered after their due date.

    The due date is 3 working days after the day of submission, stored when the round
    opens and recomputed when an administrator changes the calendar: a deliverable
    submitted on Monday may be answered until Thursday and warns from Friday. One
    warning a day per task to each reviewer still owing an answer: the A ("accountable"),
    the initiator ("initiator"), the departments' heads and their deputies ("head").
    """
    today = timezone.localdate(now)
    rounds = list(
        TaskAcceptance.objects.filter(
            outcome=AcceptanceOutcome.OPEN,
            due_date__lt=today,
            task__state=TaskState.SUBMITTED,
            task__request__state=RequestState.IN_PROGRESS,
        )
        .order_by()
        .values_list(
            "pk", "round", "submitted_at", "due_date", "task_id", "task__number", "task__name",
            named=True,
        )
    )  # fmt: skip
    # Rows, not models, and the people in collab.warnings.People's three queries: the
    # scan runs nightly over the whole portfolio (`make bench`).
    seats: dict[int, list] = defaultdict(list)
    for seat in AcceptanceVerdict.objects.filter(
        acceptance__in=[r.pk for r in rounds], decision=Verdict.PENDING
    ).values_list("acceptance_id", "seat", "reviewer_id", "department_id", named=True):
        seats[seat.acceptance_id].append(seat)
    responsible: dict[int, set[int]] = defaultdict(set)
    for task_id, user_id in TaskAssignment.objects.filter(
        task__in=[r.task_id for r in rounds], role=RaciRole.RESPONSIBLE
    ).values_list("task_id", "user_id"):
        responsible[task_id].add(user_id)
    people = People(
        users={s.reviewer_id for rows in seats.values() for s in rows},
        departments={s.department_id for rows in seats.values() for s in rows},
        on=today,
    )
    url = link("tasks_app:detail", "#acceptance")
    roles = {Seat.ACCOUNTABLE: "accountable", Seat.INITIATOR: "initiator"}
    for acceptance in rounds:
        mine = responsible[acceptance.task_id]
        found: dict[str, list[int]] = {"accountable": [], "initiator": [], "head": []}
        for seat in seats[acceptance.pk]:
            if seat.seat in roles:
                found[roles[seat.seat]] += people.one(seat.reviewer_id)
            else:
                found["head"] += people.heads(seat.department_id, but=mine)
        found = {role: [u for u in users if u not in mine] for role, users in found.items()}
        if not any(found.values()):
            continue
        yield Hit(
            object_id=acceptance.task_id,
            people=found,
            values={
                "name": acceptance.task__name,
                "number": acceptance.task__number,
                "n": acceptance.round,
                "submitted": day_text(acceptance.submitted_at),
                "due": day_text(acceptance.due_date),
                "days": (today - acceptance.due_date).days,
            },
            url=url(acceptance.task_id),
        )


def acceptance_overdue_message(n=None) -> str:
    # The msgid the warning has always had (its zh-Hant is in the catalog).
    return _(
        "The deliverable of “%(name)s” (%(number)s, submission v%(n)s) was submitted on "
        "%(submitted)s; answers were due on %(due)s and yours is still missing."
    )


def recompute_due_dates() -> int:
    """Recompute the answer due date of every open round from its day of submission.

    Called when an administrator changes a holiday or a make-up workday. One calendar
    lookup per submission day and one UPDATE per new due date.
    """
    return calendar.due_dates_follow(
        TaskAcceptance.objects.filter(outcome=AcceptanceOutcome.OPEN),
        start="submitted_at",
        days=ANSWER_WORKING_DAYS,
    )


# --- demo --------------------------------------------------------------------------------


def demo_pass(task: Task) -> None:
    """Demo: every reviewer passes the task's open round (tasks_app.demo's done task).

    Person seats are answered by their person, department seats by a head who is not
    the R.
    """
    acceptance = TaskAcceptance.objects.filter(task=task, outcome=AcceptanceOutcome.OPEN).first()
    if acceptance is None:
        return
    responsible = next(iter(_people(task, RaciRole.RESPONSIBLE)), None)
    others = User.objects.filter(is_active=True).exclude(pk=getattr(responsible, "pk", None))
    for verdict in acceptance.verdicts.filter(decision=Verdict.PENDING).select_related(
        "reviewer", "department"
    ):
        by = verdict.reviewer or others.filter(headed_departments=verdict.department).first()
        acceptance_answer(verdict=verdict, by=by, decision=Verdict.PASSED)


# --- registration ------------------------------------------------------------------------


def _permissions_for_admin() -> None:
    """Open the acceptance's admin pages (read-only; reviewers answer there) to the roles."""
    from collab.choices import Role
    from collab.registry import grant
    from collab.services import HEAD_GROUP

    viewing = {"review_app.view_taskacceptance", "review_app.view_acceptanceverdict"}
    grant("review_app", [HEAD_GROUP, Role.PMO, Role.ADMIN, Role.EXECUTIVE], viewing)


def register() -> None:
    """Register this area's guards, hooks, warning rules and demo data (AppConfig.ready)."""
    from tasks_app import demo as task_demo

    # The task page's acceptance panel is a view's: review_app.apps registers it.
    task_hooks.register_after_submit(acceptance_open)
    calendar.register_change_hook(recompute_due_dates)
    register_rule(
        RuleSpec(
            code="acceptance_overdue",
            label=gettext_lazy("Acceptance answer overdue"),
            model=Task,
            scan=scan_acceptance_overdue,
            message=acceptance_overdue_message,
            defaults={"to_accountable": True, "to_initiator": True, "to_head": True},
        )
    )
    task_demo.register_acceptor(demo_pass)
    _permissions_for_admin()
