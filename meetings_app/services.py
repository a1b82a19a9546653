"""Writes on meetings, their minutes, problems and action items (issue 15).

Like tasks_app.services: each service checks permission through meetings_app.permissions,
locks what it changes (the Machine of collab.transitions for the meeting's and the
action item's state machines), writes the history row in the same transaction (a kind
and its parameters, rendered when read: meetings_app.event_texts) and leaves the
e-mails and calendar invitations to the outbox, which sends them on commit.

Locks are taken in one order, the one tasks_app and the archive use: the request (refused
when archived, and held so that an archiving cannot commit meanwhile), then the meeting
or the action item, then the minutes and the meeting's other rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from collab import events, notifications, uploads
from collab import selectors as org
from collab.errors import Conflict, Refused
from collab.formats import join_list
from collab.models import Department, User
from collab.registry import registry
from collab.transitions import Machine
from requests_app import services as request_services
from requests_app.choices import OPEN_STATES, Priority, RequestState
from requests_app.models import CollabRequest
from tasks_app import services as task_services
from tasks_app.models import Breakdown, Task

from . import carryover, invitations, permissions
from . import series as series_module
from .choices import (
    ActionEventKind,
    ActionState,
    Attendance,
    MeetingEventKind,
    MeetingForm,
    MeetingKind,
    MeetingState,
    MinutesState,
    ProblemStatus,
)
from .ics import CANCEL, REQUEST, invitees
from .models import (
    ActionDelivery,
    ActionEvent,
    ActionItem,
    ActionProgress,
    AgendaItem,
    Meeting,
    MeetingComment,
    MeetingEvent,
    MeetingSeries,
    Minutes,
    MinutesAttendance,
    MinutesItem,
    Problem,
)

# Seed 003: the participants get a day to prepare. A meeting called on shorter notice
# says why (the reason is kept in its history).
MIN_NOTICE = dt.timedelta(days=1)


class MeetingConflict(Conflict):
    """Someone else changed the meeting or its minutes first; the message says what to do."""


class MeetingRefused(Refused):
    """The act is not possible in the meeting's (or its minutes') current state."""


class ActionConflict(Conflict):
    """Someone else acted on the action item first."""


class ActionRefused(Refused):
    """The act is not possible in the action item's current state."""


# --- history -------------------------------------------------------------------------


def meeting_event_log(*, meeting: Meeting, kind: str, by: User | None, **fields) -> MeetingEvent:
    """Write one line of the meeting's history (collab.models.StateLog.write: transition,
    from_state, to_state, comment, on_behalf_of, params)."""
    fields.setdefault("transition", kind)
    return MeetingEvent.write(meeting=meeting, kind=kind, by=by, **fields)


def action_event_log(*, action: ActionItem, kind: str, by: User | None, **fields) -> ActionEvent:
    """Write one line of the action item's history (kept when it becomes a task)."""
    fields.setdefault("transition", kind)
    return ActionEvent.write(action=action, kind=kind, by=by, **fields)


# --- locks ---------------------------------------------------------------------------


def _lock_case(request_id: int | None) -> CollabRequest | None:
    """Lock the request a meeting belongs to (if any) and refuse an archived case.

    Taken first, before the meeting's own rows (the order tasks_app and the archive lock
    in), and held until the transaction ends, so that an archiving cannot commit between
    this check and the writes (the archive's triggers would refuse them with no words).
    """
    if request_id is None:
        return None
    request = CollabRequest.objects.select_for_update().get(pk=request_id)
    request_services.refuse_archived(request)
    return request


def _refuse_archived(request: CollabRequest | None) -> None:
    if request is not None:
        request_services.refuse_archived(request)


def _meeting_refusal(meeting: Meeting, name: str) -> str:
    return _("This is not possible while the meeting is “%(state)s”.") % {
        "state": meeting.get_state_display()
    }


def _action_refusal(action: ActionItem, name: str) -> str:
    if action.state == ActionState.DRAFT:
        return _("This action item is part of minutes not filed yet.")
    return _("This is not possible while the action item is “%(state)s”.") % {
        "state": action.get_state_display()
    }


# The request is read with the row but locked before it (_lock_meeting, _lock_action): a
# meeting of no request joins none, and PostgreSQL cannot lock the empty side of a join.
MEETING_MACHINE = Machine(
    model=Meeting,
    conflict=MeetingConflict,
    refused=MeetingRefused,
    refusal=_meeting_refusal,
    related=("request",),
    lock_of=("self",),
    check=lambda locked: _refuse_archived(locked.request),
)

ACTION_MACHINE = Machine(
    model=ActionItem,
    conflict=ActionConflict,
    refused=ActionRefused,
    refusal=_action_refusal,
    related=("meeting", "meeting__request"),
    lock_of=("self",),
    check=lambda locked: _refuse_archived(locked.meeting.request),
)


def _lock_meeting(
    meeting: Meeting, name: str | None = None, expected_state: str | None = None
) -> Meeting:
    """Return the meeting locked after its request, its state compared with the one
    seen (and allowing transition `name`, when given)."""
    _lock_case(meeting.request_id)
    if name is None:
        return MEETING_MACHINE.lock(meeting, expected_state)
    return MEETING_MACHINE.lock_for(meeting, name, expected_state)


def _lock_action(
    action: ActionItem, name: str | None = None, expected_state: str | None = None
) -> ActionItem:
    """Return the action item locked after its meeting's request (see _lock_meeting)."""
    _lock_case(Meeting.objects.values_list("request_id", flat=True).get(pk=action.meeting_id))
    if name is None:
        return ACTION_MACHINE.lock(action, expected_state)
    return ACTION_MACHINE.lock_for(action, name, expected_state)


def _meeting_transition(meeting: Meeting, name: str, *, fields: Sequence[str] = (), **event):
    return MEETING_MACHINE.run(
        meeting, name, fields=fields, log=partial(meeting_event_log, meeting=meeting), **event
    )


def _action_transition(action: ActionItem, name: str, *, fields: Sequence[str] = (), **event):
    return ACTION_MACHINE.run(
        action, name, fields=fields, log=partial(action_event_log, action=action), **event
    )


def _lock_minutes(minutes: Minutes, meeting: Meeting) -> Minutes:
    """Return the minutes re-read under a row lock (the meeting's row is locked first)."""
    locked = Minutes.objects.select_for_update().get(pk=minutes.pk)
    locked.meeting = meeting
    return locked


def revision(row: Meeting | Minutes) -> str:
    """The token an edit page carries (the row's updated_at), to refuse a save over a
    change made since the page was shown."""
    return row.updated_at.isoformat()


def _minutes_changed() -> str:
    return _(
        "Someone else saved these minutes meanwhile; reload the page to see their "
        "changes, then make yours again."
    )


def _check_revision(locked: Meeting | Minutes, expected: str | None, message: str) -> None:
    """Refuse with `message` when the locked row changed since the page showed revision
    `expected` (None: the caller showed no page, nothing to compare)."""
    if expected is not None and expected != revision(locked):
        raise MeetingConflict(message)


# --- people --------------------------------------------------------------------------


def _unique(users: Iterable[User | None]) -> list[User]:
    return list({user.pk: user for user in users if user is not None}.values())


