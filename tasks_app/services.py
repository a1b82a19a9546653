"""Writes on tasks: the breakdown and its signatures, the task transitions, progress,
due-date changes, comments with @mentions and 協作請求.

Like requests_app.services: each service checks permission through tasks_app.permissions,
locks what it changes, writes the history row in the same transaction and leaves the
e-mails to run on commit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from functools import partial
from typing import NoReturn

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from collab import calendar, events, notifications, uploads
from collab import selectors as org
from collab.errors import Conflict, Refused
from collab.formats import join_list
from collab.models import Department, User
from collab.transitions import Machine
from requests_app import services as request_services
from requests_app.choices import EventKind, RequestState, ReviewDecision
from requests_app.models import CollabRequest
from requests_app.permissions import VIEW_PERMISSION

from . import hooks, permissions, selectors
from .choices import AskStatus, RaciRole, RiskLevel, TaskEventKind, TaskState
from .models import (
    DEFAULT_DUE_TIME,
    Breakdown,
    BreakdownSignature,
    CollabAsk,
    DueDateChange,
    ProgressUpdate,
    Task,
    TaskAssignment,
    TaskComment,
    TaskDeliverable,
    TaskEvent,
)


class TaskConflict(Conflict):
    """Someone else changed the task first; the message says what to do."""


class TaskRefused(Refused):
    """The action is not possible in the task's current state."""


def due_at(day: dt.date, time: dt.time = DEFAULT_DUE_TIME) -> dt.datetime:
    """Return an aware due time on `day` (17:00 local by default)."""
    return timezone.make_aware(dt.datetime.combine(day, time))


def task_event_log(*, task: Task, kind: str, by: User | None, **fields) -> TaskEvent:
    """Write one line of the task's history (collab.models.StateLog.write: transition,
    from_state, to_state, comment, on_behalf_of, the head a deputy acted for, params)."""
    return TaskEvent.write(task=task, kind=kind, by=by, **fields)


# --- the breakdown -------------------------------------------------------------------


def breakdown_of(request: CollabRequest, *, lock: bool = False) -> Breakdown:
    breakdown, _created = Breakdown.objects.get_or_create(request=request)
    if lock:
        breakdown = Breakdown.objects.select_for_update().get(pk=breakdown.pk)
    breakdown.request = request
    return breakdown


def _task_params(msg: str, task: Task) -> dict:
    """The breakdown line's parameters for a task added, changed or removed."""
    return {"msg": msg, "task_id": task.pk, "task": str(task)}


def _breakdown_changed(breakdown: Breakdown, *, by: User, what: dict) -> None:
    """Count a new version and void the signatures given to the old one.

    `what` is the breakdown line's parameters (_task_params).
    """
    voided = list(
        selectors.breakdown_valid_signatures(breakdown).select_related(
            "signed_by", "on_behalf_of", "department"
        )
    )
    breakdown.version += 1
    breakdown.save(update_fields=["version", "updated_at"])
    request = breakdown.request
    request_services.event_log(request=request, kind=EventKind.BREAKDOWN, by=by, params=what)
    if not voided:
        return
    BreakdownSignature.objects.filter(pk__in=[s.pk for s in voided]).update(
        voided_at=timezone.now()
    )
    request_services.event_log(
        request=request,
        kind=EventKind.SIGNATURES_VOIDED,
        by=by,
        params={
            "departments": [{"id": s.department_id, "name": str(s.department)} for s in voided]
        },
    )
    notifications.notify(
        event="breakdown_signatures_voided",
        # The signer, and the head a deputy signed for: both must see it needs signing again.
        recipients=[u for s in voided for u in (s.signed_by, s.on_behalf_of)],
        context={"request": request, "version": breakdown.version},
        url=_breakdown_url(request),
        actor=by,
    )


def _breakdown_url(request: CollabRequest) -> str:
    from django.urls import reverse

    return reverse("tasks_app:breakdown", args=[request.pk])


def _lock_request_for_breakdown(request: CollabRequest, by: User) -> CollabRequest:
    request = CollabRequest.objects.select_for_update().get(pk=request.pk)
    request_services.refuse_archived(request)
    if not permissions.can_edit_breakdown(by, request):
        if request.state != RequestState.APPROVED:
            raise TaskRefused(
                _("The breakdown can change only while the request is “%(state)s”.")
                % {"state": RequestState.APPROVED.label}
            )
        raise PermissionDenied(_("Only the initiator or the PMO can edit the breakdown."))
    return request


