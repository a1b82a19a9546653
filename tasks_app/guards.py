"""Conditions of the task transitions, and the request guard this app completes."""

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


def breakdown_signed(request) -> bool:
    """The request's breakdown has tasks and a valid signature from every involved head.

    Registered with requests_app.guards as the condition of 已立項 → 進行中.
    """
    from .selectors import breakdown_missing_signatures

    breakdown = getattr(request, "breakdown", None)
    if breakdown is None or not request.tasks.exists():
        return False
    return not breakdown_missing_signatures(breakdown)
