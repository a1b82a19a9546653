"""The warnings of meetings and action items (collab.warnings), registered in ready().

- An action item is due soon, stale or overdue exactly as a task is: the task rules
  task_due_soon, task_stale and task_overdue cover it through extra scans
  (collab.warnings.register_extra), with the same conditions (tasks_app.deadlines, on
  an ActionItem queryset: it has a task's field names and state values) and the same
  admin row, thresholds and recipients. Its warning points at the action item and
  reads as its own: the owner is its Responsible person, the meeting's organiser its
  Accountable one, the responsible department's heads its heads, the request's
  initiator its initiator.
- minutes_overdue: a meeting held more than N working days ago (meetings_app.metrics)
  whose minutes are not filed; the recorder (as Responsible) and the organiser (as
  Accountable) hear of it every day until they are.

Only the items of meetings whose request is still open (its kick-off's items run while
it is 已立項, before the breakdown is signed; a completed, cancelled or archived case is
never open) or of no request count.
Each scan is one query over rows of named tuples, plus the people's (collab.warnings.
People), like the task rules'.
"""

from __future__ import annotations

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from collab.warnings import (
    Hit,
    People,
    RuleSpec,
    day_text,
    link,
    moment_text,
    register,
    register_extra,
)
from tasks_app import deadlines
from tasks_app.deadlines import Deadlines

from . import metrics
from .models import ActionItem, Meeting

OVERDUE_RULE = "task_overdue"


def _quoted(text: str) -> str:
    """An action item's description as a warning quotes it: on one line, short."""
    return Truncator(" ".join(text.split())).chars(40)


def _in_scope(queryset: QuerySet, meeting: str = "meeting__") -> QuerySet:
    """Narrow to the meetings (or their items) watched (metrics.watched_q)."""
    return queryset.filter(metrics.watched_q(meeting))


# --- action items under the task rules ------------------------------------------------


def _actions(condition: Q, *extra: str) -> QuerySet:
    """The action items under `condition` in scope, as rows with what a hit reads."""
    return (
        _in_scope(ActionItem.objects.filter(condition))
        .annotate(
            organiser_id=F("meeting__organiser_id"),
            initiator_id=F("meeting__request__initiator_id"),
            topic=F("meeting__topic"),
            held_at=F("meeting__starts_at"),
        )
        .order_by()
        .values_list(
            "pk",
            "description",
            "due_at",
            "progress_percent",
            "responsible_department_id",
            "owner_id",
            "organiser_id",
            "initiator_id",
            "topic",
            "held_at",
            *extra,
            named=True,
        )
    )


def _action_hits(actions: QuerySet, now, message, values=None):
    """Yield a Hit per action item row, pointing at the action item with `message`."""
    rows = list(actions)
    heads = People(
        users=[u for row in rows for u in (row.owner_id, row.organiser_id, row.initiator_id)],
        departments={row.responsible_department_id for row in rows},
        on=timezone.localdate(now),
    ).heads_by_department()
    url = link("meetings_app:action")
    for row in rows:
        text = {
            "name": _quoted(row.description),
            "meeting": row.topic,
            "held": day_text(row.held_at),
            "due": moment_text(row.due_at),
            "percent": row.progress_percent,
        }
        if values is not None:
            text.update(values(row))
        people = {
            "responsible": (row.owner_id,),
            "accountable": (row.organiser_id,),
            "head": heads.get(row.responsible_department_id, ()),
            "initiator": People.one(row.initiator_id),
        }
        yield Hit(row.pk, people, text, url(row.pk), model=ActionItem, message=message)


def scan_actions_due_soon(rule, now):
    """Action items of meetings not done whose due date is within N working days."""
    verdicts = Deadlines(now=now, rules={rule.code: rule})
    return _action_hits(_actions(verdicts.due_soon_q()), now, due_soon_message)


def scan_actions_stale(rule, now):
    """Action items in progress with no progress update for N working days."""
    verdicts = Deadlines(now=now, rules={rule.code: rule})
    local = timezone.get_current_timezone()

    def days(row) -> dict:
        last = row.last_progress_at or row.started_at
        return {"days": verdicts.days_since(last.astimezone(local).date())}

    actions = _actions(verdicts.stale_q(), "last_progress_at", "started_at")
    return _action_hits(actions, now, stale_message, days)