def _check_cycle(task: Task, predecessors: Iterable[Task]) -> None:
    """Refuse dependencies that would make the task wait, through any chain, on itself."""
    if task.pk is None:
        return
    edges: dict[int, set[int]] = {}
    for source, target in Task.depends_on.through.objects.filter(
        from_task__request_id=task.request_id
    ).values_list("from_task_id", "to_task_id"):
        edges.setdefault(source, set()).add(target)
    edges[task.pk] = {p.pk for p in predecessors}
    stack, seen = list(edges[task.pk]), set()
    while stack:
        node = stack.pop()
        if node == task.pk:
            raise ValidationError(
                {"depends_on": _("These dependencies would make the task wait on itself.")}
            )
        if node not in seen:
            seen.add(node)
            stack.extend(edges.get(node, ()))


def _check_task(
    *,
    request: CollabRequest,
    task: Task,
    supporting: Sequence[Department],
    depends_on: Sequence[Task],
    raci: dict,
) -> None:
    errors: dict[str, list[str]] = {}
    involved = set(request.department_links.values_list("department_id", flat=True))
    if task.responsible_department_id not in involved:
        errors.setdefault("responsible_department", []).append(
            _("The responsible department must be one of the request's departments.")
        )
    if any(d.pk == task.responsible_department_id for d in supporting):
        errors.setdefault("supporting_departments", []).append(
            _("The responsible department cannot also be a supporting one.")
        )
    if any(d.pk not in involved for d in supporting):
        errors.setdefault("supporting_departments", []).append(
            _("Supporting departments must be among the request's departments.")
        )
    if task.due_at and task.start_date and timezone.localdate(task.due_at) < task.start_date:
        errors.setdefault("due_at", []).append(_("The due date cannot be before the start."))
    if any(p.request_id != request.pk or p.pk == task.pk for p in depends_on):
        errors.setdefault("depends_on", []).append(
            _("A task can only depend on other tasks of the same request.")
        )
    responsible, accountable = raci.get("R"), raci.get("A")
    if responsible is None:
        errors.setdefault("responsible", []).append(_("Choose exactly one Responsible person."))
    if accountable is None:
        errors.setdefault("accountable", []).append(_("Choose exactly one Accountable person."))
    if responsible is not None:
        allowed = {task.responsible_department_id, *(d.pk for d in supporting)}
        theirs = {
            responsible.department_id,
            *responsible.headed_departments.values_list("pk", flat=True),
        }
        if not allowed & theirs:
            errors.setdefault("responsible", []).append(
                _("R must belong to the responsible or a supporting department.")
            )
        if not responsible.is_active:
            errors.setdefault("responsible", []).append(_("This person's account is disabled."))
    if errors:
        raise ValidationError(errors)
    _check_cycle(task, depends_on)


def _sync_request_grants(request: CollabRequest, users: Iterable[User]) -> None:
    """Give RACI members the right to see the request; take it back when they have none.

    The grant lives in guardian's direct-foreign-key table for requests, which
    requests_app.permissions.visible_requests reads.
    """
    for user in {u.pk: u for u in users}.values():
        if TaskAssignment.objects.filter(task__request=request, user=user).exists():
            assign_perm(VIEW_PERMISSION, user, request)
        else:
            remove_perm(VIEW_PERMISSION, user, request)


def _set_raci(task: Task, raci: dict) -> set[User]:
    """Replace the task's RACI rows; return everyone who had or has a role."""
    before = {a.user for a in task.assignments.select_related("user")}
    task.assignments.all().delete()
    rows = [TaskAssignment(task=task, user=raci["R"], role=RaciRole.RESPONSIBLE)]
    rows.append(TaskAssignment(task=task, user=raci["A"], role=RaciRole.ACCOUNTABLE))
    for role in (RaciRole.CONSULTED, RaciRole.INFORMED):
        rows += [
            TaskAssignment(task=task, user=user, role=role)
            for user in {u.pk: u for u in raci.get(role.value, [])}.values()
        ]
    TaskAssignment.objects.bulk_create(rows)
    return before | {row.user for row in rows}


def _next_sequence(breakdown: Breakdown) -> int:
    """Task numbers are never reused, even after a task is removed from the breakdown."""
    highest = Task.objects.filter(request=breakdown.request).aggregate(n=Max("sequence"))["n"]
    used = max(highest or 0, breakdown.last_sequence)
    breakdown.last_sequence = used + 1
    breakdown.save(update_fields=["last_sequence", "updated_at"])
    return used + 1


