"""Everything the apps plug into lower layers, in one place (NetBox's netbox/registry.py).

A lower app never imports a higher one (collab < requests_app < tasks_app < meetings_app <
risks_app < review_app < portfolio_app). Where a lower layer needs a later stage's rule or reaction,
the later app registers it here from its AppConfig.ready(), and the lower layer reads
the store.
Each store is named below, so that one file shows every extension point; the modules
that own a store (requests_app.guards, requests_app.hooks, tasks_app.hooks,
collab.calendar, collab.demo, collab.warnings, collab.services) keep their typed
`register_*` functions, which write here.

The stores are fixed: a store's contents may change, the set of stores may not.
"""

from __future__ import annotations

from collections.abc import Iterable


class Registry(dict):
    """A dict of named stores that refuses new keys, replacement and deletion."""

    def __getitem__(self, key):
        try:
            return super().__getitem__(key)
        except KeyError:
            raise KeyError(f"The registry has no store {key!r}.") from None

    def __setitem__(self, key, value):
        raise TypeError("The registry's stores are fixed; change a store's contents instead.")

    def __delitem__(self, key):
        raise TypeError("The registry's stores are fixed; change a store's contents instead.")


registry = Registry(
    {
        # requests_app.guards: name -> check(request) -> bool behind a transition's guard
        # ("breakdown_signed" from tasks_app, "final_acceptance_passed" from review_app).
        "request_guards": {},
        # requests_app.hooks: hook(request=, by=) inside the 確認立項 / 已完成 transaction.
        "after_confirm": [],
        "after_complete": [],
        # tasks_app.hooks: hook(task=, by=, deliverables=) inside a submission; and
        # hook(user, task, **extra) -> dict adding panels and actions to the task page;
        # hook(user, deadlines) -> dict adding sections to 我的任務; and
        # hook(request, user, deadlines) -> dict adding panels to a request's board.
        "after_submit": [],
        "task_page": [],
        "my_work": [],
        "board_extras": [],
        # collab.calendar: hook() after an administrator changes a holiday or 補班 day.
        "calendar_change": [],
        # collab.warnings: code -> RuleSpec of a warning rule; code -> the extra scans
        # a higher app adds to a rule (meetings_app's action items under the task rules).
        "warning_rules": {},
        "warning_extras": {},
        # collab.demo: (order, seeder) of each app's demo data; tasks_app.demo: how a
        # demo delivery gets accepted (review_app's procedure).
        "demo_seeders": [],
        "demo_acceptors": [],
        # collab.services: app label -> {role group: model permission codes} opening the
        # admin pages of that app to the role (object scoping is the apps' own).
        "role_permissions": {},
        # collab.events: (model label, kind or message code) -> render(params) -> str,
        # how a history row reads in the reader's language.
        "event_renderers": {},
        # collab.outbox: kind -> Channel (build and mark delivered) of outgoing messages.
        "outbox_channels": {},
        # meetings_app: hook(action=, by=, reason=) inside the transaction that marks an
        # action item 需升級 (the escalation ladder of a later issue registers here).
        "action_escalated": [],
    }
)


def add(store: str, item) -> None:
    """Append `item` to a list store once (registering twice is harmless)."""
    items = registry[store]
    if item not in items:
        items.append(item)


def grant(app_label: str, roles: Iterable[str], codes: Iterable[str]) -> None:
    """Give each of `roles` the model permissions `codes` in Django admin, for an app.

    Called from the app's AppConfig.ready(); collab.services.role_permissions() adds the
    grants of every app to collab's own table when the role groups are built.
    """
    table = registry["role_permissions"].setdefault(app_label, {})
    for role in roles:
        table.setdefault(str(role), set()).update(codes)
