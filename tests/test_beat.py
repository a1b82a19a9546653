"""The beat schedule: seeded from settings after migrate, owned by admin afterwards."""

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from collab.beat import CollabScheduler, beat_schedule_ensure
from collab.celery import app


@pytest.mark.django_db
def test_schedule_rows_exist_after_migrate_in_taipei_time():
    """A fresh installation shows the nightly and hourly jobs in admin before beat runs."""
    nightly = PeriodicTask.objects.get(name="warnings-nightly")
    hourly = PeriodicTask.objects.get(name="warnings-hourly")
    assert (nightly.crontab.hour, nightly.crontab.minute) == ("6", "0")
    assert hourly.crontab.minute == "5"
    assert str(nightly.crontab.timezone) == "Asia/Taipei"
    assert nightly.task == "collab.tasks.warnings_scan_task"


@pytest.mark.django_db(transaction=True)  # the scheduler closes stale DB connections
def test_an_admin_change_survives_beat_starting_again():
    """Moving the nightly run to 07:30 in admin is kept when beat starts and reads settings."""
    task = PeriodicTask.objects.get(name="warnings-nightly")
    task.crontab = CrontabSchedule.objects.create(hour="7", minute="30", timezone="Asia/Taipei")
    task.save()
    CollabScheduler(app=app, lazy=True).update_from_dict(app.conf.beat_schedule)
    beat_schedule_ensure()
    task.refresh_from_db()
    assert (task.crontab.hour, task.crontab.minute) == ("7", "30")


@pytest.mark.django_db
def test_a_deleted_entry_comes_back_from_settings():
    PeriodicTask.objects.filter(name="warnings-hourly").delete()
    assert beat_schedule_ensure() == ["warnings-hourly"]
    assert PeriodicTask.objects.filter(name="warnings-hourly").exists()
