"""Celery tasks of review_app (found by collab.celery's autodiscovery)."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_backoff_max=900,
    max_retries=8,
)
def send_monthly_analysis_task(month: str | None = None) -> bool:
    """E-mail the 協作分析報告 of `month` ("YYYY-MM"; default: the month before today in
    the portal's time zone) to the executives, once; return True if it was sent now.

    SMTP errors (OSError, smtplib's too) are retried, backing off from 1 up to 15
    minutes, 8 times within about 75 minutes: a beat run at 07:00 on the 1st never
    retries into another month, so the default month stays the one meant. A month
    already sent is not sent again.
    """
    from .selectors.analysis import parse_month, previous_month
    from .services.analysis import analysis_send

    day = parse_month(month) if month else previous_month()
    return analysis_send(month=day).sent_now
