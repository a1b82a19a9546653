"""Settings shared by every environment.

Each environment module (local, test, production) imports this one and changes only
what differs; production differs only through environment variables.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A developer may keep overrides in .env; production reads the real environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-only-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "collab",
    "requests_app",
    "tasks_app",
    "meetings_app",
    "risks_app",
    "review_app",
    "portfolio_app",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "guardian",
    "django_celery_beat",
    "axes",
    "csp",
    # Its system check refuses a cache that cannot count requests (see CACHES below).
    "django_ratelimit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "collab.middleware.PortalLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view says @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Axes must come last: it reads the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "collab.urls"
WSGI_APPLICATION = "collab.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "collab.context_processors.portal",
            ],
        },
    },
]


def database_tuned(database: dict) -> dict:
    """Return a DATABASES entry with the session settings the portal wants.

    Every engine: a persistent connection (CONN_MAX_AGE, production) is checked before a
    request reuses it (CONN_HEALTH_CHECKS); after a PostgreSQL restart the first request
    on each worker would otherwise answer 500.

    PostgreSQL: JIT off. PostgreSQL compiles a query whose estimated cost passes
    jit_above_cost; the portal's queries run in milliseconds, compiling one takes
    10-20 ms and never pays back (`make bench`: 我的任務 245 -> 100 ms at 100k tasks).
    """
    database["CONN_HEALTH_CHECKS"] = True
    if database["ENGINE"] == "django.db.backends.postgresql":
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return database


DATABASES = {
    "default": database_tuned(
        env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "collab.User"
AUTHENTICATION_BACKENDS = [
    # Axes first, so a locked-out login is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-guardian: no anonymous user row; every page needs a login anyway.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# django-axes: login throttling, two limits (docs/deployment.md, "Login lock-out behind
# the proxy"; the client's address behind the proxy is set up in production.py).
# - Username + client address: AXES_FAILURE_LIMIT failures lock that pair for
#   AXES_COOLOFF_HOURS. Only that address is refused: a stranger's failures never lock
#   the person out at their own desk.
# - Username alone, across addresses: LOGIN_USERNAME_FAILURE_LIMIT failures within
#   LOGIN_USERNAME_COOLOFF_MINUTES refuse the username, for that short cool-off, from
#   every address it has never signed in from, so guessing from many addresses is slowed.
#   Addresses the account signed in from before are exempt, and a refused attempt is
#   not counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so an attacker cannot
#   keep the person out: each throttle ends its cool-off after the last counted failure.
#   Keep the username cool-off shorter than AXES_COOLOFF_HOURS (axes deletes older rows).
# Axes holds every lockout parameter to one limit and one cool-off, hence the small
# handler in collab/login_throttle.py for the second throttle and the page's retry time.
AXES_HANDLER = "collab.login_throttle.LoginThrottleHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LOGIN_USERNAME_FAILURE_LIMIT = env.int("AXES_USERNAME_FAILURE_LIMIT", default=10)
LOGIN_USERNAME_COOLOFF_MINUTES = env.float("AXES_USERNAME_COOLOFF_MINUTES", default=10.0)
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_LOCKOUT_CALLABLE = "collab.login_throttle.lockout_response"

# Rate limits per person on the expensive pages (collab/ratelimits.py, django-ratelimit):
# at most N requests per person per window, e.g. "30/m" (s, m, h or d); empty = no limit.
# A person past the rate gets 429 and a page saying when to try again.
RATE_LIMITS = {
    # Every PDF: request form, task breakdown, progress sheet, final acceptance,
    # retrospective (one counter for all of them).
    "pdf": env("RATE_LIMIT_PDF", default="30/m"),
    # The monthly analysis report (a PDF counted over a whole month of the company).
    "analysis": env("RATE_LIMIT_ANALYSIS", default="10/m"),
    # The dashboard and the lists behind its numbers, over a period longer than
    # RATE_LIMIT_LONG_PERIOD_DAYS (one counter for the four pages).
    "dashboard_long": env("RATE_LIMIT_DASHBOARD_LONG", default="20/m"),
}
# A period longer than this many days is "long" (more than a year: two or three years).
RATE_LIMIT_LONG_PERIOD_DAYS = env.int("RATE_LIMIT_LONG_PERIOD_DAYS", default=366)
# A failed count (the cache lost the key) lets the request through rather than refusing
# it; collab/ratelimits.py does the same while Redis is unreachable.
RATELIMIT_FAIL_OPEN = True
# The counts live in CACHES["default"], set per environment: Redis in production and
# tests (redis_cache() below), the process's memory under `make run` (local.py).
# django-ratelimit's check lists only django-redis's backend as supported
# (django_ratelimit.W001); Django's own RedisCache counts with Redis INCR, which is
# atomic, as the library needs.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]


def redis_cache(url: str, *, key_prefix: str) -> dict:
    """Return CACHES for Django's RedisCache on `url`.

    The cache may share the Celery broker's Redis database: its keys all start with
    `key_prefix`, which nothing else uses. Short timeouts: a rate limit must not hold a
    page while Redis is away (collab/ratelimits.py lets the request through then).
    """
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": key_prefix,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


# Internationalisation: Traditional Chinese first, English second.
LANGUAGE_CODE = "zh-hant"
LANGUAGES = [
    ("zh-hant", "繁體中文"),
    ("en", "English"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Taipei"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Front-end libraries come from the npm registry (package-lock.json) and are served
# straight out of node_modules by whitenoise; nothing is loaded from a CDN.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    # vis-timeline's "peer" build (the standalone one injects <style>, which the CSP
    # refuses) with its peers moment and vis-data, for the 需求看板 timeline.
    ("vendor/vis-timeline/js", NODE_MODULES / "vis-timeline" / "peer" / "umd"),
    ("vendor/vis-timeline/css", NODE_MODULES / "vis-timeline" / "styles"),
    ("vendor/vis-data", NODE_MODULES / "vis-data" / "peer" / "umd"),
    ("vendor/moment", NODE_MODULES / "moment" / "min"),
    # Chart.js for the dashboard's charts (its UMD build; it draws on <canvas>, no CSS).
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/media/"  # never served directly: files go through permission-checked views
# Uploads: size cap and the extensions accepted (content must match; collab/uploads.py).
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_EXTENSIONS = [
    "pdf",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "ppt",
    "pptx",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "txt",
    "csv",
    "zip",
]

# Content-Security-Policy (django-csp 4): only our own origin, no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

# Celery: Redis as the broker; without REDIS_URL tasks run eagerly in-process.
REDIS_URL = env("REDIS_URL", default="")
# The in-memory broker ignores the host; naming one spares kombu's "No hostname was
# supplied" warning at the first eager task (seed_demo, make run).
CELERY_BROKER_URL = REDIS_URL or "memory://localhost//"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# Delivery guarantees (collab/outbox.py keeps every outgoing message as a row, and its
# tasks are safe to run twice): acknowledge a task only once it finished, give it back
# to the broker when the worker process running it dies (kill -9, OOM), and take one
# message at a time so a dying worker holds no queue of others.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Redis hands an unacknowledged message to another worker after visibility_timeout. It
# must be longer than the longest task: an outbox batch stops at 150 s (time_limit), the
# monthly report's enqueue and a warning scan take seconds. 15 minutes leaves a wide
# margin, and a message held by a worker that was killed whole comes back within 15
# minutes (before: Redis's default of one hour). Tasks are never scheduled further ahead
# than that (the outbox retries from its own table, not with countdowns), which Redis
# would otherwise deliver twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
    "socket_connect_timeout": 3,
    "socket_timeout": 10,
}

# The outbox (collab/outbox.py): every outgoing e-mail, webhook and chat message.
OUTBOX_LEASE = env.int("OUTBOX_LEASE", default=300)  # s one attempt holds its row
OUTBOX_RETRY_BASE = env.int("OUTBOX_RETRY_BASE", default=60)  # s after the 1st failure
OUTBOX_RETRY_MAX = env.int("OUTBOX_RETRY_MAX", default=3600)  # s between late attempts
OUTBOX_RETRY_FOR = env.int("OUTBOX_RETRY_FOR", default=4 * 24 * 3600)  # then: failed
OUTBOX_SWEEP_GRACE = env.int("OUTBOX_SWEEP_GRACE", default=60)  # s before the sweeper steps in
OUTBOX_SWEEP_LIMIT = 2000  # rows one sweep queues
OUTBOX_BATCH = 20  # rows one delivery task sends
# /healthz reports the outbox "late" (not the web unhealthy) once a message waits this long.
OUTBOX_HEALTH_MAX_AGE = env.int("OUTBOX_HEALTH_MAX_AGE", default=3600)
# django-celery-beat's DatabaseScheduler, seeding missing entries only (collab/beat.py).
CELERY_BEAT_SCHEDULER = "collab.beat:CollabScheduler"
# The beat schedule, in CELERY_TIMEZONE (Asia/Taipei). django-celery-beat copies these
# entries into its tables, where admins see and can change them (Periodic tasks).
CELERY_BEAT_SCHEDULE = {
    # The nightly scan: due soon, stale, overdue, review/acceptance SLAs, late asks.
    # 06:00 so each person's digest waits at the start of the working day; the daily
    # period key makes a second run the same Taipei day send nothing.
    "warnings-nightly": {
        "task": "collab.tasks.warnings_scan_task",
        "schedule": crontab(hour=6, minute=0),
        "args": ("daily",),
    },
    # Every hour at :05: tasks due within the next hours and not submitted (last hours).
    "warnings-hourly": {
        "task": "collab.tasks.warnings_scan_task",
        "schedule": crontab(minute=5),
        "args": ("hourly",),
    },
    # Every two minutes: queue the outbox rows that are due and unsent (a broker that was
    # down at commit, a failed attempt whose backoff ran out, a worker killed mid-send).
    "outbox-sweep": {
        "task": "collab.tasks.outbox_sweep_task",
        "schedule": crontab(minute="*/2"),
    },
    # On the 1st of each month at 07:00: the previous month's 協作分析報告 (PDF) to the
    # executives; one AnalysisDispatch row per month makes a second run send nothing.
    # The task lives in portfolio_app.tasks under its first name (review_app's), which
    # the stored periodic-task rows name.
    "analysis-monthly": {
        "task": "review_app.tasks.send_monthly_analysis_task",
        "schedule": crontab(day_of_month=1, hour=7, minute=0),
    },
    # Daily at 05:30: every active weekly meeting series schedules (and invites to) its
    # meetings of the next four weeks; a series date that has its meeting gets no other.
    "meetings-series-extend": {
        "task": "meetings_app.tasks.series_extend_task",
        "schedule": crontab(hour=5, minute=30),
    },
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# A mail server that hangs fails the attempt (the outbox retries) instead of holding a
# worker and its row lease.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="collab@localhost")
EMAIL_SUBJECT_PREFIX = "[collab] "

# The portal's own name, shown in the header and in e-mails.
PORTAL_NAME = _("Cross-department collaboration portal")
# Absolute address of the portal, for links in e-mails.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
HOLIDAY_COUNTRY = env("HOLIDAY_COUNTRY", default="TW")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}
