"""Celery tasks of portfolio_app (found by collab.celery's autodiscovery).

The monthly analysis task moved here from review_app; it keeps the name it was
registered under, so the beat schedule (CELERY_BEAT_SCHEDULE) and the periodic-task
rows already stored by django-celery-beat, which name it, still find it.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="review_app.tasks.send_monthly_analysis_task")
def send_monthly_analysis_task(month: str | None = None) -> bool:
    """Queue the 協作分析報告 of `month` ("YYYY-MM"; default: the month before today in
    the portal's time zone) for the executives, once; return True if it was queued now.

    The e-mails leave through collab.outbox, which retries a mail server that is down
    for days; a month already queued is not queued again.
    """
    from .selectors.analysis import parse_month, previous_month
    from .services.analysis import analysis_send

    day = parse_month(month) if month else previous_month()
    return analysis_send(month=day).sent_now
