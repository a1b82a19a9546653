"""Feedback 協作反饋表 and process-improvement suggestions 流程優化建議.

- At completion (requests_app.hooks.register_after_complete) every participant of the
  case gets a FeedbackInvitation and a notification with an e-mail on commit.
- An invited participant gives feedback (FK + yyyymm + 3 digits, numbered when given);
  the first one answers the invitation. The PMO records its handling.
- A suggestion (YJ + yyyymm + 3 digits) is raised from scratch, from a retrospective's
  improvement action or from a piece of feedback, and evaluated by the PMO through the
  model's django-fsm transitions; every move is a SuggestionEvent.

Concurrency: a write locks its row (SELECT ... FOR UPDATE) and compares what the person
saw with what is there now; the second of two people acting at once gets a translated
conflict, never a second transition or a silent overwrite.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from collab import notifications
from collab import selectors as org
from collab.errors import Conflict, Refused
from collab.models import Department, User
from collab.numbering import next_number
from collab.transitions import Machine
from requests_app import hooks as request_hooks
from requests_app.models import CaseArchived, CollabRequest

from ..choices import FeedbackKind, SuggestionState
from ..models import (
    Feedback,
    FeedbackInvitation,
    RetrospectiveAction,
    Suggestion,
    SuggestionEvent,
)
from ..permissions import feedback as permissions
from ..selectors import feedback as selectors

FEEDBACK_PREFIX = "FK"
SUGGESTION_PREFIX = "YJ"
# The transitions whose evaluation note is required: it says why (not) adopted.
NOTE_REQUIRED = ("adopt", "reject")
# Text fields of a suggestion the proposer writes; the first three are required.
SUGGESTION_TEXT_FIELDS = ("pain_point", "proposal", "expected_effect", "notes")
SUGGESTION_REQUIRED = ("pain_point", "proposal", "expected_effect")


class FeedbackConflict(Conflict):
    """Someone else recorded the handling first; the message says what to do."""


class SuggestionConflict(Conflict):
    """Someone else moved or changed the suggestion first."""


class SuggestionRefused(Refused):
    """The action is not possible in the suggestion's current state."""


# --- invitations ------------------------------------------------------------------------


def feedback_invite(*, request: CollabRequest, by: User | None = None) -> list[FeedbackInvitation]:
    """Ask every participant of the completed case for feedback (completion hook).

    Runs inside the 已完成 transaction: the invitations and notifications are written
    with the completion, the e-mails leave on commit. Someone already asked is not
    asked twice. The person who completed the case is a participant like the others
    and is asked too.
    """
    asked = set(
        FeedbackInvitation.objects.filter(request_id=request.pk).values_list("user_id", flat=True)
    )
    people = [user for user in selectors.feedback_participants(request) if user.pk not in asked]
    invitations = FeedbackInvitation.objects.bulk_create(
        FeedbackInvitation(request=request, user=user) for user in people
    )
    notifications.notify(
        event="feedback_invited",
        recipients=people,
        context={"request": request},
        url=reverse("review_app:feedback-give", args=[request.pk]),
    )
    return invitations


# --- feedback ---------------------------------------------------------------------------


def _refuse_if_archived(request: CollabRequest, message: str) -> None:
    if request.is_archived:
        raise CaseArchived(message)


@transaction.atomic
def feedback_give(
    *,
    request: CollabRequest,
    by: User,
    kind: str,
    content: str,
    departments: Iterable[Department] = (),
    suggested_handling: str = "",
) -> Feedback:
    """Record a participant's 協作反饋表 and number it; the first one answers the invitation.

    `departments` are the departments concerned, among the case's involved ones.
    """
    # Locked, so that an archiving committing meanwhile is seen (and waits for this).
    request = CollabRequest.objects.select_for_update().get(pk=request.pk)
    _refuse_if_archived(request, _("This case is archived: feedback can no longer be given."))
    invitation = (
        FeedbackInvitation.objects.select_for_update()
        .filter(request_id=request.pk, user_id=by.pk)
        .first()
    )
    if invitation is None or not permissions.can_give_feedback(by, request):
        raise PermissionDenied(
            _("Only the participants asked for feedback on this case can give it.")
        )
    content = (content or "").strip()
    department_ids = {d.pk for d in departments}
    errors: dict[str, str] = {}
    if kind not in FeedbackKind.values:
        errors["kind"] = _("Choose praise, problem or suggestion.")
    if not content:
        errors["content"] = _("Write what you want to say.")
    if department_ids - selectors.involved_department_ids(request):
        errors["departments"] = _("Choose among the departments involved in this case.")
    if errors:
        raise ValidationError(errors)
    feedback = Feedback(
        number=next_number(FEEDBACK_PREFIX),
        request=request,
        author=by,
        kind=kind,
        content=content,
        suggested_handling=(suggested_handling or "").strip(),
    )
    feedback.save()
    feedback.departments.set(department_ids)
    if invitation.answered_at is None:
        invitation.request = request
        invitation.answered_at = feedback.created_at
        invitation.save(update_fields=["answered_at"])
    return feedback


