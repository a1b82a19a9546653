"""Settings for `make bench`: production-like pages over a PostgreSQL bench database.

As in production: DEBUG off (so Django caches the compiled templates), whitenoise,
database sessions, the real middleware; persistent connections. Different: the URL
conf adds the bare page the others are compared with (benchmarks/urls.py), mail stays
in memory and Celery runs in-process, so that nothing leaves the machine.
"""

from collab.settings.base import *  # noqa: F403
from collab.settings.base import INSTALLED_APPS, SILENCED_SYSTEM_CHECKS, database_tuned, env

# seed_scale fills the bench databases; it is a development tool (devtools_app).
INSTALLED_APPS = [*INSTALLED_APPS, "devtools_app"]

DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "benchmarks.urls"
DATABASES = {
    "default": database_tuned(
        env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/collab_bench_1k")
    ),
}
DATABASES["default"]["CONN_MAX_AGE"] = None
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
# The bench times pages, not the rate limits (collab/ratelimits.py): its repeated PDFs by
# one person would pass RATE_LIMITS["pdf"]. Off, with the process's memory as the cache
# (one process; django_ratelimit.E003 wants a shared cache only for real limits).
RATELIMIT_ENABLE = False
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "django_ratelimit.E003"]
# No collectstatic for a bench: whitenoise finds the files, {% static %} needs no manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
        # A 404 or 403 would be a bench bug; bench.py checks each status itself.
        "django.request": {"level": "ERROR"},
    },
}
