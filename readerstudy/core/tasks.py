"""The project's task decorator, the routes and the enqueueing of tasks by name.

Every task is late-acknowledged, time-limited and retried on the named transient errors,
never on a permanent file error (a missing or unreadable file, :data:`PERMANENT_ERRORS`):
use ``@task(name="<app>.<verb>")`` instead of ``celery.shared_task``. A task lives in its
app's ``tasks.py`` and calls that app's services; a service that starts work enqueues it
by name (:func:`enqueue`), so services never import tasks and the two cannot import each
other in a circle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import current_app, shared_task  # noqa: TID251 - the one sanctioned use
from django.conf import settings
from kombu.exceptions import OperationalError as KombuOperationalError

from readerstudy.core.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

#: Errors a later attempt may not meet (a broker, a database or object storage briefly
#: away): a task retries on them with backoff.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)
#: Kinds of ``OSError`` that a retry meets again: a missing or unreadable file stays so. A task
#: fails on them at once instead of retrying (Celery's ``dont_autoretry_for``).
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)
#: The apps whose tasks run a network: they go to the inference queue, which a GPU worker
#: may consume alone (``READERSTUDY_INFERENCE_QUEUE``).
INFERENCE_TASK_PREFIXES = ("predictions.",)


def is_transient(exc: BaseException) -> bool:
    """Whether a retry may succeed: one of :data:`TRANSIENT_ERRORS` and none of
    :data:`PERMANENT_ERRORS`."""
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(exc, PERMANENT_ERRORS)


def task(
    *,
    name: str,
    retry_on: tuple[type[BaseException], ...] = TRANSIENT_ERRORS,
    max_retries: int = 3,
    time_limit: int = 600,
    soft_time_limit: int = 540,
    **options: Any,
) -> Callable:
    """Declare a Celery task with the project's defaults and an explicit ``name``.

    ``name`` is ``"<app label>.<function>"``: what :func:`enqueue` and the routes use, and
    what a worker's logs show, wherever the function's module moves. Tasks take
    keyword-only ``*_pk`` arguments, lock the row they work on, return early when the work
    is done, and are safe to run twice (``acks_late``: a killed worker's task is delivered
    again).
    """

    def decorate(func: Callable) -> Any:
        return shared_task(
            name=name,
            acks_late=True,
            reject_on_worker_lost=True,
            autoretry_for=retry_on,
            dont_autoretry_for=PERMANENT_ERRORS,
            retry_backoff=True,
            retry_backoff_max=60,
            max_retries=max_retries,
            time_limit=time_limit,
            soft_time_limit=soft_time_limit,
            **options,
        )(func)

    return decorate


#: What a coordinator is told when a task could not be sent. The broker's address and the
#: error stay in the server log (:func:`enqueue`): they mean nothing to a coordinator.
BROKER_UNAVAILABLE_MESSAGE = ("The task queue is not reachable; the job was not queued. Try again in a "
                              "minute; if it persists ask the site's administrator.")

#: What a job or an export that could not be sent records as its error (shown on its page).
QUEUE_UNREACHABLE_ERROR = "Could not be queued: the task queue was not reachable."


class BrokerUnavailable(ServiceUnavailable):
    """The broker could not take a task (it is down or unreachable): answered 503 with
    :data:`BROKER_UNAVAILABLE_MESSAGE`."""

    def __init__(self, message: str = BROKER_UNAVAILABLE_MESSAGE) -> None:
        super().__init__(message)


def enqueue(name: str, **kwargs: Any) -> None:
    """Send the task registered as ``name`` with keyword arguments ``kwargs``.

    The task is looked up among the registered ones (each app's ``ready`` imports its
    ``tasks``), so a misspelt name fails here, and without a broker the task runs in this
    process as any eager task does. Its queue is :func:`route`'s.

    Raises :class:`BrokerUnavailable` when the broker cannot be reached (after Celery's own
    publish retries): the caller then ends the job it was starting, so that nothing waits
    for a task that was never sent. The error itself (which names the broker's host and
    port) goes to the log, not into the exception's message, which coordinators see.
    """
    try:
        current_app.tasks[name].apply_async(kwargs=kwargs)
    except (KombuOperationalError, ConnectionError) as exc:
        logger.error("Task %s could not be sent to the broker: %s: %s", name, type(exc).__name__, exc)
        raise BrokerUnavailable() from exc


def runs_in_process() -> bool:
    """Whether tasks run eagerly in this process (no broker): a sweep of stalled jobs is
    then no business of a web request, which would run the whole job itself."""
    return bool(current_app.conf.task_always_eager)


def route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **rest: Any) -> dict | None:
    """Celery router (``CELERY_TASK_ROUTES``): the model's tasks go to the inference queue,
    read when each task is sent, so a test or a worker can change it."""
    if name.startswith(INFERENCE_TASK_PREFIXES):
        return {"queue": settings.READERSTUDY_INFERENCE_QUEUE}
    return None
