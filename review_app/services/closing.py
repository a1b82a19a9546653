"""Final acceptance 成果驗收確認單 and the retrospective 復盤報告.

The final acceptance. When every task of a request 進行中 is done, its initiator (or the
PMO) opens a round with a summary of the results; every involved department (the
collaborating departments and the initiating one) gets a signature to give, by its head
or a deputy acting for the head. One refusal (with its reason) closes the round as
returned: the initiator puts things right and opens a new round. The last signature
closes the round as signed and completes the request in the same transaction
(requests_app.services.request_complete_unchecked), whose completion hooks create the
retrospective and the feedback forms. Nothing else completes a request: the guard
"final_acceptance_passed" of CollabRequest.complete reads the signed round.

Concurrency: every decision locks the request, then the round, then the signature
(always in that order), and re-reads their state; whoever comes second finds the
signature answered or the round closed and gets ClosingConflict, never a second
signature or a second completion.

The retrospective. Created at completion, due a week later, with one contribution row
per involved department. The initiator and the PMO write it (goals' actual values on
requests_app.Goal, highlights, shortcomings, improvement actions, contributions) and
file it once every goal has its actual value; a department's head or acting deputy may
write their own department's contribution (review_app.permissions.closing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from collab import notifications
from collab import selectors as org
from collab.choices import Role
from collab.errors import Conflict, Refused
from collab.formats import join_list
from collab.models import User
from collab.transitions import Machine
from requests_app import guards as request_guards
from requests_app import hooks as request_hooks
from requests_app import services as request_services
from requests_app.choices import EventKind, RequestState
from requests_app.models import CaseArchived, CollabRequest, Goal

from ..choices import FinalOutcome, RetrospectiveState, SignatureDecision
from ..models import (
    DepartmentContribution,
    FinalAcceptance,
    FinalSignature,
    Retrospective,
    RetrospectiveAction,
)
from ..permissions import closing as permissions
from ..selectors import closing as selectors

# The retrospective is due this many calendar days after completion (DOMAIN §6: 1 week).
RETROSPECTIVE_DUE_DAYS = 7


class ClosingConflict(Conflict):
    """Someone else acted first (signed, refused, opened, filed); the message says what to do."""


class ClosingRefused(Refused):
    """The action is not possible in the request's current state."""


# --- guards registered with requests_app ------------------------------------------------


def final_acceptance_passed(request) -> bool:
    """Every involved department signed the request's 成果驗收確認單 (guard of 已完成)."""
    return FinalAcceptance.objects.filter(request=request, outcome=FinalOutcome.SIGNED).exists()


def without_retrospective(requests: QuerySet) -> QuerySet:
    """Narrow completed requests to those whose retrospective is not filed yet."""
    filed = Retrospective.objects.filter(request=OuterRef("pk"), state=RetrospectiveState.FILED)
    return requests.exclude(Exists(filed))


# --- helpers -----------------------------------------------------------------------------


def case_url(request: CollabRequest, anchor: str = "closing") -> str:
    return reverse("review_app:case", args=[request.pk]) + f"#{anchor}"


# The request's machine as the closing moves it: its refusals are the closing's own
# (the caller asks who may act before it says the case is archived).
MACHINE = Machine(
    model=CollabRequest,
    conflict=ClosingConflict,
    refused=ClosingRefused,
    refusal=lambda request, name: request_services.transition_refusal(request, name),
)


def _lock_request(request: CollabRequest, expected_state: str | None = None) -> CollabRequest:
    """Return the request re-read under a row lock; refuse if its state moved on from
    `expected_state` (the state the page showed; None: the state `request` was read in)."""
    return MACHINE.lock(request, expected_state)


def _refuse_unless_in_progress(request: CollabRequest) -> None:
    if request.state != RequestState.IN_PROGRESS:
        raise ClosingRefused(
            _(
                "The final acceptance is possible only while the request is “%(expected)s”; "
                "it is now “%(state)s”."
            )
            % {"expected": RequestState.IN_PROGRESS.label, "state": request.get_state_display()}
        )


# --- the final acceptance ----------------------------------------------------------------


