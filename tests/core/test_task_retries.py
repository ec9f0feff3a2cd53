"""The project's task decorator retries transient errors with backoff, and fails at once on
a permanent file error (a missing or unreadable file stays so on every retry)."""

from __future__ import annotations

import errno

import pytest

from readerstudy.celery import app
from readerstudy.core.tasks import PERMANENT_ERRORS, is_transient, task

ATTEMPTS: list[str] = []


@task(name="tests.flaky", max_retries=2)
def flaky(*, error: str) -> str:
    ATTEMPTS.append(error)
    raise {
        "connection": ConnectionError("broker away"),
        "timeout": TimeoutError("storage slow"),
        "io": OSError(errno.EIO, "I/O error"),
        "missing": FileNotFoundError(errno.ENOENT, "No such file", "/gone.dcm"),
        "forbidden": PermissionError(errno.EACCES, "Permission denied", "/secret.dcm"),
        "directory": IsADirectoryError(errno.EISDIR, "Is a directory", "/series"),
        "not-directory": NotADirectoryError(errno.ENOTDIR, "Not a directory", "/a.dcm/b"),
    }[error]


@pytest.fixture
def attempts(monkeypatch):
    # Eager retries run only when the Retry is not propagated to the caller.
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)
    ATTEMPTS.clear()
    return ATTEMPTS


@pytest.mark.parametrize("error", ["connection", "timeout", "io"])
def test_a_transient_error_is_retried_until_the_retries_are_spent(attempts, error):
    result = flaky.apply(kwargs={"error": error})

    assert len(attempts) == 1 + flaky.max_retries
    assert result.failed()


@pytest.mark.parametrize("error", ["missing", "forbidden", "directory", "not-directory"])
def test_a_permanent_file_error_fails_the_task_at_once(attempts, error):
    result = flaky.apply(kwargs={"error": error})

    assert attempts == [error]
    assert result.failed() and isinstance(result.result, PERMANENT_ERRORS)


def test_transient_means_an_oserror_that_is_not_a_file_error():
    assert is_transient(ConnectionError()) and is_transient(TimeoutError())
    assert is_transient(OSError(errno.EIO, "I/O error"))
    assert not any(is_transient(kind()) for kind in PERMANENT_ERRORS)
    assert not is_transient(ValueError("a bad series"))