def _stamp(value: dt.datetime | None) -> str:
    """Return the handling time as the page shows it back in a hidden field."""
    return value.isoformat() if value else ""


@transaction.atomic
def feedback_handle(
    *, feedback: Feedback, by: User, result: str, seen_handled_at: str | None = None
) -> Feedback:
    """Record (or correct) the PMO's handling of a piece of feedback and tell its author.

    `seen_handled_at` is the handling time the page showed ("" for none): if someone
    else recorded a handling since, the second person is refused instead of silently
    replacing it. Corrections are possible until the case is archived; the row keeps
    who recorded the handling last and when.
    """
    request = CollabRequest.objects.select_for_update().get(pk=feedback.request_id)
    locked = Feedback.objects.select_for_update().get(pk=feedback.pk)
    locked.request = request
    _refuse_if_archived(
        locked.request, _("This case is archived: the handling can no longer be changed.")
    )
    if not permissions.can_handle_feedback(by, locked):
        raise PermissionDenied(_("Only the PMO can record how feedback was handled."))
    if seen_handled_at is not None and seen_handled_at != _stamp(locked.handled_at):
        raise FeedbackConflict(
            _(
                "%(person)s recorded the handling of this feedback meanwhile. "
                "Reload the page to see it before changing it."
            )
            % {"person": locked.handled_by}
        )
    result = (result or "").strip()
    if not result:
        raise ValidationError({"handling_result": _("Write how the feedback was handled.")})
    first = locked.handled_at is None
    locked.handling_result = result
    locked.handled_by = by
    locked.handled_at = timezone.now()
    locked.save(update_fields=["handling_result", "handled_by", "handled_at"])
    notifications.notify(
        event="feedback_handled",
        recipients=[locked.author],
        context={"feedback": locked, "request": locked.request, "first": first},
        url=locked.get_absolute_url(),
        actor=by,
    )
    return locked


# --- suggestions ------------------------------------------------------------------------


def suggestion_event_log(
    *,
    suggestion: Suggestion,
    transition: str,
    by: User,
    from_state: str,
    to_state: str | None = None,
    comment: str = "",
) -> SuggestionEvent:
    """Write one line of the suggestion's history (collab.models.StateLog.write)."""
    return SuggestionEvent.write(
        suggestion=suggestion,
        transition=transition,
        from_state=from_state,
        to_state=suggestion.state if to_state is None else to_state,
        by=by,
        comment=comment,
    )


def _clean_suggestion(*, by: User, data: dict) -> dict:
    """Return the suggestion's fields from `data`, or raise a field-keyed ValidationError."""
    errors: dict[str, str] = {}
    cleaned = {name: (data.get(name) or "").strip() for name in SUGGESTION_TEXT_FIELDS}
    cleaned["contact"] = (data.get("contact") or "").strip()[:100]
    for name in SUGGESTION_REQUIRED:
        if not cleaned[name]:
            errors[name] = _("This field is required.")
    department = data.get("department")
    if (
        department is None
        or not permissions.proposing_departments(by)
        .filter(pk=getattr(department, "pk", department))
        .exists()
    ):
        errors["department"] = _("Choose your own department or one you lead.")
    if errors:
        raise ValidationError(errors)
    cleaned["department"] = department
    return cleaned


@transaction.atomic
def suggestion_create(
    *,
    by: User,
    data: dict,
    source_action: RetrospectiveAction | None = None,
    source_feedback: Feedback | None = None,
) -> Suggestion:
    """Raise a 流程優化建議, from scratch or from an improvement action or a feedback.

    A suggestion raised from a source is linked to it and to its case. The PMO is told.
    """
    if not permissions.can_create_suggestion(by):
        raise PermissionDenied(_("Only staff who belong to a department can raise a suggestion."))
    if source_action is not None and source_feedback is not None:
        raise ValidationError(_("A suggestion comes from one source at most."))
    request = None
    if source_action is not None:
        if not permissions.can_raise_from_action(by, source_action):
            raise PermissionDenied(_("You cannot see this improvement action."))
        request = source_action.retrospective.request
    if source_feedback is not None:
        if not permissions.can_raise_from_feedback(by, source_feedback):
            raise PermissionDenied(_("You cannot see this feedback."))
        request = source_feedback.request
    cleaned = _clean_suggestion(by=by, data=data)
    suggestion = Suggestion(
        number=next_number(SUGGESTION_PREFIX),
        proposer=by,
        request=request,
        source_action=source_action,
        source_feedback=source_feedback,
        **cleaned,
    )
    suggestion.save()
    suggestion_event_log(suggestion=suggestion, transition="create", by=by, from_state="")
    notifications.notify(
        event="feedback_suggestion_submitted",
        recipients=org.pmo_users(),
        context={"suggestion": suggestion},
        url=suggestion.get_absolute_url(),
        actor=by,
    )
    return suggestion


