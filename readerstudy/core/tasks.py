"""The project's task decorator: every task is late-acknowledged, time-limited and retried
on the named transient errors. Use ``@task`` instead of ``celery.shared_task``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task  # noqa: TID251 - the one sanctioned use

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)


def task(
    *,
    retry_on: tuple[type[BaseException], ...] = TRANSIENT_ERRORS,
    max_retries: int = 3,
    time_limit: int = 600,
    soft_time_limit: int = 540,
    **options: Any,
) -> Callable:
    """Declare a Celery task with the project's defaults.

    Tasks take keyword-only ``*_pk`` arguments, lock the row they work on, return early when
    the work is done, and are safe to run twice (``acks_late``: a killed worker's task is
    delivered again).
    """

    def decorate(func: Callable) -> Any:
        return shared_task(
            acks_late=True,
            reject_on_worker_lost=True,
            autoretry_for=retry_on,
            retry_backoff=True,
            retry_backoff_max=60,
            max_retries=max_retries,
            time_limit=time_limit,
            soft_time_limit=soft_time_limit,
            **options,
        )(func)

    return decorate
