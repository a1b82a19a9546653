"""RequestEvent.params, and the existing timeline lines converted to it (issue 14).

Until now the system's own sentences ("Version 3", "依各部門承接的任務建立 3 項草稿任務")
were stored in `comment`, translated into the language of whoever acted. From now on a
line keeps its values in `params` and is rendered when read, in the reader's language
(collab.events); `comment` holds only what a person typed.

The conversion recognises the texts the code wrote, in English (the msgids) and in
zh-Hant (the catalog's translations): each known line gets its values in `params` and
keeps in `comment` only the person's part (a summary, an attachment's note). A line
not recognised is left as it was and still reads as before. Backwards, the lines get
their English text again (as an English-speaking actor would have left them).

Archived cases are read-only in PostgreSQL (review_app 0002's triggers); the
conversion is data maintenance and writes them through review_app 0003's switch, in
its own transaction only, as tasks_app 0005 does. SQLite has no triggers.

The functions take and return plain values so that tests can call them
(tests/test_event_language.py).
"""

import re

from django.db import migrations, models

RE = re.DOTALL


def _patterns(*texts):
    return [re.compile(text, RE) for text in texts]


# kind → [(message code or None, [English pattern, zh-Hant pattern])]
KNOWN = {
    "breakdown": [
        ("task_added", _patterns(r"Added (?P<task>.+)", r"新增 (?P<task>.+)")),
        ("task_changed", _patterns(r"Changed (?P<task>.+)", r"修改 (?P<task>.+)")),
        ("task_removed", _patterns(r"Removed (?P<task>.+)", r"移除 (?P<task>.+)")),
        (
            "drafts",
            _patterns(
                r"(?P<count>\d+) draft tasks from the departments' commitments",
                r"依各部門承接的任務建立 (?P<count>\d+) 項草稿任務",
            ),
        ),
    ],
    "signed": [(None, _patterns(r"Version (?P<version>\d+)", r"第 (?P<version>\d+) 版"))],
    "start": [
        (
            "all_signed",
            _patterns(
                re.escape("Every involved head signed the task breakdown."),
                re.escape("所有相關部門負責人皆已簽署任務分工表。"),
            ),
        )
    ],
    "complete": [
        (
            "all_departments_signed",
            _patterns(
                re.escape("Every involved department signed the final acceptance."),
                re.escape("所有參與部門皆已簽署成果驗收確認單。"),
            ),
        )
    ],
    "final_opened": [
        (
            None,
            _patterns(
                r"Round (?P<round>\d+): (?P<comment>.*)", r"第 (?P<round>\d+) 輪：(?P<comment>.*)"
            ),
        )
    ],
    "archived": [(None, _patterns(r"(?P<title>.+?)(?P<confidential> · (?:confidential|機密))?"))],
    "attachment": [
        (None, _patterns(r"(?P<file>.+?) v(?P<version>\d+)(?: — (?P<comment>.*))?")),
    ],
}
INTEGERS = {"count", "version", "round"}


def to_params(kind: str, comment: str, departments: dict | None = None):
    """Return (params, comment left) for a line's stored text, or None if not recognised.

    `departments` maps a department's name to its id (for the voided signatures).
    """
    if not comment:
        return None
    if kind == "voided":
        names = [name for name in comment.split("、") if name]
        ids = departments or {}
        return {"departments": [{"id": ids.get(name), "name": name} for name in names]}, ""
    for msg, patterns in KNOWN.get(kind, ()):
        for pattern in patterns:
            match = pattern.fullmatch(comment)
            if match is None:
                continue
            values = {k: v for k, v in match.groupdict().items() if v is not None}
            left = values.pop("comment", "")
            params = {k: int(v) if k in INTEGERS else v for k, v in values.items()}
            if kind == "archived":
                params["confidential"] = bool(params.get("confidential"))
            if msg:
                params["msg"] = msg
            return params, left
    return None


def to_text(kind: str, params: dict, comment: str) -> str | None:
    """Return the English comment the code wrote before (backwards), None if not ours."""
    msg = params.get("msg")
    try:
        if kind == "breakdown":
            return {
                "task_added": "Added {task}",
                "task_changed": "Changed {task}",
                "task_removed": "Removed {task}",
                "drafts": "{count} draft tasks from the departments' commitments",
            }[msg].format(**params)
        if kind == "voided":
            return "、".join(d["name"] for d in params["departments"])
        if kind == "signed":
            return "Version {version}".format(**params)
        if kind == "start" and msg == "all_signed":
            return "Every involved head signed the task breakdown."
        if kind == "complete" and msg == "all_departments_signed":
            return "Every involved department signed the final acceptance."
        if kind == "final_opened":
            return "Round {round}: ".format(**params) + comment
        if kind == "archived":
            return params["title"] + (" · confidential" if params.get("confidential") else "")
        if kind == "attachment":
            text = "{file} v{version}".format(**params)
            return text + (f" — {comment}" if comment else "")
    except (KeyError, TypeError):
        return None
    return None


CONVERTED_KINDS = [*KNOWN, "voided"]


def _guard_off(schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL collab.archive_guard = 'off'", params=None)


def _guard_on(schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL collab.archive_guard = 'on'", params=None)


def _save(model, rows, schema_editor):
    _guard_off(schema_editor)
    for start in range(0, len(rows), 500):
        model.objects.bulk_update(rows[start : start + 500], ["params", "comment"])
    _guard_on(schema_editor)


def forwards(apps, schema_editor):
    RequestEvent = apps.get_model("requests_app", "RequestEvent")
    Department = apps.get_model("collab", "Department")
    departments = dict(Department.objects.values_list("name", "pk"))
    rows = []
    lines = (
        RequestEvent.objects.filter(kind__in=CONVERTED_KINDS, params={})
        .exclude(comment="")
        .only("pk", "kind", "comment", "params")
    )
    for event in lines.iterator(chunk_size=2000):
        converted = to_params(event.kind, event.comment, departments)
        if converted is None:
            continue
        event.params, event.comment = converted
        rows.append(event)
    _save(RequestEvent, rows, schema_editor)


def backwards(apps, schema_editor):
    RequestEvent = apps.get_model("requests_app", "RequestEvent")
    rows = []
    lines = RequestEvent.objects.filter(kind__in=CONVERTED_KINDS).exclude(params={})
    for event in lines.only("pk", "kind", "comment", "params").iterator(chunk_size=2000):
        text = to_text(event.kind, event.params, event.comment)
        if text is None:
            continue
        event.comment, event.params = text, {}
        rows.append(event)
    _save(RequestEvent, rows, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("collab", "0001_initial"),
        ("requests_app", "0007_field_verbose_names"),
        # The archive triggers' maintenance switch (collab.archive_guard).
        ("review_app", "0003_analysis_dispatch_and_guard_switch"),
    ]

    operations = [
        migrations.AddField(
            model_name="requestevent",
            name="params",
            field=models.JSONField(
                blank=True, db_default={}, default=dict, verbose_name="parameters"
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
