"""`seed_demo` prints no Celery chatter (issue 13, part 5).

The demo runs its Celery tasks eagerly, and each one used to log "Task … succeeded" at
INFO: about fifty lines around the one line that matters. The command quiets the
task-trace logger while it seeds; a failing task is logged at ERROR and still shows, and
the logger is back to its level afterwards.
"""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.core.management import call_command

from collab import demo

pytestmark = pytest.mark.django_db

TRACE = "celery.app.trace"


def _celery_records(caplog, below=logging.WARNING):
    return [r for r in caplog.records if r.name.startswith("celery") and r.levelno < below]


@pytest.mark.django_db(transaction=True)
def test_seed_demo_runs_its_tasks_without_logging_them(caplog):
    """The demo's tasks run (mail goes out) and not one Celery INFO line is logged.

    Transactional, so that the tasks run on commit inside the command, as in `make run`.
    """
    caplog.set_level(logging.INFO)
    call_command("seed_demo", verbosity=0)
    assert mail.outbox, "the demo's notification tasks did not run"
    assert _celery_records(caplog) == []


def test_a_failing_task_still_shows_and_the_level_comes_back(caplog, monkeypatch):
    """Quieting keeps ERROR records of the trace logger, and ends with the command."""
    caplog.set_level(logging.INFO)

    def seed_all():
        logging.getLogger(TRACE).info("Task demo.task[1] succeeded in 0.01s: None")
        logging.getLogger(TRACE).error("Task demo.task[2] raised unexpected: RuntimeError()")

    monkeypatch.setattr(demo, "seed_all", seed_all)
    call_command("seed_demo", verbosity=0)
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == TRACE] == [
        (logging.ERROR, "Task demo.task[2] raised unexpected: RuntimeError()")
    ]
    logging.getLogger(TRACE).info("after the command")
    assert caplog.records[-1].getMessage() == "after the command"
