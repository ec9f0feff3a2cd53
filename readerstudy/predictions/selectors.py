"""Read-only queries of the model as a reader: jobs, predictions as an analysis frame, and
the stored series a model reads (which models exist is :mod:`.registry`'s).

Predictions reach coordinators only; the one exception, the trainees' feedback mode, is
in :mod:`readerstudy.predictions.feedback`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.core.files.storage import storages
from django.db.models import Max, QuerySet

from readerstudy.imaging import selectors as imaging
from readerstudy.imaging.models import Series
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.studies.models import Case, Study
from readerstudy.studies.services import reading_cases

__all__ = [
    "DECISION_THRESHOLD",
    "FRAME_COLUMNS",
    "call_for",
    "case_center",
    "case_series_names",
    "case_series_paths",
    "job_cancelled",
    "jobs_for",
    "model_reads",
    "newest_job_pks",
    "predictions_for",
    "predictions_frame",
    "reading_cases",
    "unpredicted_count",
]

#: The published models' binary threshold on the probability of malignancy.
DECISION_THRESHOLD = 0.5
FRAME_COLUMNS = ["reader", "case", "score", "call", "three_tier", "reader_kind"]


def jobs_for(*, study: Study) -> QuerySet[InferenceJob]:
    """The study's inference jobs, newest first."""
    return InferenceJob.objects.filter(study=study).select_related("model_version", "created_by")


def job_cancelled(*, job_pk: int) -> bool:
    """Whether a coordinator has cancelled the job (the worker's tasks ask between cases)."""
    return InferenceJob.objects.filter(pk=job_pk, status=InferenceJob.Status.CANCELLED).exists()


def newest_job_pks(*, study: Study) -> set[int]:
    """The pk of each model's newest job on the study."""
    newest = InferenceJob.objects.filter(study=study).values("model_version").annotate(
        newest_pk=Max("pk"))
    return {row["newest_pk"] for row in newest}


def unpredicted_count(*, study: Study, model_version: ModelVersion) -> int:
    """How many of the study's reading cases have no prediction from ``model_version``:
    the cases a new job of that model would read."""
    return reading_cases(study).exclude(predictions__model_version=model_version).count()


def predictions_for(*, study: Study) -> QuerySet[Prediction]:
    """The model predictions of the study's reading cases (not its training cases)."""
    return (
        Prediction.objects.filter(case__in=reading_cases(study))
        .select_related("case", "model_version")
        .defer("saliency")  # images for the trainees' feedback, tens of kB a case
        .order_by("model_version__name", "model_version__version", "case__code")
    )


def call_for(probability: float, card: dict[str, Any] | None = None) -> str:
    """Benign or malignant at the card's ``decision_threshold`` (0.5 when absent).

    Malignant from the threshold up, the convention of the three-tier output's upper
    threshold (:func:`inference.postprocess.three_tier`).
    """
    threshold = float((card or {}).get("decision_threshold", DECISION_THRESHOLD))
    return "malignant" if probability >= threshold else "benign"


def predictions_frame(study: Study) -> pd.DataFrame:
    """The model as a reader of ``study``: one row per model version and reading case.

    Columns: ``reader`` (``"model:<name>@<version>"``), ``case`` (the case code),
    ``score`` (probability of malignancy, 0..1), ``call`` (benign/malignant at the card's
    threshold, 0.5), ``three_tier`` (benign/uncertain/malignant), ``reader_kind``
    (``"model"``). Empty, with these columns, when nothing was predicted.
    """
    rows = [
        {
            "reader": p.model_version.reader_name,
            "case": p.case.code,
            "score": p.probability,
            "call": call_for(p.probability, p.model_version.card),
            "three_tier": p.three_tier,
            "reader_kind": "model",
        }
        for p in predictions_for(study=study)
    ]
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    return frame.astype({"score": "float64"})


def case_center(case: Case) -> tuple[float, float, float]:
    """The annotated vertebra centre of a case in LPS mm (from the import manifest)."""
    return tuple(float(v) for v in imaging.vertebra_center(case))  # type: ignore[return-value]


def case_series_names(case: Case, *, roles: Sequence[str] | None = None,
                      near: Sequence[float] | None = None,
                      half_size_mm: float | None = None) -> dict[str, list[str]]:
    """Storage names of the case's stored series by role, ordered along the slice normal.

    ``roles`` keeps only those series (a CT model reads the axial one, not its reformat).

    With ``near`` and ``half_size_mm``, a series of single-frame instances keeps only the
    slices that a cube of that half edge around the point (aligned with the patient axes,
    as a CT patch is) can touch, plus one slice on each side for interpolation: a 64 mm
    patch needs about 70 slices of a 300-slice axial series, and the others need not be
    read (or, from object storage, fetched).
    """
    names = imaging.case_series_files(case)
    if roles is not None:
        names = {role: files for role, files in names.items() if role in roles}
    if near is None or half_size_mm is None:
        return names
    point = np.asarray(near, dtype=float)
    for series in Series.objects.filter(case=case, role__in=list(names)):
        instances = list(series.instances.order_by("position", "instance_number", "pk"))
        if len(instances) < 3 or any(i.number_of_frames != 1 for i in instances):
            continue
        row, column = np.asarray(series.orientation[:3], float), np.asarray(series.orientation[3:], float)
        normal = np.cross(row, column)
        at, reach = float(point @ normal), half_size_mm * float(np.abs(normal).sum())
        inside = [k for k, i in enumerate(instances) if abs(i.position - at) <= reach]
        if not inside:
            continue  # the point is outside the series: let preprocessing say so
        first, last = max(inside[0] - 1, 0), min(inside[-1] + 1, len(instances) - 1)
        names[series.role] = [i.storage_name for i in instances[first : last + 1]]
    return names


@contextmanager
def case_series_paths(case: Case, *, roles: Sequence[str] | None = None,
                      near: Sequence[float] | None = None,
                      half_size_mm: float | None = None) -> Iterator[dict[str, list[Path]]]:
    """The case's stored, de-identified series as local files, by role.

    With a file-system storage these are the stored files themselves; with a remote one
    (object storage) the instances are copied into a temporary folder that is removed on
    exit. ``roles``, ``near`` and ``half_size_mm`` keep only the series a model reads and
    the slices around a point (:func:`case_series_names`).
    """
    names = case_series_names(case, roles=roles, near=near, half_size_mm=half_size_mm)
    storage = storages["dicom"]
    try:
        local = {role: [Path(storage.path(name)) for name in files] for role, files in names.items()}
    except NotImplementedError:
        local = None  # not on a local disk: copy below
    if local is not None:
        yield local
        return
    folder = Path(tempfile.mkdtemp(prefix=f"case-{case.code}-"))
    try:
        paths: dict[str, list[Path]] = {}
        for role, files in names.items():
            paths[role] = []
            for i, name in enumerate(files):
                copy = folder / role / f"{i:05d}.dcm"
                copy.parent.mkdir(parents=True, exist_ok=True)
                with imaging.open_instance(name) as source, copy.open("wb") as target:
                    shutil.copyfileobj(source, target)
                paths[role].append(copy)
        yield paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def model_reads(input_spec: dict[str, Any]) -> dict[str, Any]:
    """What of a case a model's input specification needs: ``roles`` (its series) and, for
    a CT patch, ``half_size_mm`` (half the patch edge), as :func:`case_series_paths` takes them."""
    half_size = None
    if input_spec.get("kind") == "ct_patch":
        half_size = float(input_spec["patch_size"][0]) / 2 * float(input_spec["spacing_mm"])
    return {"roles": input_spec.get("series"), "half_size_mm": half_size}
