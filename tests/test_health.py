"""/healthz reports the database and the broker."""

import pytest
from django.db import OperationalError
from django.urls import reverse


@pytest.mark.django_db
def test_healthz_up_with_real_postgres_and_redis(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


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
