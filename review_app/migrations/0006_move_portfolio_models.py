"""AnalysisDispatch moves to portfolio_app (issue 14): state only, no data moves.

The table review_app_analysisdispatch stays where it is; portfolio_app's migration 0001
declares the same model over it (Meta.db_table). Here review_app only forgets the
model, without dropping the table (SeparateDatabaseAndState with no database
operations).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("review_app", "0005_field_verbose_names")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AnalysisDispatch")],
            database_operations=[],
        ),
    ]
