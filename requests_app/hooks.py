"""What later stages do when a request moves on, registered from their AppConfig.ready().

tasks_app registers the generation of draft tasks from the departments' commitments to
run inside the 確認立項 transaction; this app never imports it.
"""

from __future__ import annotations

from collections.abc import Callable

_after_confirm: list[Callable] = []


def register_after_confirm(hook: Callable) -> None:
    if hook not in _after_confirm:
        _after_confirm.append(hook)


def run_after_confirm(*, request, by) -> None:
    for hook in _after_confirm:
        hook(request=request, by=by)
