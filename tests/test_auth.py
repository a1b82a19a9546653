"""Authentication: every page needs a login, demo accounts log in, throttling holds."""

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from collab.demo import DEMO_PASSWORD, _demo_usernames

PUBLIC = {"login", "healthz", "set_language", "javascript-catalog"}


def _named_urls(resolver=None, prefix=""):
    """Yield the names of every URL without arguments (namespaced)."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            if entry.namespace == "admin":
                continue  # the admin keeps its own login page; tested below
            yield from _named_urls(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name and not entry.pattern.regex.groups:
            yield f"{prefix}{entry.name}"


@pytest.mark.django_db
def test_every_page_but_the_public_ones_requires_login(client):
    """An anonymous visitor is sent to the login page from every non-public URL."""
    names = sorted(set(_named_urls()) - PUBLIC)
    assert "home" in names and "requests_app:mine" in names
    for name in names:
        url = reverse(name)
        response = client.get(url)
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("login")), name


@pytest.mark.django_db
def test_admin_requires_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "login" in response.url


@pytest.mark.django_db
def test_login_page_speaks_traditional_chinese(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'lang="zh-hant"' in body
    assert "登入" in body
    assert "跨部門協作" in body


@pytest.mark.django_db
def test_every_demo_account_logs_in_through_the_form(client):
    """After seed_demo, each documented account logs in with the documented password."""
    call_command("seed_demo", verbosity=0)
    for username in _demo_usernames():
        response = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username
        assert response.url == reverse("home"), username
        assert client.get(reverse("home")).status_code == 200
        client.post(reverse("logout"))


@pytest.mark.django_db
def test_wrong_password_shows_a_translated_error(client, staff):
    response = client.post(reverse("login"), {"username": staff.username, "password": "nope"})
    assert response.status_code == 200
    assert "輸入正確的" in response.content.decode()


@pytest.mark.django_db
def test_disabled_user_live_session_stops_working(client, staff):
    """Deactivating a user ends the session they already have open."""
    client.force_login(staff)
    assert client.get(reverse("home")).status_code == 200
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account(client, staff, settings):
    """django-axes refuses even the right password after too many failures."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": staff.username, "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": staff.username, "password": "pw-for-tests"}
    )
    assert response.status_code == 429
    assert "登入失敗次數過多" in response.content.decode()


@pytest.mark.django_db
def test_password_change(client, staff):
    client.force_login(staff)
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert "變更密碼" in page.content.decode()
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw-for-tests",
            "new_password1": "a-much-Longer-pass-2026",
            "new_password2": "a-much-Longer-pass-2026",
        },
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password("a-much-Longer-pass-2026")


@pytest.mark.django_db
def test_logout_ends_the_session(client, staff):
    client.force_login(staff)
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302
