"""The beat scheduler: django-celery-beat's, but settings only seed the schedule.

django-celery-beat's DatabaseScheduler rewrites every entry of CELERY_BEAT_SCHEDULE
into its tables each time beat starts, so a time an administrator changed in admin
(Periodic tasks) would silently come back on the next restart. Here the settings only
create the entries that are missing; once a row exists, admin owns it.
"""

from __future__ import annotations

from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry


class CollabScheduler(DatabaseScheduler):
    def update_from_dict(self, mapping):
        existing = set(
            PeriodicTask.objects.filter(name__in=list(mapping)).values_list("name", flat=True)
        )
        super().update_from_dict({k: v for k, v in mapping.items() if k not in existing})


def beat_schedule_ensure(app=None) -> list[str]:
    """Create the missing periodic-task rows from settings (run after migrate), so a
    fresh installation shows the schedule in admin before beat has ever started."""
    from collab.celery import app as default_app

    app = app or default_app
    schedule = app.conf.beat_schedule or {}
    existing = set(
        PeriodicTask.objects.filter(name__in=list(schedule)).values_list("name", flat=True)
    )
    created = []
    for name, entry in schedule.items():
        if name not in existing:
            ModelEntry.from_entry(name, app=app, **entry)
            created.append(name)
    return created
