"""One way to move a django-fsm state machine on: lock, compare, transition, save, log.

Two people acting on the same row at once must never produce two transitions (DEVELOPERS
contract 4). Each service that moves a state machine therefore:

1. re-reads the row under a row lock (`SELECT … FOR UPDATE`), refuses what the row's
   case forbids (an archived case), and compares the state with the one the person saw
   on their page: a different state means someone acted first (a Conflict saying what
   the row became, never a second transition);
2. runs the django-fsm transition if its conditions hold (a Refused saying why not);
3. saves the state (ConcurrentTransitionMixin turns a write behind its back into a
   Conflict too) and writes the history row, in the same transaction.

Side effects (notifications, webhooks) are outbox rows written in that transaction
(collab.outbox), sent only after it commits. Each app describes its machine once with
`Machine`; its services call `lock` and `run`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed

from .errors import Conflict, Refused


@dataclass(frozen=True)
class Machine:
    """A model's state machine as the services move it, and the words of its refusals.

    A Conflict names the model ("Someone else acted on this <verbose name> first: it
    is now “…”"), when the state is no longer the one seen or the save finds the row
    changed meanwhile.
    - `refusal(row, name)`: the Refused's text when transition `name` may not run now.
    - `check(locked)`: refuses what the locked row's case forbids (an archived case);
      run before the state is compared, so that its words come first.
    - `related`: select_related of the locked read (locks those rows too: a task's
      request, so that an archiving cannot commit meanwhile).
    - `lock_of`: the tables FOR UPDATE OF locks when `related` rows must stay unlocked
      (a suggestion's proposer).
    """

    model: type[models.Model]
    conflict: type[Conflict]
    refused: type[Refused]
    refusal: Callable[[models.Model, str], str]
    check: Callable[[models.Model], None] | None = None
    related: Sequence[str] = field(default_factory=tuple)
    lock_of: Sequence[str] | None = None

    def lock(self, row: models.Model, expected_state: str | None = None) -> models.Model:
        """Return `row` re-read under a row lock; refuse if its state moved on.

        `expected_state` is the state the person's page showed; None means the state of
        `row` as the caller read it (never "no check").
        """
        rows = self.model._default_manager.all()
        rows = (
            rows.select_for_update(of=tuple(self.lock_of))
            if self.lock_of
            else rows.select_for_update()
        )
        if self.related:
            rows = rows.select_related(*self.related)
        locked = rows.get(pk=row.pk)
        if self.check is not None:
            self.check(locked)
        expected = row.state if expected_state is None else expected_state
        if locked.state != expected:
            raise self.conflict(self._moved(locked))
        return locked

    def _moved(self, locked: models.Model) -> str:
        return _(
            "Someone else acted on this %(what)s first: it is now “%(state)s”. "
            "Reload the page to see the change."
        ) % {"what": self.model._meta.verbose_name, "state": locked.get_state_display()}

    def _raced(self) -> str:
        return _(
            "Someone else acted on this %(what)s first. Reload the page to see the change."
        ) % {"what": self.model._meta.verbose_name}

    def check_source(self, row: models.Model, name: str) -> None:
        """Refuse transition `name` when the row's state does not allow it, before anyone
        asks who may act (its conditions are not checked here).

        Otherwise a rule that also looks at the state (a request's can_submit) would
        tell the initiator of a closed request that only the initiator may act.
        """
        if not can_proceed(getattr(row, name), check_conditions=False):
            raise self.refused(self.refusal(row, name))

    def lock_for(self, row: models.Model, name: str, expected_state: str | None = None):
        """Return `row` locked (lock) for transition `name`, refused when its state does
        not allow it (check_source)."""
        locked = self.lock(row, expected_state)
        self.check_source(locked, name)
        return locked

    def run(
        self,
        locked: models.Model,
        name: str,
        *,
        log: Callable[..., models.Model],
        fields: Sequence[str] = (),
        **event,
    ):
        """Run transition `name` on a locked row, save it and write its history row.

        `log(transition=name, from_state=, to_state=, **event)` writes the row's event
        (an app's event writer, collab.models.StateLog.write) and returns it; `fields`
        are the other fields the transition or the caller changed.
        """
        method = getattr(locked, name)
        if not can_proceed(method):
            raise self.refused(self.refusal(locked, name))
        from_state = locked.state
        method()
        try:
            locked.save(update_fields=["state", "updated_at", *fields])
        except ConcurrentTransition as exc:
            raise self.conflict(self._raced()) from exc
        return log(transition=name, from_state=from_state, to_state=locked.state, **event)
