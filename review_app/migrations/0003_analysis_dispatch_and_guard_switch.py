"""The monthly analysis dispatch log, and a switch on the archive triggers.

`SET LOCAL collab.archive_guard = 'off'` inside a transaction lets that transaction
write rows of archived cases. Only data maintenance uses it: migrations that backfill
a derived column (tasks_app 0005) and the scale seeder (seed_scale), which bulk-inserts
cases that are already archived. The application never sets it.
"""

import importlib

from django.db import migrations, models

triggers = importlib.import_module("review_app.migrations.0002_archive_read_only_triggers")

SWITCH = """BEGIN
    IF current_setting('collab.archive_guard', true) = 'off' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
"""
WITH_SWITCH = triggers.CREATE_FUNCTIONS.replace("BEGIN\n", SWITCH)


def add_switch(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(WITH_SWITCH, params=None)


def remove_switch(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(triggers.CREATE_FUNCTIONS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("review_app", "0002_archive_read_only_triggers"),
    ]

    operations = [
        migrations.CreateModel(
            name="AnalysisDispatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "month",
                    models.DateField(
                        help_text="The first day of the month.", unique=True, verbose_name="month"
                    ),
                ),
                ("recipients", models.TextField(blank=True, verbose_name="recipients")),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
            ],
            options={
                "verbose_name": "analysis report dispatch",
                "verbose_name_plural": "analysis report dispatches",
                "ordering": ["-month"],
            },
        ),
        migrations.RunPython(add_switch, remove_switch, elidable=False),
    ]
