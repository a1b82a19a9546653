"""Celery tasks of meetings_app: thin, they call one function."""

from celery import shared_task

from . import series, services


@shared_task
def series_extend_task() -> int:
    """Schedule the coming weeks of every active weekly series (beat, daily); return how
    many meetings were made."""
    return series.extend_all(schedule=services.meeting_schedule)
