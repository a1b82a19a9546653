"""Demo tasks in every state (filled in by seed_demo)."""


def seed_tasks() -> None:
    """Create the demo breakdowns, tasks and progress logs; idempotent."""
