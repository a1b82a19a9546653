"""Indexes for the request lists' orders at scale (`make bench`, issue 7)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0004_dashboard_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="collabrequest",
            index=models.Index(fields=["-created_at", "-id"], name="request_newest_first"),
        ),
        migrations.AddIndex(
            model_name="collabrequest",
            index=models.Index(fields=["-updated_at", "-id"], name="request_updated_first"),
        ),
    ]
