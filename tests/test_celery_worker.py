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
from django.core import mail

from collab.models import Notification
from requests_app import services
from tests.factories import DepartmentFactory, UserFactory, make_request
from tests.helpers import wait_for
from tests.live_worker import celery_on_test_redis, worker

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_on_redis(settings):
    """The Celery app on the test Redis with eager mode off, restored afterwards."""
    with celery_on_test_redis(settings) as celery_app:
        yield celery_app


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

    with worker():
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
