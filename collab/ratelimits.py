"""Per-person rate limits on the expensive pages: PDFs, the analysis report, and the
dashboard over a long period.

One decorator, `rate_limited(kind)`, on every such view. django-ratelimit counts the
requests per signed-in person and per fixed window in the shared cache
(settings.CACHES["default"]: Redis in production and tests, atomic INCR; the process's
own memory under `make run`); the rates are settings.RATE_LIMITS, read at each request
(e.g. "30/m", env-driven; empty = no limit). Each kind is one counter per person across
all its views: ten different PDFs count ten against "pdf".

Past the rate the view is not run: the answer is 429 with Retry-After, the translated
page templates/429.html, or for an htmx request a short message (collab.js swaps it
into the target). Should the cache be unreachable the request goes through (logged):
a Redis outage must not take every PDF down with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: The kinds of limit, each a key of settings.RATE_LIMITS and a counter per person.
KINDS = ("pdf", "analysis", "dashboard_long")


def _rate(kind: str) -> Callable:
    """django-ratelimit's callable rate: the setting now, None (no limit) when empty."""

    def rate(group, request):
        return getattr(settings, "RATE_LIMITS", {}).get(kind) or None

    return rate


def usage(request, kind: str) -> dict | None:
    """Count this request against `kind` for its person; return django-ratelimit's usage
    ({"should_limit", "time_left", ...}) or None when nothing limits it."""
    try:
        return get_usage(
            request,
            group=f"collab.{kind}",
            key="user",
            rate=_rate(kind),
            increment=True,
        )
    except (RedisError, OSError):
        logger.warning("Rate limit %s not counted: the cache is unreachable.", kind)
        return None


def too_many_requests(request, *, retry_after: int) -> HttpResponse:
    """Return the 429 answer: the translated page, or a short message for htmx."""
    retry_after = max(int(retry_after), 1)
    if getattr(request, "htmx", False):
        message = _("Too many requests: please wait a moment and try again.")
        response = HttpResponse(
            format_html('<div class="alert alert-warning mb-0" role="alert">{}</div>', message),
            status=429,
        )
    else:
        response = render(request, "429.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    patch_cache_control(response, private=True, no_store=True)
    return response


def rate_limited(kind: str, *, applies: Callable | None = None):
    """Decorate a view so each person may call it at most settings.RATE_LIMITS[kind].

    `applies(request)` says whether this request counts at all (the dashboard: only a
    long period); by default every request does.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown rate limit {kind!r}; one of {KINDS}.")

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if applies is None or applies(request):
                found = usage(request, kind)
                if found is not None and found["should_limit"]:
                    return too_many_requests(request, retry_after=found["time_left"])
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
