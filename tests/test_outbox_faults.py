"""Nothing lost, nothing twice: the outbox through broker, SMTP and worker failures.

Each test runs the real pieces as production does: a Redis of its own on a spare port
(tests/fault_env.py; the shared one is never touched), the `celery worker` command with
the prefork pool against the test database, an aiosmtpd server (tests/smtp_sink.py),
and the portal's pages through Django's test client. It breaks one of them while people
work, repairs it, lets beat's sweep run (the test queues `outbox_sweep_task` as beat
does every two minutes) and checks that every notification e-mail arrived exactly once
and no page answered 500.

"Exactly once" is counted per Message-ID. When a relay took a message but its "250"
never reached the sender (a lost reply, a worker killed mid-send), the sender cannot
know and must send again; the repeat carries the same Message-ID, so a relay or mail
client that keeps the first copy shows one. The tests check both: one message per
Message-ID in the mailbox, and repeats only where the reply was lost.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.urls import reverse

from collab.models import Notification, OutboxMessage
from collab.tasks import outbox_sweep_task
from requests_app.models import CollabRequest
from tests.factories import DepartmentFactory, UserFactory, make_request
from tests.fault_env import RedisServer, WorkerProcess, celery_on, database_url
from tests.helpers import wait_for
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60.0


class Office:
    """Two departments with a head each, an initiator, and the running services."""

    def __init__(self, client, redis_server: RedisServer, sink: SmtpSink, worker: WorkerProcess):
        self.client = client
        self.redis = redis_server
        self.sink = sink
        self.worker = worker
        self.mkt = DepartmentFactory(code="mkt")
        self.tech = DepartmentFactory(code="tech")
        self.mkt_head = UserFactory(username="mkt_head", department=self.mkt)
        self.tech_head = UserFactory(username="tech_head", department=self.tech)
        self.mkt.heads.add(self.mkt_head)
        self.tech.heads.add(self.tech_head)
        self.initiator = UserFactory(username="alice", department=self.mkt)
        client.force_login(self.initiator)

    def drafts(self, count: int) -> list[CollabRequest]:
        return [
            make_request(
                initiator=self.initiator,
                departments=[self.mkt, self.tech],
                lead=self.mkt,
                name=f"協作需求{n}",
            )
            for n in range(count)
        ]

    def submit(self, req: CollabRequest) -> int:
        """Submit through the page, as a person does; the status code it answered."""
        response = self.client.post(reverse("requests_app:submit", args=[req.pk]))
        return response.status_code

    def sweep(self) -> None:
        """What beat does every two minutes."""
        outbox_sweep_task.delay()

    def all_sent(self) -> bool:
        rows = OutboxMessage.objects.filter(kind="notification")
        return rows.exists() and not rows.exclude(state="sent").exists()

    def settle(self, what: str) -> None:
        """Sweep until every notification e-mail is sent (the worker does the work)."""

        def done() -> bool:
            if self.all_sent():
                return True
            self.sweep()
            time.sleep(0.5)
            return self.all_sent()

        wait_for(done, what, timeout=TIMEOUT)

    def assert_each_mailed_once(self) -> dict[str, int]:
        """Every notification was e-mailed: one message per Message-ID, to its recipient.
        Return how many times each Message-ID went over the wire."""
        notes = Notification.objects.select_related("recipient")
        assert notes.exists()
        assert not notes.filter(emailed_at__isnull=True).exists()
        rows = {row.params["notification"]: row for row in OutboxMessage.objects.all()}
        sent = self.sink.by_message_id()
        assert set(sent) == {row.message_id for row in rows.values()}
        for note in notes:
            copies = sent[rows[note.pk].message_id]
            assert {r.rcpt_tos for r in copies} == {(note.recipient.email,)}
            assert str(copies[0].message["Subject"]).endswith(note.title)
        return {message_id: len(copies) for message_id, copies in sent.items()}


@pytest.fixture
def office(client, settings):
    """A Redis of its own, an SMTP sink and a worker process; stopped by PID after."""
    settings.OUTBOX_SWEEP_GRACE = 0  # the test's sweeps find new rows at once
    sink = SmtpSink().start()
    redis_server = RedisServer().start()
    worker = None
    try:
        with celery_on(redis_server.url, settings):
            worker = WorkerProcess(
                redis_server.url, smtp_port=sink.port, database_url=database_url()
            ).start()
            yield Office(client, redis_server, sink, worker)
    finally:
        if worker is not None:
            worker.stop()
        redis_server.stop()
        sink.stop()


def test_a_broker_down_while_people_work_loses_no_mail_and_no_page_fails(office):
    """Redis is down while three requests are submitted: each page still answers with
    its redirect (the write committed), and once Redis is back the sweep sends every
    e-mail the commit could not hand over, each exactly once."""
    drafts = office.drafts(5)
    office.redis.stop()
    statuses = [office.submit(req) for req in drafts[:3]]
    assert statuses == [302, 302, 302]
    assert CollabRequest.objects.filter(number__gt="").count() == 3
    waiting = OutboxMessage.objects.filter(kind="notification", state="pending")
    assert waiting.count() == 6 and office.sink.received == []

    office.redis.start()  # the same port, empty: the worker reconnects
    assert [office.submit(req) for req in drafts[3:]] == [302, 302]
    office.settle("every e-mail after Redis came back")

    copies = office.assert_each_mailed_once()
    assert len(copies) == 10 and set(copies.values()) == {1}


def test_smtp_down_keeps_every_message_waiting_until_it_is_back(office):
    """With the mail server down, attempts fail and back off, and nothing is given up
    (the worker runs the retry schedule in seconds: 1 s, then 2 s); when the server
    comes back every e-mail goes, each exactly once."""
    drafts = office.drafts(3)
    office.sink.stop()
    assert [office.submit(req) for req in drafts] == [302, 302, 302]
    rows = OutboxMessage.objects.filter(kind="notification")

    # Beat keeps sweeping while the server is down, past the 5 retries after which the
    # old task gave a notification e-mail up for good.
    def tried_often() -> bool:
        office.sweep()
        time.sleep(0.5)
        return max(rows.values_list("attempts", flat=True)) >= 7

    wait_for(tried_often, "seven failed attempts while SMTP is down", timeout=TIMEOUT)
    assert set(rows.values_list("state", flat=True)) == {"pending"}
    assert rows.exclude(attempts=0).filter(last_error__contains="ConnectionRefusedError").exists()
    assert not Notification.objects.filter(emailed_at__isnull=False).exists()

    office.sink.start()
    office.settle("every e-mail after SMTP came back")
    copies = office.assert_each_mailed_once()
    assert len(copies) == 6 and set(copies.values()) == {1}


def test_a_relay_that_loses_its_250_gets_the_same_message_id_again(office):
    """The relay keeps the first message but the connection drops before its "250":
    the outbox sends it again later with the same Message-ID, so the person sees one."""
    office.sink.lose_reply(times=1)
    (req,) = office.drafts(1)
    assert office.submit(req) == 302
    office.settle("both e-mails after the lost reply")

    copies = office.assert_each_mailed_once()
    assert sorted(copies.values()) == [1, 2]
    repeated = next(m for m, n in copies.items() if n == 2)
    row = next(r for r in OutboxMessage.objects.all() if r.message_id == repeated)
    assert row.attempts == 2 and row.state == "sent"


def test_a_pool_process_killed_mid_send_is_retried_not_lost(office):
    """kill -9 of the process sending a message: Celery gives the task back (acks_late,
    reject_on_worker_lost), the row's lease runs out, the sweep sends it again with its
    Message-ID; nothing is lost and nothing stays "unsent" after it was mailed."""
    office.sink.stall(times=1)
    (req,) = office.drafts(1)
    assert office.submit(req) == 302
    wait_for(lambda: office.sink.stalled == 1, "the send to hang", timeout=TIMEOUT)

    office.worker.kill_child()
    office.sink.release()
    office.settle("both e-mails after the kill")

    copies = office.assert_each_mailed_once()
    assert sorted(copies.values()) == [1, 2]  # the killed one's data had reached the relay


def test_a_worker_killed_whole_and_restarted_sends_nothing_twice_later(office):
    """The whole worker dies mid-send and a new one starts: the message Redis held for
    it comes back after the visibility timeout and finds its rows sent, so nobody gets
    a second copy later (before the outbox: an hour later, 2 of 6 people did)."""
    office.sink.stall(times=1)
    drafts = office.drafts(3)
    assert [office.submit(req) for req in drafts] == [302, 302, 302]
    wait_for(lambda: office.sink.stalled == 1, "the send to hang", timeout=TIMEOUT)

    office.worker.kill()
    office.sink.release()
    office.worker.start()
    office.settle("every e-mail after the restart")
    first = office.assert_each_mailed_once()

    # Past the visibility timeout (6 s here) and another sweep: nothing more goes.
    time.sleep(8)
    office.sweep()
    time.sleep(2)
    assert office.assert_each_mailed_once() == first
    assert len(first) == 6
    assert Counter(first.values())[1] >= 5 and max(first.values()) <= 2
