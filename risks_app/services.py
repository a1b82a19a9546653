"""Writes on risk reports (issue 16 §1).

Each service checks permission through risks_app.permissions, locks what it changes (the
request first, refused when archived and held so that an archiving cannot commit
meanwhile, then the risk through collab.transitions.Machine), writes the history row in
the same transaction (a kind and its parameters, rendered when read:
risks_app.event_texts) and leaves the e-mails to the outbox, which sends them on commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from collab import events, notifications
from collab import selectors as org
from collab.errors import Conflict, Refused
from collab.models import Department, User
from collab.transitions import Machine
from requests_app import services as request_services
from requests_app.models import CollabRequest, Goal
from tasks_app.models import ProgressUpdate, Task

from . import permissions, rules
from .choices import LEVELS, OPEN_RISK_STATES, RiskEventKind, RiskLevel
from .models import Risk, RiskEvent, RiskMatrixCell


class RiskConflict(Conflict):
    """Someone else acted on the risk report first."""


class RiskRefused(Refused):
    """The act is not possible in the risk report's current state."""


def risk_event_log(*, risk: Risk, kind: str, by: User | None, **fields) -> RiskEvent:
    """Write one line of the risk report's history (collab.models.StateLog.write)."""
    fields.setdefault("transition", kind)
    return RiskEvent.write(risk=risk, kind=kind, by=by, **fields)


def _refusal(risk: Risk, name: str) -> str:
    return _("This is not possible while the risk report is “%(state)s”.") % {
        "state": risk.get_state_display()
    }


MACHINE = Machine(
    model=Risk,
    conflict=RiskConflict,
    refused=RiskRefused,
    refusal=_refusal,
    related=("request",),
    lock_of=("self",),
    check=lambda locked: request_services.refuse_archived(locked.request),
)


def _lock_case(request_id: int) -> CollabRequest:
    request = CollabRequest.objects.select_for_update().get(pk=request_id)
    request_services.refuse_archived(request)
    return request


def _lock(risk: Risk, name: str, expected_state: str | None) -> Risk:
    _lock_case(risk.request_id)
    return MACHINE.lock_for(risk, name, expected_state)


def _transition(risk: Risk, name: str, *, fields=(), **event) -> RiskEvent:
    return MACHINE.run(risk, name, fields=fields, log=partial(risk_event_log, risk=risk), **event)


def _unique(users: Iterable[User | None]) -> list[User]:
    return list({user.pk: user for user in users if user is not None}.values())


def _notify(event: str, recipients, *, by: User | None, risk: Risk, **context) -> None:
    notifications.notify(
        event=event,
        recipients=recipients,
        context={"risk": risk, **context},
        url=risk.get_absolute_url(),
        actor=by,
    )