def _confirmers(meeting: Meeting) -> list[User]:
    """Who confirms an action item's closure (the PMO sees it on the pages)."""
    return _unique([meeting.organiser, meeting.request.initiator if meeting.request_id else None])


def request_departments(request: CollabRequest) -> list[Department]:
    """The request's departments: the initiating one and the collaborating ones."""
    ids = {
        request.initiating_department_id,
        *request.department_links.values_list("department_id", flat=True),
    }
    return list(Department.objects.filter(pk__in=ids))


def _times(starts_at: dt.datetime, ends_at: dt.datetime) -> dict:
    """A meeting's time as history parameters store it."""
    return {"starts_at": events.iso(starts_at), "ends_at": events.iso(ends_at)}


def _notify(event: str, recipients, *, by: User | None, url: str, **context) -> None:
    notifications.notify(event=event, recipients=recipients, context=context, url=url, actor=by)


# --- scheduling ----------------------------------------------------------------------


def _agenda_entries(agenda: Iterable) -> list[tuple]:
    """Each agenda entry as given (a title, or a (title, department-or-None) pair) with
    its normalised (title, department) row; blanks dropped."""
    rows = []
    for entry in agenda:
        title, department = (entry, None) if isinstance(entry, str) else entry
        title = (title or "").strip()
        if title:
            rows.append((entry, (title, department)))
    return rows


def _agenda_rows(agenda: Iterable) -> list[tuple[str, Department | None]]:
    """Normalise the agenda: titles, or (title, department-or-None) pairs; blanks dropped."""
    return [row for _entry, row in _agenda_entries(agenda)]


def _clean(value):
    """A typed value as it is stored: text without surrounding blanks."""
    return value.strip() if isinstance(value, str) else value


def _inactive(users: Iterable[User | None]) -> list[str]:
    return [str(user) for user in users if user is not None and not user.is_active]


