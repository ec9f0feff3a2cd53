"""Training a model on a study's training cases.

Patches are cut from the stored, de-identified series by the same function the
prediction tasks use (:func:`inference.predict.case_patches`), so training and inference
preprocess identically. Patient-level folds, the recipe and the checkpoint are
:func:`inference.train.train`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.utils import timezone

from inference.predict import case_patches
from inference.preprocess import CT_INPUT_SPEC, MRI_INPUT_SPEC
from inference.train import train
from readerstudy.predictions import selectors
from readerstudy.predictions.models import ModelVersion
from readerstudy.predictions.registry import ARCHITECTURE_FOR, model_version_register, registry_dir
from readerstudy.studies.models import Case, Modality, Study

__all__ = ["TrainingSet", "model_train", "train_and_register", "training_set_build"]


@dataclass(frozen=True)
class TrainingSet:
    """Patches of a study's training cases; ``skipped`` names cases left out and why."""

    patches: np.ndarray
    labels: np.ndarray
    patient_ids: np.ndarray
    codes: list[str]
    skipped: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Preprocessing:
    """The two fields of a model that :func:`inference.predict.case_patches` reads,
    before there is a model: the input specification a new card will carry."""

    input_spec: dict[str, Any]
    card: dict[str, Any]


def _training_cases(study: Study):
    return (
        Case.objects.training().filter(study=study)
        .select_related("reference").order_by("pk")
    )


def training_set_build(*, study: Study, progress: Callable[[str], None] | None = None) -> TrainingSet:
    """Cut one patch per training case of ``study`` from its stored series.

    CT: the 64^3 patch at 1 mm around the vertebra centre; MRI: the 6-channel patch
    centred on the lesion slice. Labels come from the reference standard (1 malignant);
    a case without one, or whose series cannot be read, is skipped and listed.
    """
    spec = CT_INPUT_SPEC if study.modality == Modality.CT else MRI_INPUT_SPEC
    reader = _Preprocessing(input_spec=dict(spec), card={"name": "training"})
    patches, labels, patients, codes, skipped = [], [], [], [], []
    for case in _training_cases(study):
        reference = getattr(case, "reference", None)
        if reference is None:
            skipped.append({"case": case.code, "reason": "no reference standard"})
            continue
        try:
            with selectors.case_series_paths(case) as series:
                stack = case_patches(reader, series, selectors.case_center(case))  # type: ignore[arg-type]
        except (ValueError, LookupError, FileNotFoundError) as exc:
            skipped.append({"case": case.code, "reason": f"{type(exc).__name__}: {exc}"})
            continue
        patches.append(stack[len(stack) // 2])  # MRI: the patch centred on the lesion slice
        labels.append(1 if reference.label == "malignant" else 0)
        patients.append(case.patient_pseudonym)
        codes.append(case.code)
        if progress:
            progress(f"patch {len(codes)}: case {case.code}")
    if not patches:
        raise ValidationError(f"Study {study.slug} has no usable training cases.")
    return TrainingSet(
        patches=np.stack(patches).astype(np.float32), labels=np.asarray(labels),
        patient_ids=np.asarray(patients), codes=codes, skipped=skipped,
    )


def model_train(*, study: Study, modality: str | None = None, out_dir: Path | str | None = None,
                folds: int = 5, max_epochs: int = 30, patience: int = 5, seed: int = 0,
                name: str | None = None, version: str | None = None,
                arch_kwargs: Mapping[str, Any] | None = None,
                card_extra: Mapping[str, Any] | None = None, by=None,
                progress: Callable[[str], None] | None = None) -> ModelVersion:
    """Train on the study's training cases, write checkpoint + card + report, register it.

    Parameters
    ----------
    study : Study
        Its TRAINING cases (with a reference standard) are the data; folds are grouped by
        patient inside :func:`inference.train.train`.
    modality : {"CT", "MR"}, optional
        Must be the study's (checked); defaults to it.
    out_dir : path-like, optional
        Where checkpoint and ``report/`` go; by default the registry folder
        ``READERSTUDY_MODEL_DIR/<name>/<version>/``.
    folds, max_epochs, patience, seed
        Passed to :func:`inference.train.train`.
    name, version : str, optional
        Default ``<modality>-<study slug>`` and the UTC time ``YYYYMMDD-HHMMSS``.
    arch_kwargs, card_extra : mapping, optional
        Network arguments and extra card fields.

    Returns
    -------
    ModelVersion
        The registered model.
    """
    modality = _check_modality(study, modality)
    data = training_set_build(study=study, progress=progress)
    extra: dict[str, Any] = dict(card_extra or {})
    extra["training_data"] = {
        "study": study.slug, "cases": len(data.codes), "skipped": data.skipped,
        **dict(extra.get("training_data", {})),
    }
    return train_and_register(
        data, modality=modality,
        name=name or f"{'ct' if modality == Modality.CT else 'mri'}-{study.slug}",
        version=version, out_dir=out_dir, folds=folds, max_epochs=max_epochs,
        patience=patience, seed=seed, arch_kwargs=arch_kwargs, card_extra=extra, by=by,
        progress=progress,
    )


def train_and_register(data: TrainingSet, *, modality: str, name: str, version: str | None = None,
                       out_dir: Path | str | None = None, folds: int = 5, max_epochs: int = 30,
                       patience: int = 5, seed: int = 0, lr: float = 1e-4,
                       batch_size: int = 32, augment: bool = True,
                       arch_kwargs: Mapping[str, Any] | None = None,
                       card_extra: Mapping[str, Any] | None = None, by=None,
                       progress: Callable[[str], None] | None = None) -> ModelVersion:
    """Train the modality's architecture on ``data`` and register the checkpoint.

    ``version`` defaults to the UTC time ``YYYYMMDD-HHMMSS``; ``out_dir`` to the registry
    folder, so registering copies nothing. ``lr``, ``batch_size`` and ``augment`` default
    to the protocol's recipe (:func:`inference.train.train`).
    """
    version = version or timezone.now().strftime("%Y%m%d-%H%M%S")
    extra = {"name": name, "version": version, **dict(card_extra or {})}
    result = train(
        data.patches, data.labels, data.patient_ids, arch=ARCHITECTURE_FOR[modality],
        out_dir=Path(out_dir) if out_dir else registry_dir(name, version), folds=folds,
        max_epochs=max_epochs, patience=patience, seed=seed, lr=lr, batch_size=batch_size,
        augment=augment, arch_kwargs=dict(arch_kwargs or {}), card_extra=extra, progress=progress,
    )
    return model_version_register(path=result.model_dir, by=by)


def _check_modality(study: Study, modality: str | None) -> str:
    aliases = {"CT": Modality.CT, "MR": Modality.MRI, "MRI": Modality.MRI}
    if modality is None:
        return study.modality
    chosen = aliases.get(str(modality).upper())
    if chosen is None:
        raise ValidationError(f"Unknown modality {modality!r}: use CT or MRI.")
    if chosen != study.modality:
        raise ValidationError(
            f"Study {study.slug} is {study.get_modality_display()}; it cannot train a "
            f"{chosen.label} model."
        )
    return chosen
