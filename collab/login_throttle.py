"""Login throttling on top of django-axes: the username-wide throttle and the lock-out page.

django-axes counts failures per lockout parameter but holds every parameter to one
AXES_FAILURE_LIMIT and one AXES_COOLOFF_TIME (its handler's ``get_failures`` takes the
maximum over the parameters); its maintainers answer "write a custom handler" for
separate limits (jazzband/django-axes#661). The portal needs two throttles
(docs/deployment.md, "Login lock-out behind the proxy"):

- per username + client address (``AXES_LOCKOUT_PARAMETERS``): AXES_FAILURE_LIMIT
  failures lock that pair for AXES_COOLOFF_TIME; other addresses are not affected;
- per username across all addresses: LOGIN_USERNAME_FAILURE_LIMIT failures within
  LOGIN_USERNAME_COOLOFF_MINUTES refuse the username, for that short cool-off, from every
  address it has never signed in from, so guessing from many addresses is slowed while
  the person at their usual desk keeps signing in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _free_at(
    attempts: Iterable[tuple[dt.datetime, int]], limit: int, window: dt.timedelta
) -> dt.datetime | None:
    """Return when the failures still in the window fall below ``limit``, or None if they are.

    ``attempts`` are (attempt_time, failures) rows, oldest first; a row leaves the window
    ``window`` after its attempt_time (axes keeps the time of a row's latest failure).
    """
    attempts = list(attempts)
    remaining = sum(failures for _time, failures in attempts)
    free_at = None
    for attempt_time, failures in attempts:
        if remaining < limit:
            break
        remaining -= failures
        free_at = attempt_time + window
    return free_at


class LoginThrottleHandler(AxesDatabaseHandler):
    """Axes' database handler plus the username-wide throttle (AXES_HANDLER)."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """Return this username + address's failures, or the limit while the username is throttled.

        Axes compares this number with AXES_FAILURE_LIMIT wherever it decides (refusing
        a login in its backend, flagging the lock-out after a failure), so answering the
        limit is how the username-wide throttle locks.
        """
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if failures < limit and self._username_throttled(request, credentials):
            return limit
        return failures

    def locked_until(
        self, request: HttpRequest, credentials: dict | None = None
    ) -> dt.datetime | None:
        """Return when this username may try again from this address, or None if not locked."""
        times = []
        cool_off = get_cool_off(request)
        if cool_off is not None:
            limit = get_failure_limit(request, credentials)
            for attempts in self.get_user_attempts(request, credentials):
                rows = attempts.order_by("attempt_time").values_list(
                    "attempt_time", "failures_since_start"
                )
                times.append(_free_at(rows, limit, cool_off))
        if self._username_throttled(request, credentials):
            rows = self._username_attempts(request, credentials).order_by("attempt_time")
            times.append(
                _free_at(
                    rows.values_list("attempt_time", "failures_since_start"),
                    settings.LOGIN_USERNAME_FAILURE_LIMIT,
                    _username_cool_off(),
                )
            )
        return max((time for time in times if time), default=None)

    def _username_attempts(self, request: HttpRequest, credentials: dict | None):
        """Return the username's failure rows, from every address, within the short cool-off."""
        return AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            attempt_time__gte=request.axes_attempt_time - _username_cool_off(),
        )

    def _username_throttled(self, request: HttpRequest, credentials: dict | None) -> bool:
        """Say whether the username-wide limit refuses this username from this address.

        An address the account has signed in from before (axes' access log) is exempt:
        an attacker elsewhere cannot shut the person out at their desk, and that address
        is still held to the username + address limit.
        """
        username = get_client_username(request, credentials)
        if not username:
            return False
        failures = self._username_attempts(request, credentials).aggregate(
            total=Sum("failures_since_start")
        )["total"]
        if (failures or 0) < settings.LOGIN_USERNAME_FAILURE_LIMIT:
            return False
        address = request.axes_ip_address
        known = (
            bool(address)
            and AccessLog.objects.filter(username=username, ip_address=address).exists()
        )
        return not known


def _username_cool_off() -> dt.timedelta:
    return dt.timedelta(minutes=settings.LOGIN_USERNAME_COOLOFF_MINUTES)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """Render the lock-out page with the time to try again (AXES_LOCKOUT_CALLABLE)."""
    handler = AxesProxyHandler.get_implementation()
    locked_until = None
    if isinstance(handler, LoginThrottleHandler):
        locked_until = handler.locked_until(request, credentials)
    if locked_until is not None:
        # The page shows minutes: round up, so the time shown is never too early.
        minute = locked_until.replace(second=0, microsecond=0)
        locked_until = minute if minute == locked_until else minute + dt.timedelta(minutes=1)
    context = {
        "username": get_client_username(request, credentials) or "",
        "locked_until": locked_until,
    }
    return render(
        request,
        settings.AXES_LOCKOUT_TEMPLATE,
        context,
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
