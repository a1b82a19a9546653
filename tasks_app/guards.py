"""Conditions of the task transitions.

The request guard this app completes (the breakdown signed, 已立項 → 進行中) is a read of
the breakdown: tasks_app.selectors.breakdown_signed. It is not here, as tasks_app.models
imports this module and the selectors import the models.
"""

from __future__ import annotations

from requests_app.choices import RequestState


def request_in_progress(task) -> bool:
    """Work on a task starts only once its request is 進行中 (the breakdown is signed)."""
    return task.request.state == RequestState.IN_PROGRESS


def predecessors_done_or_overridden(task) -> bool:
    """Every task it depends on is done, or its Accountable person overrode with a reason."""
    from .choices import TaskState

    if task.dependency_override.strip():
        return True
    return not task.depends_on.exclude(state=TaskState.DONE).exists()
