"""Services a fault test may break: its own Redis and a Celery worker as real processes.

The shared Redis on 6379 is never stopped. A fault test starts `RedisServer` on a spare
port, points the Celery app at it (`celery_on`), starts `WorkerProcess` (the `celery
worker` command with the prefork pool, as production runs it) against the test
database, then stops and kills them by PID.

    with RedisServer() as redis_server, celery_on(redis_server.url):
        worker = WorkerProcess(redis_server.url, sink, database_url=database_url()).start()
        ...
        redis_server.stop(); ...; redis_server.start()   # the same port again
        worker.kill_child()                               # kill -9 the process running a task
        worker.kill()                                     # kill -9 the whole worker
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from django.db import connection

from collab.celery import app
from tests.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).with_name("celery"))


def _wait(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {what}.")


class RedisServer:
    """redis-server on 127.0.0.1 and a spare port, stopped and started at will."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def _ping(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                *("--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait(self._ping, f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        """Kill it (SIGKILL): the queue it held is gone, as after a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
        _wait(lambda: not self._ping(), f"port {self.port} to close")

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def database_url() -> str:
    """The test database's URL, for a process that must see the test's committed rows."""
    settings = connection.settings_dict
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    user = settings.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


def _reset_pools() -> None:
    """Make the app pick the pool of the current broker URL. The pools themselves stay
    open in kombu's registry (keyed by URL), so the shared Redis's pool works again
    after the test."""
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def celery_on(broker_url: str, settings):
    """Point this process's Celery app at `broker_url`, eager mode off; restore after."""
    keys = ("broker_url", "task_always_eager")
    saved = {key: app.conf[key] for key in keys}
    settings.CELERY_BROKER_URL = broker_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(broker_url=broker_url, task_always_eager=False)
    _reset_pools()
    try:
        yield app
    finally:
        app.conf.update(saved)
        _reset_pools()


class WorkerProcess:
    """`celery -A collab worker` (prefork, one child) on the given broker and SMTP sink.

    The outbox runs fast here: backoff from 1 s up to 2 s, a 4 s lease, and Redis gives
    an unacknowledged message back after 6 s instead of 15 minutes.
    """

    def __init__(self, broker_url: str, *, smtp_port: int, database_url: str, **env):
        self.broker_url = broker_url
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "collab.settings.test",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_TIMEOUT": "20",
            "OUTBOX_RETRY_BASE": "1",
            "OUTBOX_RETRY_MAX": "2",
            "OUTBOX_LEASE": "4",
            "OUTBOX_SWEEP_GRACE": "0",
            "CELERY_VISIBILITY_TIMEOUT": "6",
            "LOG_LEVEL": "WARNING",
            **{key: str(value) for key, value in env.items()},
        }
        self.process: subprocess.Popen | None = None
        self.log = Path(f"/tmp/collab-fault-worker-{os.getpid()}-{free_port()}.log")

    def start(self) -> WorkerProcess:
        self.log.write_text("")
        self.process = subprocess.Popen(
            [
                *(CELERY, "-A", "collab", "worker", "--pool", "prefork", "--concurrency", "1"),
                *("--loglevel", "WARNING", "--without-gossip", "--without-mingle"),
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait(lambda: self.child_pids() != [], "the worker's pool process", timeout=60)
        _wait(self._ready, "the worker to answer a ping", timeout=60)
        return self

    def _ready(self) -> bool:
        try:
            return bool(app.control.ping(timeout=0.5))
        except Exception:
            return False

    def child_pids(self) -> list[int]:
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def kill_child(self) -> int:
        """kill -9 the pool process (the one running the task); the worker starts another."""
        (pid,) = self.child_pids()
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: self.child_pids() not in ([], [pid]), "a new pool process")
        return pid

    def kill(self) -> None:
        """kill -9 the worker and its pool process at once, as a machine that dies."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")
