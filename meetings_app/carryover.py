"""What a meeting starts from: the open items of the meetings before it (the carry-over).

A weekly meeting opens with the action items and problems its predecessors left open,
read live from the meetings that raised them (never copied), so that closing an item
anywhere closes it everywhere. The predecessors are the earlier meetings of the same
series and the meetings along the `previous` chain (a meeting scheduled from another's
minutes), and, from each of those, its own `previous` chain: a weekly series that
continues a kick-off carries the kick-off's items over too.
"""

from __future__ import annotations

from django.db import connection

from .choices import OPEN_ACTION_STATES, MeetingState, ProblemStatus
from .models import ActionItem, Meeting, Problem

# The problems still to be dealt with: 進行中 and 需升級.
OPEN_PROBLEM_STATUSES = (ProblemStatus.OPEN, ProblemStatus.ESCALATE)


def earlier_meeting_ids(meeting: Meeting) -> list[int]:
    """Return the ids of the meetings `meeting` follows on from, in one query.

    Works for a meeting not saved yet (the next meeting about to be scheduled), as long
    as its `series`, `previous` and `starts_at` are set.
    """
    table = Meeting._meta.db_table
    # A recursive query: the seeds (the previous meeting, the series' earlier meetings),
    # then each one's previous meeting, until the chain ends; UNION stops on a loop.
    sql = f"""
        WITH RECURSIVE earlier(id, previous_id) AS (
            SELECT id, previous_id FROM {table}
            WHERE id = %(previous)s
               OR (series_id = %(series)s AND starts_at < %(starts_at)s)
            UNION
            SELECT m.id, m.previous_id FROM {table} m JOIN earlier e ON m.id = e.previous_id
        )
        SELECT DISTINCT id FROM earlier WHERE id IS DISTINCT FROM %(self)s
    """  # noqa: S608 (the table name is the model's own, the values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "previous": meeting.previous_id,
                "series": meeting.series_id,
                "starts_at": meeting.starts_at,
                "self": meeting.pk,
            },
        )
        return [row[0] for row in cursor.fetchall()]


def open_items(meeting: Meeting) -> tuple[list[ActionItem], list[Problem]]:
    """Return the open action items and problems `meeting` carries over (three queries).

    Action items: filed and open (to do, in progress, awaiting confirmation); problems:
    filed and 進行中 or 需升級; of the meetings it follows on from
    (earlier_meeting_ids), oldest meeting first, in their minutes' order.
    """
    ids = earlier_meeting_ids(meeting)
    if not ids:
        return [], []
    order = ("meeting__starts_at", "meeting_id", "position", "pk")
    actions = list(
        ActionItem.objects.filter(meeting_id__in=ids, state__in=OPEN_ACTION_STATES)
        .select_related("meeting", "owner", "responsible_department")
        .order_by(*order)
    )
    problems = list(
        Problem.objects.filter(meeting_id__in=ids, is_filed=True, status__in=OPEN_PROBLEM_STATUSES)
        .select_related("meeting", "department")
        .order_by(*order)
    )
    return actions, problems


def next_in_series(meeting: Meeting) -> Meeting | None:
    """Return the series' next meeting after `meeting` (not cancelled), or None: a weekly
    meeting's next one is already on the calendar, and it carries over what is open, so
    no second one is scheduled from the minutes."""
    if meeting.series_id is None:
        return None
    return (
        Meeting.objects.filter(series_id=meeting.series_id, starts_at__gt=meeting.starts_at)
        .exclude(state=MeetingState.CANCELLED)
        .order_by("starts_at", "pk")
        .first()
    )
