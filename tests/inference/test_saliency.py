"""Grad-CAM maps and the overlay images trainees see after their read."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from inference.checkpoint import load_model
from inference.predict import predict_patches
from inference.saliency import saliency, saliency_views


def _png(data_uri: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert data_uri.startswith(prefix)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_uri[len(prefix):]))))


def test_ct_saliency_is_a_map_of_the_patch_scaled_to_unit_range(ct_model_dir):
    model = load_model(ct_model_dir)
    patch = np.random.default_rng(1).random((1, 64, 64, 64), dtype=np.float32)

    heat = saliency(model, patch, class_index=1, device="cpu")

    assert heat.shape == (64, 64, 64)
    assert heat.dtype == np.float32
    assert heat.min() >= 0.0 and heat.max() <= 1.0
    assert heat.max() == pytest.approx(1.0) or heat.max() == 0.0


def test_saliency_leaves_the_prediction_network_untouched(ct_model_dir):
    model = load_model(ct_model_dir)
    patch = np.random.default_rng(2).random((1, 1, 64, 64, 64), dtype=np.float32)
    before = predict_patches(model, patch)

    saliency(model, patch[0])
    saliency(model, patch[0])

    np.testing.assert_array_equal(predict_patches(model, patch), before)
    assert not any(m._forward_hooks or m._backward_hooks for m in model.network.modules())


def test_mri_saliency_has_the_in_plane_shape_of_the_patch(mri_model_dir):
    model = load_model(mri_model_dir)
    patch = np.random.default_rng(3).standard_normal((6, 64, 64)).astype(np.float32)

    heat = saliency(model, patch)

    assert heat.shape == (64, 64)
    assert heat.min() >= 0.0 and heat.max() <= 1.0


def test_ct_saliency_shows_three_planes_through_the_vertebra_centre(ct_model_dir):
    model = load_model(ct_model_dir)
    patch = np.random.default_rng(4).random((1, 64, 64, 64), dtype=np.float32)

    views = saliency_views(model, patch, device="cpu")

    assert [v["view"] for v in views] == ["axial", "sagittal", "coronal"]
    assert all(_png(v["png"]).shape == (64, 64, 3) for v in views)


def test_mri_saliency_shows_the_lesion_slice_of_t1w_and_t2w(mri_model_dir):
    model = load_model(mri_model_dir)
    patch = np.random.default_rng(0).normal(size=(6, 64, 64)).astype(np.float32)

    views = saliency_views(model, patch)

    assert [v["view"] for v in views] == ["sagittal T1W", "sagittal T2W"]
    assert all(_png(v["png"]).shape == (64, 64, 3) for v in views)
