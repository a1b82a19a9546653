"""The scoring matrix the portal ships with (risks_app.rules.default_matrix): a score of
15 or more is 高, 5 to 12 中, up to 4 低. Administrators edit the cells afterwards."""

from django.db import migrations

HIGH_FROM, MEDIUM_FROM = 15, 5


def level(probability, impact):
    score = probability * impact
    return "high" if score >= HIGH_FROM else "medium" if score >= MEDIUM_FROM else "low"


def create(apps, schema_editor):
    Cell = apps.get_model("risks_app", "RiskMatrixCell")
    Cell.objects.bulk_create(
        [
            Cell(probability=p, impact=i, level=level(p, i))
            for p in range(1, 6)
            for i in range(1, 6)
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("risks_app", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
