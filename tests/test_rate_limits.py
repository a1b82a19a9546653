"""Per-person rate limits on the expensive pages (collab/ratelimits.py): the PDFs, the
analysis report and the dashboard over a long period. The counts live in the real
Redis cache of the test settings; each test sets a low rate and starts from no count."""

from __future__ import annotations

import datetime as dt

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.urls import reverse

from tests.factories import UserFactory
from tests.review_closing_fixtures import build_project, complete

pytestmark = pytest.mark.django_db

LONG = {"period": "custom", "from": "2023-01-01", "to": "2025-12-31"}
# Counts go in fixed windows; time stands still in each test, so no window ends midway.
FROZEN = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)


def _forget_counts(cache: dict) -> None:
    """Delete the cache's keys (this test process's prefix), nothing else in Redis."""
    prefix = cache["KEY_PREFIX"]
    assert prefix.startswith("collab-test-")
    client = redis.Redis.from_url(cache["LOCATION"])
    try:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _fresh_counts(settings):
    """No count left over from another test; rates low enough to reach."""
    cache = dict(django_settings.CACHES["default"])
    settings.RATE_LIMITS = {"pdf": "2/m", "analysis": "1/m", "dashboard_long": "1/m"}
    _forget_counts(cache)
    with time_machine.travel(FROZEN, tick=False):
        yield
    _forget_counts(cache)


@pytest.fixture
def completed(pmo):
    project = build_project(pmo)
    complete(project)
    return project


def _get(client, user, url, **extra):
    client.force_login(user)
    return client.get(url, **extra)


def _assert_limited(response) -> str:
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "請求過於頻繁" in html and "秒後再試" in html
    return html


def test_a_person_past_the_pdf_rate_gets_429_and_others_are_unaffected(client, completed):
    """One counter per person for every PDF: 2/m, then 429 on any PDF; another person
    keeps printing."""
    req = completed.request
    pdf = reverse("requests_app:pdf", args=[req.pk])
    for _ in range(2):
        assert _get(client, completed.pmo, pdf).status_code == 200
    html = _assert_limited(_get(client, completed.pmo, pdf))
    assert 'lang="zh-hant"' in html and "%PDF" not in html
    _assert_limited(_get(client, completed.pmo, reverse("tasks_app:breakdown-pdf", args=[req.pk])))
    other = _get(
        client, completed.initiator, reverse("review_app:retrospective-pdf", args=[req.pk])
    )
    assert other.status_code == 200 and other.content.startswith(b"%PDF")


def test_the_analysis_report_has_its_own_lower_rate(client, pmo, executive):
    url = reverse("portfolio_app:analysis-pdf")
    assert _get(client, pmo, url).status_code == 200
    _assert_limited(_get(client, pmo, url))
    assert _get(client, executive, url).status_code == 200


def test_the_dashboard_is_limited_only_over_a_long_period(client, pmo, executive):
    """Three years count (the page and the lists behind its numbers share one counter);
    this month or a year never does."""
    dashboard = reverse("portfolio_app:dashboard")
    assert _get(client, pmo, dashboard, data=LONG).status_code == 200
    _assert_limited(_get(client, pmo, dashboard, data=LONG))
    _assert_limited(_get(client, pmo, reverse("portfolio_app:dashboard-tasks"), data=LONG))
    for short in ({}, {"period": "last_year"}, {"period": "year"}):
        assert _get(client, pmo, dashboard, data=short).status_code == 200
    assert _get(client, executive, dashboard, data=LONG).status_code == 200


def test_an_htmx_request_gets_a_short_message(client, pmo):
    dashboard = reverse("portfolio_app:dashboard")
    _get(client, pmo, dashboard, data=LONG)
    response = _get(client, pmo, dashboard, data=LONG, HTTP_HX_REQUEST="true")
    assert response.status_code == 429
    body = response.content.decode()
    assert body.startswith('<div class="alert') and "<html" not in body
    assert "請求過於頻繁：請稍候再試。" in body


def test_the_429_page_speaks_english_to_those_who_chose_it(client, pmo):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    url = reverse("portfolio_app:analysis-pdf")
    _get(client, pmo, url)
    response = _get(client, pmo, url)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many requests" in html and "Please try again in" in html


def test_an_empty_rate_means_no_limit(client, pmo, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "analysis": ""}
    url = reverse("portfolio_app:analysis-pdf")
    for _ in range(3):
        assert _get(client, pmo, url).status_code == 200


def test_pages_stay_up_while_the_cache_is_unreachable(client, pmo, settings):
    """A Redis outage lets the requests through (logged) rather than answering 500."""
    unused = redis.Redis.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(redis.exceptions.ConnectionError):
        unused.ping()
    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    url = reverse("portfolio_app:analysis-pdf")
    for _ in range(3):
        assert _get(client, pmo, url).status_code == 200


def test_the_limit_is_per_person_not_per_department(client, completed):
    """Two people of one department each get their own count."""
    colleague = UserFactory(department=completed.mkt)
    pdf = reverse("requests_app:pdf", args=[completed.request.pk])
    for _ in range(2):
        _get(client, completed.initiator, pdf)
    _assert_limited(_get(client, completed.initiator, pdf))
    assert completed.initiator.department == colleague.department
    for _ in range(2):
        assert _get(client, colleague, pdf).status_code == 200
