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


# The documented production environment, but for the secret key each test decides on.
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "collab.settings.production",
    "ALLOWED_HOSTS": "collab.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/collab",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SITE_URL": "https://collab.example.com",
}


def test_production_deploy_check_is_clean():
    """`check --deploy --fail-level WARNING` passes with the documented environment."""
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra={**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(50)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", env_extra=PRODUCTION_ENV)
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


def _production_env():
    return {
        "DJANGO_SETTINGS_MODULE": "collab.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "collab.example.com",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/collab",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SITE_URL": "https://collab.example.com",
    }


def test_production_does_not_install_the_development_tools():
    """seed_scale (devtools_app) deletes data with --reset: local and test settings install
    it, production does not, so the command does not exist there."""
    from django.conf import settings

    assert "devtools_app" in settings.INSTALLED_APPS  # the test settings have it
    apps = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(*settings.INSTALLED_APPS)",
        env_extra=_production_env(),
    )
    assert apps.returncode == 0, apps.stdout + apps.stderr
    installed = apps.stdout.split()
    assert "portfolio_app" in installed
    assert "devtools_app" not in installed
    command = _manage("seed_scale", "--help", env_extra=_production_env())
    assert command.returncode != 0
    assert "Unknown command: 'seed_scale'" in command.stderr
    local = _manage(
        "seed_scale", "--help", env_extra={"DJANGO_SETTINGS_MODULE": "collab.settings.local"}
    )
    assert local.returncode == 0, local.stdout + local.stderr