TASK_FIELDS = (
    "name",
    "description",
    "responsible_department",
    "start_date",
    "due_at",
    "deliverable",
    "acceptance_criteria",
    "importance",
    "buffer_days",
)


def _task_snapshot(task: Task, supporting=None, depends_on=None, raci=None) -> tuple:
    """Return what a breakdown edit can change on a task, to tell a real edit from none.

    Without the lists, read the saved departments, dependencies and RACI of the task.
    """
    fields = tuple(
        getattr(task, f"{f}_id" if f == "responsible_department" else f) for f in TASK_FIELDS
    )
    if supporting is None:
        supporting_ids = set(task.supporting_departments.values_list("pk", flat=True))
        depends_ids = set(task.depends_on.values_list("pk", flat=True))
        roles = set(task.assignments.values_list("user_id", "role"))
    else:
        supporting_ids = {d.pk for d in supporting}
        depends_ids = {t.pk for t in depends_on}
        roles = (
            {(raci["R"].pk, "R"), (raci["A"].pk, "A")} if raci.get("R") and raci.get("A") else set()
        )
        for role in ("C", "I"):
            roles |= {(u.pk, role) for u in raci.get(role, [])}
    return fields, supporting_ids, depends_ids, roles


@transaction.atomic
def task_save(
    *,
    request: CollabRequest,
    by: User,
    data: dict,
    raci: dict,
    supporting: Sequence[Department] = (),
    depends_on: Sequence[Task] = (),
    task: Task | None = None,
) -> Task:
    """Add a task to the breakdown, or change one; RACI is {"R": u, "A": u, "C": [...], "I": [...]}.

    Every change makes a new breakdown version and voids the signatures already given;
    saving a task unchanged does nothing, so the signatures stand.
    """
    request = _lock_request_for_breakdown(request, by)
    breakdown = breakdown_of(request, lock=True)
    creating = task is None
    if creating:
        task = Task(request=request)
    else:
        task = Task.objects.select_for_update().get(pk=task.pk, request=request)
        before = _task_snapshot(task)
    for field in TASK_FIELDS:
        if field in data:
            setattr(task, field, data[field])
    if not creating and before == _task_snapshot(task, supporting, depends_on, raci):
        return task
    _check_task(request=request, task=task, supporting=supporting, depends_on=depends_on, raci=raci)
    if creating:
        task.sequence = _next_sequence(breakdown)
        task.number = f"{request.number}-{task.sequence:02d}"
    task.full_clean(exclude=["request", "sequence", "number", "state", "depends_on"])
    task.save()
    task.supporting_departments.set(supporting)
    task.depends_on.set(depends_on)
    people = _set_raci(task, raci)
    _sync_request_grants(request, people)
    task_event_log(
        task=task, kind=TaskEventKind.CREATED if creating else TaskEventKind.EDITED, by=by
    )
    _breakdown_changed(
        breakdown,
        by=by,
        what=_task_params("task_added" if creating else "task_changed", task),
    )
    return task


@transaction.atomic
def task_remove(*, task: Task, by: User) -> None:
    """Take a task out of the breakdown before work starts (its number is not reused)."""
    request = _lock_request_for_breakdown(task.request, by)
    breakdown = breakdown_of(request, lock=True)
    task = Task.objects.select_for_update().get(pk=task.pk, request=request)
    if task.dependents.exists():
        raise ValidationError(
            _("Other tasks depend on %(task)s; change them first.") % {"task": task.number}
        )
    people = [a.user for a in task.assignments.select_related("user")]
    what = _task_params("task_removed", task)
    task.delete()
    _sync_request_grants(request, people)
    _breakdown_changed(breakdown, by=by, what=what)