def _required(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def _heads_involved(risk: Risk) -> list[User]:
    """The heads (and today's deputies) of the request's departments and of the
    departments the risk affects."""
    request = risk.request
    ids = {
        request.initiating_department_id,
        *request.department_links.values_list("department_id", flat=True),
        *risk.affected_departments.values_list("pk", flat=True),
    }
    return org.heads_and_deputies(Department.objects.filter(pk__in=ids))


# --- reporting ---------------------------------------------------------------------------


@transaction.atomic
def risk_report(
    *,
    request: CollabRequest,
    by: User,
    title: str,
    description: str,
    probability: int,
    impact: int,
    suggested_measures: str,
    discovered_at: dt.datetime,
    task: Task | None = None,
    progress_update: ProgressUpdate | None = None,
    affected_tasks: Iterable[Task] = (),
    affected_departments: Iterable[Department] = (),
    affected_goals: Iterable[Goal] = (),
    affected_dates: str = "",
) -> Risk:
    """File a risk report (風險應對申請表). Its level comes from the matrix; a report filed
    more than 24 hours after the discovery is flagged as late (rules.late_report_q). The
    PMO hears of every report; a high one reaches the heads involved at once too."""
    request = _lock_case(request.pk)
    if not permissions.can_report(by, request):
        raise PermissionDenied(
            _("Only the people taking part in an approved or running request report its risks.")
        )
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if discovered_at > now:
        errors["discovered_at"] = [_("The discovery cannot be in the future.")]
    for name, value in (("probability", probability), ("impact", impact)):
        if value not in range(1, 6):
            errors[name] = [_("Choose a score from 1 to 5.")]
    affected_tasks = list(affected_tasks)
    if task is not None and task.request_id != request.pk:
        errors["task"] = [_("The task must belong to the request.")]
    if any(t.request_id != request.pk for t in affected_tasks):
        errors["affected_tasks"] = [_("The tasks must belong to the request.")]
    affected_goals = list(affected_goals)
    if any(g.request_id != request.pk for g in affected_goals):
        errors["affected_goals"] = [_("The goals must belong to the request.")]
    if progress_update is not None and progress_update.task.request_id != request.pk:
        errors["progress_update"] = [_("The progress update must belong to the request.")]
    for name, value, message in (
        ("title", title, _("Give the risk a title.")),
        ("description", description, _("Describe the risk.")),
        ("suggested_measures", suggested_measures, _("Suggest how to respond.")),
    ):
        if not (value or "").strip():
            errors[name] = [message]
    if errors:
        raise ValidationError(errors)
    risk = Risk.objects.create(
        request=request,
        task=task,
        progress_update=progress_update,
        title=title.strip(),
        description=description.strip(),
        probability=probability,
        impact=impact,
        level=rules.level_of(probability, impact),
        affected_dates=affected_dates.strip(),
        suggested_measures=suggested_measures.strip(),
        discovered_at=discovered_at,
        reported_at=now,
        reported_by=by,
    )
    risk.affected_tasks.set(affected_tasks)
    risk.affected_departments.set(list(affected_departments))
    risk.affected_goals.set(affected_goals)
    risk_event_log(
        risk=risk,
        kind=RiskEventKind.REPORT,
        by=by,
        to_state=risk.state,
        params={
            "level": risk.level,
            "probability": probability,
            "impact": impact,
            "late": risk.is_late_report,
        },
    )
    pmo = org.pmo_users()
    if risk.level == RiskLevel.HIGH:
        _notify("risk_high_reported", _unique([*pmo, *_heads_involved(risk)]), by=by, risk=risk)
    else:
        _notify("risk_reported", pmo, by=by, risk=risk)
    return risk


# --- the PMO's response ------------------------------------------------------------------


def _check_organiser(by: User, risk: Risk) -> None:
    if not permissions.can_organise(by, risk):
        raise PermissionDenied(_("Only the PMO organises the response to a risk."))


@transaction.atomic
def risk_accept(
    *,
    risk: Risk,
    by: User,
    owner: User | None,
    response_due: dt.datetime | None,
    plan: str,
    expected_state: str | None = None,
) -> Risk:
    """The PMO takes the report on: names the owner, the deadline and the response plan
    (已提報 → 應對中). The owner is told."""
    risk = _lock(risk, "accept", expected_state)
    _check_organiser(by, risk)
    errors: dict[str, list[str]] = {}
    if owner is None or not owner.is_active:
        errors["owner"] = [_("Name an active person to own the response.")]
    if response_due is None:
        errors["response_due"] = [_("Set the response deadline.")]
    elif response_due <= timezone.now():
        errors["response_due"] = [_("The response deadline must be in the future.")]
    if not (plan or "").strip():
        errors["plan"] = [_("Write the response plan.")]
    if errors:
        raise ValidationError(errors)
    risk.owner, risk.response_due, risk.response_plan = owner, response_due, plan.strip()
    _transition(
        risk,
        "accept",
        kind=RiskEventKind.ACCEPT,
        by=by,
        params={"owner": owner.pk, "owner_name": str(owner), "due": events.iso(response_due)},
        fields=["owner", "response_due", "response_plan"],
    )
    _notify("risk_assigned", [owner], by=by, risk=risk)
    return risk


def _conclude(risk: Risk, by: User, name: str, kind: str, note: str, expected_state) -> Risk:
    risk = _lock(risk, name, expected_state)
    if name == "close":
        _check_organiser(by, risk)
    elif not permissions.can_conclude(by, risk):
        raise PermissionDenied(_("Only the PMO or the response owner concludes a risk."))
    note = _required(note, "note", _("Say what happened."))
    risk.closed_at = timezone.now()
    _transition(risk, name, kind=kind, by=by, comment=note, fields=["closed_at"])
    recipients = _unique([risk.reported_by, risk.owner, *org.pmo_users()])
    _notify("risk_closed", recipients, by=by, risk=risk, note=note)
    return risk


@transaction.atomic
def risk_resolve(*, risk: Risk, by: User, note: str, expected_state: str | None = None) -> Risk:
    """已解除: the response worked."""
    return _conclude(risk, by, "resolve", RiskEventKind.RESOLVE, note, expected_state)


@transaction.atomic
def risk_occur(*, risk: Risk, by: User, note: str, expected_state: str | None = None) -> Risk:
    """已發生: the risk became an issue."""
    return _conclude(risk, by, "occur", RiskEventKind.OCCUR, note, expected_state)


@transaction.atomic
def risk_close(*, risk: Risk, by: User, note: str, expected_state: str | None = None) -> Risk:
    """已關閉: not relevant (the PMO only)."""
    return _conclude(risk, by, "close", RiskEventKind.CLOSE, note, expected_state)


def close_with_case(*, request: CollabRequest, by: User | None) -> int:
    """requests_app's after_complete hook, inside the 已完成 transaction: the risks still
    open close with the case (已關閉), each with a line of its history saying so; a
    completed case has nothing left to answer. Returns how many."""
    closed = 0
    now = timezone.now()
    for risk in Risk.objects.select_for_update().filter(
        request=request, state__in=OPEN_RISK_STATES
    ):
        risk.closed_at = now
        MACHINE.run(
            risk,
            "close",
            fields=["closed_at"],
            log=partial(risk_event_log, risk=risk),
            kind=RiskEventKind.CLOSE,
            by=by,
            params={"with_case": True},
        )
        closed += 1
    return closed


# --- the matrix ----------------------------------------------------------------------------


@transaction.atomic
def matrix_set_level(*, cell: RiskMatrixCell, level: str, by: User) -> int:
    """Set a cell's level and re-level the open risks of that cell (closed ones keep the
    level they had). Returns how many open risks changed. The PMO and platform
    administrators edit the matrix (in admin, whose change log records who did)."""
    if not permissions.can_edit_matrix(by):
        raise PermissionDenied(_("Only the PMO edits the risk matrix."))
    if level not in LEVELS:
        raise ValidationError({"level": _("Choose high, medium or low.")})
    cell.level = level
    cell.save(update_fields=["level"])
    return (
        Risk.objects.filter(rules.open_q(), probability=cell.probability, impact=cell.impact)
        .exclude(level=level)
        .exclude(request__is_archived=True)
        .update(level=level)
    )
