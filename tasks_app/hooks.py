"""What later stages do around a task, registered from their AppConfig.ready().

review_app registers the opening of an acceptance round (成果驗收) to run inside the
submission's transaction, and the acceptance panel of the task page. This app never
imports review_app.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from collab.registry import add, registry

# Keys of a task-page hook's dict that add up instead of replacing each other: templates
# included in the page's main column, and links shown in its actions card.
LIST_KEYS = ("task_panels", "task_page_actions")


def register_after_submit(hook: Callable) -> None:
    """Run `hook(task=, by=, deliverables=)` inside the submission's transaction.

    `deliverables` are the TaskDeliverable rows of this submission. A hook that raises
    (ValidationError, PermissionDenied) undoes the whole submission.
    """
    add("after_submit", hook)


def run_after_submit(*, task, by, deliverables: Sequence) -> None:
    for hook in registry["after_submit"]:
        hook(task=task, by=by, deliverables=deliverables)


def register_task_page(hook: Callable) -> None:
    """Add `hook(user, task, **extra) -> dict` to the task page's context.

    `extra` is what a later stage's own view hands back through
    tasks_app.views.render_task_page when it shows the page again after an error (the
    form as typed); each hook takes only its own keys. The lists under LIST_KEYS are
    concatenated: "task_panels" (template names included in the page) and
    "task_page_actions" (dicts with label, url, icon and id for the actions card).
    """
    add("task_page", hook)


def task_page_context(user, task, **extra) -> dict:
    context: dict = {key: [] for key in LIST_KEYS}
    for hook in registry["task_page"]:
        for key, value in hook(user, task, **extra).items():
            if key in LIST_KEYS:
                context[key] = [*context[key], *value]
            else:
                context[key] = value
    return context
