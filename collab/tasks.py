"""Celery tasks of collab: thin, they take ids and call one service.

The outbox tasks are safe to run twice, late or at the same time (collab.outbox claims
each row with a lease), so they are acknowledged late and given back to the broker when
a worker dies under them (CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST).
"""

from celery import shared_task

from . import outbox

# Send these outbox rows (each at most once); defined in collab.outbox, which queues it.
outbox_deliver_task = outbox.outbox_deliver_task


@shared_task
def outbox_sweep_task() -> int:
    """Queue every outbox row that is due and unsent (beat, every two minutes)."""
    return outbox.sweep()


@shared_task
def warnings_scan_task(cadence: str = "daily") -> int:
    """Run the warning rules of one cadence now; return how many warnings were made."""
    from . import warnings

    return len(warnings.run(cadences=(cadence,)).items)


# Names queued by a release before the outbox: a message still waiting in Redis at the
# upgrade finds its task and sends through the outbox (the migration gave every unsent
# notification and digest its row).
@shared_task
def send_notification_emails_task(notification_ids: list[int]) -> dict[str, int]:
    return outbox.deliver_many(outbox.ids_for_keys(f"notification:{pk}" for pk in notification_ids))


@shared_task
def send_warning_digest_task(digest_id: int) -> dict[str, int]:
    return outbox.deliver_many(outbox.ids_for_keys([f"warning_digest:{digest_id}"]))
