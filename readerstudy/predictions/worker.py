"""What the inference worker does for a task: read, preprocess, predict, explain and store
a chunk of cases. The only module of the app that loads torch, imported by the tasks when
they run (:mod:`readerstudy.predictions.tasks`), never by the web process.

A case is read from its stored de-identified series, preprocessed as the model card says,
and the chunk goes through the network in one batch; each case's probability is
:func:`inference.postprocess.case_probability` of its patches (MRI: the highest of three)
and, in an assisted or teaching study (``Study.mode``), its saliency map the Grad-CAM of the
patch that gave it, stored with the prediction for the trainees' feedback (Grad-CAM costs
about as much as the rest of a case on a CPU, so a study without feedback goes without).
A prediction stored while its study gave no feedback keeps no map. Networks are loaded once per worker process
(:func:`readerstudy.predictions.registry.model_version_load`), on CUDA when present.

A cancelled job (:func:`readerstudy.predictions.services.inference_job_cancel`) stops its
work: the fan-out and the chunks not yet started return at once, and a chunk under way
checks before each case and before storing its batch, so it neither reads another case
nor stores a prediction after the cancel it has seen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ObjectDoesNotExist

from inference.checkpoint import LoadedModel, ModelLoadError
from inference.postprocess import case_probability, three_tier
from inference.predict import case_patches_placed, predict_patches
from inference.preprocess import PatchPlane
from inference.saliency import METHOD, heat_plane, heat_volume, saliency, saliency_views
from readerstudy.core.tasks import PERMANENT_ERRORS
from readerstudy.predictions import registry, selectors, services
from readerstudy.predictions.models import InferenceJob, ModelVersion
from readerstudy.studies.models import Case
from readerstudy.studies.protocol import BLINDED

__all__ = ["CASE_ERRORS", "job_model_ready", "predict_chunk"]

logger = logging.getLogger(__name__)

#: Problems of one case that retrying cannot fix: recorded as the case's error.
CASE_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # includes inference.preprocess.SeriesError: an unusable series
    LookupError,
    ObjectDoesNotExist,  # no stored series or no vertebra centre
    *PERMANENT_ERRORS,  # a stored instance is gone or unreadable
)


@dataclass(frozen=True)
class _Read:
    """One case preprocessed: its patches and the seconds that took."""

    case: Case
    patches: np.ndarray
    preprocess_s: float
    center: np.ndarray  # the vertebra's centre, LPS mm: where the CT patch (and its map) lies
    planes: list[PatchPlane | None]  # where each MRI patch (and its map) lies; None for CT


def job_model_ready(*, job_pk: int) -> int | None:
    """The pk of the job's model once it loads in this worker; None when the job has ended
    or its model cannot be loaded (the job is then failed with the reason)."""
    job = InferenceJob.objects.select_related("model_version").filter(pk=job_pk).first()
    if job is None or job.is_finished:
        return None
    try:
        registry.model_version_load(job.model_version)
    except ModelLoadError as exc:
        logger.error("inference job %s: %s", job_pk, exc)
        services.inference_job_fail(job_pk=job_pk, error=f"The model cannot be loaded: {exc}")
        return None
    return job.model_version_id


def predict_chunk(*, case_pks: Sequence[int], model_version_pk: int, job_pk: int) -> int:
    """Read, preprocess, predict and store the cases of ``case_pks`` that lack a prediction.

    The work behind ``predictions.predict_cases``, callable without Celery. A case whose
    series cannot be read is recorded as the job's error and the others go on. The
    per-case runtime is its own reading and preprocessing time plus its share of the
    batch's network time (the saliency map is not counted). A cancelled job's chunk does
    no work (see the module's docstring).
    """
    job = InferenceJob.objects.select_related("study").filter(pk=job_pk).first()
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
        model = registry.model_version_load(model_version)
    except ModelLoadError as exc:
        for case in cases:
            services.prediction_failure_record(
                job_pk=job_pk, case=case, error=f"The model cannot be loaded: {exc}"
            )
        services.inference_job_finish_if_complete(job_pk=job_pk)
        return 0
    reads = _preprocess(model, cases, job_pk)
    if selectors.job_cancelled(job_pk=job_pk):
        return 0  # neither the network nor the store: the job was cancelled meanwhile
    stored = 0
    if reads:
        started = time.perf_counter()
        probabilities = predict_patches(model, np.concatenate([r.patches for r in reads]))
        network_s = time.perf_counter() - started
        offset, n_patches = 0, len(probabilities)
        readings = []
        for read in reads:
            n = len(read.patches)
            probability, patch = case_probability(probabilities[offset : offset + n])
            offset += n
            runtime_s = read.preprocess_s + network_s * n / n_patches
            saliency = (_saliency(model, read.patches[patch], read.center, read.planes[patch])
                        if job.study.mode != BLINDED else None)
            readings.append((read, probability, runtime_s, saliency))
        if selectors.job_cancelled(job_pk=job_pk):
            return 0
        lower, upper = model.thresholds
        for read, probability, runtime_s, saliency in readings:
            _, created = services.prediction_store(
                case=read.case,
                model_version=model_version,
                job_pk=job_pk,
                probability=probability,
                three_tier=three_tier(probability, lower, upper),
                runtime_s=runtime_s,
                saliency=saliency,
            )
            stored += created
    services.inference_job_finish_if_complete(job_pk=job_pk)
    return stored


def _saliency(model: LoadedModel, patch: np.ndarray, center: np.ndarray,
              plane: PatchPlane | None) -> dict:
    """Where the model looked in the patch that gave the case its probability: small views of
    the patch and the map placed in the patient (``volume``: CT's cube around the centre, or
    the plane of the MRI patch's slice), which the reading room draws over its own images at
    full resolution."""
    heat = saliency(model, patch)
    result: dict = {"method": METHOD, "views": saliency_views(model, patch, heat=heat)}
    spec = model.input_spec
    if spec["kind"] == "ct_patch":
        result["volume"] = heat_volume(heat[0] if heat.ndim == 4 else heat, center_lps=center,
                                       spacing_mm=float(spec["spacing_mm"]))
    elif spec["kind"] == "mri_patch" and plane is not None:
        result["volume"] = heat_plane(heat, plane=plane)
    return result


def _preprocess(model: LoadedModel, cases: list[Case], job_pk: int) -> list[_Read]:
    reads: list[_Read] = []
    wanted = selectors.model_reads(model.input_spec)
    for case in cases:
        if selectors.job_cancelled(job_pk=job_pk):
            break  # predict_chunk sees it too and stores nothing
        started = time.perf_counter()
        try:
            center = selectors.case_center(case)
            with selectors.case_series_paths(case, near=center, **wanted) as series:
                patches, planes = case_patches_placed(model, series, center)
        except CASE_ERRORS as exc:
            logger.warning("case %s: %s", case.code, exc)
            services.prediction_failure_record(
                job_pk=job_pk, case=case, error=f"{type(exc).__name__}: {exc}"
            )
            continue
        reads.append(_Read(case=case, patches=patches, preprocess_s=time.perf_counter() - started,
                           center=np.asarray(center, dtype=np.float64), planes=planes))
    return reads
