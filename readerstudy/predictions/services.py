"""Write operations of the model as a reader: starting, cancelling and retrying inference
jobs, storing predictions and job progress. Registering and loading models is
:mod:`.registry`'s, training :mod:`.training`'s, and the work of the worker
:mod:`.worker`'s.

Keyword-only arguments; each function is the one place its rule lives. Progress counters
change only through single UPDATE statements with ``F()`` expressions, and a job is
finished by a conditional UPDATE that exactly one caller wins. A started job's task is
enqueued by its name (``predictions.run_inference_job``), so this module imports neither
the tasks nor torch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from readerstudy.core.models import AuditEvent, audit
from readerstudy.core.tasks import QUEUE_UNREACHABLE_ERROR, BrokerUnavailable, enqueue
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.predictions.registry import latest_model_for
from readerstudy.predictions.selectors import reading_cases
from readerstudy.studies.models import Case, Study

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- jobs


class _RetryDetails(TypedDict, total=False):
    """The audit details of a job that retries another."""

    retry_of: int


def _resolve_model(study: Study, model_version: ModelVersion | None) -> ModelVersion:
    model_version = model_version or latest_model_for(study=study)
    if model_version is None:
        raise ValidationError(
            f"No model is registered for {study.get_modality_display()}: register a "
            "checkpoint (run_inference --model PATH) or train one (train_model)."
        )
    if model_version.modality != study.modality:
        raise ValidationError(
            f"{model_version.reader_name} reads {model_version.get_modality_display()}, "
            f"but study {study.slug} is {study.get_modality_display()}."
        )
    return model_version


def inference_job_start(*, study: Study, model_version: ModelVersion | None = None, by=None,
                        dispatch: bool = True,
                        retry_of: InferenceJob | None = None) -> tuple[InferenceJob, bool]:
    """Start running a model over the study's reading cases; return ``(job, created)``.

    ``model_version`` defaults to the newest registered model of the study's modality.
    The job covers every reading case, counts those the model has already predicted as
    done, and predicts only the others (:func:`inference_job_claim`): a second run of the
    same model reads nothing twice. While a job of the same model on the same study is
    queued or running, that job is returned (``created`` False) instead of a second one.
    With ``dispatch`` the job's Celery task is enqueued once the transaction commits;
    without it the caller runs the chunks itself (:func:`inference_job_claim`, then
    ``readerstudy.predictions.tasks.predict_cases``). ``retry_of`` records the job this one runs again
    (:func:`inference_job_retry`).

    Raises
    ------
    ValidationError
        No model for the study's modality, or a model of another modality.
    """
    model_version = _resolve_model(study, model_version)
    active = InferenceJob.objects.filter(
        study=study, model_version=model_version, status__in=InferenceJob.ACTIVE
    ).first()
    if active is not None:
        return active, False
    cases = reading_cases(study)
    try:
        with transaction.atomic():
            job = InferenceJob.objects.create(
                study=study, model_version=model_version, created_by=by, retry_of=retry_of,
                total=cases.count(),
                done=Prediction.objects.filter(case__in=cases, model_version=model_version).count(),
            )
            details: _RetryDetails = {"retry_of": retry_of.pk} if retry_of is not None else {}
            audit(actor=by, verb=AuditEvent.Verb.INFERENCE, obj=job, study_slug=study.slug,
                  model=model_version.reader_name, cases=job.total, **details)
            if dispatch:
                transaction.on_commit(lambda: _dispatch(job.pk))
    except IntegrityError:
        # A concurrent start of the same model on the same study created it first.
        return InferenceJob.objects.get(
            study=study, model_version=model_version, status__in=InferenceJob.ACTIVE
        ), False
    return job, True


def _dispatch(job_pk: int) -> None:
    """Send the job's task; when the broker is away, fail the job (it may be retried) and
    raise :class:`~readerstudy.core.tasks.BrokerUnavailable` (503)."""
    try:
        enqueue("predictions.run_inference_job", job_pk=job_pk)
    except BrokerUnavailable:
        inference_job_fail(job_pk=job_pk, error=QUEUE_UNREACHABLE_ERROR)
        raise


def inference_job_cancel(*, job: InferenceJob, by=None) -> bool:
    """Cancel a queued or running job; True for the one call that cancelled it.

    One conditional UPDATE moves the job from queued or running to cancelled, so a second
    cancel, or a cancel that meets the job finishing, changes nothing and returns False;
    only the change is audited. ``job`` is refreshed either way. The worker's tasks read
    the status: the fan-out and a chunk not yet started do nothing for a cancelled job,
    and a chunk under way stops before its next case and stores none of its batch
    (:mod:`readerstudy.predictions.worker`). The predictions stored before the cancel are kept: each is a
    whole reading of its case, and a retry (:func:`inference_job_retry`) does not redo them.
    """
    changed = InferenceJob.objects.filter(pk=job.pk, status__in=InferenceJob.ACTIVE).update(
        status=InferenceJob.Status.CANCELLED, finished_at=timezone.now()
    )
    job.refresh_from_db()
    if changed:
        audit(actor=by, verb=AuditEvent.Verb.INFERENCE, obj=job, study_slug=job.study.slug,
              model=job.model_version.reader_name, action="cancelled", done=job.done,
              failed=job.failed, total=job.total)
    return bool(changed)


def inference_job_retry(*, job: InferenceJob, by=None,
                        dispatch: bool = True) -> tuple[InferenceJob, bool]:
    """Run a failed or cancelled job's model again over its study; return ``(job, created)``.

    The new job is an ordinary :func:`inference_job_start` of the same model: it predicts
    the reading cases that have no prediction from that model version (the ones that
    failed and the ones never reached) and counts the others as done. While a job of that
    model is queued or running, that job is returned instead (``created`` False).

    Raises
    ------
    ValidationError
        The job is queued, running or done: there is nothing to retry.
    """
    if job.status not in InferenceJob.RETRYABLE:
        raise ValidationError(
            f"Job #{job.pk} is {job.get_status_display()}: only a failed or cancelled job "
            "can be retried."
        )
    return inference_job_start(study=job.study, model_version=job.model_version, by=by,
                               dispatch=dispatch, retry_of=job)


def inference_job_claim(*, job_pk: int) -> list[int]:
    """Mark a queued job running and return the pks of the cases still to predict.

    The first caller moves the job from queued to running and sets ``total`` and ``done``
    from the study as it is now (one conditional UPDATE; only that caller does it). A
    caller after it (a redelivered task) gets the cases that still lack a prediction and
    an error, which is harmless: predicting a case twice stores it once and counts it once.
    A finished job gives an empty list.
    """
    job = InferenceJob.objects.select_related("study", "model_version").get(pk=job_pk)
    if job.is_finished:
        return []
    cases = reading_cases(job.study)
    predicted = Prediction.objects.filter(case__in=cases, model_version=job.model_version)
    now = timezone.now()
    InferenceJob.objects.filter(pk=job_pk, status=InferenceJob.Status.QUEUED).update(
        status=InferenceJob.Status.RUNNING, started_at=now, progressed_at=now,
        total=cases.count(), done=predicted.count(),
    )
    job.refresh_from_db()
    if job.is_finished:  # cancelled between the check above and the claim
        return []
    failed = {row["case"] for row in job.errors}
    return list(
        cases.exclude(pk__in=predicted.values("case_id")).exclude(code__in=failed)
        .order_by("pk").values_list("pk", flat=True)
    )


def inference_jobs_requeue_stale(*, now: datetime | None = None) -> list[int]:
    """Send again the task of each queued or running job whose work has not moved for
    ``READERSTUDY_INFERENCE_STALE_AFTER`` seconds; return their pks.

    A job stalls when its tasks are lost: a worker killed in the middle of a chunk (the broker
    gives the chunk back only after its visibility timeout), or a broker restarted with the
    chunks still queued. The job's task claims again the cases that have neither a prediction
    nor an error and fans them out; a case predicted twice is stored and counted once, so a
    chunk that was only slow costs time, never a duplicate. Each stalled job is claimed by one
    conditional UPDATE of ``progressed_at``, so concurrent sweeps (the periodic task, the
    status requests) send it once; a broker still away leaves it for the next sweep.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.READERSTUDY_INFERENCE_STALE_AFTER)
    stalled = InferenceJob.objects.filter(status__in=InferenceJob.ACTIVE).filter(
        Q(progressed_at__lt=cutoff) | Q(progressed_at__isnull=True, created_at__lt=cutoff)
    )
    requeued = []
    for job in stalled.select_related("study", "model_version"):
        claimed = InferenceJob.objects.filter(
            pk=job.pk, status__in=InferenceJob.ACTIVE, progressed_at=job.progressed_at
        ).update(progressed_at=now)
        if not claimed:
            continue
        try:
            enqueue("predictions.run_inference_job", job_pk=job.pk)
        except BrokerUnavailable as exc:
            logger.warning("inference job %s stalled, and could not be re-queued: %s", job.pk, exc)
            continue
        audit(actor=None, verb=AuditEvent.Verb.INFERENCE, obj=job, study_slug=job.study.slug,
              model=job.model_version.reader_name, action="requeued", done=job.done,
              failed=job.failed, total=job.total,
              idle_s=round((now - (job.progressed_at or job.created_at)).total_seconds()))
        requeued.append(job.pk)
    return requeued


