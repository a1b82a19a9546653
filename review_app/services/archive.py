"""Archive 歸檔 and the knowledge base 知識庫.

Once a case is 已完成 and its retrospective filed, the PMO archives it: one transaction
locks the request, writes the 已歸檔 line of its timeline, files the case in the
knowledge base under "name-date" (seed 002: 「項目/任務名稱-日期」) with the text search
runs over, and sets the archived flag. From then on the whole case is read-only for
everyone: the services refuse first (requests_app.services.refuse_archived), the models
refuse save() and delete() (requests_app.models.CaseRecord) and PostgreSQL triggers
refuse queryset writes (review_app migration 0002). The knowledge base's reads are in
review_app.selectors.archive.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from collab import notifications
from collab.models import User
from meetings_app import selectors as meeting_selectors
from requests_app.choices import EventKind, RequestState
from requests_app.models import CollabRequest
from requests_app.services import RequestConflict, event_log

from ..models import ArchiveEntry, Feedback, Retrospective
from ..permissions import archive as permissions

TITLE_SEPARATOR = "-"


# --- what goes into the knowledge base -----------------------------------------------


def archive_title(request: CollabRequest) -> str:
    """Return the case's name in the archive: "name-YYYYMMDD" (completion date)."""
    completed = request.completed_at or timezone.now()
    day = timezone.localdate(completed)
    return f"{request.name}{TITLE_SEPARATOR}{day:%Y%m%d}"


def _number(value) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)


def archive_search_text(request: CollabRequest) -> str:
    """Return the text the knowledge base searches for this case.

    The name and number, background, expected deliverables, each goal (description,
    metric, target and actual), the retrospective (highlights, shortcomings,
    improvement actions, departments' contributions), the task names and the meetings
    (topics, the conclusions of their filed minutes, problems and action items).
    """
    parts = [
        request.number or "",
        request.name,
        request.background,
        request.expected_deliverables,
    ]
    for goal in request.goals.all():
        parts.append(
            f"{goal.description} {goal.metric} "
            f"{_number(goal.target_value)}{goal.unit} {_number(goal.actual_value)}{goal.unit}"
        )
    retrospective = (
        Retrospective.objects.filter(request=request)
        .prefetch_related("actions", "contributions__department")
        .first()
    )
    if retrospective is not None:
        parts += [retrospective.highlights, retrospective.shortcomings]
        parts += [action.description for action in retrospective.actions.all()]
        parts += [
            f"{row.department.name} {row.contribution}"
            for row in retrospective.contributions.all()
            if row.contribution.strip()
        ]
    parts += list(request.tasks.order_by("sequence").values_list("name", flat=True))
    parts += meeting_selectors.case_search_texts(request)
    return "\n".join(part.strip() for part in parts if part and part.strip())


# --- archiving ------------------------------------------------------------------------


def archive_refusals(request: CollabRequest) -> list[ValidationError]:
    """Return why the case cannot be archived now (translated, with codes), or []."""
    if request.state != RequestState.COMPLETED:
        return [
            ValidationError(
                _("Only a completed case can be archived; this one is “%(state)s”.")
                % {"state": request.get_state_display()},
                code="not_completed",
            )
        ]
    if not permissions.retrospective_filed(request):
        return [
            ValidationError(
                _("The retrospective must be filed before the case is archived."),
                code="no_retrospective",
            )
        ]
    # Archived feedback can no longer be handled: the PMO closes it first. Forms nobody
    # filled in do not hold the archive up; they close with it.
    unhandled = Feedback.objects.filter(request=request, handled_at__isnull=True).count()
    if unhandled:
        return [
            ValidationError(
                ngettext(
                    "%(count)d piece of feedback awaits the PMO's handling; record it first.",
                    "%(count)d pieces of feedback await the PMO's handling; record them first.",
                    unhandled,
                )
                % {"count": unhandled},
                code="feedback_unhandled",
            )
        ]
    return []


@transaction.atomic
def archive_case(
    *, request: CollabRequest, by: User, confidential: bool | None = None
) -> ArchiveEntry:
    """File a completed case in the knowledge base and make it read-only for everyone.

    `confidential` marks (True) or unmarks (False) the case as confidential; None keeps
    what the initiator chose. Two people archiving at once: the second finds the case
    archived under the lock and gets RequestConflict. Use the returned entry's
    `request`: it is the archived row (a copy read earlier still looks open).
    """
    locked = CollabRequest.objects.select_for_update().get(pk=request.pk)
    if locked.is_archived:
        entry = ArchiveEntry.objects.filter(request=locked).select_related("archived_by").first()
        raise RequestConflict(
            _("This case was already archived by %(who)s on %(when)s.")
            % {
                "who": entry.archived_by if entry else "—",
                "when": date_format(timezone.localtime(locked.archived_at), "Y-m-d H:i")
                if locked.archived_at
                else "—",
            }
        )
    if not permissions.may_archive(by):
        raise PermissionDenied(_("Only the PMO can archive a case."))
    refusals = archive_refusals(locked)
    if refusals:
        raise ValidationError(refusals)
    if confidential is not None:
        locked.is_confidential = bool(confidential)
    now = timezone.now()
    title = archive_title(locked)
    # The timeline line first: once the flag is saved, CaseRecord refuses every write.
    event_log(
        request=locked,
        kind=EventKind.ARCHIVED,
        by=by,
        params={"title": title, "confidential": locked.is_confidential},
    )
    entry = ArchiveEntry.objects.create(
        request=locked,
        title=title,
        archived_by=by,
        archived_at=now,
        search_text=archive_search_text(locked),
    )
    locked.is_archived = True
    locked.archived_at = now
    locked.save(update_fields=["is_archived", "archived_at", "is_confidential", "updated_at"])
    notifications.notify(
        event="archive_filed",
        recipients=[locked.initiator],
        context={"request": locked, "entry": entry, "by": by},
        url=locked.get_absolute_url(),
        actor=by,
    )
    return entry


def register() -> None:
    """Register this area's guards, hooks, warning rules and demo data (AppConfig.ready)."""
