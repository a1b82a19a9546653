"""TaskEvent.params, and the existing task history lines converted to it (issue 14).

As requests_app 0008 does for the request's timeline: the due-date changes
("2024-07-01 17:00 → 2024-07-05 17:00: reason"), the progress lines ("60% done"),
the acceptance answers ("Acceptance round 1 · Design: Passed …" or
"第 1 輪驗收 · 設計部：通過…") and the acceptance of a task ("Every reviewer passed…")
get their values in `params`; `comment` keeps only what the person typed (the reason,
what was done). Moments written as local times are stored with their offset (ISO
8601). Lines not recognised stay as they were. Backwards, the lines get their English
text again.

Archived cases: written through review_app 0003's switch, as in requests_app 0008.
"""

import datetime as dt
import re

from django.db import migrations, models
from django.utils import timezone

RE = re.DOTALL
MOMENT = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"
MOMENT_FORMAT = "%Y-%m-%d %H:%M"

DUE_CHANGED = re.compile(rf"(?P<old>{MOMENT}) → (?P<new>{MOMENT}): (?P<comment>.*)", RE)
PROGRESS = re.compile(r"(?P<percent>\d{1,3})% (?P<comment>.*)", RE)
VERDICT = [
    re.compile(
        r"Acceptance round (?P<round>\d+) · (?P<seat>.+?): "
        r"(?P<decision>Passed|Needs rectification|Failed)"
        rf"(?: \(rectify by (?P<deadline>{MOMENT})\))?(?:\n(?P<comment>.*))?",
        RE,
    ),
    re.compile(
        r"第 (?P<round>\d+) 輪驗收 · (?P<seat>.+?)："
        r"(?P<decision>通過|需整改|不通過)"
        rf"(?: （整改期限：(?P<deadline>{MOMENT})）)?(?:\n(?P<comment>.*))?",
        RE,
    ),
]
ALL_PASSED = [
    re.compile(r"Every reviewer passed acceptance round (?P<round>\d+)\.", RE),
    re.compile(r"所有驗收人均已通過第 (?P<round>\d+) 輪驗收。", RE),
]
DECISIONS = {
    "Passed": "passed",
    "通過": "passed",
    "Needs rectification": "rectify",
    "需整改": "rectify",
    "Failed": "failed",
    "不通過": "failed",
}
DECISION_TEXT = {"passed": "Passed", "rectify": "Needs rectification", "failed": "Failed"}
SEATS = {
    "Accountable person": "accountable",
    "當責人（A）": "accountable",
    "Initiator": "initiator",
    "發起人": "initiator",
}
SEAT_TEXT = {"accountable": "Accountable person", "initiator": "Initiator"}


def _moment(local: str) -> str:
    """A local "Y-m-d H:M" as params store it: ISO 8601 with the offset."""
    naive = dt.datetime.strptime(local, MOMENT_FORMAT)
    return timezone.make_aware(naive, timezone.get_default_timezone()).isoformat()


def _local(value: str) -> str:
    moment = dt.datetime.fromisoformat(value)
    return timezone.localtime(moment, timezone.get_default_timezone()).strftime(MOMENT_FORMAT)


def to_params(kind: str, comment: str, departments: dict | None = None):
    """Return (params, comment left) for a line's stored text, or None if not recognised.

    `departments` maps a department's name to its id (for an answer on a department's
    seat).
    """
    if not comment:
        return None
    if kind == "due_changed":
        match = DUE_CHANGED.fullmatch(comment)
        if match:
            return {"old": _moment(match["old"]), "new": _moment(match["new"])}, match["comment"]
    elif kind == "progress":
        match = PROGRESS.fullmatch(comment)
        if match and int(match["percent"]) <= 100:
            return {"percent": int(match["percent"])}, match["comment"]
    elif kind == "verdict":
        for pattern in VERDICT:
            match = pattern.fullmatch(comment)
            if match is None:
                continue
            params = {"round": int(match["round"]), "decision": DECISIONS[match["decision"]]}
            seat = match["seat"]
            if seat in SEATS:
                params["seat"] = SEATS[seat]
            else:
                params["seat"] = "head"
                params["department"] = seat
                params["department_id"] = (departments or {}).get(seat)
            if match["deadline"]:
                params["rectify_due_at"] = _moment(match["deadline"])
            return params, match["comment"] or ""
    elif kind == "accept":
        for pattern in ALL_PASSED:
            match = pattern.fullmatch(comment)
            if match:
                return {"msg": "all_passed", "round": int(match["round"])}, ""
    return None


def to_text(kind: str, params: dict, comment: str) -> str | None:
    """Return the English comment the code wrote before (backwards), None if not ours."""
    try:
        if kind == "due_changed":
            text = f"{_local(params['old'])} → {_local(params['new'])}"
            return f"{text}: {comment}"
        if kind == "progress":
            return f"{params['percent']}% {comment}"
        if kind == "verdict":
            seat = params.get("department") or SEAT_TEXT[params["seat"]]
            text = f"Acceptance round {params['round']} · {seat}: "
            text += DECISION_TEXT[params["decision"]]
            if params.get("rectify_due_at"):
                text += f" (rectify by {_local(params['rectify_due_at'])})"
            return text + (f"\n{comment}" if comment else "")
        if kind == "accept" and params.get("msg") == "all_passed":
            return f"Every reviewer passed acceptance round {params['round']}."
    except (KeyError, TypeError, ValueError):
        return None
    return None


CONVERTED_KINDS = ["due_changed", "progress", "verdict", "accept"]


def _save(model, rows, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        schema_editor.execute("SET LOCAL collab.archive_guard = 'off'", params=None)
    for start in range(0, len(rows), 500):
        model.objects.bulk_update(rows[start : start + 500], ["params", "comment"])
    if postgresql:
        schema_editor.execute("SET LOCAL collab.archive_guard = 'on'", params=None)


def forwards(apps, schema_editor):
    TaskEvent = apps.get_model("tasks_app", "TaskEvent")
    Department = apps.get_model("collab", "Department")
    departments = dict(Department.objects.values_list("name", "pk"))
    rows = []
    lines = (
        TaskEvent.objects.filter(kind__in=CONVERTED_KINDS, params={})
        .exclude(comment="")
        .only("pk", "kind", "comment", "params")
    )
    for event in lines.iterator(chunk_size=2000):
        converted = to_params(event.kind, event.comment, departments)
        if converted is None:
            continue
        event.params, event.comment = converted
        rows.append(event)
    _save(TaskEvent, rows, schema_editor)


def backwards(apps, schema_editor):
    TaskEvent = apps.get_model("tasks_app", "TaskEvent")
    rows = []
    lines = TaskEvent.objects.filter(kind__in=CONVERTED_KINDS).exclude(params={})
    for event in lines.only("pk", "kind", "comment", "params").iterator(chunk_size=2000):
        text = to_text(event.kind, event.params, event.comment)
        if text is None:
            continue
        event.comment, event.params = text, {}
        rows.append(event)
    _save(TaskEvent, rows, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("collab", "0001_initial"),
        ("tasks_app", "0006_field_verbose_names"),
        # The archive triggers' maintenance switch (collab.archive_guard).
        ("review_app", "0003_analysis_dispatch_and_guard_switch"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskevent",
            name="params",
            field=models.JSONField(
                blank=True, db_default={}, default=dict, verbose_name="parameters"
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