@transaction.atomic
def final_open(
    *, request: CollabRequest, by: User, summary: str, expected_state: str | None = None
) -> FinalAcceptance:
    """Open a round of the final acceptance; each involved department gets a signature.

    The initiator or the PMO, while the request is 進行中, it has tasks and every task
    is done, and no round is awaiting signatures. The heads (and their acting deputies)
    are notified.
    """
    request = _lock_request(request, expected_state)
    if not permissions.may_open_final(by, request):
        raise PermissionDenied(_("Only the initiator or the PMO can open the final acceptance."))
    if request.is_archived:
        raise CaseArchived()
    _refuse_unless_in_progress(request)
    current = FinalAcceptance.objects.filter(request=request, outcome=FinalOutcome.OPEN).first()
    if current is not None:
        raise ClosingConflict(
            _("The final acceptance is already awaiting signatures (round %(round)d).")
            % {"round": current.round}
        )
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError(
            {"summary": _("Summarise the results the departments are asked to sign.")}
        )
    ready = selectors.readiness(request)
    if not ready.task_count:
        raise ValidationError(_("The request has no tasks: there is nothing to accept yet."))
    if ready.open_tasks:
        raise ValidationError(
            _("Every task must be done before the final acceptance. Not done yet: %(tasks)s.")
            % {"tasks": join_list(f"{t.number} {t.name}" for t in ready.open_tasks)}
        )
    last = FinalAcceptance.objects.filter(request=request).aggregate(n=Max("round"))["n"] or 0
    final = FinalAcceptance.objects.create(
        request=request, round=last + 1, summary=summary, opened_by=by
    )
    departments = selectors.involved_departments(request)
    FinalSignature.objects.bulk_create(
        FinalSignature(final=final, department=department) for department in departments
    )
    request_services.event_log(
        request=request,
        kind=EventKind.FINAL_OPENED,
        by=by,
        comment=summary,
        params={"round": final.round},
    )
    notifications.notify(
        event="closing_final_opened",
        recipients=org.heads_and_deputies(departments),
        context={"request": request, "final": final, "by": by},
        url=case_url(request, "closing-final"),
        actor=by,
    )
    return final


def _lock_signature(signature: FinalSignature) -> tuple[CollabRequest, FinalSignature]:
    """Lock the request, the round and the signature, in that order, and re-read them."""
    request_id = (
        FinalAcceptance.objects.filter(pk=signature.final_id)
        .values_list("request_id", flat=True)
        .get()
    )
    request = CollabRequest.objects.select_for_update().get(pk=request_id)
    final = FinalAcceptance.objects.select_for_update().get(pk=signature.final_id)
    locked = (
        FinalSignature.objects.select_for_update(of=("self",))
        .select_related("department")
        .get(pk=signature.pk)
    )
    final.request = request
    locked.final = final
    return request, locked


def _decide(
    signature: FinalSignature, by: User, decision: str, comment: str, *, kind: str
) -> tuple[CollabRequest, FinalSignature, org.Actor]:
    """Record a department's answer on the locked signature and log it on the request's
    timeline as `kind`; return the request, the signature and who acted."""
    request, signature = _lock_signature(signature)
    actor = org.department_actor(user=by, department=signature.department)
    if actor is None:
        raise PermissionDenied(
            _("Only a head of %(department)s or their deputy can answer for it.")
            % {"department": signature.department}
        )
    final = signature.final
    if signature.decision != SignatureDecision.PENDING:
        raise ClosingConflict(
            _(
                "%(department)s has already answered (“%(decision)s”). "
                "Reload the page to see the change."
            )
            % {"department": signature.department, "decision": signature.get_decision_display()}
        )
    if final.outcome != FinalOutcome.OPEN:
        raise ClosingConflict(
            _(
                "This round of the final acceptance is closed (“%(outcome)s”). "
                "Reload the page to see the change."
            )
            % {"outcome": final.get_outcome_display()}
        )
    _refuse_unless_in_progress(request)
    signature.decision = decision
    signature.comment = comment
    signature.signed_by = actor.user
    signature.on_behalf_of = actor.on_behalf_of
    signature.signed_at = timezone.now()
    signature.save(update_fields=["decision", "comment", "signed_by", "on_behalf_of", "signed_at"])
    request_services.event_log(
        request=request,
        kind=kind,
        by=actor.user,
        on_behalf_of=actor.on_behalf_of,
        department=signature.department,
        comment=comment,
    )
    return request, signature, actor


@transaction.atomic
def final_sign(*, signature: FinalSignature, by: User, comment: str = "") -> FinalSignature:
    """Sign the final acceptance for a department (its head or an acting deputy).

    The last signature closes the round as signed and completes the request; the
    initiator is told.
    """
    comment = (comment or "").strip()
    request, signature, actor = _decide(
        signature, by, SignatureDecision.SIGNED, comment, kind=EventKind.FINAL_SIGNED
    )
    final = signature.final
    if final.signatures.filter(decision=SignatureDecision.PENDING).exists():
        return signature
    final.outcome = FinalOutcome.SIGNED
    final.closed_at = signature.signed_at
    final.save(update_fields=["outcome", "closed_at"])
    request = request_services.request_complete_unchecked(
        request=request,
        by=actor.user,
        params={"msg": "all_departments_signed"},
    )
    notifications.notify(
        event="closing_final_signed",
        recipients=[request.initiator],
        context={
            "request": request,
            "final": final,
            "retrospective": Retrospective.objects.filter(request=request).first(),
        },
        url=case_url(request),
        actor=actor.user,
    )
    return signature


