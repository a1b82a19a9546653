from celery import shared_task

from . import notifications


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_emails_task(notification_ids: list[int]) -> int:
    """E-mail the notifications with these ids (idempotent: sent ones are skipped)."""
    return notifications.send_emails(notification_ids)


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def send_warning_digest_task(digest_id: int) -> bool:
    """E-mail one warning digest; SMTP errors (OSError, smtplib's too) are retried."""
    from . import warnings

    return warnings.digest_send(digest_id)


@shared_task
def warnings_scan_task(cadence: str = "daily") -> int:
    """Run the warning rules of one cadence now; return how many warnings were made."""
    from . import warnings

    return len(warnings.run(cadences=(cadence,)).items)
