"""The outbox: every message that leaves the portal, delivered once and retried for days.

A service that announces something writes an OutboxMessage row in its own transaction
(`enqueue`), so the message exists exactly when the change does. Delivery never runs
inside that transaction and never fails it:

1. After commit, `kick` hands the new rows' ids to Celery (`outbox_deliver_task`). If
   the broker is down at that moment the error is logged and swallowed: the committed
   write stays a success for the person who made it, and the sweeper sends later.
2. `deliver(pk)` claims the row with a lease (SELECT ... FOR UPDATE SKIP LOCKED, then a
   `claimed_until` in the future, committed), builds the message through the row's
   channel, sends it, and marks the row sent in one short transaction with the
   channel's own bookkeeping (a notification's `emailed_at`, a digest's `sent_at`). A
   second task for the same row, a redelivered Celery message or a sweeper running at
   the same moment finds the row claimed or sent and does nothing.
3. A failed attempt records the error and the next attempt time (exponential backoff
   from OUTBOX_RETRY_BASE up to OUTBOX_RETRY_MAX seconds). A row still unsent after
   OUTBOX_RETRY_FOR (4 days by default) or refused permanently (SMTP 5xx) is marked
   failed; admin (Outgoing messages) lists it with "retry now".
4. Celery beat runs `sweep` every two minutes: it re-queues every row that is due and
   not claimed (after a broker outage, a lost task, or a worker killed mid-send whose
   lease ran out).

A worker killed after the relay accepted a message but before the row was marked sent
makes the next attempt send it again; each row has one stable Message-ID
(`OutboxMessage.message_id`), so the relay or the mail client can tell it is the same
message.

Channels register from the app that owns the message (`register`), as the warning
rules do: collab's notification e-mails and warning digests, portfolio_app's monthly
report; the webhooks and chat robots of later issues are channels too. A channel's
`build` returns something with a `send()` that raises on failure (an EmailMessage), or
None when there is nothing to send any more (the recipient was deactivated).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from .models import OutboxMessage, User
from .registry import registry

logger = logging.getLogger(__name__)

State = OutboxMessage.State


class Sendable(Protocol):
    def send(self) -> object: ...


@dataclass(frozen=True)
class Channel:
    """How one kind of message is built and what is recorded when it went."""

    kind: str
    build: Callable[[OutboxMessage], Sendable | None]
    # Runs in the transaction that marks the row sent (or skipped): the channel's own
    # "sent" stamp, so it is set exactly when the outbox says the message went.
    delivered: Callable[[OutboxMessage], None] | None = None


_channels: dict[str, Channel] = registry["outbox_channels"]


def register(
    kind: str,
    *,
    build: Callable[[OutboxMessage], Sendable | None],
    delivered: Callable[[OutboxMessage], None] | None = None,
) -> None:
    """Register the channel for `kind` (from an AppConfig.ready or at import)."""
    _channels[kind] = Channel(kind=kind, build=build, delivered=delivered)


def channels() -> dict[str, Channel]:
    return dict(_channels)


# --- writing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """One message to enqueue: its channel, unique key, parameters and who it is for."""

    kind: str
    key: str
    params: dict
    recipient: User | None = None
    summary: str = ""


def addressed_row(message: OutboxMessage, rows, key: str):
    """Return the row (with its `recipient`) that `message.params[key]` names, for a
    channel's build; None when it is gone, or its person was deactivated since or has
    no address (the in-app row is enough then)."""
    row = rows.select_related("recipient").filter(pk=message.params[key]).first()
    if row is None or not row.recipient.is_active or not row.recipient.email:
        return None
    return row


def enqueue(drafts: Iterable[Draft]) -> list[OutboxMessage]:
    """Write the messages in the caller's transaction and send them once it commits.

    A key already in the outbox is left as it is (that message exists already); the rows
    returned are the ones this call created.
    """
    drafts = list(drafts)
    if not drafts:
        return []
    for draft in drafts:
        if draft.kind not in _channels:
            raise LookupError(f"No outbox channel is registered for {draft.kind!r}.")
    now = timezone.now()
    known = set(
        OutboxMessage.objects.filter(key__in=[d.key for d in drafts]).values_list("key", flat=True)
    )
    fresh = [d for d in drafts if d.key not in known]
    rows = OutboxMessage.objects.bulk_create(
        OutboxMessage(
            kind=d.kind,
            key=d.key,
            params=d.params,
            recipient=d.recipient,
            summary=d.summary[:200],
            created_at=now,
            # The commit hook sends it at once; the sweeper only steps in after a grace
            # period, for a message the hook could not hand to the broker.
            next_attempt_at=now + dt.timedelta(seconds=settings.OUTBOX_SWEEP_GRACE),
        )
        for d in fresh
    )
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: kick(ids), robust=True)
    return rows


PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def kick(ids: Sequence[int]) -> bool:
    """Hand the rows to Celery now; return False if the broker could not take them.

    Never raises: a broker that is down leaves the rows for the sweeper, and the write
    that made them has committed already. One quick retry (a pooled connection that
    went stale when the broker restarted), no retry loop, so a page does not hang on a
    dead broker.
    """
    ids = list(ids)
    if not ids:
        return True
    size = settings.OUTBOX_BATCH
    try:
        for start in range(0, len(ids), size):
            outbox_deliver_task.apply_async(
                (ids[start : start + size],), retry=True, retry_policy=PUBLISH_RETRY
            )
    except Exception:
        logger.warning(
            "Could not hand %d outgoing message(s) to the broker; the outbox sweeper will "
            "send them.",
            len(ids),
            exc_info=True,
        )
        return False
    return True


# The delivery task is defined here, not in collab.tasks (which imports it from here):
# kick() queues it, and collab.tasks calls this module, so importing it from there would
# make an import cycle. It keeps the name it was registered under.
@shared_task(name="collab.tasks.outbox_deliver_task", soft_time_limit=120, time_limit=150)
def outbox_deliver_task(ids: list[int]) -> dict[str, int]:
    """Send these outbox rows (each at most once; failures wait for their next attempt)."""
    return deliver_many(ids)


# --- delivering ------------------------------------------------------------------------


class Outcome:
    SENT = "sent"
    SKIPPED = "skipped"
    RETRY = "retry"  # failed this time, tried again later
    DOWN = "down"  # the server could not be reached: tried again later, and so are the rest
    FAILED = "failed"  # given up: admin's "retry now" can revive it
    BUSY = "busy"  # claimed by another attempt, or already done


def _unclaimed(now: dt.datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def _claim(pk: int) -> OutboxMessage | None:
    """Lease the row to this attempt (committed at once), or return None."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(_unclaimed(now), pk=pk, state=State.PENDING)
            .first()
        )
        if row is None:
            return None
        row.claimed_until = now + dt.timedelta(seconds=settings.OUTBOX_LEASE)
        row.attempts += 1
        row.last_attempt_at = now
        row.save(update_fields=["claimed_until", "attempts", "last_attempt_at"])
    return row


