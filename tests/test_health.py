"""/healthz reports the database and the broker."""

import datetime as dt

import pytest
from django.db import OperationalError
from django.urls import reverse


@pytest.mark.django_db
def test_healthz_up_with_real_postgres_and_redis(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "outbox": {"state": "ok", "waiting": 0, "failed": 0, "oldest_waiting_seconds": 0},
    }


@pytest.mark.django_db
def test_healthz_reports_the_outbox_backlog_without_failing_the_web(client, time_machine):
    """A message waiting longer than OUTBOX_HEALTH_MAX_AGE, or one that failed, marks the
    outbox "late" with its age for monitoring; the web itself stays healthy (200)."""
    from collab.models import OutboxMessage

    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    OutboxMessage.objects.create(kind="notification", key="notification:1", params={})
    time_machine.move_to(start + dt.timedelta(minutes=10), tick=False)
    body = client.get(reverse("healthz")).json()
    assert body["outbox"] == {
        "state": "ok",
        "waiting": 1,
        "failed": 0,
        "oldest_waiting_seconds": 600,
    }
    time_machine.move_to(start + dt.timedelta(hours=2), tick=False)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["outbox"]["state"] == "late"
    assert response.json()["outbox"]["oldest_waiting_seconds"] == 7200
    OutboxMessage.objects.update(state="failed")
    body = client.get(reverse("healthz")).json()["outbox"]
    assert body == {"state": "late", "waiting": 0, "failed": 1, "oldest_waiting_seconds": 0}


@pytest.mark.django_db
def test_healthz_broker_down(client, settings):
    """A broker nobody listens on makes the check answer 503."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "error"
    assert data["database"] == "ok"
    assert data["broker"].startswith("down")


@pytest.mark.django_db
def test_healthz_database_down(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["database"].startswith("down")


@pytest.mark.django_db
def test_healthz_eager_mode_without_broker_is_healthy(client, settings):
    """`make run` has no broker: tasks run in-process, and that is healthy."""
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["broker"] == "eager"