def _plan_errors(plan: dict, *, notice_from: dt.datetime | None) -> dict[str, list[str]]:
    """Return what is wrong with a meeting's (or a series') plan, by field. The time is
    checked when the plan has one; its notice too, from `notice_from` when given."""
    errors: dict[str, list[str]] = {}

    def error(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not plan["topic"].strip():
        error("topic", _("Give the meeting a topic."))
    if "kind" in plan and plan["kind"] not in MeetingKind.values:
        error("kind", _("Choose the kind of meeting."))
    if plan["form"] not in MeetingForm.values:
        error("form", _("Choose how the meeting is held."))
    elif plan["form"] == MeetingForm.ON_SITE and not plan["location"].strip():
        error("location", _("Say in which room the meeting is held."))
    elif plan["form"] == MeetingForm.ONLINE and not plan["online_link"].strip():
        error("online_link", _("Give the link of the online meeting."))
    if "starts_at" in plan:
        starts_at, ends_at = plan["starts_at"], plan["ends_at"]
        if ends_at <= starts_at:
            error("ends_at", _("The meeting must end after it starts."))
        if notice_from is not None and starts_at <= notice_from:
            error("starts_at", _("The meeting cannot start in the past."))
        elif (
            notice_from is not None
            and starts_at - notice_from < MIN_NOTICE
            and not plan["short_notice_reason"].strip()
            # A weekly series' own meeting: its day was announced with the series.
            and plan.get("series_date") is None
        ):
            error(
                "short_notice_reason",
                _(
                    "The invitation goes at least one day ahead, so that everyone can "
                    "prepare. Say why this meeting cannot wait."
                ),
            )
    if plan["organiser"] is None:
        error("organiser", _("Choose the organiser."))
    if plan["recorder"] is None:
        error("recorder", _("Choose the recorder."))
    disabled = _inactive([plan["organiser"], plan["recorder"], *plan["participants"]])
    if disabled:
        error(
            "participants",
            _("These accounts are disabled: %(names)s.") % {"names": join_list(disabled)},
        )
    if plan["request"] is None and not plan["departments"]:
        error("departments", _("A meeting of no request needs the departments it brings together."))
    limit = AgendaItem._meta.get_field("title").max_length
    for title, _department in plan["agenda"]:
        if len(title) > limit:
            error(
                "agenda",
                _("An agenda item is at most %(limit)d characters: “%(title)s…”.")
                % {"limit": limit, "title": title[:40]},
            )
    return errors


def _check_may_schedule(by: User, request: CollabRequest | None) -> None:
    if not permissions.can_schedule(by, request):
        if request is None:
            raise PermissionDenied(
                _("Only the PMO and department heads call meetings of no request.")
            )
        raise PermissionDenied(_("Only people who take part in the request call its meetings."))


def _lock_open_request(request: CollabRequest) -> CollabRequest:
    """Lock the request a meeting is called for; refuse a closed or archived one."""
    request = _lock_case(request.pk)
    if request.state not in OPEN_STATES:
        raise MeetingRefused(
            _("Meetings are called only for an open request; this one is “%(state)s”.")
            % {"state": request.get_state_display()}
        )
    return request


@transaction.atomic
def meeting_schedule(
    *,
    by: User,
    request: CollabRequest | None = None,
    topic: str,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    form: str,
    location: str = "",
    online_link: str = "",
    organiser: User | None = None,
    recorder: User,
    departments: Sequence[Department] = (),
    participants: Sequence[User] = (),
    guests: str = "",
    agenda: Sequence = (),
    focus: str = "",
    previous: Meeting | None = None,
    series: MeetingSeries | None = None,
    series_date: dt.date | None = None,
    short_notice_reason: str = "",
) -> Meeting:
    """Call a meeting and send its invitation (in-app, e-mail and .ics) to the organiser,
    the recorder and the participants.

    `agenda`: titles, or (title, department-or-None) pairs. The departments default to
    the request's (initiating and collaborating); the organiser to `by`. A meeting less
    than a day ahead needs `short_notice_reason`, kept in its history.
    """
    if request is not None:
        request = _lock_open_request(request)
    _check_may_schedule(by, request)
    return _schedule(
        by=by,
        request=request,
        topic=topic,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        form=form,
        location=location,
        online_link=online_link,
        organiser=organiser,
        recorder=recorder,
        departments=departments,
        participants=participants,
        guests=guests,
        agenda=agenda,
        focus=focus,
        previous=previous,
        series=series,
        series_date=series_date,
        short_notice_reason=short_notice_reason,
    )


def _schedule(*, by: User, request: CollabRequest | None, **fields) -> Meeting:
    """meeting_schedule once the caller is allowed: check the plan, create the meeting
    and its agenda, log it and send the invitation (`request` is locked)."""
    departments = list(fields["departments"])
    if not departments and request is not None:
        departments = request_departments(request)
    plan = {
        **fields,
        "request": request,
        "organiser": fields["organiser"] or by,
        "departments": departments,
        "participants": _unique(fields["participants"]),
        "agenda": _agenda_rows(fields["agenda"]),
    }
    now = timezone.now()
    errors = _plan_errors(plan, notice_from=now)
    if errors:
        raise ValidationError(errors)
    meeting = Meeting(
        request=request,
        series=plan["series"],
        series_date=plan["series_date"],
        previous=plan["previous"],
        topic=plan["topic"].strip(),
        kind=plan["kind"],
        starts_at=plan["starts_at"],
        ends_at=plan["ends_at"],
        form=plan["form"],
        location=plan["location"].strip(),
        online_link=plan["online_link"].strip(),
        organiser=plan["organiser"],
        recorder=plan["recorder"],
        guests=plan["guests"].strip(),
        focus=plan["focus"].strip(),
        created_by=by,
    )
    meeting.full_clean(exclude=["state", "uid"])
    meeting.save()
    meeting.departments.set(plan["departments"])
    meeting.participants.set(plan["participants"])
    _replace_agenda(meeting, plan["agenda"])
    params = _times(meeting.starts_at, meeting.ends_at)
    # The reason is kept only where it was needed: on short notice.
    short_notice = meeting.starts_at - now < MIN_NOTICE
    reason = plan["short_notice_reason"].strip() if short_notice else ""
    if short_notice:
        params["short_notice"] = True
        if meeting.series_date is not None:
            params["by_series"] = True
    meeting_event_log(
        meeting=meeting,
        kind=MeetingEventKind.SCHEDULED,
        by=by,
        to_state=meeting.state,
        comment=reason,
        params=params,
    )
    invitations.send_invitation(meeting, by=by, method=REQUEST)
    return meeting


def _replace_agenda(meeting: Meeting, rows: Sequence[tuple[str, Department | None]]) -> None:
    meeting.agenda.all().delete()
    AgendaItem.objects.bulk_create(
        AgendaItem(meeting=meeting, position=i, title=title, department=department)
        for i, (title, department) in enumerate(rows, start=1)
    )


# What meeting_update may change; a change to any of INVITATION_FIELDS re-sends the
# invitation (same UID, SEQUENCE + 1), since the calendars hold them.
PLAN_FIELDS = (
    "topic",
    "kind",
    "starts_at",
    "ends_at",
    "form",
    "location",
    "online_link",
    "organiser",
    "recorder",
    "guests",
    "focus",
)
LIST_FIELDS = ("departments", "participants", "agenda")
INVITATION_FIELDS = {
    "topic",
    "starts_at",
    "ends_at",
    "form",
    "location",
    "online_link",
    "organiser",
    "recorder",
    "participants",
    "agenda",
}


@transaction.atomic
def meeting_update(
    *, meeting: Meeting, by: User, expected_revision: str | None = None, **fields
) -> Meeting:
    """Change the plan of a scheduled meeting: only what `fields` changes.

    `fields` are meeting_schedule's (topic, kind, starts_at, ends_at, form, location,
    online_link, organiser, recorder, departments, participants, guests, agenda, focus,
    short_notice_reason). A change of time, place, people, topic or agenda re-sends the
    invitation with the same UID and the next SEQUENCE to the people now invited, and a
    CANCEL to the people no longer invited; a time moved to less than a day ahead needs
    `short_notice_reason`. `expected_revision` (revision() of the meeting the form
    showed) refuses a form older than another editor's change, which it would revert.
    """
    unknown = set(fields) - {*PLAN_FIELDS, *LIST_FIELDS, "short_notice_reason"}
    if unknown:
        raise TypeError(f"meeting_update() got unexpected fields: {sorted(unknown)}")
    meeting = _lock_meeting(meeting)
    if not permissions.can_edit(by, meeting):
        if meeting.state != MeetingState.SCHEDULED:
            raise MeetingRefused(_meeting_refusal(meeting, "update"))
        raise PermissionDenied(_("Only the organiser, the recorder or the PMO change a meeting."))
    _check_revision(
        meeting,
        expected_revision,
        _(
            "Someone else changed this meeting meanwhile; reload the page to see the "
            "change, then make yours again."
        ),
    )
    before_people = invitees(meeting)
    new = {name: _clean(fields[name]) for name in PLAN_FIELDS if name in fields}
    changed = [name for name, value in new.items() if getattr(meeting, name) != value]
    participants = _unique(fields.get("participants", meeting.participants.all()))
    if {u.pk for u in participants} != set(meeting.participants.values_list("pk", flat=True)):
        changed.append("participants")
    # An item given by its title alone keeps the presenting department it had.
    presenting = {a.title: a.department for a in meeting.agenda.all()}
    agenda = [
        (title, department or (presenting.get(title) if isinstance(entry, str) else None))
        for entry, (title, department) in _agenda_entries(fields.get("agenda", ()))
    ]
    if "agenda" in fields and [(t, d.pk if d else None) for t, d in agenda] != [
        (a.title, a.department_id) for a in meeting.agenda.all()
    ]:
        changed.append("agenda")
    departments = list(fields.get("departments", meeting.departments.all()))
    if {d.pk for d in departments} != set(meeting.departments.values_list("pk", flat=True)):
        changed.append("departments")
    if not changed:
        return meeting
    now = timezone.now()
    retimed = "starts_at" in changed
    short_notice = retimed and new["starts_at"] - now < MIN_NOTICE
    reason = fields.get("short_notice_reason", "").strip()
    plan = {
        **{name: getattr(meeting, name) for name in PLAN_FIELDS},
        **new,
        "request": meeting.request,
        "departments": departments,
        "participants": participants,
        "agenda": agenda,
        "short_notice_reason": reason,
    }
    errors = _plan_errors(plan, notice_from=now if retimed else None)
    if errors:
        raise ValidationError(errors)
    params: dict = {"changed": changed}
    if "starts_at" in changed or "ends_at" in changed:
        params["from"] = _times(meeting.starts_at, meeting.ends_at)
        params["to"] = _times(plan["starts_at"], plan["ends_at"])
    for name in changed:
        if name in new:
            setattr(meeting, name, new[name])
    reinvite = bool(INVITATION_FIELDS & set(changed))
    if reinvite:
        meeting.ics_sequence += 1
    meeting.full_clean(exclude=["state", "uid", "request", "series", "previous"])
    meeting.save()
    if "participants" in changed:
        meeting.participants.set(participants)
    if "agenda" in changed:
        _replace_agenda(meeting, agenda)
    if "departments" in changed:
        meeting.departments.set(departments)
    meeting_event_log(
        meeting=meeting,
        kind=MeetingEventKind.RESCHEDULED,
        by=by,
        comment=reason if short_notice else "",
        params=params,
    )
    if reinvite:
        kept = {user.pk for user in invitees(meeting)}
        removed = [user for user in before_people if user.pk not in kept]
        invitations.send_invitation(meeting, by=by, method=REQUEST)
        if removed:
            invitations.send_invitation(meeting, by=by, method=CANCEL, recipients=removed)
    return meeting


@transaction.atomic
def meeting_cancel(
    *, meeting: Meeting, by: User, reason: str, expected_state: str | None = None
) -> Meeting:
    """Call the meeting off: everyone invited gets a CANCEL of the same UID."""
    meeting = _lock_meeting(meeting, "cancel", expected_state)
    if not permissions.can_cancel(by, meeting):
        raise PermissionDenied(_("Only the organiser, the recorder or the PMO cancel a meeting."))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the meeting is cancelled.")})
    return _call_off(meeting, by=by, reason=reason)


def _call_off(meeting: Meeting, *, by: User, reason: str) -> Meeting:
    """Cancel the locked meeting (meeting_cancel, series_stop): its history keeps the
    reason, and everyone invited gets a CANCEL of the same UID."""
    meeting.cancel_reason = reason
    meeting.ics_sequence += 1
    _meeting_transition(
        meeting,
        "cancel",
        kind=MeetingEventKind.CANCELLED,
        by=by,
        comment=reason,
        fields=["cancel_reason", "ics_sequence"],
    )
    invitations.send_invitation(meeting, by=by, method=CANCEL)
    return meeting


@transaction.atomic
def meeting_comment(*, meeting: Meeting, by: User, body: str) -> MeetingComment:
    """A participant comments on the meeting; the organiser and the recorder are told."""
    _lock_case(meeting.request_id)
    if not permissions.can_comment(by, meeting):
        raise PermissionDenied(_("You cannot comment on this meeting."))
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("Write a comment.")})
    comment = MeetingComment.objects.create(meeting=meeting, author=by, body=body)
    _notify(
        "meeting_commented",
        [meeting.organiser, meeting.recorder],
        by=by,
        url=meeting.get_absolute_url(),
        meeting=meeting,
        comment=comment,
    )
    return comment


