"""What later stages do around a task, registered from their AppConfig.ready().

review_app registers the opening of an acceptance round (成果驗收) to run inside the
submission's transaction, and the acceptance panel of the task page; meetings_app adds
the action items to 我的任務 and to a request's board. This app never imports them.
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
    return _merged("task_page", LIST_KEYS, (), user, task, **extra)


def register_my_work(hook: Callable) -> None:
    """Add `hook(user, deadlines) -> dict` to 我的任務's context: what else `user` is
    responsible for (meetings_app's action items), with its timing badges from the page's
    tasks_app.deadlines.Deadlines. The dict's "my_work_panels" (templates included in the
    "I am responsible" tab) add up; "my_work_open" and "my_work_late" (counts) add to the
    tab's totals."""
    add("my_work", hook)


def my_work_context(user, deadlines) -> dict:
    counts = ("my_work_open", "my_work_late")
    return _merged("my_work", ("my_work_panels",), counts, user, deadlines)


def register_board_extras(hook: Callable) -> None:
    """Add `hook(request, user, deadlines) -> dict` to a request's board: rows shown next
    to its tasks (meetings_app's action items), with the board's Deadlines. The dict's
    "board_panels" (templates included below the tasks) add up."""
    add("board_extras", hook)


def board_context(request, user, deadlines) -> dict:
    return _merged("board_extras", ("board_panels",), (), request, user, deadlines)


def _merged(store: str, lists: tuple, counts: tuple, *args, **kwargs) -> dict:
    """Call each hook of `store` and merge their dicts: the `lists` keys concatenated,
    the `counts` summed, any other key as the last hook gives it."""
    context: dict = {key: [] for key in lists} | dict.fromkeys(counts, 0)
    for hook in registry[store]:
        for key, value in hook(*args, **kwargs).items():
            if key in lists:
                context[key] = [*context[key], *value]
            elif key in counts:
                context[key] += value
            else:
                context[key] = value
    return context
