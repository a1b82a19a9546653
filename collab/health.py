"""Probes for /healthz: the database and the Celery broker."""

from __future__ import annotations

from django.conf import settings
from django.db import connection


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the text says why
        return f"down: {exc.__class__.__name__}"
    return "ok"


def broker_status() -> str:
    """Return "ok", "eager" when no broker is configured (local run), or "down: ...".

    Eager mode is healthy: tasks run in-process, so there is no broker to reach.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER and not settings.REDIS_URL:
        return "eager"
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"
    return "ok"