def breakdown_generate(*, request: CollabRequest, by: User) -> list[Task]:
    """Create draft tasks from what each department committed when it agreed (on 立項).

    Runs inside the 確認立項 transaction (requests_app.hooks). R is the head (or the head
    a deputy answered for) of the committing department, A is the initiator; both can
    be changed in the breakdown before the heads sign.
    """
    breakdown = breakdown_of(request, lock=True)
    if request.tasks.exists():
        return []
    reviews = request.reviews.filter(
        round=request.review_round, decision=ReviewDecision.APPROVED
    ).select_related("department", "decided_by", "on_behalf_of")
    # Number the lead department's tasks first, then the others in the request's order.
    lead = set(request.department_links.filter(is_lead=True).values_list("department", flat=True))
    reviews = sorted(reviews, key=lambda r: (r.department_id not in lead, r.department.code))
    start = calendar.add_working_days(timezone.localdate(), 1)
    due = due_at(max(request.expected_completion, start))
    made = []
    for review in reviews:
        responsible = review.on_behalf_of or review.decided_by
        for line in review.committed_task_lines:
            task = Task(
                request=request,
                name=line[:120],
                responsible_department=review.department,
                start_date=start,
                due_at=due,
                importance=request.priority,
                origin_review=review,
            )
            task.sequence = _next_sequence(breakdown)
            task.number = f"{request.number}-{task.sequence:02d}"
            task.save()
            people = _set_raci(task, {"R": responsible, "A": request.initiator})
            _sync_request_grants(request, people)
            task_event_log(task=task, kind=TaskEventKind.CREATED, by=by)
            made.append(task)
    if made:
        request_services.event_log(
            request=request,
            kind=EventKind.BREAKDOWN,
            by=by,
            params={"msg": "drafts", "count": len(made)},
        )
    return made


@transaction.atomic
def breakdown_sign(
    *, request: CollabRequest, by: User, department: Department, version: int | None = None
) -> BreakdownSignature:
    """A head (or deputy) signs the current breakdown for their department (簽署).

    `version` is the version the signer was shown; when the breakdown changed since,
    the signature is refused, so nobody signs a plan they have not seen. The last
    signature moves the request 已立項 → 進行中.
    """
    request = CollabRequest.objects.select_for_update().get(pk=request.pk)
    request_services.refuse_archived(request)
    actor = permissions.signing_actor(by, request, department)
    if actor is None:
        if request.state != RequestState.APPROVED:
            raise TaskRefused(
                _("The breakdown can be signed only while the request is “%(state)s”.")
                % {"state": RequestState.APPROVED.label}
            )
        raise PermissionDenied(_("Only the department's head or their deputy can sign."))
    breakdown = breakdown_of(request, lock=True)
    if not request.tasks.exists():
        raise ValidationError(_("The breakdown has no tasks yet."))
    if version is not None and version != breakdown.version:
        raise TaskConflict(
            _(
                "The breakdown changed while you were reading it (now version %(version)d). "
                "Review the new version before signing."
            )
            % {"version": breakdown.version}
        )
    if selectors.breakdown_valid_signatures(breakdown).filter(department=department).exists():
        raise TaskConflict(
            _("%(department)s has already signed this version.") % {"department": department}
        )
    signature = BreakdownSignature.objects.create(
        breakdown=breakdown,
        department=department,
        version=breakdown.version,
        signed_by=actor.user,
        on_behalf_of=actor.on_behalf_of,
    )
    request_services.event_log(
        request=request,
        kind=EventKind.SIGNED,
        by=actor.user,
        on_behalf_of=actor.on_behalf_of,
        department=department,
        params={"version": breakdown.version},
    )
    if not selectors.breakdown_missing_signatures(breakdown):
        request_services.request_start_unchecked(
            request=request,
            by=actor.user,
            params={"msg": "all_signed"},
        )
        owners = User.objects.filter(
            task_assignments__task__request=request, task_assignments__role=RaciRole.RESPONSIBLE
        ).distinct()
        notifications.notify(
            event="request_started",
            recipients=[request.initiator, *owners],
            context={"request": request},
            url=request.get_absolute_url(),
        )
    return signature


# --- task transitions ----------------------------------------------------------------


def _refusal(task: Task, name: str) -> str:
    if name == "start" and task.state == TaskState.TODO:
        if task.request.state != RequestState.IN_PROGRESS:
            return _("Work starts once every involved head has signed the breakdown.")
        return _(
            "The tasks this one depends on are not done yet. Its Accountable person can "
            "let it start early with a reason."
        )
    return _("This action is not possible while the task is “%(state)s”.") % {
        "state": task.get_state_display()
    }


MACHINE = Machine(
    model=Task,
    conflict=TaskConflict,
    refused=TaskRefused,
    refusal=_refusal,
    # The join locks the request's row too, so an archiving cannot commit meanwhile.
    related=("request",),
    check=lambda locked: request_services.refuse_archived(locked.request),
)


def _lock_task(task: Task, expected_state: str | None) -> Task:
    return MACHINE.lock(task, expected_state)


