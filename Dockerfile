# syntax=docker/dockerfile:1
#
# collab — cross-department collaboration portal.
# One image runs every Django process: web (gunicorn), migrate, worker and beat.
# See docs/deployment.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# CJK fonts for WeasyPrint PDFs. Change this one line (or pass
# --build-arg FONT_PACKAGES="...") to switch fonts.
ARG FONT_PACKAGES="fonts-noto-cjk"


# --- Stage 1: front-end libraries from the npm registry (package-lock.json) ----------
# Node.js is needed only here; the final image receives node_modules, not Node.
FROM ${PYTHON_IMAGE} AS assets

RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund


# --- Stage 2: the runtime image --------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG FONT_PACKAGES

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=collab.settings.production

# WeasyPrint needs Pango/HarfBuzz (loaded through cffi) and fonts; gettext provides
# msgfmt for compilemessages; fontconfig provides fc-cache/fc-list.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        fontconfig \
        gettext \
        ${FONT_PACKAGES} \
    && rm -rf /var/lib/apt/lists/* \
    && fc-cache -f

# An unprivileged user runs the application; the code itself stays owned by root.
RUN groupadd --system --gid 10001 collab \
    && useradd --system --uid 10001 --gid collab --home-dir /home/collab --create-home \
        --shell /usr/sbin/nologin collab

WORKDIR /app

# Dependencies first, so code changes do not reinstall them. pyproject.toml has
# `packages = []`: this installs only the dependencies, pinned by constraints.txt.
COPY pyproject.toml constraints.txt ./
RUN pip install -c constraints.txt . \
    && rm -rf build *.egg-info

COPY --from=assets /build/node_modules ./node_modules
COPY . .

# Build-time only: compile translations and collect static files with the production
# settings. These dummy values exist only inside this RUN step and are not kept in the
# image; nothing connects to the database or Redis here.
# (`mkdir -p locale`: LOCALE_PATHS points there and compilemessages refuses to run when
# no locale directory exists at all, e.g. in a fresh checkout with no .po files yet.)
RUN export SECRET_KEY=build-only-not-a-secret \
        ALLOWED_HOSTS=localhost \
        DATABASE_URL=sqlite:////tmp/build-only.sqlite3 \
        REDIS_URL=redis://localhost:6379/0 \
        SITE_URL=https://build.invalid \
    && mkdir -p locale \
    && python manage.py compilemessages --ignore=node_modules \
    && python manage.py collectstatic --noinput \
    && python manage.py build_pdf_font \
    && rm -f /tmp/build-only.sqlite3

# Uploaded files (MEDIA_ROOT); a named volume is mounted here in docker-compose.yml and
# inherits this ownership the first time it is created.
RUN mkdir -p /app/var/media \
    && chown -R collab:collab /app/var/media

USER collab

EXPOSE 8000

CMD ["gunicorn", "collab.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
