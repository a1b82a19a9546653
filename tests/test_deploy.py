"""Production settings pass Django's deploy check; models and migrations agree."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_production_deploy_check_is_clean():
    """`check --deploy --fail-level WARNING` passes with the documented environment."""
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra={
            "DJANGO_SETTINGS_MODULE": "collab.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "collab.example.com",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/collab",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "SITE_URL": "https://collab.example.com",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage(
        "check",
        env_extra={
            "DJANGO_SETTINGS_MODULE": "collab.settings.production",
            "ALLOWED_HOSTS": "collab.example.com",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/collab",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "SITE_URL": "https://collab.example.com",
        },
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_no_missing_migrations():
    result = _manage(
        "makemigrations",
        "--check",
        "--dry-run",
        env_extra={"DJANGO_SETTINGS_MODULE": "collab.settings.test"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
