"""What later stages do when a request moves on, registered from their AppConfig.ready().

tasks_app registers the generation of draft tasks from the departments' commitments to
run inside the 確認立項 transaction; review_app registers what starts at 已完成. This app
never imports them.
"""

from __future__ import annotations

from collections.abc import Callable

from collab.registry import add, registry


def register_after_confirm(hook: Callable) -> None:
    """Run `hook(request=, by=)` inside the 確認立項 transaction (tasks_app: the draft
    tasks from the departments' commitments)."""
    add("after_confirm", hook)


def run_after_confirm(*, request, by) -> None:
    for hook in registry["after_confirm"]:
        hook(request=request, by=by)


def register_after_complete(hook: Callable) -> None:
    """Run `hook(request=, by=)` inside the 已完成 transaction (review_app: the
    retrospective and the feedback forms)."""
    add("after_complete", hook)


def run_after_complete(*, request, by) -> None:
    for hook in registry["after_complete"]:
        hook(request=request, by=by)
