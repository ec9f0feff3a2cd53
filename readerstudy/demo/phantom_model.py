"""The demo's small models, trained on synthetic phantoms in a few minutes on 2 CPU cores.

A demo study with training cases (the CT demo study) trains on their stored series, as a
real study would (:func:`readerstudy.predictions.training.training_set_build`). A study
without any (the MRI demo study) trains on phantoms drawn in memory by the same generator
(:mod:`fixtures.phantoms`) and cut by the same preprocessing functions. Either way the card
says plainly that the model was trained on synthetic phantoms and has no clinical meaning.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

import numpy as np

from inference.checkpoint import ModelLoadError, load_model
from inference.preprocess import MRI_INPUT_SPEC, Volume, mri_patch
from readerstudy.predictions import selectors
from readerstudy.predictions.models import ModelVersion
from readerstudy.predictions.registry import model_version_register, registry_dir
from readerstudy.predictions.training import TrainingSet, train_and_register, training_set_build
from readerstudy.studies.models import Case, Modality, Study

__all__ = ["DEMO_NOTE", "DEMO_SETTINGS", "demo_model_ensure", "phantom_training_set"]

#: Training settings of the demo models. They depart from the protocol's recipe (Adam at
#: 1e-4, batch 32, augmentation, 5-10 folds) to train in minutes on 2 CPU cores: a higher
#: learning rate and small batches converge in a few epochs, two patient-level folds, no
#: augmentation. The card records them.
DEMO_SETTINGS: dict[str, dict[str, Any]] = {
    Modality.CT: {"arch_kwargs": {"channels": [8, 16, 32, 64]}, "folds": 2, "max_epochs": 8,
                  "patience": 3, "lr": 1e-3, "batch_size": 8, "augment": False, "seed": 7},
    Modality.MRI: {"arch_kwargs": {"depth": 18}, "folds": 2, "max_epochs": 8, "patience": 3,
                   "lr": 1e-3, "batch_size": 8, "augment": False, "seed": 7, "phantoms": 60},
}
DEMO_NOTE = "trained on synthetic phantoms; no clinical meaning"
DEMO_INTENDED_USE = (
    "Demonstration of the reader-study software only. Trained on synthetic phantom images "
    "(computer-generated, not patients); it has no clinical meaning and must not be used "
    "for any diagnostic or research conclusion."
)


def _training_cases(study: Study):
    return Case.objects.training().filter(study=study).order_by("pk")


def demo_fingerprint(study: Study) -> str:
    """A short hash of what the demo model learns from: the training cases and settings.

    Built from the manifest's case ids, labels, levels and centres, which a rebuilt demo
    dataset repeats exactly (the stored files do not: their UIDs are keyed per study).
    """
    cases = [
        [c.source_case_id, getattr(getattr(c, "reference", None), "label", ""), c.vertebra_level,
         [round(v, 2) for v in selectors.case_center(c)]]
        for c in _training_cases(study).select_related("reference")
    ]
    payload = json.dumps([study.modality, DEMO_SETTINGS[study.modality], cases], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def demo_model_ensure(*, study: Study) -> ModelVersion:
    """The demo's model for ``study``'s modality, reused when already trained.

    Looked up as ``demo-phantom-<ct|mri>@phantom-<fingerprint>``: first in the registry,
    then as files left under ``READERSTUDY_MODEL_DIR`` by an earlier run (a fresh
    database), and only then trained: on the study's training cases when it has some, else
    on phantoms drawn in memory.
    """
    name = f"demo-phantom-{'ct' if study.modality == Modality.CT else 'mri'}"
    version = f"phantom-{demo_fingerprint(study)}"
    folder = registry_dir(name, version)
    existing = ModelVersion.objects.filter(name=name, version=version).first()
    if existing is not None and (folder / "model_card.json").is_file():
        return existing
    try:
        load_model(folder)
    except ModelLoadError:
        return _train(study, name=name, version=version)
    return model_version_register(path=folder)


def _train(study: Study, *, name: str, version: str) -> ModelVersion:
    chosen = DEMO_SETTINGS[study.modality]
    if _training_cases(study).exists():
        data = training_set_build(study=study)
        source = {"study": study.slug, "cases": len(data.codes), "skipped": data.skipped}
    else:
        data = phantom_training_set(study.modality, n=chosen["phantoms"], seed=chosen["seed"])
        source = {"drawn_in_memory": len(data.codes), "generator": "fixtures.phantoms"}
    return train_and_register(
        data, modality=study.modality, name=name, version=version,
        folds=chosen["folds"], max_epochs=chosen["max_epochs"], patience=chosen["patience"],
        lr=chosen["lr"], batch_size=chosen["batch_size"], augment=chosen["augment"],
        seed=chosen["seed"], arch_kwargs=chosen["arch_kwargs"],
        card_extra={"intended_use": DEMO_INTENDED_USE,
                    "training_data": {"note": DEMO_NOTE, "source": "synthetic phantoms", **source}},
    )


def phantom_training_set(modality: str, *, n: int, seed: int) -> TrainingSet:
    """Balanced phantom cases drawn in memory and cut as stored series would be.

    MRI only: each case's sagittal T1W and T2W phantoms become a :class:`Volume` and go
    through :func:`inference.preprocess.mri_patch` around the annotated centre, as the
    stored series of a case do in :func:`inference.predict.case_patches`.
    """
    if modality != Modality.MRI:
        raise ValueError("phantoms are drawn in memory for the MRI demo model only")
    from fixtures.phantoms import make_mri_phantom  # demo-only dependency

    size, box = int(MRI_INPUT_SPEC["patch_size"][0]), float(MRI_INPUT_SPEC["box_mm"])
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2)
    patches = []
    for i, label in enumerate(labels):
        t1, t2 = make_mri_phantom(label="malignant" if label else "benign", seed=seed * 10_000 + i,
                                  shape=(128, 128))
        patches.append(mri_patch(_volume(t1), _volume(t2), t1.lesion_center_lps, size=size, box_mm=box))
    return TrainingSet(
        patches=np.stack(patches).astype(np.float32), labels=labels.astype(np.int64),
        patient_ids=np.array([f"phantom-{i}" for i in range(n)]),
        codes=[f"phantom-{i}" for i in range(n)],
    )


def _volume(phantom) -> Volume:
    """A phantom in the preprocessing's geometry: index (x, y, z) -> LPS mm."""
    affine = np.eye(4)
    affine[:3, :3] = np.asarray(phantom.direction, float) * np.asarray(phantom.spacing[::-1], float)
    affine[:3, 3] = phantom.origin
    return Volume(array=np.asarray(phantom.array, np.float32), affine=affine,
                  # A phantom's spacing has one value per axis (three).
                  spacing=cast(tuple[float, float, float], tuple(float(s) for s in phantom.spacing)))
