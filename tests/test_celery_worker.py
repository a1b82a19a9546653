"""A real Celery worker on the test Redis delivers the notification e-mails.

Every other test runs tasks eagerly. Here the task travels through the broker: the
request service commits, its on-commit hook publishes to Redis, and a worker started
in-process (celery.contrib.testing.worker, in a thread) consumes it and sends the mail.
The worker thread opens its own database connection, so the test runs in a real
transaction (django_db(transaction=True)) and sees the worker's committed writes. The
locmem mail backend is process-wide, so the worker thread's mail lands in mail.outbox.
A broker that cannot be reached fails the test; it never skips.
"""

from __future__ import annotations

import threading

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.core import mail

from collab.celery import app
from collab.models import Notification
from requests_app import services
from tests.factories import DepartmentFactory, UserFactory, make_request
from tests.helpers import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30.0
_MISSING = object()


@pytest.fixture
def celery_on_redis(settings):
    """Point the Celery app at the test Redis with eager mode off; restore it afterwards."""
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


@pytest.fixture
def task_threads():
    """Record the name of the thread that ran each successful task."""
    threads: list[str] = []

    def record(sender=None, **kwargs):
        threads.append(threading.current_thread().name)

    signals.task_success.connect(record, weak=False)
    yield threads
    signals.task_success.disconnect(record)


def test_worker_sends_the_notification_emails(celery_on_redis, task_threads):
    """Submit queues the e-mail task on Redis; the worker sends it and stamps emailed_at."""
    mkt, tech = DepartmentFactory(code="mkt"), DepartmentFactory(code="tech")
    tech_head = UserFactory(department=tech)
    tech.heads.add(tech_head)
    initiator = UserFactory(department=mkt)
    req = make_request(initiator=initiator, departments=[tech])

    # No worker yet: the task waits in Redis, nothing runs in-process.
    req = services.request_submit(request=req, by=initiator)
    note = Notification.objects.get(recipient=tech_head)
    assert note.emailed_at is None
    assert mail.outbox == []

    with start_worker(celery_on_redis, perform_ping_check=False, shutdown_timeout=TIMEOUT):
        wait_for(lambda: len(mail.outbox) == 1, "the head's e-mail")
        wait_for(
            lambda: Notification.objects.filter(pk=note.pk, emailed_at__isnull=False).exists(),
            "emailed_at to be set",
        )
        assert mail.outbox[0].to == [tech_head.email]
        assert mail.outbox[0].subject.endswith(note.title)

        # A running worker picks up the next event too: 駁回 mails the initiator.
        review = req.reviews.get()
        services.review_decide(review=review, by=tech_head, approve=False, comment="人力不足")
        wait_for(lambda: len(mail.outbox) == 2, "the initiator's e-mail")
        assert mail.outbox[1].to == [initiator.email]
        wait_for(
            lambda: not Notification.objects.filter(emailed_at__isnull=True).exists(),
            "every notification to be stamped",
        )

    assert len(task_threads) == 2
    assert threading.main_thread().name not in task_threads
    assert len(mail.outbox) == 2