@transaction.atomic
def final_refuse(*, signature: FinalSignature, by: User, reason: str) -> FinalSignature:
    """Refuse to sign for a department, with the reason: the round is returned.

    The initiator is told, puts things right and opens a new round.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the department does not sign.")})
    request, signature, actor = _decide(
        signature, by, SignatureDecision.REFUSED, reason, kind=EventKind.FINAL_RETURNED
    )
    final = signature.final
    final.outcome = FinalOutcome.RETURNED
    final.closed_at = signature.signed_at
    final.save(update_fields=["outcome", "closed_at"])
    notifications.notify(
        event="closing_final_returned",
        recipients=[request.initiator],
        context={"request": request, "final": final, "signature": signature},
        url=case_url(request, "closing-final"),
        actor=actor.user,
    )
    return signature


# --- the retrospective -------------------------------------------------------------------


def retrospective_create(*, request: CollabRequest, by: User | None = None) -> Retrospective:
    """Create the retrospective of a request just completed (a completion hook).

    Due RETROSPECTIVE_DUE_DAYS after the completion date, with one contribution row per
    involved department. A request that has one already keeps it.
    """
    existing = Retrospective.objects.filter(request=request).first()
    if existing is not None:
        return existing
    completed_on = timezone.localdate(request.completed_at or timezone.now())
    retrospective = Retrospective.objects.create(
        request=request, due_date=completed_on + dt.timedelta(days=RETROSPECTIVE_DUE_DAYS)
    )
    DepartmentContribution.objects.bulk_create(
        DepartmentContribution(retrospective=retrospective, department=department)
        for department in selectors.involved_departments(request)
    )
    return retrospective


def retrospective_version(retrospective: Retrospective) -> str:
    """The token an edit page carries, to refuse saving over someone else's newer save."""
    return retrospective.updated_at.isoformat() if retrospective.updated_at else ""


def _lock_retrospective(retrospective: Retrospective, seen_version: str | None) -> Retrospective:
    locked = (
        Retrospective.objects.select_for_update(of=("self",))
        .select_related("request")
        .prefetch_related("contributions")
        .get(pk=retrospective.pk)
    )
    if locked.request.is_archived:
        raise CaseArchived()
    if locked.state == RetrospectiveState.FILED:
        raise ClosingConflict(
            _("The retrospective was filed on %(date)s by %(user)s; it can no longer change.")
            % {
                "date": timezone.localtime(locked.filed_at).strftime("%Y-%m-%d %H:%M"),
                "user": locked.filed_by,
            }
        )
    if seen_version and seen_version != retrospective_version(locked):
        raise ClosingConflict(
            _(
                "Someone else saved the retrospective while you were editing it. "
                "Copy what you typed, reload the page and make your changes again."
            )
        )
    return locked


def _save_actual_values(request: CollabRequest, values: Mapping[int, Decimal | None]) -> None:
    goals = {g.pk: g for g in Goal.objects.filter(request=request)}
    unknown = set(values) - set(goals)
    if unknown:
        raise ValidationError({"goals": _("A goal of another request cannot be changed here.")})
    for pk, value in values.items():
        goal = goals[pk]
        if goal.actual_value != value:
            goal.actual_value = value
            goal.save(update_fields=["actual_value"])


def _save_actions(retrospective: Retrospective, rows: Sequence[Mapping]) -> None:
    """Make the improvement actions exactly `rows` ({id?, description, department})."""
    existing = {a.pk: a for a in retrospective.actions.all()}
    kept: set[int] = set()
    for position, row in enumerate(rows):
        description = (row.get("description") or "").strip()
        if not description:
            raise ValidationError({"actions": _("Describe each improvement action.")})
        department = row.get("department")
        pk = row.get("id")
        if pk:
            action = existing.get(pk)
            if action is None:
                raise ValidationError(
                    {"actions": _("An improvement action was removed meanwhile; reload the page.")}
                )
            kept.add(pk)
            if (action.description, action.department_id, action.position) != (
                description,
                department.pk if department else None,
                position,
            ):
                action.description = description
                action.department = department
                action.position = position
                action.save(update_fields=["description", "department", "position"])
        else:
            RetrospectiveAction.objects.create(
                retrospective=retrospective,
                description=description,
                department=department,
                position=position,
            )
    for pk, action in existing.items():
        if pk in kept:
            continue
        if action.suggestions.exists():
            raise ValidationError(
                {
                    "actions": _(
                        "“%(action)s” cannot be removed: an improvement suggestion was "
                        "raised from it."
                    )
                    % {"action": action}
                }
            )
        action.delete()


