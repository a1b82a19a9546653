"""Test helpers shared by every test module."""

from __future__ import annotations

import time
from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext


def _format(queries) -> str:
    return "\n".join(f"{i}. {q['sql']}" for i, q in enumerate(queries, start=1))


@contextmanager
def assert_query_count(expected: int):
    """Fail unless exactly `expected` SQL queries run inside the block; print them if not."""
    with CaptureQueriesContext(connection) as ctx:
        yield ctx
    if len(ctx.captured_queries) != expected:
        raise AssertionError(
            f"Expected {expected} queries, ran {len(ctx.captured_queries)}:\n"
            + _format(ctx.captured_queries)
        )


def count_queries(func) -> tuple[int, list]:
    """Run func() and return (number of queries, the queries)."""
    with CaptureQueriesContext(connection) as ctx:
        func()
    return len(ctx.captured_queries), ctx.captured_queries


def assert_constant_queries(make_rows, fetch, *, small: int = 2, large: int = 8):
    """Assert `fetch()` runs as many queries with `large` rows as with `small` rows.

    make_rows(n) adds n more rows; the SQL of both runs is printed on failure, which is
    how an N+1 shows itself.
    """
    make_rows(small)
    n_small, q_small = count_queries(fetch)
    make_rows(large - small)
    n_large, q_large = count_queries(fetch)
    if n_small != n_large:
        raise AssertionError(
            f"Query count grew with the rows: {n_small} with {small} rows, "
            f"{n_large} with {large} rows.\n--- {small} rows ---\n{_format(q_small)}"
            f"\n--- {large} rows ---\n{_format(q_large)}"
        )
    return n_large


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    """Poll `condition()` until it holds (a real worker's result); fail after `timeout` s."""
    import pytest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"Timed out after {timeout:.0f}s waiting for {what}.")


def admin_form_data(response) -> dict:
    """Return the POST data of a rendered admin change form (with its inlines), as a
    browser would send it."""
    from django.forms import MultiWidget

    data = {}

    def add(bound_field):
        value = bound_field.value()
        widget = bound_field.field.widget
        widget = getattr(widget, "widget", widget)  # the admin's related-object wrapper
        if isinstance(widget, MultiWidget):
            parts = widget.decompress(value) if not isinstance(value, list) else value
            for index, part in enumerate(parts):
                if part is not None:
                    data[f"{bound_field.html_name}_{index}"] = str(part)
            return
        if value is None or value is False:
            return
        data[bound_field.html_name] = "on" if value is True else value

    for bound_field in response.context["adminform"].form:
        add(bound_field)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for bound_field in formset.management_form:
            add(bound_field)
        for form in formset.forms:
            for bound_field in form:
                add(bound_field)
    return data


def changelist_pks(response) -> set[int]:
    """The primary keys an admin changelist response lists (its current page)."""
    return {obj.pk for obj in response.context["cl"].result_list}


def messages_at(response, level) -> list[str]:
    """The texts of the flash messages of `level` a response's request queued."""
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request) if m.level == level]


# --- browser tests -------------------------------------------------------------------

FACTORY_PASSWORD = "pw-for-tests"  # what UserFactory sets for every user


def browser_log_in(page, live_server, user) -> None:
    """Log in as `user` through the login form's fields and wait for the home page."""
    from django.urls import reverse

    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", user.username)
    page.fill("#id_password", FACTORY_PASSWORD)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("home"))


def browser_switch_user(page, live_server, username: str, password: str = FACTORY_PASSWORD):
    """Leave the current session and log in as `username`; wait for the home page."""
    from django.urls import reverse

    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation(url=live_server.url + reverse("home")):
        page.locator(f'form[action="{reverse("login")}"] button[type=submit]').click()


def days_from_today(n: int):
    """The local date `n` days from today (negative: before)."""
    import datetime as dt

    from django.utils import timezone

    return timezone.localdate() + dt.timedelta(days=n)