def _task_transition(task: Task, name: str, *, fields: Sequence[str] = (), **event) -> TaskEvent:
    """Run transition `name` on a locked task, save it and log it (`event`: the history
    line's kind, by, and comment, on_behalf_of, params as given)."""
    return MACHINE.run(task, name, fields=fields, log=partial(task_event_log, task=task), **event)


def _notify_about(task: Task, event: str, recipients, by: User, **context) -> None:
    """Tell `recipients` about `event` on the task (`context`: what else the message
    shows), with a link to the task's page."""
    notifications.notify(
        event=event,
        recipients=recipients,
        context={"task": task, **context},
        url=task.get_absolute_url(),
        actor=by,
    )


def _people(task: Task, *roles: str) -> list[User]:
    return [a.user for a in task.assignments.select_related("user") if a.role in roles]


@transaction.atomic
def task_start(*, task: Task, by: User, expected_state: str | None = None) -> Task:
    """The Responsible person starts work (開始執行)."""
    task = MACHINE.lock_for(task, "start", expected_state)
    if not permissions.can_start(by, task):
        raise PermissionDenied(_("Only the task's Responsible person can start it."))
    task.started_at = timezone.now()
    _task_transition(task, "start", kind=TaskEventKind.START, by=by, fields=["started_at"])
    return task


@transaction.atomic
def task_override_dependencies(*, task: Task, by: User, reason: str) -> Task:
    """The Accountable person lets a task start before its predecessors are done."""
    task = _lock_task(task, None)
    if task.state != TaskState.TODO:
        raise TaskRefused(_refusal(task, "override_dependencies"))
    if not permissions.can_override_dependencies(by, task):
        raise PermissionDenied(_("Only the task's Accountable person can override this."))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for starting early.")})
    task.dependency_override = reason
    task.save(update_fields=["dependency_override", "updated_at"])
    task_event_log(task=task, kind=TaskEventKind.OVERRIDE, by=by, comment=reason)
    return task


@transaction.atomic
def task_submit(
    *,
    task: Task,
    by: User,
    completion_note: str,
    files: Sequence = (),
    expected_state: str | None = None,
) -> Task:
    """The Responsible person submits the deliverable with a completion note (完成說明).

    The files are this submission's version of the deliverable. The after-submit hooks
    run in the same transaction: review_app opens the acceptance round (成果驗收), numbers
    the files with it (v1, v2…) and tells the reviewers.
    """
    task = MACHINE.lock_for(task, "submit", expected_state)
    if not permissions.can_submit(by, task):
        raise PermissionDenied(_("Only the task's Responsible person can submit it."))
    completion_note = completion_note.strip()
    if not completion_note:
        raise ValidationError({"completion_note": _("Describe what was delivered.")})
    checked = [(file, uploads.upload_validate(file)) for file in files]
    deliverables = []
    for file, info in checked:
        file.name = info.name
        deliverables.append(
            TaskDeliverable.objects.create(
                task=task,
                file=file,
                original_name=info.name,
                size=info.size,
                content_type=info.content_type,
                uploaded_by=by,
            )
        )
    task.completion_note = completion_note
    task.submitted_at = timezone.now()
    task.progress_percent = 100
    _task_transition(
        task,
        "submit",
        kind=TaskEventKind.SUBMIT,
        by=by,
        comment=completion_note,
        fields=["completion_note", "submitted_at", "progress_percent"],
    )
    hooks.run_after_submit(task=task, by=by, deliverables=deliverables)
    return task


def task_accept(*, task: Task, by: User, **kwargs) -> NoReturn:
    """Refuse: nobody accepts a delivery directly, not even A or the PMO.

    A delivery is accepted only through its acceptance round, whose procedure
    (review_app.services.acceptance) calls task_accept_unchecked once every reviewer
    passed it. This public name stays so that no caller mistakes the unchecked step
    for an ordinary action.
    """
    raise PermissionDenied(_("A delivery is accepted only through its acceptance round."))


@transaction.atomic
def task_accept_unchecked(
    *,
    task: Task,
    by: User,
    comment: str = "",
    expected_state: str | None = None,
    on_behalf_of: User | None = None,
    params: dict | None = None,
) -> Task:
    """Mark a submitted deliverable accepted: the task is done (已完成).

    Unchecked: only the acceptance procedure (review_app.services.acceptance) calls
    this, once every reviewer passed the delivery; it has checked the reviewers' seats
    and tells the people concerned. The row is still locked and the state compared.
    """
    task = MACHINE.lock_for(task, "accept", expected_state)
    task.completed_at = timezone.now()
    _task_transition(
        task,
        "accept",
        kind=TaskEventKind.ACCEPT,
        by=by,
        comment=comment,
        fields=["completed_at"],
        on_behalf_of=on_behalf_of,
        params=params,
    )
    return task


