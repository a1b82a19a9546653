"""Human-readable case numbers such as XQ202407001, unique and never reused."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import NumberSequence


@transaction.atomic
def next_number(prefix: str, *, on: dt.date | None = None, width: int = 3) -> str:
    """Return the next number for `prefix` in the month of `on`: prefix + yyyymm + NNN.

    The sequence row is updated in place (UPDATE ... SET last = last + 1), so two
    transactions asking at the same instant are serialised by the row lock and never
    receive the same number. A rolled-back transaction gives its number back, which is
    fine: numbers are only shown once the request is saved.
    """
    on = on or timezone.localdate()
    key = f"{prefix}{on:%Y%m}"
    NumberSequence.objects.get_or_create(key=key)
    NumberSequence.objects.filter(key=key).update(last=F("last") + 1)
    last = NumberSequence.objects.values_list("last", flat=True).get(key=key)
    return f"{key}{last:0{width}d}"
