"""Conditions of the request's transitions.

The later stages (tasks_app: the signed breakdown; review_app: the final acceptance)
complete these guards by registering a check from their AppConfig.ready(): this app
never imports them. Until a stage registers its check, its guard is closed: a
transition is never allowed by default.
"""

from __future__ import annotations

from collections.abc import Callable

from collab.registry import registry

from .choices import ReviewDecision

_checks: dict[str, Callable] = registry["request_guards"]


def register(name: str, check: Callable) -> None:
    """Register the check behind a guard ("breakdown_signed", "final_acceptance_passed")."""
    _checks[name] = check


def all_departments_agreed(request) -> bool:
    """Every collaborating department agreed in the current review round."""
    reviews = request.reviews.filter(round=request.review_round)
    return (
        request.review_round > 0
        and reviews.exists()
        and not reviews.exclude(decision=ReviewDecision.APPROVED).exists()
    )


def breakdown_signed(request) -> bool:
    check = _checks.get("breakdown_signed")
    return bool(check and check(request))


def final_acceptance_passed(request) -> bool:
    check = _checks.get("final_acceptance_passed")
    return bool(check and check(request))


def without_retrospective(requests):
    """Filter a queryset of completed requests down to those with no retrospective.

    review_app registers the real filter with its retrospective model; until then none
    exists, so the queryset is returned whole.
    """
    narrow = _checks.get("without_retrospective")
    return narrow(requests) if narrow else requests
