"""Who may see and do what with meetings and action items. Every view, download, PDF,
calendar feed and admin page of this app asks here; nothing else decides.

Visibility (issue 15 §8):
- a meeting of a request is visible to whoever may see the request
  (requests_app.permissions.visible_requests: its departments, the initiator, a RACI
  role's grant, an archived non-confidential case for all staff), and to the meeting's
  organiser, recorder and participants, to the owners of its action items and to the
  heads (and today's deputies) of their responsible departments;
- a meeting of no request (a standing cross-department meeting) is visible to its
  organiser, recorder and participants and to the members, heads and today's deputies of
  its departments;
- the PMO, executives and platform administrators see every meeting.
A request's meeting list opens for whoever sees the request or one of its meetings (an
invited guest), and lists only the meetings they see. A weekly series is visible to its
organiser, recorder and participants, with any of its meetings, and with its request.
An action item is visible with its meeting, to its owner and to its responsible
department's heads and today's deputies (the warnings and escalations reach them).
A draft's action items and problems (minutes not filed yet) are the organiser's, the
recorder's and the PMO's only (not the executives', who read what was filed).

Writing: the organiser, the recorder and the PMO edit a meeting and its minutes; the
participants and the people who take part in its request comment. The owner works on an
action item; the organiser, the request's initiator and the PMO confirm its closure, send
it back, turn it into a task or cancel it. Nothing changes on an archived case, and a
cancelled meeting takes no more minutes.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from collab import selectors as org
from collab.models import User
from collab.permissions import get_or_404
from requests_app import permissions as request_permissions
from requests_app.choices import OPEN_STATES
from requests_app.models import CollabRequest
from tasks_app import permissions as task_permissions

from .choices import ActionState, MeetingState
from .models import ActionItem, Meeting, MeetingSeries


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def _manager(user: User) -> bool:
    """The PMO and platform administrators act on every meeting."""
    return user.is_pmo or user.is_platform_admin


def _departments_of(user: User) -> set[int]:
    """The departments `user` belongs to, leads, or acts for as a deputy today."""
    return org.user_department_ids(user) | set(
        org.departments_actable(user=user).values_list("pk", flat=True)
    )


def _departments_led(user: User) -> list[int]:
    """The departments `user` heads, or acts for as a deputy today."""
    return list(org.departments_actable(user=user).values_list("pk", flat=True))


def _attends(user: User) -> Q:
    """The meetings `user` organises, records, is invited to, or owns a filed action item
    of (on a Meeting queryset): the owner reads the meeting their work comes from."""
    invited = Meeting.participants.through.objects.filter(meeting_id=OuterRef("pk"), user=user)
    owns = ActionItem.objects.filter(meeting_id=OuterRef("pk"), owner=user).exclude(
        state=ActionState.DRAFT
    )
    return Q(organiser=user) | Q(recorder=user) | Q(Exists(invited)) | Q(Exists(owns))


def visible_meetings(user: User, queryset: QuerySet | None = None) -> QuerySet[Meeting]:
    """Return the meetings `user` may see; every meeting list and lookup starts here."""
    queryset = Meeting.objects.all() if queryset is None else queryset
    if not _active(user):
        return queryset.none()
    if user.sees_everything:
        return queryset
    rule = _attends(user) | Q(
        request__isnull=False, request__in=request_permissions.visible_requests(user).values("pk")
    )
    led = _departments_led(user)
    if led:
        # The meeting an item of their department comes from, for its heads and deputies.
        assigned = ActionItem.objects.filter(
            meeting_id=OuterRef("pk"), responsible_department_id__in=led
        ).exclude(state=ActionState.DRAFT)
        rule |= Q(Exists(assigned))
    departments = _departments_of(user)
    if departments:
        of_departments = Meeting.departments.through.objects.filter(
            meeting_id=OuterRef("pk"), department_id__in=departments
        )
        rule |= Q(request__isnull=True) & Q(Exists(of_departments))
    return queryset.filter(rule)


def requests_with_meetings_seen(user: User) -> QuerySet[CollabRequest]:
    """Return the requests whose meetings `user` may list: those they may see, and those
    with a meeting they may see (a guest invited from another department)."""
    seen = visible_meetings(user).filter(request=OuterRef("pk"))
    visible = request_permissions.visible_requests(user).values("pk")
    return CollabRequest.objects.filter(Q(pk__in=visible) | Q(Exists(seen)))


def visible_series(user: User, queryset: QuerySet | None = None) -> QuerySet[MeetingSeries]:
    """Return the series `user` may see: their own (organiser, recorder, participant),
    those with a meeting they see, and those of a request whose meetings they see."""
    queryset = MeetingSeries.objects.all() if queryset is None else queryset
    if not _active(user):
        return queryset.none()
    if user.sees_everything:
        return queryset
    invited = MeetingSeries.participants.through.objects.filter(
        meetingseries_id=OuterRef("pk"), user=user
    )
    seen = visible_meetings(user).filter(series=OuterRef("pk"))
    return queryset.filter(
        Q(organiser=user)
        | Q(recorder=user)
        | Q(Exists(invited))
        | Q(Exists(seen))
        | Q(request__in=request_permissions.visible_requests(user).values("pk"))
    )


def get_visible_or_404(user: User, pk, queryset: QuerySet | None = None) -> Meeting:
    return get_or_404(visible_meetings(user, queryset), pk)


def can_view(user: User, meeting: Meeting) -> bool:
    return visible_meetings(user).filter(pk=meeting.pk).exists()


def _archived(meeting: Meeting) -> bool:
    return bool(meeting.request_id and meeting.request.is_archived)


def is_editor(user: User, meeting: Meeting) -> bool:
    """The organiser, the recorder or the PMO (whatever the meeting's state)."""
    return _active(user) and (
        _manager(user) or user.pk in (meeting.organiser_id, meeting.recorder_id)
    )


def can_schedule(user: User, request: CollabRequest | None = None) -> bool:
    """Who may call a meeting: for a request, whoever takes part in it while it is open;
    a standing meeting of no request, the PMO and department heads (and their deputies)."""
    if not _active(user):
        return False
    if request is None:
        return _manager(user) or bool(org.departments_actable(user=user).exists())
    if request.is_archived or request.state not in OPEN_STATES:
        return False
    return request_permissions.takes_part(user, request)


def can_edit(user: User, meeting: Meeting) -> bool:
    """Change the plan (time, place, people, agenda) or cancel: before the minutes."""
    return (
        meeting.state == MeetingState.SCHEDULED
        and not _archived(meeting)
        and is_editor(user, meeting)
    )


def can_cancel(user: User, meeting: Meeting) -> bool:
    return can_edit(user, meeting)


def can_write_minutes(user: User, meeting: Meeting) -> bool:
    """Draft, file or correct the minutes: the recorder, the organiser or the PMO."""
    return (
        meeting.state != MeetingState.CANCELLED
        and not _archived(meeting)
        and is_editor(user, meeting)
    )


def takes_part(user: User, meeting: Meeting) -> bool:
    """Invited, organising, recording, or taking part in the meeting's request."""
    if not _active(user):
        return False
    if is_editor(user, meeting) or meeting.participants.filter(pk=user.pk).exists():
        return True
    if meeting.request_id:
        return request_permissions.takes_part(user, meeting.request)
    return bool(_departments_of(user) & set(meeting.departments.values_list("pk", flat=True)))


def can_comment(user: User, meeting: Meeting) -> bool:
    return not _archived(meeting) and takes_part(user, meeting)


# --- action items ----------------------------------------------------------------------


def visible_actions(user: User, queryset: QuerySet | None = None) -> QuerySet[ActionItem]:
    """Return the action items `user` may see: those of a visible meeting (a draft's only
    to its editors), and their own."""
    queryset = ActionItem.objects.all() if queryset is None else queryset
    if not _active(user):
        return queryset.none()
    if _manager(user):
        return queryset
    filed = ~Q(state=ActionState.DRAFT)
    if user.sees_everything:  # an executive: every filed item
        return queryset.filter(filed)
    meetings = visible_meetings(user).values("pk")
    editor = Q(meeting__organiser=user) | Q(meeting__recorder=user)
    # The responsible department's heads and today's deputies (the warnings and the
    # escalation tell them) read the item too.
    sees = Q(owner=user) | Q(meeting__in=meetings)
    led = _departments_led(user)
    if led:
        sees |= Q(responsible_department_id__in=led)
    return queryset.filter((filed & sees) | editor)


def get_visible_action_or_404(user: User, pk, queryset: QuerySet | None = None) -> ActionItem:
    return get_or_404(visible_actions(user, queryset), pk)


def _action_archived(action: ActionItem) -> bool:
    return _archived(action.meeting)


def is_owner(user: User, action: ActionItem) -> bool:
    return _active(user) and action.owner_id == user.pk


def can_work_on(user: User, action: ActionItem) -> bool:
    """Start, log progress, submit, escalate: the owner, while it is open."""
    return (
        action.state in (ActionState.TODO, ActionState.IN_PROGRESS)
        and not _action_archived(action)
        and is_owner(user, action)
    )


def is_confirmer(user: User, action: ActionItem) -> bool:
    """閉環確認 is the organiser's, the request's initiator's or the PMO's."""
    if not _active(user):
        return False
    meeting = action.meeting
    initiator = meeting.request.initiator_id if meeting.request_id else None
    return _manager(user) or user.pk in (meeting.organiser_id, initiator)


def can_confirm(user: User, action: ActionItem) -> bool:
    """Accept the deliverable (閉環確認) or send it back."""
    return (
        action.state == ActionState.SUBMITTED
        and not _action_archived(action)
        and is_confirmer(user, action)
    )


def can_escalate(user: User, action: ActionItem) -> bool:
    """Mark it 需升級: its owner or a confirmer, while it is open and not escalated yet."""
    return (
        action.state in (ActionState.TODO, ActionState.IN_PROGRESS, ActionState.SUBMITTED)
        and action.escalated_at is None
        and not _action_archived(action)
        and (is_owner(user, action) or is_confirmer(user, action))
    )


def can_convert(user: User, action: ActionItem) -> bool:
    """Turn it into a task of the request's breakdown: a confirmer who may also edit the
    breakdown (tasks_app: the initiator or the PMO, while it is 已立項), on an open item
    of a meeting of that request."""
    meeting = action.meeting
    return (
        action.state in (ActionState.TODO, ActionState.IN_PROGRESS, ActionState.SUBMITTED)
        and meeting.request_id is not None
        and not _action_archived(action)
        and is_confirmer(user, action)
        and task_permissions.can_edit_breakdown(user, meeting.request)
    )


def can_cancel_action(user: User, action: ActionItem) -> bool:
    return (
        action.state in (ActionState.TODO, ActionState.IN_PROGRESS)
        and not _action_archived(action)
        and is_confirmer(user, action)
    )


# --- weekly series ---------------------------------------------------------------------


def is_series_editor(user: User, series: MeetingSeries) -> bool:
    """The series' organiser, its recorder or the PMO."""
    return _active(user) and (
        _manager(user) or user.pk in (series.organiser_id, series.recorder_id)
    )


def can_stop_series(user: User, series: MeetingSeries) -> bool:
    """Stop a weekly series (no more meetings; those to come are cancelled): an editor
    of the series, while it runs and its case is not archived."""
    return (
        series.is_active
        and not (series.request_id and series.request.is_archived)
        and is_series_editor(user, series)
    )
