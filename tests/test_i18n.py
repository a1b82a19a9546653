"""Language: zh-Hant by default, English through the switcher."""

import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse


@pytest.mark.django_db
def test_default_language_is_traditional_chinese(client, staff):
    client.force_login(staff)
    body = client.get(reverse("home")).content.decode()
    assert 'lang="zh-hant"' in body
    assert "我的需求" in body and "我的任務" in body and "待辦事項" in body


@pytest.mark.django_db
def test_language_switch_to_english_and_back(client, staff):
    """The switcher posts to set_language; the next page is in the chosen language."""
    client.force_login(staff)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    assert response.status_code == 302
    body = client.get(reverse("home")).content.decode()
    assert 'lang="en"' in body
    assert "My requests" in body and "我的需求" not in body
    client.post(reverse("set_language"), {"language": "zh-hant", "next": reverse("home")})
    assert "我的需求" in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_language_switch_works_before_login(client):
    client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    body = client.get(reverse("login")).content.decode()
    assert "Log in" in body


def test_zh_hant_catalog_is_complete():
    """Every message of the project's own catalog has a zh-Hant translation, none fuzzy."""
    po = Path(settings.BASE_DIR) / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"
    assert po.exists(), "locale/zh_Hant/LC_MESSAGES/django.po is missing"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr, result.stderr
    assert "fuzzy" not in result.stderr, result.stderr


@pytest.mark.django_db
def test_an_english_browser_still_gets_traditional_chinese(client):
    """The browser's Accept-Language does not decide; only the switcher does."""
    body = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-hant"' in body and "登入" in body
