"""Login lock-out behind the reverse proxy (issue 13): who is counted, and for how long.

Every request is sent the way it reaches gunicorn behind the nginx of
docs/deployment.md: from the proxy (REMOTE_ADDR 127.0.0.1) with the X-Forwarded-For
that `$proxy_add_x_forwarded_for` builds, i.e. the client's own header, if any, with the
client's address appended on the right. The axes and ipware settings are the ones
collab/settings/production.py computes from the documented environment (.env.example),
so a wrong production.py fails these tests.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
TAIPEI = ZoneInfo("Asia/Taipei")
MONDAY_9AM = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TAIPEI)
PASSWORD = "pw-for-tests"
PROXY = "127.0.0.1"  # nginx on the host, as gunicorn sees it
CLIENT_A = "203.0.113.10"
CLIENT_B = "198.51.100.20"
# The environment production needs to start; the login settings come from .env.example.
PRODUCTION_ENV = {
    "SECRET_KEY": "test-" + "x" * 60,
    "ALLOWED_HOSTS": "collab.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/collab",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SITE_URL": "https://collab.example.com",
}


PRODUCTION = ("base", "production")  # the settings modules production runs


def _documented_login_env() -> dict[str, str]:
    """Return the AXES_* variables and values .env.example documents."""
    text = (ROOT / ".env.example").read_text()
    return dict(re.findall(r"^(AXES_\w+)=(.*)$", text, flags=re.MULTILINE))


def production_login_settings(monkeypatch) -> dict:
    """Return the login-throttling settings production.py computes for the documented env.

    base.py and production.py run afresh in that environment; the modules the test
    settings already loaded are put back afterwards.
    """
    for key, value in {**PRODUCTION_ENV, **_documented_login_env()}.items():
        monkeypatch.setenv(key, value)
    package = sys.modules["collab.settings"]
    loaded = {name: sys.modules.pop(f"collab.settings.{name}", None) for name in PRODUCTION}
    try:
        module = importlib.import_module("collab.settings.production")
    finally:
        for name, previous in loaded.items():
            sys.modules.pop(f"collab.settings.{name}", None)
            if previous is None:
                vars(package).pop(name, None)
            else:
                sys.modules[f"collab.settings.{name}"] = previous
                setattr(package, name, previous)
    prefixes = ("AXES_", "IPWARE_", "LOGIN_USERNAME_")
    return {name: getattr(module, name) for name in dir(module) if name.startswith(prefixes)}


@pytest.fixture(autouse=True)
def production_axes(settings, monkeypatch, time_machine):
    """Run each test with production's axes/ipware settings at a fixed Taipei time."""
    values = production_login_settings(monkeypatch)
    assert "AXES_PROXY_COUNT" in _documented_login_env()
    for name, value in values.items():
        setattr(settings, name, value)
    time_machine.move_to(MONDAY_9AM, tick=False)
    return settings


def post_login(username, password, *, forwarded_for=None, client=None):
    """POST the login form as nginx forwards it; `forwarded_for` is the header it sends."""
    client = client or Client()
    headers = {"REMOTE_ADDR": PROXY}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(reverse("login"), {"username": username, "password": password}, **headers)


def assert_logged_in(response):
    assert response.status_code == 302, response.status_code
    assert response.url == reverse("home")


def assert_locked(response):
    assert response.status_code == 429, response.status_code
    assert "登入失敗次數過多" in response.content.decode()


def recorded_addresses(username) -> set:
    return set(AccessAttempt.objects.filter(username=username).values_list("ip_address", flat=True))


def failures(username) -> int:
    return sum(
        AccessAttempt.objects.filter(username=username).values_list(
            "failures_since_start", flat=True
        )
    )


@pytest.mark.django_db
def test_one_client_locked_out_does_not_lock_another_client(production_axes, staff):
    """5 failures from client A lock A only; client B signs in with the right password.

    nginx sends a one-address X-Forwarded-For for a client that sent none; the failures
    are recorded under that address, not under NULL.
    """
    limit = production_axes.AXES_FAILURE_LIMIT
    for attempt in range(1, limit + 1):
        response = post_login(staff.username, "wrong", forwarded_for=CLIENT_A)
        assert response.status_code == (429 if attempt == limit else 200)
    assert_locked(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A))
    assert recorded_addresses(staff.username) == {CLIENT_A}

    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_B))


@pytest.mark.django_db
def test_username_and_address_lock_keeps_its_long_cool_off(production_axes, staff, time_machine):
    """The locked page says when A may try again; A is free after AXES_COOLOFF_HOURS, not before."""
    for _ in range(production_axes.AXES_FAILURE_LIMIT):
        post_login(staff.username, "wrong", forwarded_for=CLIENT_A)
    cool_off = dt.timedelta(hours=production_axes.AXES_COOLOFF_TIME)

    locked = post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A)
    assert_locked(locked)
    until = (MONDAY_9AM + cool_off).strftime("%Y-%m-%d %H:%M")
    assert f"您可以在 {until} 之後再試一次。" in locked.content.decode()

    short = dt.timedelta(minutes=production_axes.LOGIN_USERNAME_COOLOFF_MINUTES)
    time_machine.move_to(MONDAY_9AM + short + dt.timedelta(seconds=1), tick=False)
    assert_locked(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A))
    time_machine.move_to(MONDAY_9AM + cool_off + dt.timedelta(seconds=1), tick=False)
    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A))