def _save_contributions(
    retrospective: Retrospective, texts: Mapping[int, str], allowed: set[int]
) -> None:
    rows = {c.department_id: c for c in retrospective.contributions.all()}
    for department_id, text in texts.items():
        if department_id not in rows:
            raise ValidationError(
                {"contributions": _("This department takes no part in the request.")}
            )
        if department_id not in allowed:
            raise PermissionDenied(
                _("You can write the contribution of your own departments only.")
            )
        row = rows[department_id]
        text = (text or "").strip()
        if row.contribution != text:
            row.contribution = text
            row.save(update_fields=["contribution"])


@transaction.atomic
def retrospective_save(
    *,
    retrospective: Retrospective,
    by: User,
    highlights: str | None = None,
    shortcomings: str | None = None,
    actual_values: Mapping[int, Decimal | None] | None = None,
    actions: Sequence[Mapping] | None = None,
    contributions: Mapping[int, str] | None = None,
    seen_version: str | None = None,
) -> Retrospective:
    """Save the draft retrospective; a part left as None is left as it is.

    `actual_values` maps goal ids to their actual value (None clears it), `actions` is
    the whole list of improvement actions ({"id" for an existing one, "description",
    "department"}: a missing existing action is removed) and `contributions` maps
    department ids to their text. The initiator and the PMO write every part; a head or
    acting deputy only their departments' contributions. `seen_version` (from
    retrospective_version) refuses to overwrite a save made since the page was shown.
    """
    retrospective = _lock_retrospective(retrospective, seen_version)
    full = permissions.can_edit_retrospective(by, retrospective)
    allowed = permissions.contribution_departments(by, retrospective)
    touches_all = any(
        part is not None for part in (highlights, shortcomings, actual_values, actions)
    )
    if not allowed or (touches_all and not full):
        raise PermissionDenied(_("Only the initiator or the PMO can write the retrospective."))
    if actual_values is not None:
        _save_actual_values(retrospective.request, actual_values)
    if actions is not None:
        _save_actions(retrospective, actions)
    if contributions is not None:
        _save_contributions(retrospective, contributions, allowed)
    if highlights is not None:
        retrospective.highlights = highlights.strip()
    if shortcomings is not None:
        retrospective.shortcomings = shortcomings.strip()
    # Saved even when only its rows changed: updated_at is the edit pages' version.
    retrospective.save(update_fields=["highlights", "shortcomings", "updated_at"])
    return retrospective


@transaction.atomic
def retrospective_file(
    *, retrospective: Retrospective, by: User, seen_version: str | None = None
) -> Retrospective:
    """File the retrospective (initiator or PMO) once every goal has its actual value.

    Filed, it no longer changes; the PMO is told, as the case can now be archived.
    """
    retrospective = _lock_retrospective(retrospective, seen_version)
    if not permissions.can_file_retrospective(by, retrospective):
        raise PermissionDenied(_("Only the initiator or the PMO can file the retrospective."))
    request = retrospective.request
    missing = list(Goal.objects.filter(request=request, actual_value__isnull=True))
    if missing:
        raise ValidationError(
            {
                "goals": _("Enter the actual value of every goal first. Missing: %(goals)s.")
                % {"goals": join_list(g.description for g in missing)}
            }
        )
    retrospective.state = RetrospectiveState.FILED
    retrospective.filed_by = by
    retrospective.filed_at = timezone.now()
    retrospective.save(update_fields=["state", "filed_by", "filed_at", "updated_at"])
    request_services.event_log(
        request=request, kind=EventKind.RETROSPECTIVE, by=by, transition="file"
    )
    notifications.notify(
        event="closing_retrospective_filed",
        recipients=[*org.pmo_users(), request.initiator],
        context={"request": request, "retrospective": retrospective, "by": by},
        url=reverse("review_app:retrospective", args=[request.pk]),
        actor=by,
    )
    return retrospective


# --- registration ------------------------------------------------------------------------


def _permissions_for_admin() -> None:
    """Open the closing's admin pages (read-only lists; heads sign there) to the roles."""
    from collab.registry import grant
    from collab.services import HEAD_GROUP

    viewing = {
        "review_app.view_finalacceptance",
        "review_app.view_finalsignature",
        "review_app.view_retrospective",
    }
    grant("review_app", [HEAD_GROUP, Role.PMO, Role.ADMIN, Role.EXECUTIVE], viewing)


def register() -> None:
    """Register this area's guards, hooks, warning rules and demo data (AppConfig.ready)."""
    request_guards.register("final_acceptance_passed", final_acceptance_passed)
    request_guards.register("without_retrospective", without_retrospective)
    request_hooks.register_after_complete(retrospective_create)
    _permissions_for_admin()
