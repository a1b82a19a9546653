"""Probes for /healthz: the database, the Celery broker and the outbox."""

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


def outbox_status() -> dict:
    """How the outbox stands: messages waiting and failed, and how long the oldest one
    has waited. "late" once that passes OUTBOX_HEALTH_MAX_AGE, or when any failed:
    something for monitoring to alert on, not a reason to take the web out of service.
    """
    from . import outbox

    try:
        backlog = outbox.backlog()
    except Exception as exc:
        return {"state": f"down: {exc.__class__.__name__}"}
    age = backlog.age_seconds()
    late = age > settings.OUTBOX_HEALTH_MAX_AGE or backlog.failed > 0
    return {
        "state": "late" if late else "ok",
        "waiting": backlog.waiting,
        "failed": backlog.failed,
        "oldest_waiting_seconds": age,
    }