def _finish(row: OutboxMessage, state: str) -> bool:
    """Mark the claimed row sent or skipped with the channel's bookkeeping; False when
    the lease was lost to another attempt meanwhile."""
    with transaction.atomic():
        done = OutboxMessage.objects.filter(
            pk=row.pk, state=State.PENDING, claimed_until=row.claimed_until
        ).update(
            state=state,
            sent_at=timezone.now() if state == State.SENT else None,
            claimed_until=None,
            last_error="",
        )
        if done:
            row.state = state
            channel = _channels.get(row.kind)
            if channel is not None and channel.delivered is not None:
                channel.delivered(row)
    return bool(done)


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    base, cap = settings.OUTBOX_RETRY_BASE, settings.OUTBOX_RETRY_MAX
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def permanent(exc: BaseException) -> bool:
    """Return True for an error no retry can cure: the SMTP server refused every
    recipient or the data with a 5xx code (a 4xx is "try again later")."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


# The far end cannot be reached at all (not one message's problem): no use trying the
# rest of a batch now.
UNREACHABLE = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    smtplib.SMTPConnectError,
    smtplib.SMTPServerDisconnected,
)


def _failed(row: OutboxMessage, exc: BaseException) -> str:
    now = timezone.now()
    give_up = permanent(exc) or now - row.created_at >= dt.timedelta(
        seconds=settings.OUTBOX_RETRY_FOR
    )
    error = f"{exc.__class__.__name__}: {exc}"[:2000]
    OutboxMessage.objects.filter(pk=row.pk, claimed_until=row.claimed_until).update(
        state=State.FAILED if give_up else State.PENDING,
        claimed_until=None,
        last_error=error,
        # Counted from the attempt's start, so the schedule does not drift by how long
        # a timed-out connection took.
        next_attempt_at=(row.last_attempt_at or now) + backoff(row.attempts),
    )
    log = logger.error if give_up else logger.warning
    log("Outgoing message %s (%s) attempt %d failed: %s", row.pk, row.kind, row.attempts, error)
    if give_up:
        return Outcome.FAILED
    return Outcome.DOWN if isinstance(exc, UNREACHABLE) else Outcome.RETRY


def deliver(pk: int) -> str:
    """Send one outbox row unless it is sent, failed or claimed; return the Outcome."""
    row = _claim(pk)
    if row is None:
        return Outcome.BUSY
    channel = _channels.get(row.kind)
    try:
        if channel is None:
            raise LookupError(f"No outbox channel is registered for {row.kind!r}.")
        message = channel.build(row)
        if message is None:
            _finish(row, State.SKIPPED)
            return Outcome.SKIPPED
        message.send()
    except Exception as exc:
        return _failed(row, exc)
    if not _finish(row, State.SENT):
        logger.warning("Outgoing message %s was sent after its lease ran out.", row.pk)
    return Outcome.SENT


def deliver_many(ids: Iterable[int]) -> dict[str, int]:
    """Deliver the rows in order; stop when the server cannot be reached (the rest wait
    for the sweeper instead of each timing out in turn)."""
    counts: dict[str, int] = {}
    for pk in ids:
        outcome = deliver(pk)
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome == Outcome.DOWN:
            break
    return counts


def sweep(*, now: dt.datetime | None = None, limit: int | None = None) -> int:
    """Re-queue every due, unclaimed, waiting row (oldest first); return how many.

    The rows' next attempt moves one lease ahead first, so the next sweep does not queue
    them again while these tasks wait in the broker; a task that is lost is sent by a
    sweep after that.
    """
    now = now or timezone.now()
    limit = limit or settings.OUTBOX_SWEEP_LIMIT
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(_unclaimed(now), state=State.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        OutboxMessage.objects.filter(pk__in=ids).update(
            next_attempt_at=now + dt.timedelta(seconds=settings.OUTBOX_LEASE)
        )
    if ids:
        kick(ids)
    return len(ids)


def retry_now(ids: Iterable[int]) -> int:
    """Make waiting or failed rows due now and queue them (admin's "retry now")."""
    now = timezone.now()
    with transaction.atomic():
        rows = OutboxMessage.objects.filter(
            pk__in=list(ids), state__in=[State.PENDING, State.FAILED]
        ).filter(_unclaimed(now))
        picked = list(rows.values_list("pk", flat=True))
        rows.update(state=State.PENDING, next_attempt_at=now, claimed_until=None)
    transaction.on_commit(lambda: kick(picked), robust=True)
    return len(picked)


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    waiting: int
    failed: int
    oldest_waiting: dt.datetime | None

    def age_seconds(self, now: dt.datetime | None = None) -> int:
        if self.oldest_waiting is None:
            return 0
        return max(0, int(((now or timezone.now()) - self.oldest_waiting).total_seconds()))


def backlog() -> Backlog:
    """How many messages wait or failed, and since when the oldest one waits (1 query)."""
    stats = OutboxMessage.objects.filter(state__in=[State.PENDING, State.FAILED]).aggregate(
        waiting=Count("pk", filter=Q(state=State.PENDING)),
        failed=Count("pk", filter=Q(state=State.FAILED)),
        oldest=Min("created_at", filter=Q(state=State.PENDING)),
    )
    return Backlog(waiting=stats["waiting"], failed=stats["failed"], oldest_waiting=stats["oldest"])


def ids_for_keys(keys: Iterable[str]) -> list[int]:
    """The ids of the rows with these keys, oldest first."""
    return list(
        OutboxMessage.objects.filter(key__in=list(keys)).order_by("pk").values_list("pk", flat=True)
    )