def chunked(pks: Sequence[int], size: int | None = None) -> list[list[int]]:
    """Split case pks into the per-task chunks."""
    size = size or settings.READERSTUDY_INFERENCE_CHUNK
    if size < 1:
        raise ValueError(f"the chunk size must be at least 1, got {size}")
    return [list(pks[i : i + size]) for i in range(0, len(pks), size)]


def prediction_store(*, case: Case, model_version: ModelVersion, job_pk: int | None,
                     probability: float, three_tier: str, runtime_s: float,
                     saliency: dict[str, Any] | None = None) -> tuple[Prediction, bool]:
    """Store the model's reading of a case once; count it for the job when it is new.

    ``saliency`` is where the model looked (``{"method", "views"}``, made by the worker
    with the prediction), which the trainees' feedback shows. Returns
    ``(prediction, created)``. The unique (case, model version) constraint makes a second
    store, from a redelivered task or a concurrent worker, return the first one.
    """
    with transaction.atomic():
        prediction, created = Prediction.objects.get_or_create(
            case=case, model_version=model_version,
            defaults={"job_id": job_pk, "probability": probability, "three_tier": three_tier,
                      "runtime_s": runtime_s, "saliency": saliency},
        )
        if created and job_pk is not None:
            InferenceJob.objects.filter(pk=job_pk).update(done=F("done") + 1,
                                                          progressed_at=timezone.now())
    return prediction, created