def _lock_suggestion(suggestion: Suggestion, expected_state: str | None) -> Suggestion:
    """Return the suggestion re-read under a row lock; refuse if its state moved on."""
    return MACHINE.lock(suggestion, expected_state)


@transaction.atomic
def suggestion_update(
    *, suggestion: Suggestion, by: User, data: dict, expected_state: str | None = None
) -> Suggestion:
    """The proposer edits their suggestion while it is 已提交; the edit is logged."""
    locked = _lock_suggestion(suggestion, expected_state)
    if locked.state != SuggestionState.SUBMITTED:
        raise SuggestionRefused(
            _("The suggestion is under evaluation or decided: it can no longer be edited.")
        )
    if not permissions.can_edit_suggestion(by, locked):
        raise PermissionDenied(_("Only the proposer can edit this suggestion."))
    cleaned = _clean_suggestion(by=by, data=data)
    for name, value in cleaned.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*cleaned, "updated_at"])
    suggestion_event_log(suggestion=locked, transition="edit", by=by, from_state=locked.state)
    return locked


def transition_refusal(suggestion: Suggestion, name: str) -> str:
    return _("This action is not possible while the suggestion is “%(state)s”.") % {
        "state": suggestion.get_state_display()
    }


MACHINE = Machine(
    model=Suggestion,
    conflict=SuggestionConflict,
    refused=SuggestionRefused,
    refusal=transition_refusal,
    related=("proposer",),
    lock_of=("self",),
)


@transaction.atomic
def suggestion_transition(
    *,
    suggestion: Suggestion,
    name: str,
    by: User,
    comment: str = "",
    expected_state: str | None = None,
) -> Suggestion:
    """Move a suggestion on (evaluate, adopt, reject, implement), for the PMO.

    Locks the row, compares the state the person saw, runs the transition, saves it,
    writes the SuggestionEvent and tells the proposer. Adopting or rejecting needs the
    evaluation note, which is kept on the suggestion as its evaluation.
    """
    if name not in permissions.SUGGESTION_TRANSITIONS:
        raise SuggestionRefused(_("This action is not possible."))
    if not permissions.can_transition_suggestion(by, suggestion, name):
        raise PermissionDenied(_("Only the PMO can evaluate improvement suggestions."))
    locked = _lock_suggestion(suggestion, expected_state)
    if not can_proceed(getattr(locked, name)):
        raise SuggestionRefused(transition_refusal(locked, name))
    comment = (comment or "").strip()
    if name in NOTE_REQUIRED and not comment:
        raise ValidationError(
            {"comment": _("Write the evaluation: why the suggestion is adopted or not.")}
        )
    fields = []
    if name in NOTE_REQUIRED:
        locked.evaluation = comment
        fields.append("evaluation")
    event = MACHINE.run(
        locked,
        name,
        fields=fields,
        log=partial(suggestion_event_log, suggestion=locked),
        by=by,
        comment=comment,
    )
    from_state = event.from_state
    notifications.notify(
        event="feedback_suggestion_changed",
        recipients=[locked.proposer],
        context={
            "suggestion": locked,
            "from_label": SuggestionState(from_state).label,
            "to_label": locked.get_state_display(),
            "comment": comment,
        },
        url=locked.get_absolute_url(),
        actor=by,
    )
    return locked


def register() -> None:
    """Register this area's guards, hooks, warning rules and demo data (AppConfig.ready)."""
    from collab.choices import Role
    from collab.registry import grant
    from collab.services import HEAD_GROUP

    request_hooks.register_after_complete(feedback_invite)
    grant(
        "review_app",
        [Role.PMO, Role.ADMIN],
        [
            "review_app.view_feedback",
            "review_app.change_feedback",
            "review_app.view_feedbackinvitation",
            "review_app.view_suggestion",
            "review_app.change_suggestion",
            "review_app.evaluate_suggestion",
        ],
    )
    grant(
        "review_app",
        [Role.EXECUTIVE],
        [
            "review_app.view_feedback",
            "review_app.view_feedbackinvitation",
            "review_app.view_suggestion",
        ],
    )
    grant("review_app", [HEAD_GROUP], ["review_app.view_feedback", "review_app.view_suggestion"])
