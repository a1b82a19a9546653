"""The monthly analysis e-mail end to end: a real Celery worker on the test Redis and a
real SMTP server (tests/smtp_sink.py).

The beat job's task travels through the broker; a worker started in-process (a thread)
renders the PDF and talks SMTP to an aiosmtpd server on 127.0.0.1, whose messages are
parsed back from the bytes that went over the wire. The worker writes through its own
database connection, so the test runs in real transactions. Every wait polls a
condition with a deadline. A broker that cannot be reached fails the test.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from celery import signals

from collab import outbox
from collab.choices import Role
from collab.models import OutboxMessage
from portfolio_app.models import AnalysisDispatch
from portfolio_app.tasks import send_monthly_analysis_task
from tests.factories import UserFactory
from tests.helpers import wait_for
from tests.live_worker import celery_on_test_redis, smtp_sink, worker

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live(settings):
    """An SMTP sink and a worker on the test Redis; task outcomes recorded by signal."""
    outcomes: list[tuple[str, object]] = []  # (state, result) of each finished run

    def on_postrun(sender=None, task=None, retval=None, state=None, **kwargs):
        if task.name == send_monthly_analysis_task.name:
            outcomes.append((state, retval))

    with smtp_sink(settings) as sink, celery_on_test_redis(settings):
        signals.task_postrun.connect(on_postrun, weak=False)
        try:
            with worker():
                yield sink, outcomes
        finally:
            signals.task_postrun.disconnect(on_postrun)


def _run(outcomes, month: str):
    before = len([o for o in outcomes if o[0] == "SUCCESS"])
    send_monthly_analysis_task.delay(month)
    wait_for(
        lambda: len([o for o in outcomes if o[0] == "SUCCESS"]) > before,
        f"the task for {month} to finish on the worker",
    )
    return [o for o in outcomes if o[0] == "SUCCESS"][-1][1]


def _sent(month: dt.date) -> bool:
    return AnalysisDispatch.objects.filter(month=month, sent_at__isnull=False).exists()


def test_the_worker_mails_each_executive_the_pdf_once(live):
    """Two executives get one message each over SMTP with the PDF; running the task
    again for the month sends nothing."""
    sink, outcomes = live
    first = UserFactory(username="exec_a", role=Role.EXECUTIVE)
    second = UserFactory(username="exec_b", role=Role.EXECUTIVE)
    UserFactory(username="pmo_a", role=Role.PMO)

    assert _run(outcomes, "2025-03") is True
    messages = sink.wait_for(2)
    assert sorted(addr for r in sink.received for addr in r.rcpt_tos) == sorted(
        [first.email, second.email]
    )
    for message in messages:
        assert "2025年3月" in str(message["Subject"])
        assert message["Auto-Submitted"] == "auto-generated"
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename().endswith("2025-03.pdf")
        assert attachment.get_content().startswith(b"%PDF")
        assert "/review/analysis.pdf?month=2025-03" in message.get_body().get_content()
    wait_for(lambda: _sent(dt.date(2025, 3, 1)), "the month to be stamped sent")
    dispatch = AnalysisDispatch.objects.get(month=dt.date(2025, 3, 1))
    assert sorted(dispatch.recipients.split()) == sorted([first.email, second.email])

    assert _run(outcomes, "2025-03") is False
    time.sleep(0.3)
    assert len(sink.received) == 2


def test_a_busy_mail_server_is_retried_and_nobody_gets_it_twice(live):
    """The second executive's mailbox answers 451 once: the first executive is mailed,
    the second one's message waits in the outbox with the error; "retry now" (admin)
    sends it, and nobody gets it twice."""
    sink, outcomes = live
    first = UserFactory(username="exec_a", role=Role.EXECUTIVE)
    second = UserFactory(username="exec_b", role=Role.EXECUTIVE)
    sink.refuse(second.email, times=1)

    assert _run(outcomes, "2025-04") is True
    rows = OutboxMessage.objects.filter(kind="analysis_report")
    wait_for(
        lambda: (
            rows.filter(state="sent").count() == 1
            and rows.filter(attempts=1, claimed_until__isnull=True).count() == 2
        ),
        "one report sent and one refused",
    )
    waiting = rows.get(recipient=second)
    assert waiting.state == "pending" and "451" in waiting.last_error
    assert not _sent(dt.date(2025, 4, 1))

    assert outbox.retry_now([waiting.pk]) == 1
    wait_for(lambda: _sent(dt.date(2025, 4, 1)), "the month to be stamped sent")
    assert [sorted(r.rcpt_tos) for r in sink.received] == [[first.email], [second.email]]
    assert rows.get(pk=waiting.pk).attempts == 2
    assert {str(r.message["Message-ID"]) for r in sink.received} == {r.message_id for r in rows}
