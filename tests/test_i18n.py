"""Language: zh-Hant by default, English through the switcher."""

import os
import shutil
import subprocess
import sys
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


def _statistics(po: Path) -> str:
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_zh_hant_catalog_is_complete(tmp_path):
    """Every translatable string in the code has a zh-Hant translation, none fuzzy.

    makemessages runs on a scratch copy of the sources, so a string added to the code
    but never extracted into the catalog fails here too.
    """
    root = Path(settings.BASE_DIR)
    po = root / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"
    assert po.exists(), "locale/zh_Hant/LC_MESSAGES/django.po is missing"
    stats = _statistics(po)
    assert "untranslated" not in stats and "fuzzy" not in stats, stats

    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.mo", "migrations", "vendor")
    apps = [
        "collab",
        "requests_app",
        "tasks_app",
        "meetings_app",
        "risks_app",
        "review_app",
        "portfolio_app",
        "devtools_app",
    ]
    for name in [*apps, "templates", "locale"]:
        shutil.copytree(root / name, copy / name, ignore=ignore)
    shutil.copytree(root / "static" / "js", copy / "static" / "js")
    shutil.copy(root / "manage.py", copy / "manage.py")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "collab.settings.local"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hant", "--no-obsolete", "-v0"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    fresh = _statistics(copy / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po")
    assert "untranslated" not in fresh and "fuzzy" not in fresh, (
        "Strings in the code are missing from the zh-Hant catalog; run makemessages "
        "(see README, Translations) and translate them.\n" + fresh
    )
