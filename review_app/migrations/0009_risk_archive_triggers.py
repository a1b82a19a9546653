"""The archive's read-only triggers on risks_app's tables (issue 16): an archived case's
risk reports are read-only like the rest of it (0002's case_refuse_archived(), reaching
the request through each row). Here with the other triggers: the archive is review_app's."""

import importlib

from django.db import migrations

triggers = importlib.import_module("review_app.migrations.0002_archive_read_only_triggers")

GUARDED = {
    "risks_app_risk": ["request_id"],
    "risks_app_risk_affected_tasks": ["risk_id", "risks_app_risk", "request_id"],
    "risks_app_risk_affected_departments": ["risk_id", "risks_app_risk", "request_id"],
    "risks_app_risk_affected_goals": ["risk_id", "risks_app_risk", "request_id"],
    "risks_app_riskevent": ["risk_id", "risks_app_risk", "request_id"],
}


def install(apps, schema_editor):
    triggers.guard(schema_editor, GUARDED)


def uninstall(apps, schema_editor):
    triggers.unguard(schema_editor, GUARDED)


class Migration(migrations.Migration):
    dependencies = [
        ("review_app", "0008_meeting_archive_triggers"),
        ("risks_app", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