def task_reject_delivery(*, task: Task, by: User, **kwargs) -> NoReturn:
    """Refuse: nobody sends a delivery back directly, not even A or the PMO.

    A delivery goes back only through its acceptance round (需整改 / 不通過), whose
    procedure calls task_reject_delivery_unchecked.
    """
    raise PermissionDenied(_("A delivery is sent back only through its acceptance round."))


@transaction.atomic
def task_reject_delivery_unchecked(
    *,
    task: Task,
    by: User,
    reason: str,
    expected_state: str | None = None,
    kind: str = TaskEventKind.REJECT,
    reset_progress: bool = False,
    on_behalf_of: User | None = None,
) -> Task:
    """Send a delivery back to 進行中 with the reason (what must be reworked).

    Unchecked: only the acceptance procedure (review_app.services.acceptance) calls
    this, after checking the reviewer's seat: `kind` RECTIFY for a 需整改 (the due date
    then moves to the rectification deadline, separately), FAIL with `reset_progress`
    for a 不通過 (the work is re-planned from 0%). It tells the people concerned itself.
    """
    task = MACHINE.lock_for(task, "reject_delivery", expected_state)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say what must be reworked.")})
    task.submitted_at = None
    fields = ["submitted_at"]
    if reset_progress:
        task.progress_percent = 0
        fields.append("progress_percent")
    _task_transition(
        task,
        "reject_delivery",
        kind=kind,
        by=by,
        comment=reason,
        fields=fields,
        on_behalf_of=on_behalf_of,
    )
    return task


def working_days_earlier(old_due_at: dt.datetime, new_due_at: dt.datetime) -> int:
    """Return by how many working days `new_due_at` comes before `old_due_at` (0 if not)."""
    return calendar.working_days_between(
        timezone.localdate(new_due_at), timezone.localdate(old_due_at)
    )


def due_change_params(old_due_at: dt.datetime, new_due_at: dt.datetime) -> dict:
    """The due-date line's parameters: both moments, and how much earlier when it is.

    The working days are counted on the calendar of the day of the change, and kept:
    a later holiday does not rewrite what the history said.
    """
    params = {"old": events.iso(old_due_at), "new": events.iso(new_due_at)}
    if new_due_at < old_due_at:
        params["earlier_by"] = working_days_earlier(old_due_at, new_due_at)
    return params


def _lock_for_due_change(task: Task) -> tuple[CollabRequest, Task]:
    """Return the task's request and the task, locked; refuse an archived case or a
    task already done."""
    # Lock the request before the task, in the order the breakdown services lock them.
    request = CollabRequest.objects.select_for_update().get(pk=task.request_id)
    request_services.refuse_archived(request)
    task = _lock_task(task, None)
    if task.state == TaskState.DONE:
        raise TaskRefused(_refusal(task, "change_due"))
    return request, task


@transaction.atomic
def task_change_due(
    *,
    task: Task,
    by: User,
    new_due_at: dt.datetime,
    reason: str,
    solution: str,
    on_behalf_of: User | None = None,
) -> DueDateChange:
    """The Accountable person or the PMO move a due date, with the reason, the solution
    and the new date; every change is kept (task_change_due_unchecked)."""
    _request, task = _lock_for_due_change(task)
    if not permissions.can_change_due(by, task):
        raise PermissionDenied(_("Only the Accountable person or the PMO can change the due date."))
    return task_change_due_unchecked(
        task=task,
        by=by,
        new_due_at=new_due_at,
        reason=reason,
        solution=solution,
        on_behalf_of=on_behalf_of,
    )


