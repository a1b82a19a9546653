"""Writes on requests. Each service checks permission, locks the request row, runs the
transition, saves, writes the history row in the same transaction and leaves the
e-mails to run on commit (collab.notifications).

Concurrency: a service locks the request (SELECT ... FOR UPDATE) and compares its state
with the state the person saw (`expected_state`, by default the state of the instance
the caller holds). Two people acting at once are serialised by the lock; the second
finds the state moved on and gets RequestConflict with a clear message, never a second
transition. ConcurrentTransitionMixin guards any save that bypasses the lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from collab import calendar, notifications, uploads
from collab import selectors as org
from collab.errors import Conflict, Refused
from collab.models import User
from collab.numbering import next_number
from collab.transitions import Machine

from . import hooks, permissions
from .choices import EventKind, RequestState, ReviewDecision
from .models import (
    Attachment,
    AttachmentVersion,
    CaseArchived,
    CollabRequest,
    DepartmentReview,
    Goal,
    Milestone,
    RequestDepartment,
    RequestEvent,
    ResourceNeed,
)

REVIEW_WORKING_DAYS = 3  # default; administrators change it on the review_overdue rule


def review_working_days() -> int:
    """Return the working days a head has to answer (the review rule's threshold)."""
    from collab.models import WarningRule

    days = WarningRule.objects.filter(code="review_overdue").values_list("days", flat=True).first()
    return REVIEW_WORKING_DAYS if days is None else days


NUMBER_PREFIX = "XQ"


class RequestConflict(Conflict):
    """Someone else changed the request first; the message says what to do."""


class TransitionRefused(Refused):
    """The transition is not allowed in the current state or its guard is closed."""


# --- history -------------------------------------------------------------------------


def event_log(*, request: CollabRequest, kind: str, by: User | None, **fields) -> RequestEvent:
    """Write one line of the request's timeline (collab.models.StateLog.write: transition,
    on_behalf_of, from_state, to_state, comment, department, params)."""
    return RequestEvent.write(request=request, kind=kind, by=by, **fields)


# --- helpers -------------------------------------------------------------------------


def refuse_archived(request: CollabRequest) -> None:
    """Refuse any write to an archived case (歸檔), before anything else is checked.

    Call it on a row read under the service's lock, so that an archiving that commits
    meanwhile is seen. The models and the database refuse such writes too; this says so
    first, in words.
    """
    if request.is_archived:
        raise CaseArchived(
            _("“%(request)s” is archived: the whole case is read-only.") % {"request": request}
        )


MACHINE = Machine(
    model=CollabRequest,
    conflict=RequestConflict,
    refused=TransitionRefused,
    refusal=lambda request, name: transition_refusal(request, name),
    check=refuse_archived,
)


def _lock(request: CollabRequest, expected_state: str | None) -> CollabRequest:
    """Return the request re-read under a row lock; refuse if its state moved on."""
    return MACHINE.lock(request, expected_state)


# Who may run each transition (requests_app.permissions), and what anyone else is told.
WHO_MAY = {
    "submit": ("can_submit", gettext_lazy("Only the initiator can submit this request.")),
    "confirm": ("can_confirm", gettext_lazy("Only the PMO can confirm a request as a project.")),
    "start": ("can_start", gettext_lazy("You cannot start this project.")),
    "complete": ("can_complete", gettext_lazy("You cannot complete this project.")),
    "cancel": (
        "can_cancel",
        gettext_lazy("Only the initiator or the PMO can cancel this request."),
    ),
}


def _lock_for(
    request: CollabRequest, name: str, expected_state: str | None, *, by: User | None = None
) -> CollabRequest:
    """Return the request locked for transition `name` (Machine.lock_for: its state
    compared with the one the person saw, then whether it allows `name`) and then, given
    `by`, whether they may run it (WHO_MAY): the state is checked first, so that the
    initiator of a closed request is not told that only the initiator may act. Without
    `by` the caller has decided who acts (the *_unchecked services)."""
    request = MACHINE.lock_for(request, name, expected_state)
    if by is not None:
        rule, refusal = WHO_MAY[name]
        if not getattr(permissions, rule)(by, request):
            raise PermissionDenied(str(refusal))
    return request


def _transition(
    request: CollabRequest, name: str, *, extra_fields: Sequence[str] = (), **event
) -> RequestEvent:
    """Run transition `name` on a locked request, save it and log it (`event`: the
    timeline line's kind, by, and on_behalf_of, comment, params as given)."""
    return MACHINE.run(
        request, name, fields=extra_fields, log=partial(event_log, request=request), **event
    )


def transition_refusal(request: CollabRequest, name: str) -> str:
    """Return the translated reason why transition `name` cannot run now."""
    state = request.get_state_display()
    if name == "confirm" and request.state == RequestState.PENDING:
        return _("Every collaborating department must agree before the PMO can confirm.")
    if name == "start" and request.state == RequestState.APPROVED:
        return _("Work can start only when every involved head has signed the task breakdown.")
    if name == "complete" and request.state == RequestState.IN_PROGRESS:
        return _("The request can be completed only after its final acceptance has passed.")
    return _("This action is not possible while the request is “%(state)s”.") % {"state": state}


# --- create and edit -----------------------------------------------------------------


@transaction.atomic
def request_save(
    *,
    by: User,
    data: dict,
    departments: Sequence[dict],
    goals: Sequence[dict] = (),
    milestones: Sequence[dict] = (),
    resource_needs: Sequence[dict] = (),
    request: CollabRequest | None = None,
    files: Sequence[UploadedFile] = (),
) -> CollabRequest:
    """Create a draft request, or replace the editable content of an existing one.

    `data` holds the request's own fields; the lists hold the rows of the collaborating
    departments ({department, is_lead}), goals, milestones and resource needs. `files`
    become new attachments (version 1 each) in the same transaction, so the first save
    of a new request can carry them; every file is checked before anything is written,
    and one refused file saves nothing.
    """
    creating = request is None
    if creating:
        if not permissions.can_create(by):
            raise PermissionDenied(_("Only members of a department can file a request."))
        request = CollabRequest(initiator=by, initiating_department=by.department)
    else:
        request = _lock(request, None)
        if not permissions.can_edit(by, request):
            raise PermissionDenied(_("You cannot edit this request now."))
    _check_departments(departments)
    for file in files:
        try:
            uploads.upload_validate(file)
        except ValidationError as exc:
            raise ValidationError({"files": exc.messages}) from exc
    editable = [
        "name",
        "contact",
        "background",
        "expected_deliverables",
        "data_needs",
        "expected_completion",
        "priority",
        "notes",
        "is_confidential",
    ]
    for field in editable:
        if field in data:
            setattr(request, field, data[field])
    if not request.contact:
        request.contact = by.contact or by.email
    request.full_clean(exclude=["state", "initiator", "initiating_department"])
    request.save()
    _replace_rows(request, departments, goals, milestones, resource_needs)
    event_log(
        request=request,
        kind=EventKind.CREATED if creating else EventKind.EDITED,
        by=by,
        to_state=request.state if creating else "",
    )
    for file in files:
        attachment_add(request=request, by=by, file=file)
    return request


def _check_departments(departments: Sequence[dict]) -> None:
    chosen = [row["department"].pk for row in departments]
    if len(chosen) != len(set(chosen)):
        raise ValidationError(_("Each collaborating department can be listed only once."))
    if sum(1 for row in departments if row.get("is_lead")) > 1:
        raise ValidationError(_("Only one department can lead."))


def _replace_rows(request, departments, goals, milestones, resource_needs) -> None:
    request.department_links.all().delete()
    RequestDepartment.objects.bulk_create(
        RequestDepartment(
            request=request, department=row["department"], is_lead=bool(row.get("is_lead"))
        )
        for row in departments
    )
    request.goals.all().delete()
    Goal.objects.bulk_create(
        Goal(
            request=request,
            description=row["description"],
            metric=row["metric"],
            target_value=row["target_value"],
            unit=row.get("unit", ""),
            position=index,
        )
        for index, row in enumerate(goals)
    )
    request.milestones.all().delete()
    Milestone.objects.bulk_create(
        Milestone(request=request, name=row["name"], date=row["date"]) for row in milestones
    )
    request.resource_needs.all().delete()
    ResourceNeed.objects.bulk_create(
        ResourceNeed(
            request=request,
            department=row["department"],
            kind=row["kind"],
            description=row["description"],
        )
        for row in resource_needs
    )


def _check_complete(request: CollabRequest) -> None:
    """Refuse to submit a request the heads could not judge."""
    errors = []
    if not request.department_links.exists():
        errors.append(_("Choose at least one collaborating department."))
    if not request.goals.exists():
        errors.append(_("Add at least one measurable goal."))
    if not request.background.strip():
        errors.append(_("Explain the background of the request."))
    if request.expected_completion < timezone.localdate():
        errors.append(_("The expected completion date is in the past."))
    if errors:
        raise ValidationError(errors)


# --- the review cycle ----------------------------------------------------------------


@transaction.atomic
def request_submit(
    *, request: CollabRequest, by: User, expected_state: str | None = None
) -> CollabRequest:
    """Submit (or resubmit) a request: number it, open one review per department."""
    request = _lock_for(request, "submit", expected_state, by=by)
    _check_complete(request)
    resubmission = request.state == RequestState.REVISION
    fields = ["review_round", "submitted_at"]
    if request.number is None:
        request.number = next_number(NUMBER_PREFIX)
        fields.append("number")
    request.review_round += 1
    request.submitted_at = timezone.now()
    # Reviews of an earlier round that were still open no longer count.
    request.reviews.filter(decision=ReviewDecision.PENDING).update(
        decision=ReviewDecision.SUPERSEDED
    )
    _transition(
        request,
        "submit",
        kind=EventKind.RESUBMITTED if resubmission else EventKind.SUBMITTED,
        by=by,
        extra_fields=fields,
    )
    due = calendar.add_working_days(timezone.localdate(), review_working_days())
    departments = list(request.departments.all())
    DepartmentReview.objects.bulk_create(
        DepartmentReview(
            request=request, department=department, round=request.review_round, due_date=due
        )
        for department in departments
    )
    notifications.notify(
        event="request_submitted",
        recipients=org.heads_and_deputies(departments),
        context={"request": request, "due": due, "resubmission": resubmission},
        url=request.get_absolute_url(),
    )
    return request


@transaction.atomic
def review_decide(
    *,
    review: DepartmentReview,
    by: User,
    approve: bool,
    comment: str = "",
    committed_tasks: str = "",
) -> DepartmentReview:
    """Record a head's (or deputy's) 同意 or 駁回 for their department.

    One 駁回 sends the request back to 待修改 and closes the round. When the last
    department agrees, the initiator and the PMO are told it awaits 確認立項.
    """
    request = _lock(review.request, RequestState.PENDING)
    review = DepartmentReview.objects.select_for_update().get(pk=review.pk)
    review.request = request
    if review.decision != ReviewDecision.PENDING or review.round != request.review_round:
        raise RequestConflict(_("This review has already been answered."))
    actor = permissions.review_actor(by, review)
    if actor is None:
        raise PermissionDenied(_("Only the department's head or their deputy can answer."))
    comment = comment.strip()
    if not approve and not comment:
        raise ValidationError({"comment": _("Give a reason for the rejection.")})
    review.decision = ReviewDecision.APPROVED if approve else ReviewDecision.REJECTED
    review.comment = comment
    review.committed_tasks = committed_tasks.strip() if approve else ""
    review.decided_by = actor.user
    review.on_behalf_of = actor.on_behalf_of
    review.decided_at = timezone.now()
    review.save()
    if approve:
        event_log(
            request=request,
            kind=EventKind.REVIEW_APPROVED,
            by=actor.user,
            on_behalf_of=actor.on_behalf_of,
            comment=comment,
            department=review.department,
        )
        if not request.reviews.filter(
            round=request.review_round, decision=ReviewDecision.PENDING
        ).exists():
            event_log(
                request=request,
                kind=EventKind.ALL_AGREED,
                by=actor.user,
                on_behalf_of=actor.on_behalf_of,
            )
            notifications.notify(
                event="request_all_agreed",
                recipients=[request.initiator, *org.pmo_users()],
                context={"request": request},
                url=request.get_absolute_url(),
            )
        return review
    request.reviews.filter(round=request.review_round, decision=ReviewDecision.PENDING).update(
        decision=ReviewDecision.SUPERSEDED
    )
    event = _transition(
        request,
        "send_back",
        kind=EventKind.REVIEW_REJECTED,
        by=actor.user,
        on_behalf_of=actor.on_behalf_of,
        comment=comment,
    )
    event.department = review.department
    event.save(update_fields=["department"])
    notifications.notify(
        event="request_rejected",
        recipients=[request.initiator],
        context={"request": request, "review": review},
        url=request.get_absolute_url(),
    )
    return review


@transaction.atomic
def request_confirm(
    *, request: CollabRequest, by: User, comment: str = "", expected_state: str | None = None
) -> CollabRequest:
    """The PMO confirms the request as a project (確認立項)."""
    request = _lock_for(request, "confirm", expected_state, by=by)
    request.approved_at = timezone.now()
    _transition(
        request,
        "confirm",
        kind=EventKind.CONFIRMED,
        by=by,
        comment=comment,
        extra_fields=["approved_at"],
    )
    hooks.run_after_confirm(request=request, by=by)
    notifications.notify(
        event="request_confirmed",
        recipients=[request.initiator, *org.heads_and_deputies(request.departments.all())],
        context={"request": request},
        url=request.get_absolute_url(),
    )
    return request


@transaction.atomic
def request_start(
    *, request: CollabRequest, by: User, comment: str = "", expected_state: str | None = None
) -> CollabRequest:
    """The initiator or the PMO start the work once every involved head signed the
    task breakdown (the admin's button; the last signature usually starts it first)."""
    request = _lock_for(request, "start", expected_state, by=by)
    return request_start_unchecked(request=request, by=by, comment=comment)


@transaction.atomic
def request_start_unchecked(
    *,
    request: CollabRequest,
    by: User,
    comment: str = "",
    expected_state: str | None = None,
    params: dict | None = None,
) -> CollabRequest:
    """Start the work without asking whether `by` may: the caller has decided that.

    Called by request_start after its check, and by the service that collected the
    last signature (tasks_app.services.breakdown_sign): the signing head starts the
    work by signing, without being the initiator or the PMO. The row is still locked,
    the state compared and the transition's guard run.
    """
    request = _lock_for(request, "start", expected_state)
    _transition(request, "start", kind=EventKind.STARTED, by=by, comment=comment, params=params)
    return request


@transaction.atomic
def request_complete(
    *, request: CollabRequest, by: User, comment: str = "", expected_state: str | None = None
) -> CollabRequest:
    """The initiator or the PMO close the request once its final acceptance has passed
    (the admin's button; the last signature usually completes it first)."""
    request = _lock_for(request, "complete", expected_state, by=by)
    return request_complete_unchecked(request=request, by=by, comment=comment)


@transaction.atomic
def request_complete_unchecked(
    *,
    request: CollabRequest,
    by: User,
    comment: str = "",
    expected_state: str | None = None,
    params: dict | None = None,
) -> CollabRequest:
    """Close the request without asking whether `by` may: the caller has decided that.

    Called by request_complete after its check, and by the final acceptance
    (review_app.services.closing.final_sign): the last department's signature completes
    the request, whoever signed it. The row is still locked, the state compared and
    the transition's guard (the final acceptance passed) run.
    """
    request = _lock_for(request, "complete", expected_state)
    request.completed_at = timezone.now()
    _transition(
        request,
        "complete",
        kind=EventKind.COMPLETED,
        by=by,
        comment=comment,
        extra_fields=["completed_at"],
        params=params,
    )
    hooks.run_after_complete(request=request, by=by)
    return request


@transaction.atomic
def request_cancel(
    *, request: CollabRequest, by: User, reason: str, expected_state: str | None = None
) -> CollabRequest:
    """Cancel an open request; the initiator or the PMO must give a reason."""
    request = _lock_for(request, "cancel", expected_state, by=by)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for the cancellation.")})
    request.cancel_reason = reason
    request.reviews.filter(decision=ReviewDecision.PENDING).update(
        decision=ReviewDecision.SUPERSEDED
    )
    was_submitted = request.state != RequestState.DRAFT
    _transition(
        request,
        "cancel",
        kind=EventKind.CANCELLED,
        by=by,
        comment=reason,
        extra_fields=["cancel_reason"],
    )
    if was_submitted:
        notifications.notify(
            event="request_cancelled",
            recipients=[request.initiator, *org.heads_and_deputies(request.departments.all())],
            context={"request": request, "reason": reason},
            url=request.get_absolute_url(),
            actor=by,
        )
    return request


TRANSITION_SERVICES = {
    "confirm": request_confirm,
    "start": request_start,
    "complete": request_complete,
}


# --- attachments ---------------------------------------------------------------------


@transaction.atomic
def attachment_add(
    *,
    request: CollabRequest,
    by: User,
    file: UploadedFile,
    note: str = "",
    attachment: Attachment | None = None,
) -> AttachmentVersion:
    """Store an uploaded file as a new version and log it on the request's timeline.

    Without `attachment` the file starts a new attachment (version 1, named after the
    sanitised file name); with one it becomes that attachment's next version, and a
    note saying what changed is required. The file is checked first (size, extension,
    content; collab.uploads) and stored under a generated name.

    Concurrency: the request row is locked so an upload cannot land in a request that is
    being cancelled at the same moment, and the attachment row is locked so two uploads
    of a new version get consecutive numbers (the unique constraint backs this up).
    """
    checked = uploads.upload_validate(file)
    note = note.strip()
    note_limit = AttachmentVersion._meta.get_field("note").max_length
    if len(note) > note_limit:
        raise ValidationError(
            {"note": _("Keep the note under %(limit)d characters.") % {"limit": note_limit}}
        )
    request = CollabRequest.objects.select_for_update().get(pk=request.pk)
    refuse_archived(request)
    if not permissions.can_attach(by, request):
        if request.is_open:  # sight through a RACI role only: no writes on the request
            raise PermissionDenied(_("You cannot add files to this request."))
        raise PermissionDenied(_("Files can no longer be added to this request."))
    if attachment is None:
        attachment = Attachment.objects.create(request=request, name=checked.name, created_by=by)
        number = 1
    else:
        try:
            attachment = Attachment.objects.select_for_update().get(
                pk=attachment.pk, request=request
            )
        except Attachment.DoesNotExist as exc:
            raise ValidationError(
                {"attachment": _("That attachment does not belong to this request.")}
            ) from exc
        if not note:
            raise ValidationError({"note": _("Say what changed in this version.")})
        number = (attachment.versions.aggregate(last=Max("version"))["last"] or 0) + 1
    version = AttachmentVersion(
        attachment=attachment,
        version=number,
        original_name=checked.name,
        size=checked.size,
        content_type=checked.content_type,
        note=note,
        uploaded_by=by,
    )
    # Only the extension of this name survives: upload_to generates the stored name.
    version.file.save(f"upload.{checked.extension}", file, save=False)
    try:
        version.save()
        event_log(
            request=request,
            kind=EventKind.ATTACHMENT,
            by=by,
            comment=note,
            params={"attachment_id": attachment.pk, "file": checked.name, "version": number},
        )
    except Exception:
        version.file.delete(save=False)  # keep no orphan file when the row is not written
        raise
    return version
