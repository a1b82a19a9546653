"""Settings for pytest: real PostgreSQL and Redis, fast hashing, mail kept in memory."""

import os

from .base import *
from .base import INSTALLED_APPS, database_tuned, env, redis_cache

# Development tools (seed_scale): the tests exercise them; production never installs them.
INSTALLED_APPS = [*INSTALLED_APPS, "devtools_app"]

DATABASES = {
    "default": database_tuned(
        env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/collab")
    ),
}
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_URL = REDIS_URL
# The cache (rate limit counts) in the same Redis database, under a key prefix of its
# own per test process: runs that follow each other within a rate window never share
# a count, and nothing else in that database starts with it.
CACHES = redis_cache(REDIS_URL, key_prefix=f"collab-test-{os.getpid()}")
# Most tests run tasks in-process; tests marked celery_worker start a real worker. A
# worker started as a process (tests/fault_env.py) turns eager mode off and points the
# mail at a real SMTP server through the environment.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
MEDIA_ROOT = env.path("MEDIA_ROOT", default="/tmp/collab-test-media")  # noqa: S108
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Serve static files from the finders; no collectstatic outside production.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
