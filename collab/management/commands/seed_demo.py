import logging
from contextlib import contextmanager

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from collab import demo

# Celery's task-trace logger: one "Task … succeeded" line at INFO for every task the demo
# runs eagerly (about fifty). A failing task is logged at ERROR and still shows.
QUIET_LOGGERS = ("celery.app.trace",)


@contextmanager
def _quiet(names, level=logging.WARNING):
    """Raise the given loggers to `level` for the block, then give them their level back."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, old in zip(loggers, saved, strict=True):
            logger.setLevel(old)


class Command(BaseCommand):
    help = "Create or refresh the demo departments, accounts and cases (idempotent)."

    def handle(self, *args, **options):
        with _quiet(QUIET_LOGGERS):
            demo.seed_all()
        self.stdout.write(
            self.style.SUCCESS(
                _("Demo data ready. Every demo account's password is %(password)s.")
                % {"password": demo.DEMO_PASSWORD}
            )
        )
