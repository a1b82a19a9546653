"""How the portal writes numbers and times, the same on every page and in every PDF.

{% load collab_format %}, then:

- ``{{ rate|percent }}%``: a percentage's number, whole numbers without decimals and
  any other with one (``33``, ``9.6``): task progress, achievement (達成率) and on-time
  rates side by side read alike. The template writes the % sign, so that a translated
  text keeps its own order ("%(percent)s%").
- ``{{ goal.target_value|amount }}``: a stored decimal as the person typed it, without
  the trailing zeros of its column (``9.60`` → ``9.6``, ``30.00`` → ``30``).
- ``{{ when|since }}`` / ``{{ start|since:end }}``: Django's timesince to its largest
  unit only (``3 days``; ``3 日``). Django joins two units with ", " in every language
  ("1 日, 2 小時"), which zh-Hant does not write; one unit reads well in both.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format
from django.utils.timesince import timesince

register = template.Library()

ONE_DECIMAL = Decimal("0.1")


def _decimal(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


@register.filter
def percent(value) -> str:
    """Return a percentage's number: whole without decimals, else one, rounded half up."""
    number = _decimal(value)
    if number is None:
        return ""
    rounded = number.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
    whole = rounded == rounded.to_integral_value()
    return number_format(rounded, decimal_pos=0 if whole else 1)


@register.filter
def amount(value) -> str:
    """Return a decimal without the trailing zeros of its stored precision."""
    number = _decimal(value)
    if number is None:
        return ""
    places = max(0, -number.normalize().as_tuple().exponent)
    return number_format(number, decimal_pos=places)


@register.filter
def since(value, arg=None) -> str:
    """Return the time from `value` to `arg` (now by default) in its largest unit."""
    if not value:
        return ""
    try:
        return timesince(value, arg, depth=1)
    except (ValueError, TypeError):
        return ""
