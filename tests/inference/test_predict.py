"""Prediction plumbing, with fake networks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from inference.checkpoint import LoadedModel, load_model
from inference.postprocess import TIER_MALIGNANT
from inference.predict import case_patches, predict_case, predict_patches
from inference.preprocess import CT_INPUT_SPEC, MRI_INPUT_SPEC, ct_patch, load_series
from tests.inference.dicom_writer import write_series


class _CentreBrightness(nn.Module):
    """Fake classifier: malignant logit = 10 * (mean of the central 8 voxels - 0.5)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = [slice(s // 2 - 1, s // 2 + 1) for s in x.shape[2:]]
        centre = x[(slice(None), slice(None), *c)].mean(dim=tuple(range(1, x.ndim)))
        return torch.stack([torch.zeros_like(centre), 10 * (centre - 0.5)], dim=1)


class _LesionSliceCentre(nn.Module):
    """Fake MRI classifier: malignant logit = 0.5 * central 2x2 mean of channel 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centre = x[:, 1, 31:33, 31:33].mean(dim=(1, 2))
        return torch.stack([torch.zeros_like(centre), 0.5 * centre], dim=1)


def _fake(kind: str, lower: float = 0.2, upper: float = 0.8) -> LoadedModel:
    spec = CT_INPUT_SPEC if kind == "ct" else MRI_INPUT_SPEC
    card = {
        "name": f"fake-{kind}",
        "architecture": "ct_unet_encoder" if kind == "ct" else "mri_resnet50",
        "modality": "CT" if kind == "ct" else "MR",
        "input": dict(spec),
        "thresholds": {"lower": lower, "upper": upper},
    }
    network = _CentreBrightness() if kind == "ct" else _LesionSliceCentre()
    return LoadedModel(network=network, card=card, path=Path("."))


# --------------------------------------------------------------------------- patches


def test_patch_probabilities_are_the_softmax_of_the_malignant_logit():
    patches = np.zeros((5, 1, 64, 64, 64), dtype=np.float32)
    centre = np.array([0.0, 0.3, 0.5, 0.7, 1.0])
    patches[:, 0, 31:33, 31:33, 31:33] = centre[:, None, None, None]

    probabilities = predict_patches(_fake("ct"), patches, batch_size=2, device="cpu")

    np.testing.assert_allclose(probabilities, 1 / (1 + np.exp(-10 * (centre - 0.5))), rtol=1e-6)


def test_batch_size_does_not_change_the_probabilities(ct_model_dir):
    model = load_model(ct_model_dir)
    patches = np.random.default_rng(0).random((7, 1, 64, 64, 64), dtype=np.float32)

    one = predict_patches(model, patches, batch_size=1)
    many = predict_patches(model, patches, batch_size=32)

    np.testing.assert_allclose(one, many, atol=1e-5)
    assert np.all((one > 0) & (one < 1))


def test_patches_of_the_wrong_shape_are_refused_with_the_expected_shape():
    with pytest.raises(ValueError, match=r"shape \(n, 1, 64, 64, 64\).*got \(2, 1, 32, 32, 32\)"):
        predict_patches(_fake("ct"), np.zeros((2, 1, 32, 32, 32), np.float32))


# --------------------------------------------------------------------------- cases


@pytest.fixture
def bright_ct_case(tmp_path):
    """A CT series with a 12 mm block of 2000 HU around the vertebra centre."""
    values = np.zeros((40, 80, 80), dtype=np.float32)
    values[17:23, 34:46, 34:46] = 2000.0
    paths = write_series(tmp_path / "ct", values, spacing_zyx=(2.0, 1.0, 1.0), origin=(-40, -40, 0))
    center = np.array([-40 + 39.5, -40 + 39.5, 39.0])
    return paths, center


def test_a_ct_case_is_read_from_its_axial_series_to_a_three_tier_call(bright_ct_case):
    paths, center = bright_ct_case
    model = _fake("ct")

    prediction = predict_case(model, {"axial": paths}, center, device="cpu")

    assert prediction.probability == pytest.approx(1 / (1 + np.exp(-5)), rel=1e-5)
    assert prediction.tier == TIER_MALIGNANT
    assert prediction.tier_label == "definitely malignant"
    assert prediction.runtime_s > 0
    assert len(prediction.patch_probabilities) == 1


def test_a_ct_case_patch_is_the_preprocessing_of_the_card(bright_ct_case):
    paths, center = bright_ct_case

    patches = case_patches(_fake("ct"), {"axial": paths}, center)

    np.testing.assert_array_equal(patches[0], ct_patch(load_series(paths), center))


def test_a_case_without_the_series_the_model_reads_is_refused(bright_ct_case):
    paths, center = bright_ct_case

    with pytest.raises(ValueError, match="needs a 'axial' series"):
        predict_case(_fake("ct"), {"sagittal": paths}, center)


def _sagittal_pair(tmp_path):
    """T1W and T2W sagittal series; the slice right of the lesion is the brightest."""
    values = np.zeros((7, 90, 90), dtype=np.float32)
    values[2:5, 40:50, 40:50] = [[[300.0]], [[200.0]], [[100.0]]]  # slices 2, 3 (lesion), 4
    common = {
        "spacing_zyx": (4.0, 1.0, 1.0),
        "origin": (12.0, -45.0, 45.0),
        "row_cosine": (0.0, 1.0, 0.0),
        "column_cosine": (0.0, 0.0, -1.0),
        "modality": "MR",
        "intercept": 0.0,
    }
    t1 = write_series(tmp_path / "t1", values, **common)
    t2 = write_series(tmp_path / "t2", values, **common)
    volume = load_series(t1)
    center = volume.affine @ np.array([44.5, 44.5, 3, 1.0])
    return {"t1w": t1, "t2w": t2}, center[:3]


def test_an_mri_case_takes_the_highest_of_the_lesion_and_neighbour_slice_probabilities(tmp_path):
    series, center = _sagittal_pair(tmp_path)
    model = _fake("mri", lower=0.5, upper=0.5)

    patches = case_patches(model, series, center)
    prediction = predict_case(model, series, center, device="cpu")

    assert patches.shape == (3, 6, 64, 64)
    assert len(set(prediction.patch_probabilities)) == 3
    assert prediction.probability == max(prediction.patch_probabilities)
