"""Reads over meetings, minutes and action items for the pages.

Every read starts from meetings_app.permissions' filtered querysets, so that no page can
forget the check; the views parse input, call these and render. The list pages' reads
run a constant number of queries whatever the number of rows (tests pin it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from collab.calendar import WorkingDays
from collab.models import Department, User
from collab.permissions import get_or_404
from requests_app.models import CollabRequest
from tasks_app.models import Task, TaskAssignment

from . import carryover, metrics, permissions
from .choices import OPEN_ACTION_STATES, ActionState, MeetingState, MinutesState
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
    Problem,
)

# --- lists of meetings -------------------------------------------------------------------


def with_list_fields(meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """Add what a meeting list's row shows: its request, people and series; the latest
    filed version of its minutes, whether a draft is open, whether they are overdue (the
    minutes_overdue rule's definition, meetings_app.metrics), and its open action items."""
    draft = Minutes.objects.filter(meeting=OuterRef("pk"), state=MinutesState.DRAFT)
    today = timezone.localdate()
    # As the minutes_overdue rule says it, of the meetings it watches.
    late = (
        metrics.minutes_overdue_q(WorkingDays(today), today, metrics.minutes_days())
        & metrics.watched_q()
    )
    return meetings.select_related("request", "organiser", "recorder", "series").annotate(
        filed_version=Max("minutes__version", filter=Q(minutes__state=MinutesState.FILED)),
        has_draft=Exists(draft),
        minutes_late=ExpressionWrapper(late, output_field=BooleanField()),
        open_actions=Count(
            "actions", filter=Q(actions__state__in=OPEN_ACTION_STATES), distinct=True
        ),
    )


def _attends(user: User) -> Q:
    """The meetings `user` organises, records or is invited to."""
    invited = Meeting.participants.through.objects.filter(meeting_id=OuterRef("pk"), user=user)
    return Q(organiser=user) | Q(recorder=user) | Q(Exists(invited))


def minutes_to_write(
    user: User, now: dt.datetime, *, visible: QuerySet[Meeting] | None = None
) -> QuerySet[Meeting]:
    """Return the meetings `user` records or organises that are over and have no filed
    minutes, with the list fields, the longest waiting first. `visible`: the meetings
    `user` may see, when the caller has read them already."""
    visible = permissions.visible_meetings(user) if visible is None else visible
    waiting = visible.filter(
        Q(organiser=user) | Q(recorder=user), state=MeetingState.SCHEDULED, ends_at__lt=now
    )
    return with_list_fields(waiting).order_by("starts_at", "pk")


def my_lists(user: User, now: dt.datetime) -> dict[str, QuerySet]:
    """Return the lists of "my meetings", lazy, from one reading of what `user` may see:
    upcoming (the meetings they organise, record or attend that are not over, the
    soonest first; cancelled ones too: that is news), past (the latest first), the
    minutes they have to write (minutes_to_write) and their open action items."""
    visible = permissions.visible_meetings(user)
    attended = with_list_fields(visible.filter(_attends(user)))
    return {
        "upcoming": attended.filter(ends_at__gte=now).order_by("starts_at", "pk"),
        "past": attended.filter(ends_at__lt=now).order_by("-starts_at", "-pk"),
        "minutes": minutes_to_write(user, now, visible=visible),
        "actions": actions_open_of(user),
    }


def actions_open_of(user: User) -> QuerySet[ActionItem]:
    """The open action items `user` owns, the soonest due first."""
    actions = ActionItem.objects.filter(owner=user, state__in=OPEN_ACTION_STATES)
    visible = permissions.visible_actions(user, actions)
    return actions_with_people(visible).select_related("meeting__request").order_by("due_at", "pk")


def request_for_meetings(user: User, pk) -> CollabRequest:
    """Return a request whose meetings `user` may list, or raise Http404."""
    return get_or_404(permissions.requests_with_meetings_seen(user), pk)


def request_meetings(user: User, request: CollabRequest) -> QuerySet[Meeting]:
    """Return the request's meetings `user` may see, the latest first."""
    meetings = permissions.visible_meetings(user, Meeting.objects.filter(request=request))
    return with_list_fields(meetings).order_by("-starts_at", "-pk")


def request_series(user: User, request: CollabRequest) -> list[MeetingSeries]:
    """Return the request's weekly series `user` may see."""
    series = permissions.visible_series(user, MeetingSeries.objects.filter(request=request))
    return list(series.select_related("organiser").order_by("topic", "pk"))


@dataclass(frozen=True)
class RequestSummary:
    """What the request page says about its meetings: how many, and the next one."""

    count: int
    upcoming: Meeting | None


def request_summary(user: User, request: CollabRequest) -> RequestSummary:
    """Count the request's meetings `user` may see and find the next one (two queries)."""
    meetings = permissions.visible_meetings(user, Meeting.objects.filter(request=request))
    upcoming = (
        meetings.filter(state=MeetingState.SCHEDULED, ends_at__gte=timezone.now())
        .order_by("starts_at", "pk")
        .first()
    )
    return RequestSummary(count=meetings.count(), upcoming=upcoming)


def calendar_meetings(user: User, start: dt.datetime, end: dt.datetime) -> list[Meeting]:
    """Return the meetings `user` may see that start in [start, end), in time order."""
    meetings = permissions.visible_meetings(user).filter(starts_at__gte=start, starts_at__lt=end)
    return list(meetings.select_related("request").order_by("starts_at", "pk"))


# --- the meeting page --------------------------------------------------------------------


def people() -> QuerySet[User]:
    """People as the meeting pages list them: with their department, by department."""
    return User.objects.select_related("department").order_by(
        "department__code", "full_name", "username"
    )


def meeting_for_page(user: User, pk) -> Meeting:
    """Return a meeting `user` may see, with everything its page shows, or raise Http404.

    The filed versions of its minutes are in `meeting.versions` (oldest first).
    """
    queryset = Meeting.objects.select_related(
        "request",
        "organiser__department",
        "recorder__department",
        "series",
        "previous",
    ).prefetch_related(
        "departments",
        Prefetch("participants", queryset=people()),
        Prefetch("agenda", queryset=AgendaItem.objects.select_related("department")),
        Prefetch(
            "minutes",
            queryset=Minutes.objects.exclude(state=MinutesState.DRAFT)
            .select_related("filed_by")
            .order_by("version"),
            to_attr="versions",
        ),
        Prefetch("comments", queryset=MeetingComment.objects.select_related("author__department")),
        Prefetch("events", queryset=MeetingEvent.objects.select_related("by", "on_behalf_of")),
    )
    return permissions.get_visible_or_404(user, pk, queryset)


def meeting_with_comments(user: User, pk) -> Meeting:
    """Return a meeting `user` may see with its comments and their authors, or Http404."""
    queryset = Meeting.objects.select_related("request").prefetch_related(
        Prefetch("comments", queryset=MeetingComment.objects.select_related("author__department"))
    )
    return permissions.get_visible_or_404(user, pk, queryset)


def carried_over(user: User, meeting: Meeting) -> tuple[list[ActionItem], list[Problem]]:
    """Return the open action items and problems `meeting` carries over from earlier
    meetings (carryover.open_items), those `user` may see: of a meeting they see, or
    their own action items. One query more than open_items when there are any."""
    actions, problems = carryover.open_items(meeting)
    if not (actions or problems) or user.sees_everything:
        return actions, problems
    ids = {item.meeting_id for item in [*actions, *problems]}
    seen = set(
        permissions.visible_meetings(user, Meeting.objects.filter(pk__in=ids)).values_list(
            "pk", flat=True
        )
    )
    return (
        [a for a in actions if a.meeting_id in seen or a.owner_id == user.pk],
        [p for p in problems if p.meeting_id in seen],
    )


def meeting_for_action(user: User, pk) -> Meeting:
    """Return a meeting `user` may see, with its request (the rules read its archive
    flag), or raise Http404."""
    return permissions.get_visible_or_404(user, pk, Meeting.objects.select_related("request"))


def meeting_for_form(user: User, pk) -> Meeting:
    """Return a meeting `user` may see with what its form shows, or raise Http404."""
    queryset = Meeting.objects.select_related("request").prefetch_related(
        "departments", "participants", "agenda"
    )
    return permissions.get_visible_or_404(user, pk, queryset)


def minutes_version(meeting: Meeting, version: int | None) -> Minutes | None:
    """Return the filed (or superseded) version `version` of the meeting's minutes, the
    latest filed one when `version` is None, with its items, attendance and tasks; None
    when there is none (or no such version)."""
    versions = meeting.versions
    if version is None:
        shown = next((m for m in reversed(versions) if m.state == MinutesState.FILED), None)
    else:
        shown = next((m for m in versions if m.version == version), None)
    if shown is None:
        return None
    return (
        Minutes.objects.filter(pk=shown.pk)
        .select_related("filed_by", "drafted_by")
        .prefetch_related(
            "items",
            Prefetch(
                "attendance",
                queryset=MinutesAttendance.objects.select_related("user__department"),
            ),
            Prefetch("tasks_discussed", queryset=Task.objects.order_by("sequence")),
        )
        .get()
    )


def open_draft(meeting: Meeting) -> Minutes | None:
    """Return the meeting's open draft of its minutes, or None."""
    return meeting.minutes.filter(state=MinutesState.DRAFT).first()


def meeting_problems(meeting: Meeting) -> list[Problem]:
    """Return the problems of the meeting's filed minutes (a draft's are the editor's)."""
    return list(meeting.problems.filter(is_filed=True).select_related("department"))


def actions_with_people(actions: QuerySet[ActionItem]) -> QuerySet[ActionItem]:
    """Add what an action item's row shows: owner, department, problem, task."""
    return actions.select_related(
        "owner", "responsible_department", "problem", "converted_task", "meeting"
    )


def meeting_actions(user: User, meeting: Meeting) -> list[ActionItem]:
    """Return the meeting's action items `user` may see, without a draft's."""
    actions = meeting.actions.exclude(state=ActionState.DRAFT)
    return list(actions_with_people(permissions.visible_actions(user, actions)))


def meeting_events(meeting: Meeting) -> list[MeetingEvent]:
    """Return the meeting's history from its prefetched events, with the state labels."""
    return _labelled(list(meeting.events.all()), dict(MeetingState.choices))


def _labelled(events: list, labels: dict) -> list:
    for event in events:
        event.from_label = labels.get(event.from_state, event.from_state)
        event.to_label = labels.get(event.to_state, event.to_state)
    return events


def problem_of(meeting: Meeting, pk) -> Problem:
    """Return one of the meeting's filed problems, or raise Http404."""
    return get_object_or_404(Problem, pk=pk, meeting=meeting, is_filed=True)


# --- the minutes editor ------------------------------------------------------------------


def draft_for_editor(minutes: Minutes) -> Minutes:
    """Return the draft with its items, attendance (people and departments) and tasks."""
    return (
        Minutes.objects.filter(pk=minutes.pk)
        .select_related("meeting__request")
        .prefetch_related(
            "items",
            Prefetch(
                "attendance",
                queryset=MinutesAttendance.objects.select_related("user__department"),
            ),
            "tasks_discussed",
        )
        .get()
    )


def editor_problems(meeting: Meeting) -> list[Problem]:
    """Return the problems the minutes editor lists: every problem of the meeting."""
    return list(meeting.problems.order_by("position", "pk"))


def editor_drafts(meeting: Meeting) -> list[ActionItem]:
    """Return the action items the minutes editor edits: the draft's."""
    return list(meeting.actions.filter(state=ActionState.DRAFT).order_by("position", "pk"))


def editor_filed_actions(meeting: Meeting) -> list[ActionItem]:
    """Return the action items a correction lists read-only: those already filed (live
    records, changed through their own page)."""
    actions = meeting.actions.exclude(state=ActionState.DRAFT)
    return list(actions_with_people(actions).order_by("position", "pk"))


def departments() -> list[Department]:
    """Return the active departments, as the forms' menus list them."""
    return list(Department.objects.filter(is_active=True).order_by("code"))


def active_people() -> list[User]:
    """Return the active people, by department, as the forms' menus list them."""
    return list(people().filter(is_active=True))


def breakdown_tasks(request: CollabRequest) -> list[Task]:
    """Return the request's tasks with their RACI people, for a kick-off's minutes."""
    return list(
        request.tasks.prefetch_related(
            Prefetch(
                "assignments",
                queryset=TaskAssignment.objects.select_related("user").order_by("role", "pk"),
            )
        ).order_by("sequence")
    )


# --- action items ------------------------------------------------------------------------


def action_for_page(user: User, pk) -> ActionItem:
    """Return an action item `user` may see, with everything its page shows, or raise
    Http404."""
    queryset = ActionItem.objects.select_related(
        "meeting__request",
        "meeting__organiser",
        "owner__department",
        "responsible_department",
        "problem",
        "converted_task",
        "raised_in",
    ).prefetch_related(
        Prefetch("updates", queryset=ActionProgress.objects.select_related("author")),
        Prefetch(
            "deliveries",
            queryset=ActionDelivery.objects.select_related("submitted_by").order_by("-round"),
        ),
        Prefetch("events", queryset=ActionEvent.objects.select_related("by", "on_behalf_of")),
    )
    return permissions.get_visible_action_or_404(user, pk, queryset)


def action_for_act(user: User, pk) -> ActionItem:
    """Return an action item `user` may see, with its meeting and request, or Http404."""
    queryset = ActionItem.objects.select_related("meeting__request")
    return permissions.get_visible_action_or_404(user, pk, queryset)


def action_events(action: ActionItem) -> list[ActionEvent]:
    """Return the action item's history from its prefetched events, with state labels."""
    return _labelled(list(action.events.all()), dict(ActionState.choices))


def action_delivery(action: ActionItem, pk) -> ActionDelivery:
    """Return one of the action item's deliveries that holds a file, or raise Http404
    (a malformed pk included)."""
    return get_or_404(ActionDelivery.objects.filter(action=action).exclude(file=""), pk)


# --- weekly series -----------------------------------------------------------------------


def series_for_page(user: User, pk) -> MeetingSeries:
    """Return a series `user` may see, with what its page shows, or raise Http404."""
    queryset = MeetingSeries.objects.select_related(
        "request", "organiser", "recorder"
    ).prefetch_related("departments", Prefetch("participants", queryset=people()))
    return get_or_404(permissions.visible_series(user, queryset), pk)


def series_meetings(user: User, series: MeetingSeries) -> QuerySet[Meeting]:
    """Return the series' meetings `user` may see, with the list fields, in time order."""
    meetings = permissions.visible_meetings(user, Meeting.objects.filter(series=series))
    return with_list_fields(meetings).order_by("starts_at", "pk")


def case_search_texts(request: CollabRequest) -> list[str]:
    """What the knowledge base searches of a case's meetings (review_app's archive): each
    meeting's topic, the conclusions of its minutes in force, its problems and action
    items. Filed minutes only: a draft is nobody's record. Four queries."""
    meetings = Meeting.objects.filter(request=request).exclude(state=MeetingState.CANCELLED)
    texts = list(meetings.order_by("starts_at", "pk").values_list("topic", flat=True))
    texts += Minutes.objects.filter(meeting__in=meetings, state=MinutesState.FILED).values_list(
        "items__conclusion", flat=True
    )
    texts += Problem.objects.filter(meeting__in=meetings, is_filed=True).values_list(
        "description", flat=True
    )
    texts += (
        ActionItem.objects.filter(meeting__in=meetings)
        .exclude(state__in=[ActionState.DRAFT, ActionState.CANCELLED])
        .values_list("description", flat=True)
    )
    return [text for text in texts if text]
