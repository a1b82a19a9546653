"""Production settings: everything comes from the environment (see .env.example)."""

from .base import *
from .base import database_tuned, env, redis_cache

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": database_tuned(env.db("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = False
# The cache (the rate limits' counts, collab/ratelimits.py), shared by every web worker:
# Redis, by default the broker's database under the key prefix "collab-cache"; CACHE_URL
# puts it in a database of its own (e.g. redis://redis:6379/1).
CACHES = redis_cache(env("CACHE_URL", default=REDIS_URL), key_prefix="collab-cache")

# HTTPS: a proxy terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The health check is probed over plain HTTP inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Links in e-mails point here; there is no sensible default in production.
SITE_URL = env("SITE_URL")
# Behind the proxy every request comes from the proxy's address: django-axes must read
# the client's address from X-Forwarded-For (django-ipware), or one person could lock an
# account out for everyone (docs/deployment.md, "Login lock-out behind the proxy").
# Each trusted proxy appends the address it received the request from (nginx:
# $proxy_add_x_forwarded_for), so the client is the AXES_PROXY_COUNT-th entry from the
# right; anything further left was sent by the client and is ignored. In ipware's terms
# the header reads "client, proxy1, ..." left to right ("left-most"), the last proxy's
# own address is REMOTE_ADDR, not in the header (count - 1 proxies listed after the
# client), and a chain longer than that is accepted and read from the right
# (IPWARE_STRICT = False; strict would drop it and fall back to REMOTE_ADDR). A request
# without the header did not pass the proxy and counts under REMOTE_ADDR.
# AXES_PROXY_COUNT=0 (gunicorn reached directly) trusts no header.
_proxies = env.int("AXES_PROXY_COUNT", default=1)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if _proxies else ("REMOTE_ADDR",)
)
AXES_IPWARE_PROXY_ORDER = "left-most"
AXES_IPWARE_PROXY_COUNT = _proxies - 1 if _proxies else None
IPWARE_STRICT = False
