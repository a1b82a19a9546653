"""A real Celery worker thread on the test Redis, and a real SMTP sink, for one test.

The worker tests (notification e-mails, warning digests, the monthly analysis) share
this: eager mode off, the app pointed at the test Redis (a pytest failure, not a skip,
if it is unreachable), left-over messages purged, and the app's settings restored
afterwards. Fault tests that stop the broker or kill a worker use tests.fault_env
instead, with their own Redis and a worker process.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker

from collab.celery import app
from tests.smtp_sink import SmtpSink

TIMEOUT = 30.0
_MISSING = object()


@contextmanager
def celery_on_test_redis(settings):
    """Point the Celery app at settings.REDIS_URL with eager mode off; restore it after."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    overrides = {
        "task_always_eager": False,
        "broker_url": settings.REDIS_URL,
        # Leave pytest's logging alone when the worker sets up its own.
        "worker_hijack_root_logger": False,
    }
    saved = {key: app.conf.changes.get(key, _MISSING) for key in overrides}
    app.conf.update(overrides)
    try:
        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=5)
        except Exception as exc:
            pytest.fail(f"The Celery broker {settings.REDIS_URL} is unreachable: {exc}")
        # Messages left over from an interrupted run must not be consumed by this test.
        app.control.purge()
        yield app
    finally:
        for key, value in saved.items():
            if value is _MISSING:
                app.conf.changes.pop(key, None)
            else:
                app.conf[key] = value


@contextmanager
def worker():
    """Run a worker thread of the app (as celery_on_test_redis configured it)."""
    with start_worker(app, perform_ping_check=False, shutdown_timeout=TIMEOUT):
        yield app


@contextmanager
def smtp_sink(settings):
    """Start an SMTP sink and send the portal's mail to it over real SMTP."""
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield sink
    finally:
        sink.stop()
