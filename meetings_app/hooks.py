"""What meetings_app shows on the other apps' pages (issue 15 §3, §6).

Registered with the lower apps from MeetingsAppConfig.ready() (register()):
- 我的任務 (tasks_app.hooks.register_my_work): "My action items", the open action items
  the person owns, with a task's timing badges (tasks_app.deadlines: the same 延期 as a
  task, from the page's own Deadlines);
- a request's board (tasks_app.hooks.register_board_extras): the action items of the
  request's meetings, next to its tasks.
Called by the higher apps, as an area of review_app's case page and of the to-do page
(review_app.views registers this module as the area "meetings"):
- case_context: the case's "Meetings and minutes" card, read-only once archived;
- todo_context: minutes to write, action items to confirm, my open action items.

Each panel is a template of templates/meetings_app/includes/ and reads in a fixed number
of queries, whatever the number of rows.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from collab.calendar import WorkingDays
from requests_app.models import CollabRequest
from tasks_app import hooks as task_hooks
from tasks_app.deadlines import WORKING, Deadlines

from . import metrics, permissions, selectors
from .choices import OPEN_ACTION_STATES, ActionState
from .models import ActionItem

MY_WORK_PANEL = "meetings_app/includes/panel_my_actions.html"
BOARD_PANEL = "meetings_app/includes/panel_board_actions.html"


def _not_archived(queryset: QuerySet, meeting: str = "meeting__") -> QuerySet:
    """Leave out the meetings (or their items) of an archived case: nobody acts on them
    any more."""
    return queryset.exclude(**{f"{meeting}request__is_archived": True})


# --- 我的任務 and the board (tasks_app) -----------------------------------------------


def my_work(user, deadlines: Deadlines) -> dict:
    """The open action items `user` owns, soonest due first, with their badges."""
    actions = deadlines.mark(_not_archived(selectors.actions_open_of(user)))
    if not actions:
        return {}
    return {
        "my_work_panels": [MY_WORK_PANEL],
        "my_actions": actions,
        "my_work_open": len(actions),
        "my_work_late": sum(1 for action in actions if action.badges.late),
    }


def board_extras(request: CollabRequest, user, deadlines: Deadlines) -> dict:
    """The filed action items of the request's meetings that `user` may see, with their
    badges, soonest due first."""
    actions = ActionItem.objects.filter(meeting__request=request).exclude(state=ActionState.DRAFT)
    visible = permissions.visible_actions(user, actions)
    rows = deadlines.mark(selectors.actions_with_people(visible).order_by("due_at", "pk"))
    if not rows:
        return {}
    return {
        "board_panels": [BOARD_PANEL],
        "board_actions": rows,
        "board_actions_open": sum(1 for action in rows if action.state in OPEN_ACTION_STATES),
        "board_actions_late": sum(1 for action in rows if action.badges.late),
    }


# --- the to-do page and the case page (review_app, portfolio_app) ---------------------


def actions_to_confirm(user) -> QuerySet[ActionItem]:
    """The deliverables awaiting `user`'s closure confirmation (閉環確認): the submitted
    action items of the meetings they organise or of the requests they initiated, the
    longest waiting first. (The PMO may confirm any item, but is not asked to.)"""
    actions = ActionItem.objects.filter(state=ActionState.SUBMITTED).filter(
        Q(meeting__organiser=user) | Q(meeting__request__initiator=user)
    )
    return (
        permissions.visible_actions(user, _not_archived(actions))
        .select_related("meeting__request", "owner", "responsible_department")
        .order_by("submitted_at", "pk")
    )


def todo_context(user) -> dict:
    """Context of templates/meetings_app/includes/panel_todo.html on the to-do page.

    "meetings_todo_count" says how many items wait; zero counts as nothing to do.
    """
    now = timezone.now()
    minutes = list(_not_archived(selectors.minutes_to_write(user, now), meeting=""))
    if minutes:
        today = timezone.localdate(now)
        calendar, days = WorkingDays(today), metrics.minutes_days()
        for meeting in minutes:
            meeting.minutes_due_by = metrics.minutes_due_by(
                calendar, timezone.localdate(meeting.starts_at), days
            )
            meeting.minutes_late = meeting.minutes_due_by < now
    to_confirm = list(actions_to_confirm(user))
    # The owner's items still to deliver; a submitted one waits on its confirmer.
    mine = Deadlines(now=now).mark(
        _not_archived(selectors.actions_open_of(user)).filter(state__in=WORKING)
    )
    return {
        "meetings_todo": {"minutes": minutes, "to_confirm": to_confirm, "mine": mine},
        "meetings_todo_count": len(minutes) + len(to_confirm) + len(mine),
    }


def case_context(user, collab_request: CollabRequest) -> dict:
    """Context of templates/meetings_app/includes/panel_case.html on the case page: the
    case's meetings `user` may see, with their minutes; scheduling only while the
    request is open and not archived (permissions.can_schedule)."""
    return {
        "meetings_case": {
            "meetings": list(selectors.request_meetings(user, collab_request)),
            "can_schedule": permissions.can_schedule(user, collab_request),
            "list_url": reverse("meetings_app:request", args=[collab_request.pk]),
            "new_url": f"{reverse('meetings_app:new')}?request={collab_request.pk}",
        }
    }


def register() -> None:
    """Add the panels to tasks_app's pages (ready())."""
    task_hooks.register_my_work(my_work)
    task_hooks.register_board_extras(board_extras)
