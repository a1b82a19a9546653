# collab — set-up, run and test. `make run` and `make test` are all a developer needs;
# both install whatever is missing first and are safe to run again.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Debian packages the project needs: fonts-noto-cjk (source of the PDF font), pango and
# harfbuzz-subset for WeasyPrint (without libharfbuzz-subset0 WeasyPrint falls back to
# fontTools and a PDF takes seconds), poppler-utils (pdffonts, pdftotext) for the PDF
# tests, gettext for the catalogs, chromium for the browser tests.
APT_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
	poppler-utils gettext chromium
PG_URL ?= postgres://postgres@127.0.0.1:5432/collab
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test lint format bench messages pdf-font system-packages services clean

install: system-packages $(VENV)/.installed node_modules/.installed messages pdf-font

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list or the pinned versions change.
$(VENV)/.installed: $(VENV)/bin/python pyproject.toml constraints.txt
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "Missing Debian packages:$$missing"; \
			echo "Install them with: sudo apt-get install$$missing"; exit 1; \
		fi; \
	fi

# Compile the translation catalogs (the .mo files are built, never committed).
messages: $(VENV)/.installed
	@$(PY) manage.py compilemessages -v0 --ignore='.venv' --ignore='node_modules' --ignore='var'

# The PDF font: Noto Sans CJK TC cut to its Traditional Chinese face and converted to
# TrueType (collab/pdf.py says why); the command does nothing when it is up to date.
pdf-font: $(VENV)/.installed
	@$(PY) manage.py build_pdf_font

run: install
	@mkdir -p var
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_demo
	@# The demo's warning digests land in var/mail/ (read them at /dev/mail/); idempotent.
	$(PY) manage.py send_warnings
	@echo "Serving on http://127.0.0.1:8000 — log in as pmo / collab-demo (see README)."
	$(PY) manage.py runserver 127.0.0.1:8000

# Start PostgreSQL and Redis when they are installed but stopped; the test run then
# fails with a clear message if they still cannot be reached.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { \
		command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1 && \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start 2>/dev/null; \
		for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
		command -v redis-server >/dev/null && \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null; \
		for i in 1 2 3 4 5; do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done; }
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "ERROR: PostgreSQL is not reachable on 127.0.0.1:5432. Start it (pg_ctlcluster ... main start) or set DATABASE_URL."; exit 1; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { echo "ERROR: Redis is not reachable on 127.0.0.1:6379. Start it (redis-server --daemonize yes ...) or set REDIS_URL."; exit 1; }

test: install services
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} REDIS_URL=$${REDIS_URL:-$(REDIS_TEST_URL)} \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

# The performance bench (benchmarks/bench.py): builds collab_bench_1k and collab_bench_100k
# with seed_scale the first time (about two minutes) and reuses them afterwards, then
# times every page at both sizes and prints the table, the targets and the gaps.
# BENCH_ARGS="--runs 15" for steadier medians, "--reseed" to rebuild the databases.
bench: install services
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var/static .pytest_cache .ruff_cache
