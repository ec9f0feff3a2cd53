"""Celery tasks that run a registered model over a study: the only module of ``inference``
that knows Django.

``run_inference_job`` claims a job and fans its cases out in chunks; ``predict_cases``
reads each case's stored de-identified series, preprocesses it as the model card says,
predicts the whole chunk in one network batch and stores one prediction per case;
``predict_case`` is the same for a single case. Every task is idempotent: a redelivered
task (a worker killed mid-task, ``acks_late``) stores nothing twice and counts nothing
twice, because a prediction is unique per (case, model version) and is counted only when
it is created. Networks are loaded once per worker process, cached by SHA-256, on CUDA
when present.

A cancelled job (``readerstudy.predictions.services.inference_job_cancel``) stops its
work: the fan-out and the chunks not yet started return at once, and a chunk under way
checks before each case and before storing its batch, so it neither reads another case
nor stores a prediction after the cancel it has seen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ObjectDoesNotExist

from inference.checkpoint import LoadedModel, ModelLoadError
from inference.predict import case_patches, predict_patches, three_tier
from readerstudy.core.tasks import TRANSIENT_ERRORS, task
from readerstudy.predictions import selectors, services
from readerstudy.predictions.models import InferenceJob, ModelVersion
from readerstudy.studies.models import Case

__all__ = ["predict_case", "predict_cases", "predict_chunk", "run_inference_job"]

logger = logging.getLogger(__name__)

#: Problems of one case that retrying cannot fix: recorded as the case's error.
CASE_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # includes inference.preprocess.SeriesError: an unusable series
    LookupError,
    ObjectDoesNotExist,  # no stored series or no vertebra centre
    FileNotFoundError,  # a stored instance is gone
)


@task()
def run_inference_job(*, job_pk: int) -> int:
    """Claim a job and enqueue its cases in chunks; return how many cases were enqueued."""
    job = InferenceJob.objects.select_related("model_version").filter(pk=job_pk).first()
    if job is None or job.is_finished:
        return 0
    try:
        services.model_version_load(job.model_version)
    except ModelLoadError as exc:
        logger.error("inference job %s: %s", job_pk, exc)
        services.inference_job_fail(job_pk=job_pk, error=f"The model cannot be loaded: {exc}")
        return 0
    pks = services.inference_job_claim(job_pk=job_pk)
    for chunk in services.chunked(pks):
        predict_cases.apply_async(
            kwargs={"case_pks": chunk, "model_version_pk": job.model_version_id, "job_pk": job_pk},
            queue=services.inference_queue(),
        )
    services.inference_job_finish_if_complete(job_pk=job_pk)
    return len(pks)


@task(bind=True)
def predict_cases(self, *, case_pks: list[int], model_version_pk: int, job_pk: int) -> int:
    """Predict a chunk of cases in one network batch; return how many were stored."""
    return _predict_or_record(self, case_pks, model_version_pk, job_pk)


@task(bind=True)
def predict_case(self, *, case_pk: int, model_version_pk: int, job_pk: int) -> int:
    """Predict one case; return 1 if a prediction was stored, else 0."""
    return _predict_or_record(self, [case_pk], model_version_pk, job_pk)


def _predict_or_record(task, case_pks: Sequence[int], model_version_pk: int, job_pk: int) -> int:
    """Run :func:`predict_chunk`; when it cannot finish, record the cases as failed."""
    try:
        return predict_chunk(case_pks=case_pks, model_version_pk=model_version_pk, job_pk=job_pk)
    except SoftTimeLimitExceeded:
        error = f"The task ran past its time limit ({task.soft_time_limit} s)."
    except TRANSIENT_ERRORS as exc:
        if task.request.retries < task.max_retries:
            raise  # the task decorator retries with backoff
        error = f"Gave up after {task.max_retries} retries: {type(exc).__name__}: {exc}"
    remaining = Case.objects.filter(pk__in=case_pks).exclude(
        predictions__model_version_id=model_version_pk
    )
    for case in remaining:
        services.prediction_failure_record(job_pk=job_pk, case=case, error=error)
    services.inference_job_finish_if_complete(job_pk=job_pk)
    return 0


def predict_chunk(*, case_pks: Sequence[int], model_version_pk: int, job_pk: int) -> int:
    """Read, preprocess and predict the cases of ``case_pks`` that lack a prediction.

    The work behind :func:`predict_cases`, callable without Celery. A case whose series
    cannot be read is recorded as the job's error and the others go on. The per-case
    runtime is its own reading and preprocessing time plus its share of the batch's
    network time. A cancelled job's chunk does no work (see the module's docstring).
    """
    job = InferenceJob.objects.filter(pk=job_pk).first()
    if job is None or job.is_finished:
        return 0  # cancelled, or a stale redelivery of a job an earlier delivery finished
    model_version = ModelVersion.objects.get(pk=model_version_pk)
    cases = list(
        Case.objects.filter(pk__in=case_pks)
        .exclude(predictions__model_version=model_version)
        .order_by("pk")
    )
    if not cases:
        services.inference_job_finish_if_complete(job_pk=job_pk)
        return 0
    try:
        model = services.model_version_load(model_version)
    except ModelLoadError as exc:
        for case in cases:
            services.prediction_failure_record(
                job_pk=job_pk, case=case, error=f"The model cannot be loaded: {exc}"
            )
        services.inference_job_finish_if_complete(job_pk=job_pk)
        return 0
    batch, owners = _preprocess(model, cases, job_pk)
    if selectors.job_cancelled(job_pk=job_pk):
        return 0  # neither the network nor the store: the job was cancelled meanwhile
    stored = 0
    if batch:
        started = time.perf_counter()
        probabilities = predict_patches(model, np.concatenate(batch))
        network_s = time.perf_counter() - started
        if selectors.job_cancelled(job_pk=job_pk):
            return 0
        lower, upper = model.thresholds
        offset, n_patches = 0, len(probabilities)
        for case, n, preprocess_s in owners:
            # One patch for CT; for MRI the highest of the three slice-centred patches,
            # as inference.predict.predict_case reads a case.
            probability = float(probabilities[offset : offset + n].max())
            offset += n
            _, created = services.prediction_store(
                case=case,
                model_version=model_version,
                job_pk=job_pk,
                probability=probability,
                three_tier=three_tier(probability, lower, upper),
                runtime_s=preprocess_s + network_s * n / n_patches,
            )
            stored += created
    services.inference_job_finish_if_complete(job_pk=job_pk)
    return stored


def _preprocess(
    model: LoadedModel, cases: list[Case], job_pk: int
) -> tuple[list[np.ndarray], list[tuple[Case, int, float]]]:
    batch: list[np.ndarray] = []
    owners: list[tuple[Case, int, float]] = []
    reads = selectors.model_reads(model.input_spec)
    for case in cases:
        if selectors.job_cancelled(job_pk=job_pk):
            break  # predict_chunk sees it too and stores nothing
        started = time.perf_counter()
        try:
            center = selectors.case_center(case)
            with selectors.case_series_paths(case, near=center, **reads) as series:
                patches = case_patches(model, series, center)
        except CASE_ERRORS as exc:
            logger.warning("case %s: %s", case.code, exc)
            services.prediction_failure_record(
                job_pk=job_pk, case=case, error=f"{type(exc).__name__}: {exc}"
            )
            continue
        batch.append(patches)
        owners.append((case, len(patches), time.perf_counter() - started))
    return batch, owners
