"""Shared fixtures: service checks, factories, a client logged in as each role."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings

from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_head,
    make_role_user,
)
from tests.helpers import assert_query_count  # noqa: F401  (re-exported for tests)

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by
# the test around it are still synchronous, so Django's async guard must stand aside.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Test modules both import helpers from this fixtures module and load it as a plugin
# (pytest_plugins); marking it here lets pytest rewrite it on that first import instead
# of warning that it came too late.
pytest.register_assert_rewrite("tests.review_closing_fixtures")
pytest.register_assert_rewrite("tests.risks_fixtures")


def _reachable(url: str, default_port: int) -> tuple[bool, str]:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            return True, f"{host}:{port}"
    except OSError as exc:
        return False, f"{host}:{port} ({exc})"


def pytest_sessionstart(session):
    """Stop the run with a clear message when PostgreSQL or Redis is missing.

    The suite never skips for a missing service: CI must fail loudly instead.
    """
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.exit(f"Tests need PostgreSQL, but the database engine is {db['ENGINE']}.", 3)
    ok, where = _reachable(
        f"postgres://{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}", 5432
    )
    if not ok:
        pytest.exit(
            f"PostgreSQL is not reachable at {where}. Start it "
            "(pg_ctlcluster --skip-systemctl-redirect <version> main start) or set DATABASE_URL.",
            3,
        )
    ok, where = _reachable(settings.REDIS_URL, 6379)
    if not ok:
        pytest.exit(
            f"Redis is not reachable at {where}. Start it "
            "(redis-server --daemonize yes --bind 127.0.0.1 --port 6379) or set REDIS_URL.",
            3,
        )


@pytest.fixture(autouse=True)
def _portal_language():
    """Start and end each test in the portal's language: a request made with the English
    cookie leaves English active in the thread, which would change the next test."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Keep uploaded files of each test in its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def department(db):
    return DepartmentFactory()


@pytest.fixture
def other_department(db):
    return DepartmentFactory()


@pytest.fixture
def staff(department):
    """A staff member of `department`."""
    return UserFactory(department=department)


@pytest.fixture
def head(department):
    """The head of `department`."""
    return make_head(department, is_staff=True)


@pytest.fixture
def partner(db):
    """A second department collaborating on the request (技術部)."""
    return DepartmentFactory(name="技術部")


@pytest.fixture
def partner_head(partner):
    return make_head(partner, admin_groups=False, full_name="蔡宗翰")


@pytest.fixture
def approved(staff, department, partner, head, partner_head, pmo):
    """A request filed by `staff` of `department` with `partner`, 已立項 (both heads
    agreed, the PMO confirmed), with one draft task per department. The heads are
    requested so they exist; a module's own `partner_head` is the one used, as fixtures
    resolve from the requesting test."""
    return make_approved_request(
        initiator=staff, departments=[department, partner], lead=department, pmo=pmo
    )


@pytest.fixture
def deputy(head, department):
    """A staff member of `department` acting for `head` today."""
    user = UserFactory(department=department)
    DelegationFactory(head=head, deputy=user)
    return user


@pytest.fixture
def outsider(other_department):
    """A staff member of a department that takes no part."""
    return UserFactory(department=other_department)


@pytest.fixture
def pmo(db):
    from collab.choices import Role

    return make_role_user(Role.PMO)


@pytest.fixture
def executive(db):
    from collab.choices import Role

    return make_role_user(Role.EXECUTIVE)


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True)


@pytest.fixture
def client_for(client):
    """Return a function that logs the test client in as a user and returns it."""

    def login(user):
        client.force_login(user)
        return client

    return login


# --- Browser tests -------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Start Debian's Chromium once per run; fail (never skip) when it is missing."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make install` (apt package chromium).")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    # A CSP violation or script error shows up as a console error; fail the test on it.
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"Browser console errors: {errors}"