@transaction.atomic
def task_change_due_unchecked(
    *,
    task: Task,
    by: User,
    new_due_at: dt.datetime,
    reason: str,
    solution: str = "",
    on_behalf_of: User | None = None,
    rectify_round: int | None = None,
) -> DueDateChange:
    """Move a due date with the reason, the solution and the new date; every change is kept.

    `rectify_round`: the acceptance round whose 需整改 moves the date, which is then the
    solution (said in the reader's language, DueDateChange.solution_text).

    Unchecked: called by task_change_due after its check, and by the acceptance
    procedure (review_app.services.acceptance), whose reviewer's 需整改 moves the due
    date to the rectification deadline, whoever the reviewer is. While the request is
    still 已立項 the due date is part of the breakdown the heads sign, so the change
    makes a new version and voids the signatures given so far.
    """
    request, task = _lock_for_due_change(task)
    errors = {}
    if not reason.strip():
        errors["reason"] = _("Give the reason for the change.")
    if not solution.strip() and rectify_round is None:
        errors["solution"] = _("Say how the delay will be solved.")
    if timezone.localdate(new_due_at) < task.start_date:
        errors["new_due_at"] = _("The due date cannot be before the start.")
    if new_due_at == task.due_at:
        errors["new_due_at"] = _("The new due date is the same as the current one.")
    if errors:
        raise ValidationError(errors)
    change = DueDateChange.objects.create(
        task=task,
        old_due_at=task.due_at,
        new_due_at=new_due_at,
        reason=reason.strip(),
        solution=solution.strip(),
        rectify_round=rectify_round,
        changed_by=by,
    )
    task.due_at = new_due_at
    task.save(update_fields=["due_at", "updated_at"])
    if request.state == RequestState.APPROVED:
        _breakdown_changed(
            breakdown_of(request, lock=True), by=by, what=_task_params("task_changed", task)
        )
    task_event_log(
        task=task,
        kind=TaskEventKind.DUE_CHANGED,
        by=by,
        on_behalf_of=on_behalf_of,
        comment=change.reason,
        params=due_change_params(change.old_due_at, new_due_at),
    )
    _notify_about(
        task,
        "task_due_changed",
        _people(task, RaciRole.RESPONSIBLE, RaciRole.ACCOUNTABLE),
        by,
        change=change,
    )
    return change


# --- progress, comments, asks --------------------------------------------------------


@transaction.atomic
def progress_log(
    *,
    task: Task,
    by: User,
    percent: int,
    done: str,
    problems: str = "",
    support_needed: str = "",
    risk_note: str = "",
    risk_level: str = "none",
) -> ProgressUpdate:
    """The Responsible person records progress (進度更新) on a task under way."""
    task = Task.objects.select_for_update().select_related("request").get(pk=task.pk)
    request_services.refuse_archived(task.request)
    if task.state == TaskState.TODO:
        raise TaskRefused(_("Progress is logged on a task in progress; start it first."))
    if task.state != TaskState.IN_PROGRESS:
        raise TaskRefused(_refusal(task, "progress_log"))
    if not permissions.can_log_progress(by, task):
        raise PermissionDenied(_("Only the task's Responsible person can log progress."))
    errors = {}
    if not 0 <= int(percent) <= 100:
        errors["percent"] = _("The percentage is between 0 and 100.")
    if not done.strip():
        errors["done"] = _("Say what was done; “working on it” is not enough.")
    if errors:
        raise ValidationError(errors)
    update = ProgressUpdate.objects.create(
        task=task,
        author=by,
        percent=int(percent),
        done=done.strip(),
        problems=problems.strip(),
        support_needed=support_needed.strip(),
        risk_note=risk_note.strip(),
        risk_level=risk_level,
    )
    task.progress_percent = update.percent
    task.last_progress_at = update.created_at
    task.risk_level = update.risk_level
    task.save(update_fields=["progress_percent", "last_progress_at", "risk_level", "updated_at"])
    task_event_log(
        task=task,
        kind=TaskEventKind.PROGRESS,
        by=by,
        comment=update.done,
        params={"percent": update.percent},
    )
    if update.risk_level == RiskLevel.HIGH or update.support_needed:
        _notify_about(
            task,
            "task_needs_support",
            [
                task.request.initiator,
                *_people(task, RaciRole.ACCOUNTABLE),
                *task.responsible_department.heads.filter(is_active=True),
            ],
            by,
            update=update,
        )
    return update


# @username: usernames are ASCII (letters, digits, _ . + -). Chinese text runs on with no
# space after a name (「請@tech_head協助」), so a name stops at the first other character
# and never ends with "." (a full stop); an "@" inside a word (an e-mail address) is no
# mention.
# @username, not the middle of an e-mail address, without a trailing full stop, and
# ending where Chinese text resumes ("@carol請看" mentions carol).
MENTION = re.compile(r"(?<![A-Za-z0-9_.+-])@([A-Za-z0-9_.+-]*[A-Za-z0-9_+-])")


def _refuse_archived_case(task_id: int) -> None:
    """Refuse a comment or 協作請求 on an archived case, read under the request's lock.

    The lock is the one the archiving takes, so a comment cannot slip in while the case
    is being archived.
    """
    request = CollabRequest.objects.select_for_update(of=("self",)).get(tasks__id=task_id)
    request_services.refuse_archived(request)