# --- minutes -------------------------------------------------------------------------


def _lock_for_minutes(meeting: Meeting, by: User) -> Meeting:
    """Lock the meeting for a change to its minutes; refuse whoever may not write them."""
    meeting = _lock_meeting(meeting)
    if meeting.state == MeetingState.CANCELLED:
        raise MeetingRefused(_("A cancelled meeting takes no minutes."))
    if not permissions.can_write_minutes(by, meeting):
        raise PermissionDenied(_("Only the recorder, the organiser or the PMO write the minutes."))
    return meeting


def _open_draft(meeting: Meeting) -> Minutes | None:
    return meeting.minutes.filter(state=MinutesState.DRAFT).first()


def _last_filed(meeting: Meeting) -> Minutes | None:
    return meeting.minutes.filter(state=MinutesState.FILED).order_by("-version").first()


@transaction.atomic
def minutes_draft(*, meeting: Meeting, by: User) -> Minutes:
    """Return the meeting's open draft of the minutes, or start version 1 from the agenda
    (its items) and the people invited (attendance not recorded yet).

    Once minutes are filed they change only through a correction (minutes_correct).
    """
    meeting = _lock_for_minutes(meeting, by)
    draft = _open_draft(meeting)
    if draft is not None:
        return draft
    if meeting.minutes.exists():
        raise MeetingRefused(_("The minutes are filed and read-only; correct them to change them."))
    minutes = Minutes.objects.create(meeting=meeting, version=1, drafted_by=by)
    MinutesItem.objects.bulk_create(
        MinutesItem(minutes=minutes, position=item.position, title=item.title)
        for item in meeting.agenda.all()
    )
    MinutesAttendance.objects.bulk_create(
        MinutesAttendance(minutes=minutes, user=user) for user in invitees(meeting)
    )
    return minutes


@transaction.atomic
def minutes_correct(*, meeting: Meeting, by: User, reason: str) -> Minutes:
    """Start a correction: a new draft version copying the last filed one. Filing it
    supersedes that version, which is kept.

    The problems and action items are live records of the meeting, not copies: the
    correction lists them and may add new ones (minutes_save).
    """
    meeting = _lock_for_minutes(meeting, by)
    last = _last_filed(meeting)
    if meeting.state != MeetingState.MINUTES_FILED or last is None:
        raise MeetingRefused(_("Only filed minutes are corrected; these are not filed yet."))
    draft = _open_draft(meeting)
    if draft is not None:
        raise MeetingConflict(
            _("A correction (version %(version)d) is already being written; continue it.")
            % {"version": draft.version}
        )
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say what the correction corrects.")})
    minutes = Minutes.objects.create(
        meeting=meeting,
        version=last.version + 1,
        actual_start=last.actual_start,
        actual_end=last.actual_end,
        next_meeting_at=last.next_meeting_at,
        next_focus=last.next_focus,
        other_matters=last.other_matters,
        breakdown_agreed=last.breakdown_agreed,
        breakdown_version=last.breakdown_version,
        correction_reason=reason,
        drafted_by=by,
    )
    MinutesItem.objects.bulk_create(
        MinutesItem(
            minutes=minutes,
            position=item.position,
            title=item.title,
            discussion=item.discussion,
            conclusion=item.conclusion,
        )
        for item in last.items.all()
    )
    MinutesAttendance.objects.bulk_create(
        MinutesAttendance(
            minutes=minutes, user_id=row.user_id, attendance=row.attendance, note=row.note
        )
        for row in last.attendance.all()
    )
    minutes.tasks_discussed.set(last.tasks_discussed.all())
    return minutes


def _row_error(errors: dict, field: str, number: int, message: str) -> None:
    errors.setdefault(field, []).append(
        _("Row %(number)d: %(message)s") % {"number": number, "message": message}
    )


