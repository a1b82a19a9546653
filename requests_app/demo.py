"""Demo requests in every state (filled in by seed_demo)."""


def seed_requests() -> None:
    """Create one demo request per state; idempotent (keyed on the request name)."""