def prediction_failure_record(*, job_pk: int, case: Case, error: str) -> bool:
    """Record that a case could not be predicted in a job; count each case once.

    Returns False when the case had already been recorded (a redelivered task) or the job
    has ended (cancelled, or finished by an earlier delivery).
    """
    with transaction.atomic():
        job = InferenceJob.objects.select_for_update().get(pk=job_pk)
        if job.is_finished or any(row["case"] == case.code for row in job.errors):
            return False
        InferenceJob.objects.filter(pk=job_pk).update(
            errors=[*job.errors, {"case": case.code, "error": error}], failed=F("failed") + 1,
            progressed_at=timezone.now(),
        )
    return True


def inference_job_finish_if_complete(*, job_pk: int) -> bool:
    """Finish a job whose every case is predicted or failed; True for the one caller that did.

    The job ends ``done`` when every case has a prediction and ``failed`` when any could
    not be predicted (its ``errors`` say which and why; a new job retries only those).
    """
    now = timezone.now()
    complete = InferenceJob.objects.filter(
        pk=job_pk, status__in=InferenceJob.ACTIVE, total__lte=F("done") + F("failed")
    )
    changed = complete.filter(failed=0).update(status=InferenceJob.Status.DONE, finished_at=now)
    if not changed:
        changed = complete.update(status=InferenceJob.Status.FAILED, finished_at=now)
    if changed:
        job = InferenceJob.objects.select_related("study", "model_version").get(pk=job_pk)
        audit(actor=None, verb=AuditEvent.Verb.INFERENCE, obj=job, study_slug=job.study.slug,
              model=job.model_version.reader_name, status=job.status, done=job.done,
              failed=job.failed)
    return bool(changed)


def inference_job_fail(*, job_pk: int, error: str) -> bool:
    """End an active job that cannot run at all (say, its model no longer loads)."""
    with transaction.atomic():
        job = InferenceJob.objects.select_for_update().get(pk=job_pk)
        if job.is_finished:
            return False
        InferenceJob.objects.filter(pk=job_pk).update(
            status=InferenceJob.Status.FAILED, finished_at=timezone.now(),
            errors=[*job.errors, {"case": "", "error": error}],
        )
    return True
