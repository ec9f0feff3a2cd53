"""The Celery tasks that run a registered model over a study.

``predictions.run_inference_job`` claims a job and fans its cases out in chunks;
``predictions.predict_cases`` predicts a chunk in one network batch and
``predictions.predict_case`` a single case (:func:`readerstudy.predictions.worker.predict_chunk`
does the work). Every task is idempotent: a redelivered task (a worker killed mid-task,
``acks_late``) stores nothing twice and counts nothing twice, because a prediction is
unique per (case, model version) and is counted only when it is created. They go to the
inference queue (``READERSTUDY_INFERENCE_QUEUE``, :func:`readerstudy.core.tasks.route`).

This module is imported in every process (the services enqueue these tasks by name), so
it loads no torch: a task imports :mod:`readerstudy.predictions.worker` when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from celery.exceptions import SoftTimeLimitExceeded

from readerstudy.core.tasks import TRANSIENT_ERRORS, is_transient, task
from readerstudy.predictions import services
from readerstudy.studies.models import Case

__all__ = ["predict_case", "predict_cases", "requeue_stale_jobs", "run_inference_job"]


@task(name="predictions.run_inference_job")
def run_inference_job(*, job_pk: int) -> int:
    """Claim a job and enqueue its cases in chunks; return how many cases were enqueued."""
    from readerstudy.predictions import worker

    model_version_pk = worker.job_model_ready(job_pk=job_pk)
    if model_version_pk is None:
        return 0
    pks = services.inference_job_claim(job_pk=job_pk)
    for chunk in services.chunked(pks):
        predict_cases.apply_async(
            kwargs={"case_pks": chunk, "model_version_pk": model_version_pk, "job_pk": job_pk}
        )
    services.inference_job_finish_if_complete(job_pk=job_pk)
    return len(pks)


@task(name="predictions.requeue_stale_jobs", time_limit=120, soft_time_limit=100)
def requeue_stale_jobs() -> list[int]:
    """The periodic sweep (celery beat): re-queue the active jobs that stopped moving."""
    return services.inference_jobs_requeue_stale()


@task(name="predictions.predict_cases", bind=True)
def predict_cases(self, *, case_pks: list[int], model_version_pk: int, job_pk: int) -> int:
    """Predict a chunk of cases in one network batch; return how many were stored."""
    return _predict_or_record(self, case_pks, model_version_pk, job_pk)


@task(name="predictions.predict_case", bind=True)
def predict_case(self, *, case_pk: int, model_version_pk: int, job_pk: int) -> int:
    """Predict one case; return 1 if a prediction was stored, else 0."""
    return _predict_or_record(self, [case_pk], model_version_pk, job_pk)


def _predict_or_record(task, case_pks: Sequence[int], model_version_pk: int, job_pk: int) -> int:
    """Run :func:`~readerstudy.predictions.worker.predict_chunk`; when it cannot finish,
    record the cases as failed.

    A transient error is raised for the task decorator to retry, until the retries are
    spent; a permanent file error (:data:`readerstudy.core.tasks.PERMANENT_ERRORS`) is
    recorded at once.
    """
    from readerstudy.predictions import worker

    try:
        return worker.predict_chunk(
            case_pks=case_pks, model_version_pk=model_version_pk, job_pk=job_pk
        )
    except SoftTimeLimitExceeded:
        error = f"The task ran past its time limit ({task.soft_time_limit} s)."
    except TRANSIENT_ERRORS as exc:
        if not is_transient(exc):
            # A missing or unreadable file: a retry would meet it again.
            error = f"{type(exc).__name__}: {exc}"
        elif task.request.retries < task.max_retries:
            raise  # the task decorator retries with backoff
        else:
            error = f"Gave up after {task.max_retries} retries: {type(exc).__name__}: {exc}"
    remaining = Case.objects.filter(pk__in=case_pks).exclude(
        predictions__model_version_id=model_version_pk
    )
    for case in remaining:
        services.prediction_failure_record(job_pk=job_pk, case=case, error=error)
    services.inference_job_finish_if_complete(job_pk=job_pk)
    return 0