@pytest.mark.django_db
def test_a_forged_leftmost_entry_does_not_make_a_new_client(production_axes, staff):
    """A client that rotates a fake leftmost X-Forwarded-For is still one client.

    nginx appends the real address on the right; that one is counted, so the client is
    locked after the limit, and its fake addresses appear nowhere.
    """
    limit = production_axes.AXES_FAILURE_LIMIT
    for attempt in range(limit):
        post_login(staff.username, "wrong", forwarded_for=f"1.2.3.{attempt}, {CLIENT_A}")
    assert_locked(post_login(staff.username, PASSWORD, forwarded_for=f"1.2.3.99, {CLIENT_A}"))
    assert_locked(post_login(staff.username, PASSWORD, forwarded_for=f"garbage, {CLIENT_A}"))
    assert recorded_addresses(staff.username) == {CLIENT_A}
    assert failures(staff.username) == limit

    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=f"1.2.3.0, {CLIENT_B}"))


@pytest.mark.django_db
def test_without_the_header_failures_count_under_remote_addr(production_axes, staff):
    """A request that did not pass the proxy (no X-Forwarded-For) counts under REMOTE_ADDR."""
    limit = production_axes.AXES_FAILURE_LIMIT
    for _ in range(limit):
        post_login(staff.username, "wrong")
    assert_locked(post_login(staff.username, PASSWORD))
    assert recorded_addresses(staff.username) == {PROXY}
    assert not AccessAttempt.objects.filter(ip_address__isnull=True).exists()

    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_B))


def guess_from_many_addresses(username, total, per_address=2):
    """Fail `total` times, `per_address` from each new address (below the pair limit)."""
    for attempt in range(total):
        address = f"192.0.2.{attempt // per_address + 1}"
        response = post_login(username, "wrong", forwarded_for=f"1.2.3.4, {address}")
        assert response.status_code in (200, 429)


@pytest.mark.django_db
def test_guessing_from_many_addresses_is_throttled_for_the_short_cool_off(
    production_axes, staff, time_machine
):
    """LOGIN_USERNAME_FAILURE_LIMIT failures across addresses throttle the username.

    A new address is refused even with the right password, the page says until when,
    and after the short cool-off the real user signs in.
    """
    limit = production_axes.LOGIN_USERNAME_FAILURE_LIMIT
    assert limit > production_axes.AXES_FAILURE_LIMIT
    guess_from_many_addresses(staff.username, limit - 1)
    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_B))

    assert_locked(post_login(staff.username, "wrong", forwarded_for="192.0.2.100"))
    assert_locked(post_login(staff.username, "another-guess", forwarded_for="192.0.2.200"))
    refused = post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A)
    assert_locked(refused)
    short = dt.timedelta(minutes=production_axes.LOGIN_USERNAME_COOLOFF_MINUTES)
    until = (MONDAY_9AM + short).strftime("%Y-%m-%d %H:%M")
    assert f"您可以在 {until} 之後再試一次。" in refused.content.decode()
    # Refused attempts are not counted: they neither extend the throttle nor add guesses.
    assert failures(staff.username) == limit

    time_machine.move_to(MONDAY_9AM + short - dt.timedelta(seconds=1), tick=False)
    assert_locked(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A))
    time_machine.move_to(MONDAY_9AM + short + dt.timedelta(seconds=1), tick=False)
    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A))


@pytest.mark.django_db
def test_the_username_throttle_spares_addresses_the_account_signed_in_from(production_axes, staff):
    """An attack from many addresses does not shut the person out at their usual desk."""
    desk = Client()
    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_B, client=desk))
    desk.post(reverse("logout"), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT_B)

    guess_from_many_addresses(staff.username, production_axes.LOGIN_USERNAME_FAILURE_LIMIT)
    assert_locked(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A))
    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_B))


@pytest.mark.django_db
def test_one_address_cannot_throttle_the_username(production_axes, staff):
    """Hammering from one locked address adds nothing: other addresses still sign in."""
    for _ in range(production_axes.LOGIN_USERNAME_FAILURE_LIMIT * 3):
        post_login(staff.username, "wrong", forwarded_for=CLIENT_A)
    assert failures(staff.username) == production_axes.AXES_FAILURE_LIMIT
    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_B))


@pytest.mark.django_db
def test_successful_login_resets_the_counter(production_axes, staff):
    """A successful login clears that address's failures (AXES_RESET_ON_SUCCESS)."""
    below_limit = production_axes.AXES_FAILURE_LIMIT - 1
    for _ in range(below_limit):
        post_login(staff.username, "wrong", forwarded_for=CLIENT_A)
    assert failures(staff.username) == below_limit
    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A))
    assert failures(staff.username) == 0

    for _ in range(below_limit):
        assert post_login(staff.username, "wrong", forwarded_for=CLIENT_A).status_code == 200
    assert_logged_in(post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A))


@pytest.mark.django_db
def test_locked_page_speaks_english_too(production_axes, staff, settings):
    """The lock-out page, with its retry time, follows the language switcher."""
    for _ in range(production_axes.AXES_FAILURE_LIMIT):
        post_login(staff.username, "wrong", forwarded_for=CLIENT_A)
    english = Client()
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = post_login(staff.username, PASSWORD, forwarded_for=CLIENT_A, client=english)
    assert response.status_code == 429
    body = response.content.decode()
    until = MONDAY_9AM + dt.timedelta(hours=production_axes.AXES_COOLOFF_TIME)
    assert "Too many failed logins" in body
    assert f"You can try again after {until:%Y-%m-%d %H:%M}." in body
