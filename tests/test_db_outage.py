"""A database outage as production sees it: gunicorn with the production settings
and persistent connections, in front of a PostgreSQL of the test's own.

The shared PostgreSQL on 5432 is never touched: the test makes a cluster in a temporary
folder (Debian's initdb, run as the postgres user), starts it on a spare port, restarts
and stops it by its postmaster, and removes it afterwards. None of the pages asked for
here need the portal's tables; what matters is whether the server reaches the database.

What is pinned:
- after PostgreSQL restarts with no traffic, the first request on a worker that held a
  persistent connection is answered normally (CONN_HEALTH_CHECKS), not with a 500;
- while the database is down a page answers 503 with a translated page (zh-Hant, or
  English for a person who chose it) and Retry-After, not Django's bare English
  "Server Error (500)"; /healthz says the database is down.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import OperationalError
from django.urls import reverse

from tests.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        pytest.fail("PostgreSQL's server binaries (initdb) are not installed.")
    return versions[-1].parent


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1 and a spare port."""

    def __init__(self):
        self.bin = _pg_bin()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="collab-pg-"))
        self.data = self.folder / "data"
        shutil.chown(self.folder, "postgres", "postgres")

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            # The server started by pg_ctl must not hold a pipe of ours open.
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def init(self) -> PrivatePostgres:
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )
        return self

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", action, *extra
        )

    def start(self) -> None:
        self._ctl("start", "-l", str(self.folder / "log"))

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast", "-l", str(self.folder / "log"))

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class Server:
    """gunicorn serving the portal with production settings (one sync worker)."""

    def __init__(self, database_port: int):
        self.port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "collab.settings.production",
            "SECRET_KEY": "outage-test-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{database_port}/postgres",
            "CONN_MAX_AGE": "600",
            "SITE_URL": f"http://127.0.0.1:{self.port}",
            "SECURE_SSL_REDIRECT": "false",
        }
        self.process = subprocess.Popen(
            [GUNICORN, "collab.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "1", "-t", "30"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.get("/healthz")
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        pytest.fail("gunicorn did not start within 60 s.")

    def get(self, path: str, cookies: str = "") -> tuple[int, dict, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if cookies:
            request.add_header("Cookie", cookies)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=20) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def outage():
    database = PrivatePostgres().init()
    database.start()
    server = None
    try:
        server = Server(database.port)
        yield database, server
    finally:
        if server is not None:
            server.stop()
        database.remove()


def test_a_restart_and_an_outage_of_postgresql(outage):
    database, server = outage
    status, _headers, body = server.get("/healthz")
    assert status == 200 and '"database": "ok"' in body

    # Restarted while nobody used the portal: the worker's persistent connection is dead.
    database.restart()
    status, _headers, body = server.get("/healthz")
    assert status == 200, body
    assert '"database": "ok"' in body

    database.stop()
    session = "sessionid=0123456789abcdefghijklmnopqrstuv"
    status, headers, body = server.get("/", cookies=session)
    assert status == 503
    assert headers["Retry-After"] == "60"
    assert "入口網站暫時無法使用" in body and "Server Error" not in body
    status, _headers, body = server.get("/", cookies=f"{session}; django_language=en")
    assert status == 503 and "The portal is briefly unavailable" in body
    status, _headers, body = server.get("/healthz")
    assert status == 503 and '"database": "down' in body

    database.start()
    status, _headers, body = server.get("/healthz")
    assert status == 200 and '"database": "ok"' in body


# --- in-process: which error gives which page ------------------------------------------


@pytest.fixture
def failing_home(client, staff, monkeypatch, settings):
    """The start page raising `error` while it is built (DEBUG off, as in production)."""
    settings.DEBUG = False
    client.force_login(staff)
    client.raise_request_exception = False

    def fail_with(error: Exception):
        def broken(**kwargs):
            raise error

        monkeypatch.setattr("collab.views.selectors.departments_actable", broken)
        return client

    return fail_with


def test_a_bug_gives_the_translated_500_page(failing_home):
    response = failing_home(RuntimeError("a bug")).get(reverse("home"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "系統發生錯誤" in body and "Server Error" not in body


def test_a_lost_database_gives_the_503_page_in_english_too(failing_home):
    client = failing_home(OperationalError("server closed the connection unexpectedly"))
    client.cookies["django_language"] = "en"
    response = client.get(reverse("home"))
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "The portal is briefly unavailable" in response.content.decode()
