"""SuggestionEvent.params (collab.models.StateLog, issue 14).

A suggestion's history lines carry only what a person typed (the evaluation, a
comment) and their transition, so there is nothing to convert: the lines that
requests_app 0008 and tasks_app 0007 convert are the request's and the tasks'.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("review_app", "0006_move_portfolio_models"),
    ]

    operations = [
        migrations.AddField(
            model_name="suggestionevent",
            name="params",
            field=models.JSONField(
                blank=True, db_default={}, default=dict, verbose_name="parameters"
            ),
        ),
    ]
