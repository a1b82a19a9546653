from celery import shared_task

from . import notifications


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_emails_task(notification_ids: list[int]) -> int:
    """E-mail the notifications with these ids (idempotent: sent ones are skipped)."""
    return notifications.send_emails(notification_ids)
