"""AnalysisDispatch, moved from review_app (issue 14): state only, no data moves.

The model takes over the existing table review_app_analysisdispatch (Meta.db_table);
review_app's migration 0006 forgets it there first. The content type row follows the
model, so the admin log and any permission given on it keep pointing at it (a fresh
database has no such row yet: they are created after migrate).
"""

from django.db import migrations, models


def move_content_type(apps, schema_editor, *, source="review_app", target="portfolio_app"):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    rows = content_type.objects.using(db)
    if rows.filter(app_label=target, model="analysisdispatch").exists():
        return
    rows.filter(app_label=source, model="analysisdispatch").update(app_label=target)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="portfolio_app", target="review_app")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("review_app", "0006_move_portfolio_models"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AnalysisDispatch",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "month",
                            models.DateField(
                                help_text="The first day of the month.",
                                unique=True,
                                verbose_name="month",
                            ),
                        ),
                        ("recipients", models.TextField(blank=True, verbose_name="recipients")),
                        (
                            "sent_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="sent at"),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                        ),
                    ],
                    options={
                        "verbose_name": "analysis report dispatch",
                        "verbose_name_plural": "analysis report dispatches",
                        "ordering": ["-month"],
                        "db_table": "review_app_analysisdispatch",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back, elidable=True),
    ]
