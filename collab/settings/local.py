"""Settings for `make run`: SQLite, eager tasks and mail written to var/mail/."""

from .base import *
from .base import BASE_DIR, INSTALLED_APPS, SILENCED_SYSTEM_CHECKS, env

# Development tools (seed_scale, which deletes data with --reset): never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "devtools_app"]

DEBUG = env.bool("DEBUG", default=True)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=BASE_DIR / "var" / "mail")
# runserver serves static files from the finders; no collectstatic needed locally.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Serve static files from the finders; no collectstatic outside production.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The rate limits' counts (collab/ratelimits.py) in this process's memory: `make run` has
# no Redis and serves from one process, so the counts need not be shared. Its check
# refuses a cache that is not shared between processes (django_ratelimit.E003), which is
# right for production (Redis there) and irrelevant here.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "django_ratelimit.E003"]
