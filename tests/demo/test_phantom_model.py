"""The demo's small models, trained on phantoms once and reused."""

# The fixtures of tests/predictions are imported, so test parameters "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import numpy as np
import pytest

from readerstudy.demo import phantom_model
from tests.predictions.helpers import (  # noqa: F401 - fixtures
    ct_study,
    fresh_caches,
    imported_ct,
    storage_root,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def quick_demo(monkeypatch):
    quick = {"arch_kwargs": {"channels": [4, 8, 8, 8]}, "folds": 2, "max_epochs": 1, "patience": 1,
             "lr": 1e-3, "batch_size": 8, "augment": False, "seed": 7, "phantoms": 4}
    for modality in ("CT", "MR"):
        monkeypatch.setitem(phantom_model.DEMO_SETTINGS, modality, quick)


@pytest.mark.slow
def test_the_demo_model_is_trained_once_and_says_it_has_no_clinical_meaning(ct_study, storage_root,
                                                                            quick_demo, monkeypatch):
    model = phantom_model.demo_model_ensure(study=ct_study)

    assert model.name == "demo-phantom-ct" and model.modality == "CT"
    assert model.card["training_data"]["note"] == "trained on synthetic phantoms; no clinical meaning"
    assert "no clinical meaning" in model.card["intended_use"]

    def no_training(*args, **kwargs):
        raise AssertionError("the demo model was trained again")

    monkeypatch.setattr(phantom_model, "train_and_register", no_training)
    assert phantom_model.demo_model_ensure(study=ct_study).pk == model.pk
    model.delete()  # a fresh database: the files under READERSTUDY_MODEL_DIR are reused
    again = phantom_model.demo_model_ensure(study=ct_study)
    assert (again.name, again.version, again.sha256) == (model.name, model.version, model.sha256)


def test_a_changed_training_set_gives_the_demo_model_another_version(ct_study, storage_root):
    before = phantom_model.demo_fingerprint(ct_study)
    ct_study.cases.filter(test_set="training").first().delete()

    assert phantom_model.demo_fingerprint(ct_study) != before


@pytest.mark.slow
def test_the_mri_demo_model_learns_from_phantoms_cut_like_stored_series():
    data = phantom_model.phantom_training_set("MR", n=4, seed=3)

    assert data.patches.shape == (4, 6, 64, 64) and np.isfinite(data.patches).all()
    assert sorted(data.labels.tolist()) == [0, 0, 1, 1]
    assert len(set(data.patient_ids)) == 4
    # z-scored per sequence over its three slices (inference.preprocess.mri_patch)
    assert np.allclose(data.patches[:, :3].mean(axis=(1, 2, 3)), 0, atol=1e-4)
