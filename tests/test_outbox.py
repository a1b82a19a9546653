"""The outbox's own rules: claims, the retry schedule over days, giving up, the sweep,
the admin page with "retry now", and a broker that is down at commit.

The fault tests with a real worker, Redis and SMTP server are in
tests/test_outbox_faults.py; these pin the rules themselves, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import threading
import time

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from collab import outbox
from collab.choices import Role
from collab.models import OutboxMessage
from tests.factories import UserFactory
from tests.helpers import assert_constant_queries

SENT: list[str] = []
FAILURES: list[BaseException] = []


class _Message:
    def __init__(self, row: OutboxMessage, pause: float = 0.0):
        self.row = row
        self.pause = pause

    def send(self):
        time.sleep(self.pause)
        if FAILURES:
            raise FAILURES.pop(0)
        SENT.append(self.row.message_id)


outbox.register("test_message", build=lambda row: _Message(row))
outbox.register("test_slow", build=lambda row: _Message(row, pause=0.5))
outbox.register("test_nobody", build=lambda row: None)


@pytest.fixture(autouse=True)
def _clean():
    SENT.clear()
    FAILURES.clear()
    yield
    SENT.clear()
    FAILURES.clear()


def _row(kind="test_message", key="k1", **fields) -> OutboxMessage:
    return OutboxMessage.objects.create(kind=kind, key=key, **fields)


@pytest.mark.django_db
def test_a_message_is_sent_once_and_a_repeat_does_nothing():
    row = _row()
    assert outbox.deliver(row.pk) == outbox.Outcome.SENT
    assert outbox.deliver(row.pk) == outbox.Outcome.BUSY
    row.refresh_from_db()
    assert row.state == "sent" and row.attempts == 1 and row.sent_at is not None
    assert [row.message_id] == SENT


@pytest.mark.django_db
def test_nothing_to_send_is_recorded_as_skipped():
    row = _row(kind="test_nobody")
    assert outbox.deliver(row.pk) == outbox.Outcome.SKIPPED
    row.refresh_from_db()
    assert row.state == "skipped" and row.sent_at is None


@pytest.mark.django_db
def test_enqueue_keeps_one_row_per_key(django_capture_on_commit_callbacks):
    draft = outbox.Draft(kind="test_message", key="same", params={"n": 1})
    with django_capture_on_commit_callbacks(execute=True):
        first = outbox.enqueue([draft])
        again = outbox.enqueue([draft])
    assert len(first) == 1 and again == []
    assert OutboxMessage.objects.filter(key="same").count() == 1
    assert [first[0].message_id] == SENT  # eager here: sent on commit
    with pytest.raises(LookupError):
        outbox.enqueue([outbox.Draft(kind="no_such_channel", key="x", params={})])


@pytest.mark.django_db
def test_failures_back_off_and_keep_trying_for_days_then_give_up(time_machine):
    """Attempts wait 1, 2, 4 … minutes, then an hour at most; the message is still
    tried after three days, and only marked failed after OUTBOX_RETRY_FOR (4 days)."""
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    row = _row()
    pauses = []
    while True:
        FAILURES.append(ConnectionRefusedError("mail server down"))
        outcome = outbox.deliver(row.pk)
        row.refresh_from_db()
        if outcome == outbox.Outcome.FAILED:
            break
        assert outcome == outbox.Outcome.DOWN and row.state == "pending"
        pauses.append(row.next_attempt_at - row.last_attempt_at)
        time_machine.move_to(row.next_attempt_at, tick=False)
    minutes = [int(p.total_seconds() // 60) for p in pauses]
    assert minutes[:7] == [1, 2, 4, 8, 16, 32, 60]
    assert set(minutes[7:]) == {60}
    assert row.last_attempt_at - start >= dt.timedelta(days=4)
    assert row.state == "failed" and "mail server down" in row.last_error
    assert SENT == []
    # Still failing after three days was not giving up.
    assert len(pauses) > 3 * 24


@pytest.mark.django_db
def test_a_permanent_refusal_fails_at_once():
    row = _row()
    FAILURES.append(smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}))
    assert outbox.deliver(row.pk) == outbox.Outcome.FAILED
    row.refresh_from_db()
    assert row.state == "failed" and row.attempts == 1


@pytest.mark.django_db
def test_a_busy_recipient_is_retried_without_stopping_the_batch():
    busy, other = _row(key="k1"), _row(key="k2")
    FAILURES.append(smtplib.SMTPRecipientsRefused({"a@example.com": (451, b"busy")}))
    assert outbox.deliver_many([busy.pk, other.pk]) == {"retry": 1, "sent": 1}


@pytest.mark.django_db
def test_an_unreachable_server_stops_the_batch():
    first, second = _row(key="k1"), _row(key="k2")
    FAILURES.append(ConnectionRefusedError("down"))
    assert outbox.deliver_many([first.pk, second.pk]) == {"down": 1}
    second.refresh_from_db()
    assert second.attempts == 0 and second.state == "pending"


@pytest.mark.django_db
def test_the_sweep_queues_due_unclaimed_rows_once(time_machine, django_capture_on_commit_callbacks):
    """Due, waiting, not claimed: queued (oldest first) and pushed one lease ahead, so the
    next sweep does not queue them again while they wait in the broker."""
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    due = _row(key="due", next_attempt_at=now - dt.timedelta(minutes=1))
    _row(key="later", next_attempt_at=now + dt.timedelta(minutes=5))
    _row(key="sent", state="sent", next_attempt_at=now - dt.timedelta(minutes=1))
    _row(
        key="claimed",
        next_attempt_at=now - dt.timedelta(minutes=1),
        claimed_until=now + dt.timedelta(minutes=1),
    )
    with django_capture_on_commit_callbacks(execute=False):
        queued = []
        original = outbox.kick
        outbox.kick = lambda ids: queued.extend(ids) or True
        try:
            assert outbox.sweep() == 1
            assert outbox.sweep() == 0
        finally:
            outbox.kick = original
    assert queued == [due.pk]
    due.refresh_from_db()
    assert due.next_attempt_at == now + dt.timedelta(seconds=300)


@pytest.mark.django_db(transaction=True)
def test_two_attempts_at_once_send_once():
    """Two workers given the same row at the same moment: one sends, the other finds it
    claimed (SELECT ... FOR UPDATE SKIP LOCKED and the lease)."""
    row = _row(kind="test_slow")
    outcomes = []

    def attempt():
        try:
            outcomes.append(outbox.deliver(row.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["busy", "sent"]
    assert [row.message_id] == SENT


@pytest.mark.django_db
def test_a_broker_down_at_commit_leaves_the_write_and_the_row(settings, caplog):
    """The broker cannot be reached when the transaction commits: no error reaches the
    caller, the row waits for the sweeper."""
    from collab.celery import app

    saved = app.conf.broker_url, app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(broker_url="redis://127.0.0.1:1/0", task_always_eager=False)
    app._pool = None
    app.amqp._producer_pool = None
    try:
        with transaction.atomic():
            (row,) = outbox.enqueue([outbox.Draft(kind="test_message", key="k", params={})])
        # pytest-django's transaction never commits: run the hook as the commit would.
        assert outbox.kick([row.pk]) is False
    finally:
        app.conf.update(broker_url=saved[0], task_always_eager=saved[1])
        app._pool = None
        app.amqp._producer_pool = None
    assert "sweeper will send" in caplog.text
    row.refresh_from_db()
    assert row.state == "pending" and row.attempts == 0


# --- admin -----------------------------------------------------------------------------------

CHANGELIST = "admin:collab_outboxmessage_changelist"


@pytest.fixture
def platform_admin(db):
    return UserFactory(role=Role.ADMIN, is_staff=True)


@pytest.mark.django_db
def test_admin_lists_waiting_and_failed_for_platform_admins_only(client, platform_admin, pmo):
    _row(key="waiting", summary="新品上市推廣 已提交")
    _row(key="failed", state="failed", last_error="SMTPRecipientsRefused: 550")
    client.force_login(platform_admin)
    page = client.get(reverse(CHANGELIST), {"state__exact": "failed"}).content.decode()
    assert "SMTPRecipientsRefused" in page and "新品上市推廣" not in page
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "新品上市推廣" in page
    for user in (pmo, UserFactory(is_staff=True)):
        client.force_login(user)
        assert client.get(reverse(CHANGELIST)).status_code == 403
    client.force_login(pmo)
    row = OutboxMessage.objects.get(key="failed")
    change = reverse("admin:collab_outboxmessage_change", args=[row.pk])
    assert client.get(change).status_code == 403


@pytest.mark.django_db
def test_admin_retry_now_sends_failed_messages_again(
    client, platform_admin, django_capture_on_commit_callbacks
):
    failed = _row(key="failed", state="failed", attempts=97, last_error="down")
    sent = _row(key="sent", state="sent")
    client.force_login(platform_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(CHANGELIST),
            {"action": "retry_now", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )
    assert "已將 1 則訊息排入重新寄送。" in response.content.decode()
    failed.refresh_from_db()
    assert failed.state == "sent" and failed.attempts == 98
    assert [failed.message_id] == SENT


@pytest.mark.django_db
def test_admin_list_query_count_does_not_grow(client, platform_admin):
    client.force_login(platform_admin)
    counter = iter(range(1000))

    def make(n):
        for _ in range(n):
            _row(key=f"k{next(counter)}", recipient=UserFactory())

    assert_constant_queries(make, lambda: client.get(reverse(CHANGELIST)))
