"""The concurrency harness of the race tests: people acting at the same moment.

Each racer runs in its own thread with its own database connection (real PostgreSQL,
`django_db(transaction=True)`): it loads what its page showed, calls wait() to line up
with the others at a barrier, then calls the service. `slow` makes whoever holds the row
lock first keep it a moment longer, so the others really arrive while it is at work.
"""

from __future__ import annotations

import threading
import time

from django.db import connection


def race(*racers, timeout: float = 30) -> list:
    """Run each racer(wait) in its own thread; return [("ok", value) | ("error", exc)]."""
    barrier = threading.Barrier(len(racers))
    results: list = [None] * len(racers)

    def wait():
        barrier.wait(timeout=10)

    def run(index, racer):
        try:
            results[index] = ("ok", racer(wait))
        except Exception as exc:
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results


def slow(monkeypatch, module, name: str, seconds: float = 0.3) -> None:
    """Make `module.name` sleep before it runs: called while the row lock is held."""
    real = getattr(module, name)

    def slowed(*args, **kwargs):
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, slowed)
