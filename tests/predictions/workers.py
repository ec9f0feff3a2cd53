"""Real Celery worker processes for the ``worker`` tests.

A worker is started as a subprocess against the broker of ``CELERY_BROKER_URL`` and the
test database (pytest-django's ``test_...`` database, reached through ``DATABASE_URL``),
consuming a queue of its own so it never takes another test run's tasks. Without a broker
(or with SQLite, which a second process cannot share in memory) the tests are skipped,
unless ``CI`` is set: there they must run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0


def require_worker_setup() -> None:
    """Skip (or, under CI, fail) when a real worker cannot run."""
    reason = None
    if not os.environ.get("CELERY_BROKER_URL"):
        reason = ("no broker configured: set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) "
                  "and DATABASE_URL (PostgreSQL) to run the worker tests")
    elif connection.vendor != "postgresql":
        reason = (f"a worker process cannot share the {connection.vendor} test database: set "
                  "DATABASE_URL to PostgreSQL to run the worker tests")
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the worker tests, but {reason}")
    pytest.skip(reason)


def test_database_url() -> str:
    """The URL of the database pytest-django created (``test_<name>``)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


class Worker:
    """A worker subprocess; ``stop`` ends it, ``kill`` SIGKILLs it."""

    def __init__(self, *, queue: str, env: dict[str, str], log: Path,
                 program: list[str] | None = None):
        """``program``: what to run instead of ``celery -A readerstudy worker`` (its worker
        options follow)."""
        self.queue, self.log = queue, log
        program = program or ["-m", "celery", "-A", "readerstudy", "worker"]
        self.process = subprocess.Popen(
            [sys.executable, *program, "-P", "solo", "--concurrency", "1", "-Q", queue,
             "-n", f"{queue}-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-l", "INFO"],
            cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> Worker:
        wait_for(lambda: "ready." in self.log.read_text(errors="replace"), timeout=READY_TIMEOUT_S,
                 what=f"the worker to start (log: {self.log})", process=self.process)
        return self

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str,
             process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited (code {process.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def worker_env(*, queue: str, var_dir: Path, model_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "readerstudy.settings",
        "DATABASE_URL": test_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "READERSTUDY_VAR_DIR": str(var_dir),  # the dicom storage is var_dir / "dicom"
        "READERSTUDY_MODEL_DIR": str(model_dir),
        "READERSTUDY_INFERENCE_QUEUE": queue,
        "READERSTUDY_INFERENCE_CHUNK": "2",
        # A killed worker's unacknowledged task is redelivered after this many seconds.
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "PYTHONUNBUFFERED": "1",
        **extra,
    })
    return env


def new_queue() -> str:
    return f"test-inference-{uuid.uuid4().hex[:10]}"


def use_queue(queue: str) -> None:
    """Send this process's inference tasks to ``queue`` (the settings fixture restores it)."""
    settings.READERSTUDY_INFERENCE_QUEUE = queue


@contextlib.contextmanager
def broker(url: str) -> Iterator[None]:
    """Publish this process's tasks to the broker at ``url``, not the configured one (Celery
    reads ``CELERY_BROKER_URL`` from the environment before ``broker_url``, so the write URL
    is what can be changed), and not eagerly."""
    from readerstudy.celery import app

    before = (app.conf.broker_write_url, app.conf.task_always_eager)
    app.conf.broker_write_url = url
    app.conf.task_always_eager = False
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_write_url, app.conf.task_always_eager = before
        app._pool = None
        app.amqp._producer_pool = None
