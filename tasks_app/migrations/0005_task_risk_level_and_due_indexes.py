"""Task.risk_level: the risk reported in the task's latest progress update, kept on the
task for the dashboard and the lists; filled here from the existing progress logs
(archived cases included, through the archive triggers' maintenance switch)."""

from django.db import migrations, models

BACKFILL = """
UPDATE tasks_app_task AS task SET risk_level = latest.risk_level
FROM (
    SELECT DISTINCT ON (task_id) task_id, risk_level
    FROM tasks_app_progressupdate
    ORDER BY task_id, created_at DESC, id DESC
) AS latest
WHERE latest.task_id = task.id AND task.risk_level <> latest.risk_level
"""


def backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL collab.archive_guard = 'off'", params=None)
        schema_editor.execute(BACKFILL, params=None)
        schema_editor.execute("SET LOCAL collab.archive_guard = 'on'", params=None)
        return
    Task = apps.get_model("tasks_app", "Task")
    ProgressUpdate = apps.get_model("tasks_app", "ProgressUpdate")
    for task in Task.objects.filter(progress_updates__isnull=False).distinct():
        latest = ProgressUpdate.objects.filter(task=task).order_by("-created_at", "-pk").first()
        Task.objects.filter(pk=task.pk).update(risk_level=latest.risk_level)


class Migration(migrations.Migration):
    dependencies = [
        ("collab", "0003_warningrule_warningdigest_warningitem_and_more"),
        ("requests_app", "0004_dashboard_indexes"),
        ("tasks_app", "0004_taskdeliverable_round_alter_taskevent_kind"),
        ("review_app", "0003_analysis_dispatch_and_guard_switch"),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="risk_level",
            field=models.CharField(
                choices=[("none", "None"), ("low", "Low"), ("medium", "Medium"), ("high", "High")],
                default="none",
                editable=False,
                max_length=10,
                verbose_name="reported risk",
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=["responsible_department", "due_at"], name="task_department_due"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
