"""The knowledge-base entry of an archived case is read-only in PostgreSQL too.

Migration 0002 left review_app_archiveentry out ("the knowledge base's index card of
the case, not its content"), so queryset update() and delete() on it went through. It
is part of the case's record (title, who archived it, when, the text search finds), so
it gets the same trigger as every case table: the generic case_refuse_archived()
function of 0002 (with 0003's `collab.archive_guard` switch for data maintenance),
reaching the request through the entry's own request_id.

The archiving itself still inserts the entry: review_app.services.archive.archive_case
writes it in the same transaction, before the UPDATE that sets the request's
is_archived flag, so the trigger sees a case that is not archived yet (the same order
the 已歸檔 timeline row relies on). seed_scale bulk-inserts entries of cases that are
already archived with the switch off, as it does for every other case table.
"""

import importlib

from django.db import migrations

triggers = importlib.import_module("review_app.migrations.0002_archive_read_only_triggers")

# table → [column of the row, then (table, column) hops ending on the request's id]
GUARDED = {
    "review_app_archiveentry": ["request_id"],
}


def install(apps, schema_editor):
    triggers.guard(schema_editor, GUARDED)


def uninstall(apps, schema_editor):
    triggers.unguard(schema_editor, GUARDED)


class Migration(migrations.Migration):
    dependencies = [
        ("review_app", "0003_analysis_dispatch_and_guard_switch"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