def _check_minutes(
    meeting: Meeting,
    *,
    actual_start,
    actual_end,
    items,
    attendance,
    problems,
    actions,
    next_meeting_at,
    breakdown_agreed,
    tasks_discussed,
) -> None:
    errors: dict[str, list[str]] = {}
    if actual_start and actual_end and actual_end <= actual_start:
        errors["actual_end"] = [_("The meeting must end after it starts.")]
    for number, item in enumerate(items, start=1):
        if not (item.get("title") or "").strip():
            _row_error(errors, "items", number, _("give the agenda item's title."))
    if any(value not in Attendance.values for value, _note in attendance.values()):
        errors["attendance"] = [_("Mark each participant present, absent or not recorded.")]
    ids = {int(pk) for pk in attendance}
    if User.objects.filter(pk__in=ids).count() != len(ids):
        errors.setdefault("attendance", []).append(_("Some of these people do not exist."))
    for number, problem in enumerate(problems, start=1):
        if not (problem.get("description") or "").strip():
            _row_error(errors, "problems", number, _("describe the problem."))
        if problem.get("status", ProblemStatus.OPEN) not in ProblemStatus.values:
            _row_error(errors, "problems", number, _("choose the problem's status."))
    for number, action in enumerate(actions, start=1):
        if not (action.get("description") or "").strip():
            _row_error(errors, "actions", number, _("say what is to be done."))
        if action.get("responsible_department") is None:
            _row_error(errors, "actions", number, _("choose the responsible department."))
        owner = action.get("owner")
        if owner is None:
            _row_error(errors, "actions", number, _("choose the responsible person."))
        elif not owner.is_active:
            _row_error(errors, "actions", number, _("this person's account is disabled."))
        due = action.get("due_at")
        if due is None:
            _row_error(errors, "actions", number, _("give the deadline."))
        elif due < meeting.starts_at:
            _row_error(errors, "actions", number, _("the deadline is before the meeting."))
        if action.get("importance", Priority.NORMAL) not in Priority.values:
            _row_error(errors, "actions", number, _("choose the importance."))
        index = action.get("problem_index")
        if index is not None and not 0 <= index < len(problems):
            _row_error(errors, "actions", number, _("the problem it addresses is not listed."))
    if next_meeting_at is not None and next_meeting_at <= meeting.starts_at:
        errors["next_meeting_at"] = [_("The next meeting must come after this one.")]
    if breakdown_agreed and (meeting.kind != MeetingKind.KICKOFF or meeting.request_id is None):
        errors["breakdown_agreed"] = [
            _("Only a kick-off meeting of a request agrees the task breakdown.")
        ]
    elif breakdown_agreed and not Breakdown.objects.filter(request_id=meeting.request_id).exists():
        errors["breakdown_agreed"] = [_("The request has no task breakdown yet.")]
    if any(task.request_id != meeting.request_id for task in tasks_discussed):
        errors["tasks_discussed"] = [_("Only the tasks of the meeting's request can be listed.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def minutes_save(
    *,
    minutes: Minutes,
    by: User,
    actual_start: dt.datetime | None,
    actual_end: dt.datetime | None,
    items: Sequence[dict],
    attendance: dict,
    problems: Sequence[dict],
    actions: Sequence[dict],
    next_meeting_at: dt.datetime | None = None,
    next_focus: str = "",
    other_matters: str = "",
    breakdown_agreed: bool = False,
    tasks_discussed: Sequence[Task] = (),
    expected_revision: str | None = None,
) -> Minutes:
    """Save the draft of the minutes as the recorder typed it (nothing is sent).

    `items`: [{"title", "discussion", "conclusion"}] in order; `attendance`:
    {user_id: (Attendance value, note)}; `problems`: [{"pk" (None for new),
    "description", "department", "status"}]; `actions`: [{"pk" (None for new),
    "description", "responsible_department", "owner", "deliverable", "due_at",
    "importance" (optional), "problem_index" (optional, into `problems`)}]. An action's
    `due_at` is a moment (the form makes a date 17:00, models.DEFAULT_ACTION_DUE_TIME).

    The draft's problems and action items are replaced by the lists (those left out are
    removed). Problems and action items already filed are live records: a correction
    lists them read-only and whatever it sends for them is left aside; they change
    through their own services (problem_set_status, the action item's actions).
    Filed minutes are read-only. `expected_revision` (revision() of the draft the
    editor showed) refuses a save over another writer's newer save, which the lists
    would silently replace.
    """
    meeting = _lock_for_minutes(minutes.meeting, by)
    minutes = _lock_minutes(minutes, meeting)
    if minutes.state != MinutesState.DRAFT:
        raise MeetingRefused(_("Filed minutes are read-only; correct them to change them."))
    _check_revision(minutes, expected_revision, _minutes_changed())
    _check_minutes(
        meeting,
        actual_start=actual_start,
        actual_end=actual_end,
        items=items,
        attendance=attendance,
        problems=problems,
        actions=actions,
        next_meeting_at=next_meeting_at,
        breakdown_agreed=breakdown_agreed,
        tasks_discussed=tasks_discussed,
    )
    minutes.actual_start = actual_start
    minutes.actual_end = actual_end
    minutes.next_meeting_at = next_meeting_at
    minutes.next_focus = next_focus.strip()
    minutes.other_matters = other_matters.strip()
    minutes.breakdown_agreed = breakdown_agreed
    minutes.breakdown_version = (
        Breakdown.objects.get(request_id=meeting.request_id).version if breakdown_agreed else None
    )
    minutes.save()
    minutes.tasks_discussed.set(tasks_discussed)
    minutes.items.all().delete()
    MinutesItem.objects.bulk_create(
        MinutesItem(
            minutes=minutes,
            position=position,
            title=item["title"].strip(),
            discussion=(item.get("discussion") or "").strip(),
            conclusion=(item.get("conclusion") or "").strip(),
        )
        for position, item in enumerate(items, start=1)
    )
    minutes.attendance.all().delete()
    MinutesAttendance.objects.bulk_create(
        MinutesAttendance(minutes=minutes, user_id=int(user_id), attendance=value, note=note or "")
        for user_id, (value, note) in attendance.items()
    )
    saved_problems = _save_problems(meeting, minutes, problems)
    _save_actions(meeting, minutes, actions, saved_problems)
    return minutes


def _after_filed(rows, **filters) -> int:
    """The first position after the filed rows' (a correction's new rows come after)."""
    return (rows.filter(**filters).aggregate(n=Max("position"))["n"] or 0) + 1


def _save_problems(meeting: Meeting, minutes: Minutes, rows: Sequence[dict]) -> list[Problem]:
    """Write the draft's problems; return the problem of each row (filed ones as they are)."""
    existing = {p.pk: p for p in meeting.problems.select_for_update()}
    result, kept = [], set()
    for position, row in enumerate(rows, start=_after_filed(meeting.problems, is_filed=True)):
        problem = existing.get(row.get("pk")) if row.get("pk") else None
        if problem is not None and problem.is_filed:
            result.append(problem)
            continue
        if problem is None:
            problem = Problem(meeting=meeting, raised_in=minutes)
        problem.position = position
        problem.description = row["description"].strip()
        problem.department = row.get("department")
        problem.status = row.get("status") or ProblemStatus.OPEN
        problem.save()
        kept.add(problem.pk)
        result.append(problem)
    Problem.objects.filter(raised_in=minutes, is_filed=False).exclude(pk__in=kept).delete()
    return result


def _save_actions(
    meeting: Meeting, minutes: Minutes, rows: Sequence[dict], problems: list[Problem]
) -> None:
    existing = {a.pk: a for a in meeting.actions.select_for_update()}
    start = timezone.localdate(meeting.starts_at)
    kept = set()
    rows_from = _after_filed(meeting.actions.exclude(state=ActionState.DRAFT))
    for position, row in enumerate(rows, start=rows_from):
        action = existing.get(row.get("pk")) if row.get("pk") else None
        if action is not None and action.state != ActionState.DRAFT:
            continue
        if action is None:
            action = ActionItem(meeting=meeting, raised_in=minutes, start_date=start)
        action.position = position
        action.description = row["description"].strip()
        action.responsible_department = row["responsible_department"]
        action.owner = row["owner"]
        action.deliverable = (row.get("deliverable") or "").strip()
        action.due_at = row["due_at"]
        action.importance = row.get("importance") or Priority.NORMAL
        index = row.get("problem_index")
        action.problem = problems[index] if index is not None else None
        action.save()
        kept.add(action.pk)
    ActionItem.objects.filter(raised_in=minutes, state=ActionState.DRAFT).exclude(
        pk__in=kept
    ).delete()


def _check_filing(meeting: Meeting, minutes: Minutes) -> None:
    """Refuse minutes that do not yet say what the seed's 溝通記錄表 must say."""
    errors: dict[str, list[str]] = {}
    if minutes.actual_start is None or minutes.actual_end is None:
        errors["actual_start"] = [_("Give the time the meeting actually started and ended.")]
    elif minutes.actual_start > timezone.now():
        errors["actual_start"] = [_("Minutes are filed once the meeting has taken place.")]
    items = list(minutes.items.all())
    if not items:
        errors["items"] = [_("The minutes have no agenda item.")]
    missing = [item.title for item in items if not item.conclusion]
    if missing:
        errors["items"] = [_("Give the conclusion of: %(items)s.") % {"items": join_list(missing)}]
    if minutes.attendance.filter(attendance=Attendance.UNKNOWN).exists():
        errors["attendance"] = [_("Mark whether each participant attended.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def minutes_file(*, minutes: Minutes, by: User, expected_revision: str | None = None) -> Minutes:
    """File the draft: it becomes read-only and goes to everyone concerned.

    Version 1 moves the meeting to 紀要已歸檔 (MINUTES_FILED); a correction supersedes
    the version it corrects (kept, SUPERSEDED). The draft's action items open (each
    owner is told, the clock runs from the meeting's day) and its problems are filed.
    The minutes go to the participants, the organiser, the recorder and the heads (and
    today's deputies) of the meeting's departments. `expected_revision` (revision() of
    the draft as the filer saw it) refuses a draft saved by someone else since.
    """
    meeting = _lock_for_minutes(minutes.meeting, by)
    minutes = _lock_minutes(minutes, meeting)
    if minutes.state != MinutesState.DRAFT:
        raise MeetingConflict(
            _("Version %(version)d of the minutes was filed meanwhile. Reload the page.")
            % {"version": minutes.version}
        )
    _check_revision(minutes, expected_revision, _minutes_changed())
    _check_filing(meeting, minutes)
    now = timezone.now()
    previous = _last_filed(meeting)
    minutes.state = MinutesState.FILED
    minutes.filed_by = by
    minutes.filed_at = now
    minutes.save(update_fields=["state", "filed_by", "filed_at", "updated_at"])
    params = {"version": minutes.version, "minutes_id": minutes.pk}
    if previous is None:
        meeting.minutes_filed_at = now
        _meeting_transition(
            meeting,
            "file_minutes",
            kind=MeetingEventKind.MINUTES_FILED,
            by=by,
            fields=["minutes_filed_at"],
            params=params,
        )
    else:
        Minutes.objects.filter(pk=previous.pk).update(state=MinutesState.SUPERSEDED, updated_at=now)
        meeting_event_log(
            meeting=meeting,
            kind=MeetingEventKind.MINUTES_CORRECTED,
            by=by,
            comment=minutes.correction_reason,
            params={**params, "superseded": previous.version},
        )
    Problem.objects.filter(raised_in=minutes, is_filed=False).update(is_filed=True)
    start = timezone.localdate(meeting.starts_at)
    drafts = (
        ActionItem.objects.select_for_update(of=("self",))
        .filter(raised_in=minutes, state=ActionState.DRAFT)
        .select_related("owner")
    )
    for action in drafts:
        action.meeting = meeting
        action.start_date = start
        _action_transition(
            action,
            "open",
            kind=ActionEventKind.OPENED,
            by=by,
            fields=["start_date"],
            params={"due_at": events.iso(action.due_at), "minutes": minutes.version},
        )
        _notify(
            "action_item_assigned",
            [action.owner],
            by=by,
            url=action.get_absolute_url(),
            action=action,
            meeting=meeting,
        )
    _notify(
        "meeting_minutes_filed",
        [*invitees(meeting), *org.heads_and_deputies(meeting.departments.all())],
        by=by,
        url=meeting.get_absolute_url(),
        meeting=meeting,
        minutes=minutes,
    )
    return minutes


@transaction.atomic
def problem_set_status(
    *,
    problem: Problem,
    by: User,
    status: str,
    note: str = "",
    expected_status: str | None = None,
) -> Problem:
    """Move a filed problem on (進行中 / 已解決 / 需升級), with a note, in the meeting's
    history. `expected_status` (the status the form showed) refuses a change over
    someone else's change made since."""
    meeting = _lock_for_minutes(problem.meeting, by)
    problem = Problem.objects.select_for_update().get(pk=problem.pk, meeting=meeting)
    if not problem.is_filed:
        raise MeetingRefused(_("The problem is part of minutes not filed yet."))
    if expected_status is not None and expected_status != problem.status:
        raise MeetingConflict(
            _(
                "Someone else changed this problem meanwhile; it is now “%(status)s”. "
                "Reload the page to see the change."
            )
            % {"status": problem.get_status_display()}
        )
    if status not in ProblemStatus.values:
        raise ValidationError({"status": _("Choose the problem's status.")})
    if status == problem.status:
        raise ValidationError(
            {
                "status": _("The problem is already “%(status)s”.")
                % {"status": problem.get_status_display()}
            }
        )
    before = problem.status
    problem.status = status
    problem.status_note = note.strip()
    problem.status_changed_at = timezone.now()
    problem.save(update_fields=["status", "status_note", "status_changed_at"])
    meeting_event_log(
        meeting=meeting,
        kind=MeetingEventKind.PROBLEM,
        by=by,
        comment=problem.status_note,
        params={
            "problem_id": problem.pk,
            "problem": problem.description[:60],
            "from": before,
            "to": status,
        },
    )
    return problem


# --- action items --------------------------------------------------------------------


def _required(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def _tell_owner(action: ActionItem, event: str, by: User, **context) -> None:
    _notify(event, [action.owner], by=by, url=action.get_absolute_url(), action=action, **context)


@transaction.atomic
def action_start(*, action: ActionItem, by: User, expected_state: str | None = None) -> ActionItem:
    """The owner starts work on the action item."""
    action = _lock_action(action, "start", expected_state)
    if not permissions.can_work_on(by, action):
        raise PermissionDenied(_("Only the action item's owner works on it."))
    action.started_at = timezone.now()
    _action_transition(action, "start", kind=ActionEventKind.START, by=by, fields=["started_at"])
    return action


@transaction.atomic
def action_progress(*, action: ActionItem, by: User, percent: int, note: str) -> ActionProgress:
    """The owner records progress; the first update starts an item still to do."""
    action = _lock_action(action)
    if action.state not in (ActionState.TODO, ActionState.IN_PROGRESS):
        raise ActionRefused(_action_refusal(action, "progress"))
    if not permissions.can_work_on(by, action):
        raise PermissionDenied(_("Only the action item's owner works on it."))
    errors = {}
    if not 0 <= int(percent) <= 100:
        errors["percent"] = _("The percentage is between 0 and 100.")
    if not (note or "").strip():
        errors["note"] = _("Say what was done.")
    if errors:
        raise ValidationError(errors)
    if action.state == ActionState.TODO:
        action.started_at = timezone.now()
        _action_transition(
            action, "start", kind=ActionEventKind.START, by=by, fields=["started_at"]
        )
    update = ActionProgress.objects.create(
        action=action, author=by, percent=int(percent), note=note.strip()
    )
    action.progress_percent = update.percent
    action.last_progress_at = update.created_at
    action.save(update_fields=["progress_percent", "last_progress_at", "updated_at"])
    action_event_log(
        action=action,
        kind=ActionEventKind.PROGRESS,
        by=by,
        comment=update.note,
        params={"percent": update.percent},
    )
    return update


@transaction.atomic
def action_submit(*, action: ActionItem, by: User, note: str, file=None) -> ActionDelivery:
    """The owner submits the deliverable (a note, and a file if any) for the closure
    confirmation (閉環確認) of the organiser or the request's initiator."""
    action = _lock_action(action, "submit")
    if not permissions.can_work_on(by, action):
        raise PermissionDenied(_("Only the action item's owner works on it."))
    note = _required(note, "note", _("Describe what was delivered."))
    original_name = ""
    if file is not None:
        try:
            checked = uploads.upload_validate(file)
        except ValidationError as exc:
            raise ValidationError({"file": exc.messages}) from exc
        file.name = original_name = checked.name
    delivery = ActionDelivery.objects.create(
        action=action,
        round=action.deliveries.count() + 1,
        note=note,
        file=file or "",
        original_name=original_name,
        submitted_by=by,
    )
    now = timezone.now()
    action.submitted_at = now
    action.started_at = action.started_at or now
    action.progress_percent = 100
    _action_transition(
        action,
        "submit",
        kind=ActionEventKind.SUBMIT,
        by=by,
        comment=note,
        fields=["submitted_at", "started_at", "progress_percent"],
        params={"round": delivery.round},
    )
    _notify(
        "action_item_submitted",
        _confirmers(action.meeting),
        by=by,
        url=action.get_absolute_url(),
        action=action,
        delivery=delivery,
    )
    return delivery


def _lock_for_confirmation(action: ActionItem, name: str, by: User) -> ActionItem:
    action = _lock_action(action, name)
    if not permissions.can_confirm(by, action):
        raise PermissionDenied(
            _("Only the organiser, the request's initiator or the PMO confirm an action item.")
        )
    return action


@transaction.atomic
def action_accept(*, action: ActionItem, by: User, note: str = "") -> ActionItem:
    """閉環確認: the deliverable settles the item; it is resolved."""
    action = _lock_for_confirmation(action, "accept", by)
    action.completed_at = timezone.now()
    _action_transition(
        action,
        "accept",
        kind=ActionEventKind.ACCEPT,
        by=by,
        comment=note.strip(),
        fields=["completed_at"],
    )
    _tell_owner(action, "action_item_accepted", by, note=note.strip())
    return action


@transaction.atomic
def action_send_back(*, action: ActionItem, by: User, reason: str) -> ActionItem:
    """The deliverable is not enough: back to the owner (進行中) with what is missing."""
    action = _lock_for_confirmation(action, "send_back", by)
    reason = _required(reason, "reason", _("Say what is still missing."))
    action.submitted_at = None
    _action_transition(
        action,
        "send_back",
        kind=ActionEventKind.SEND_BACK,
        by=by,
        comment=reason,
        fields=["submitted_at"],
    )
    _tell_owner(action, "action_item_sent_back", by, reason=reason)
    return action


@transaction.atomic
def action_escalate(*, action: ActionItem, by: User, reason: str) -> ActionItem:
    """Mark the item 需升級: it cannot be settled at this level.

    The organiser, the PMO and the heads of the responsible department are told, and
    every hook of collab.registry's "action_escalated" store runs in this transaction
    (hook(action=, by=, reason=): the escalation ladder of a later issue).
    """
    action = _lock_action(action)
    if action.escalated_at is not None:
        raise ActionConflict(_("This action item is already escalated."))
    if action.state not in (ActionState.TODO, ActionState.IN_PROGRESS, ActionState.SUBMITTED):
        raise ActionRefused(_action_refusal(action, "escalate"))
    if not permissions.can_escalate(by, action):
        raise PermissionDenied(_("Only the owner or those who confirm the item escalate it."))
    reason = _required(reason, "reason", _("Say why it cannot be settled at this level."))
    action.escalated_at = timezone.now()
    action.escalation_reason = reason
    action.save(update_fields=["escalated_at", "escalation_reason", "updated_at"])
    action_event_log(action=action, kind=ActionEventKind.ESCALATE, by=by, comment=reason)
    _notify(
        "action_item_escalated",
        [
            action.meeting.organiser,
            *org.pmo_users(),
            *org.heads_and_deputies([action.responsible_department]),
        ],
        by=by,
        url=action.get_absolute_url(),
        action=action,
        reason=reason,
    )
    for hook in registry["action_escalated"]:
        hook(action=action, by=by, reason=reason)
    return action


def _accountable_for(action: ActionItem) -> User:
    """The task's Accountable person: the organiser, or when the organiser is the owner,
    a head of the responsible department."""
    organiser = action.meeting.organiser
    if organiser.pk != action.owner_id:
        return organiser
    head = action.responsible_department.heads.filter(is_active=True).first()
    return head or organiser


@transaction.atomic
def action_convert(*, action: ActionItem, by: User) -> Task:
    """Turn the item into a full task of the request's breakdown (through tasks_app's
    own task_save: the owner is R, the organiser A); the item keeps its history and
    links to the task.

    The breakdown changes only while the request is 已立項; once it is 進行中 the
    breakdown is frozen (until change requests exist) and the item stays an item.
    """
    action = _lock_action(action, "convert")
    request = action.meeting.request
    if not permissions.is_confirmer(by, action):
        raise PermissionDenied(
            _("Only the organiser, the request's initiator or the PMO decide on an action item.")
        )
    # Then the request's stage: it says why nobody may convert now.
    if request is not None and request.state == RequestState.IN_PROGRESS:
        raise ActionRefused(
            _(
                "The task breakdown of %(request)s is frozen while the request is “%(state)s”: "
                "tasks are added through a change request, which the portal does not have "
                "yet. Keep tracking this as an action item."
            )
            % {"request": request.number or request.name, "state": request.get_state_display()}
        )
    if request is not None and request.state != RequestState.APPROVED:
        raise ActionRefused(
            _("An action item becomes a task only while the request is “%(state)s”.")
            % {"state": RequestState.APPROVED.label}
        )
    if not permissions.can_convert(by, action):
        raise PermissionDenied(
            _(
                "Only the request's initiator or the PMO, who edit its task breakdown, "
                "turn an action item into a task."
            )
        )
    task = task_services.task_save(
        request=request,
        by=by,
        data={
            "name": action.description[: Task._meta.get_field("name").max_length],
            "description": action.description,
            "responsible_department": action.responsible_department,
            "start_date": action.start_date,
            "due_at": action.due_at,
            "deliverable": action.deliverable,
            "importance": action.importance,
        },
        raci={"R": action.owner, "A": _accountable_for(action)},
    )
    action.converted_task = task
    action.completed_at = timezone.now()
    _action_transition(
        action,
        "convert",
        kind=ActionEventKind.CONVERT,
        by=by,
        fields=["converted_task", "completed_at"],
        params={"task_id": task.pk, "task": task.number},
    )
    _tell_owner(action, "action_item_converted", by, task=task)
    return task


@transaction.atomic
def action_cancel(*, action: ActionItem, by: User, reason: str) -> ActionItem:
    """The item is no longer needed; the owner is told why."""
    action = _lock_action(action, "cancel")
    if not permissions.can_cancel_action(by, action):
        raise PermissionDenied(
            _("Only the organiser, the request's initiator or the PMO cancel an action item.")
        )
    reason = _required(reason, "reason", _("Say why the action item is no longer needed."))
    action.completed_at = timezone.now()
    _action_transition(
        action,
        "cancel",
        kind=ActionEventKind.CANCEL,
        by=by,
        comment=reason,
        fields=["completed_at"],
    )
    _tell_owner(action, "action_item_cancelled", by, reason=reason)
    return action


# --- the next meeting and series ---------------------------------------------------------

# An agenda item's title holds at most this many characters of a carried-over item.
FOLLOW_UP_LENGTH = 150


def follow_up_agenda(focus: str, actions, problems) -> list[str]:
    """The next meeting's agenda: the focus, one line an item, then a follow-up of each
    open action item and problem carried over, in the portal's language (the agenda is
    the meeting's text, the same for every reader)."""
    lines = [line.strip() for line in focus.splitlines() if line.strip()]
    with translation.override(settings.LANGUAGE_CODE):
        for item in [*actions, *problems]:
            text = " ".join(item.description.split())
            if len(text) > FOLLOW_UP_LENGTH:
                text = text[: FOLLOW_UP_LENGTH - 1] + "…"
            lines.append(_("Follow-up: %(item)s") % {"item": text})
    return lines


@transaction.atomic
def meeting_schedule_next(*, meeting: Meeting, by: User, short_notice_reason: str = "") -> Meeting:
    """Schedule the next meeting from the filed minutes' 下次溝通時間 and 重點: the same
    kind (a weekly progress meeting after a kick-off), people, departments, request and
    series, as long as this one; its agenda is the focus, then a follow-up of each open
    item carried over (carryover.open_items). It is then an ordinary meeting_schedule
    (the invitation goes)."""
    meeting = _lock_meeting(meeting)
    request = _lock_open_request(meeting.request) if meeting.request_id else None
    if not permissions.can_write_minutes(by, meeting):
        raise PermissionDenied(
            _("Only the organiser, the recorder or the PMO schedule the next meeting.")
        )
    minutes = _last_filed(meeting)
    if meeting.state != MeetingState.MINUTES_FILED or minutes is None:
        raise MeetingRefused(_("The next meeting is scheduled from filed minutes."))
    if minutes.next_meeting_at is None:
        raise MeetingRefused(_("The minutes do not give the next meeting's time."))
    already = meeting.following.exclude(state=MeetingState.CANCELLED).first()
    already = already or carryover.next_in_series(meeting)
    if already is not None:
        raise MeetingConflict(
            _("The next meeting is already scheduled: %(meeting)s.") % {"meeting": already}
        )
    starts_at = minutes.next_meeting_at
    # The meeting to be, as carryover reads it: what it starts from is what is open in
    # this one and the ones before it.
    following = Meeting(series=meeting.series, previous=meeting, starts_at=starts_at)
    actions, problems = carryover.open_items(following)
    return _schedule(
        by=by,
        request=request,
        topic=meeting.topic,
        # After the kick-off the work is followed week by week (seed 002's 周例會).
        kind=MeetingKind.WEEKLY if meeting.kind == MeetingKind.KICKOFF else meeting.kind,
        starts_at=starts_at,
        ends_at=starts_at + (meeting.ends_at - meeting.starts_at),
        form=meeting.form,
        location=meeting.location,
        online_link=meeting.online_link,
        organiser=meeting.organiser,
        recorder=meeting.recorder,
        departments=list(meeting.departments.all()),
        participants=list(meeting.participants.all()),
        guests=meeting.guests,
        agenda=follow_up_agenda(minutes.next_focus, actions, problems),
        focus=minutes.next_focus,
        previous=meeting,
        series=meeting.series,
        series_date=None,
        short_notice_reason=short_notice_reason,
    )


@transaction.atomic
def series_create(
    *,
    by: User,
    request: CollabRequest | None = None,
    topic: str,
    weekday: int,
    start_time: dt.time,
    duration_minutes: int,
    first_date: dt.date,
    until: dt.date | None = None,
    holiday_rule: str,
    form: str,
    location: str = "",
    online_link: str = "",
    organiser: User | None = None,
    recorder: User,
    departments: Sequence[Department] = (),
    participants: Sequence[User] = (),
    guests: str = "",
    agenda_template: str = "",
) -> MeetingSeries:
    """Start a weekly series (週例會) and create its meetings of the next four weeks
    (meetings_app.series.generate), each with the agenda template."""
    if request is not None:
        request = _lock_open_request(request)
    _check_may_schedule(by, request)
    plan = {
        "request": request,
        "topic": topic,
        "form": form,
        "location": location,
        "online_link": online_link,
        "organiser": organiser or by,
        "recorder": recorder,
        "departments": list(departments)
        or (request_departments(request) if request is not None else []),
        "participants": _unique(participants),
        "agenda": [],
    }
    errors = _plan_errors(plan, notice_from=None)
    if not 0 <= int(weekday) <= 6:
        errors["weekday"] = [_("Choose the day of the week.")]
    if int(duration_minutes) <= 0:
        errors["duration_minutes"] = [_("Give how long each meeting lasts.")]
    if first_date < timezone.localdate():
        errors["first_date"] = [_("The first meeting cannot be in the past.")]
    if until is not None and until < first_date:
        errors["until"] = [_("The series must end after its first meeting.")]
    if errors:
        raise ValidationError(errors)
    series = MeetingSeries(
        request=request,
        topic=topic.strip(),
        weekday=int(weekday),
        start_time=start_time,
        duration_minutes=int(duration_minutes),
        first_date=first_date,
        until=until,
        holiday_rule=holiday_rule,
        form=form,
        location=location.strip(),
        online_link=online_link.strip(),
        organiser=plan["organiser"],
        recorder=recorder,
        guests=guests.strip(),
        agenda_template=agenda_template.strip(),
        created_by=by,
    )
    series.full_clean(exclude=["uid"])
    series.save()
    series.departments.set(plan["departments"])
    series.participants.set(plan["participants"])
    series_module.generate(series, by=by, schedule=meeting_schedule)
    return series


@transaction.atomic
def series_stop(*, series: MeetingSeries, by: User, reason: str) -> MeetingSeries:
    """Stop a weekly series: it makes no more meetings (the daily extension skips it),
    it ends today at the latest, and each of its meetings still to come is cancelled
    as meeting_cancel does (the calendars get a CANCEL; the reason is kept).

    A series has no history of its own: the reason is the cancelled meetings' history
    line (MeetingEventKind.CANCELLED) and their cancel reason.
    """
    _lock_case(series.request_id)
    series = (
        MeetingSeries.objects.select_for_update(of=("self",))
        .select_related("request")
        .get(pk=series.pk)
    )
    if not series.is_active:
        raise MeetingRefused(_("This weekly series has already ended."))
    if not permissions.can_stop_series(by, series):
        raise PermissionDenied(_("Only the organiser, the recorder or the PMO stop a series."))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the series stops.")})
    today = timezone.localdate()
    series.is_active = False
    fields = ["is_active"]
    # It ends today at the latest, never before it began (a series stopped before its
    # first meeting keeps its dates: inactive, it makes none).
    if (series.until is None or series.until > today) and series.first_date <= today:
        series.until = today
        fields.append("until")
    series.save(update_fields=fields)
    now = timezone.now()
    coming = series.meetings.filter(state=MeetingState.SCHEDULED, starts_at__gt=now)
    for meeting in coming.order_by("starts_at", "pk"):
        # Locked in the services' order (the request, held above, then the meeting).
        meeting = _lock_meeting(meeting, "cancel")
        _call_off(meeting, by=by, reason=reason)
    return series