def scan_actions_overdue(rule, now):
    """Action items past due and not delivered (a delivery awaiting closure
    confirmation is the organiser's to answer)."""
    today = timezone.localdate(now)
    local = timezone.get_current_timezone()

    def days(row) -> dict:
        return {"days": (today - row.due_at.astimezone(local).date()).days}

    actions = _actions(deadlines.overdue_q(now, awaiting_acceptance=False))
    return _action_hits(actions, now, overdue_message, days)


def due_soon_message(n=None) -> str:
    return gettext(
        "Action item “%(name)s” of the meeting “%(meeting)s” (%(held)s) is due on %(due)s; "
        "it is %(percent)s%% done. Please follow up."
    )


def stale_message(days: int) -> str:
    return ngettext(
        "Action item “%(name)s” of the meeting “%(meeting)s” (%(held)s) has had no progress "
        "update for %(days)s day; it is %(percent)s%% done.",
        "Action item “%(name)s” of the meeting “%(meeting)s” (%(held)s) has had no progress "
        "update for %(days)s days; it is %(percent)s%% done.",
        days,
    )


def overdue_message(days: int) -> str:
    return ngettext(
        "Action item “%(name)s” of the meeting “%(meeting)s” (%(held)s) was due on %(due)s "
        "and is %(days)s day overdue; it is %(percent)s%% done.",
        "Action item “%(name)s” of the meeting “%(meeting)s” (%(held)s) was due on %(due)s "
        "and is %(days)s days overdue; it is %(percent)s%% done.",
        days,
    )


# --- minutes not filed ------------------------------------------------------------------


def scan_minutes_overdue(rule, now):
    """Meetings held more than N working days ago whose minutes are not filed yet (seed
    003: within 2 working days). Every day until they are, the recorder (as R) and the
    organiser (as A) hear of it."""
    verdicts = Deadlines(now=now)
    days = metrics.minutes_days(rule)
    meetings = list(
        _in_scope(
            Meeting.objects.filter(
                metrics.minutes_overdue_q(verdicts.calendar, verdicts.today, days)
            ),
            meeting="",
        )
        .order_by()
        .values_list("pk", "topic", "starts_at", "organiser_id", "recorder_id", named=True)
    )
    # Read who of them is active: the engine sends to active people only.
    People(
        users=[u for m in meetings for u in (m.organiser_id, m.recorder_id)],
        departments=(),
        on=verdicts.today,
    )
    local = timezone.get_current_timezone()
    url = link("meetings_app:detail")
    for meeting in meetings:
        held = meeting.starts_at.astimezone(local).date()
        yield Hit(
            meeting.pk,
            {"responsible": (meeting.recorder_id,), "accountable": (meeting.organiser_id,)},
            {
                "topic": meeting.topic,
                "held": day_text(held),
                "days": verdicts.days_since(held),
            },
            url(meeting.pk),
        )


def minutes_overdue_message(days: int) -> str:
    return ngettext(
        "The minutes of the meeting “%(topic)s” (%(held)s) are not filed %(days)s working "
        "day after it. Please file them.",
        "The minutes of the meeting “%(topic)s” (%(held)s) are not filed %(days)s working "
        "days after it. Please file them.",
        days,
    )


def register_rules() -> None:
    """Add the action items to the task rules, and register minutes_overdue."""
    register_extra(deadlines.DUE_SOON_RULE, scan_actions_due_soon)
    register_extra(deadlines.STALE_RULE, scan_actions_stale)
    register_extra(OVERDUE_RULE, scan_actions_overdue)
    register(
        RuleSpec(
            code=metrics.MINUTES_RULE,
            label=_("Minutes not filed"),
            model=Meeting,
            scan=scan_minutes_overdue,
            message=minutes_overdue_message,
            count="days",
            defaults={"days": metrics.MINUTES_DAYS, "to_responsible": True, "to_accountable": True},
        ),
    )