def mentionable_users(task: Task) -> list[User]:
    """Return the people who can see the task, i.e. who may be @mentioned on it."""
    return list(permissions.users_who_can_see(task))


@transaction.atomic
def comment_add(*, task: Task, by: User, body: str) -> TaskComment:
    """Comment on a task; each @username mentioned is notified if they can see the task."""
    _refuse_archived_case(task.pk)
    if not permissions.can_comment(by, task):
        raise PermissionDenied(_("You cannot comment on this task."))
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("Write a comment.")})
    names = set(MENTION.findall(body))
    mentioned = list(User.objects.filter(username__in=names, is_active=True))
    unknown = names - {u.username for u in mentioned}
    allowed = set(
        permissions.users_who_can_see(task)
        .filter(pk__in=[u.pk for u in mentioned])
        .values_list("pk", flat=True)
    )
    blocked = [u for u in mentioned if u.pk not in allowed]
    if unknown or blocked:
        who = sorted(unknown | {u.username for u in blocked})
        raise ValidationError(
            {
                "body": _("Only people who can see this task can be mentioned: %(names)s cannot.")
                % {"names": join_list(who)}
            }
        )
    comment = TaskComment.objects.create(task=task, author=by, body=body)
    comment.mentions.set(mentioned)
    _notify_about(task, "task_mentioned", mentioned, by, comment=comment)
    return comment


@transaction.atomic
def ask_create(
    *,
    task: Task,
    by: User,
    content: str,
    expected_date: dt.date,
    to_department: Department | None = None,
    to_user: User | None = None,
) -> CollabAsk:
    """Ask a department or a person for help on a task by a date (協作請求)."""
    _refuse_archived_case(task.pk)
    if not permissions.can_comment(by, task):
        raise PermissionDenied(_("You cannot ask for help on this task."))
    errors = {}
    if (to_department is None) == (to_user is None):
        errors["to_department"] = _("Ask either a department or a person.")
    elif to_user is not None and (
        to_user.pk == by.pk
        or not permissions.users_who_can_see(task).filter(pk=to_user.pk).exists()
    ):
        errors["to_user"] = _("Ask someone else who can see this task.")
    elif to_department is not None and to_department.pk not in (
        permissions.request_department_ids(task.request)
    ):
        errors["to_department"] = _("Ask one of the request's departments.")
    if not content.strip():
        errors["content"] = _("Say what you need.")
    if expected_date < timezone.localdate():
        errors["expected_date"] = _("The expected date is in the past.")
    if errors:
        raise ValidationError(errors)
    ask = CollabAsk.objects.create(
        task=task,
        asked_by=by,
        to_department=to_department,
        to_user=to_user,
        content=content.strip(),
        expected_date=expected_date,
    )
    recipients = [to_user] if to_user is not None else org.heads_and_deputies([to_department])
    _notify_about(task, "task_ask", recipients, by, ask=ask)
    return ask


@transaction.atomic
def ask_answer(*, ask: CollabAsk, by: User, answer: str) -> CollabAsk:
    ask = CollabAsk.objects.select_for_update().select_related("task").get(pk=ask.pk)
    _refuse_archived_case(ask.task_id)
    if ask.status != AskStatus.OPEN:
        raise TaskConflict(_("This request for help is no longer open."))
    if not permissions.can_answer_ask(by, ask):
        raise PermissionDenied(_("Only the person or department asked can answer."))
    if not answer.strip():
        raise ValidationError({"answer": _("Write an answer.")})
    ask.answer = answer.strip()
    ask.answered_by = by
    ask.answered_at = timezone.now()
    ask.status = AskStatus.ANSWERED
    ask.save()
    _notify_about(ask.task, "task_ask_answered", [ask.asked_by], by, ask=ask)
    return ask


@transaction.atomic
def ask_close(*, ask: CollabAsk, by: User) -> CollabAsk:
    ask = CollabAsk.objects.select_for_update().get(pk=ask.pk)
    _refuse_archived_case(ask.task_id)
    if ask.asked_by_id != by.pk:
        raise PermissionDenied(_("Only the person who asked can close it."))
    if ask.status == AskStatus.CLOSED:
        raise TaskConflict(_("This request for help is already closed."))
    ask.status = AskStatus.CLOSED
    ask.save(update_fields=["status"])
    return ask
