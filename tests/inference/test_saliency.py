"""Grad-CAM maps and the overlay images trainees see after their read."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from inference.checkpoint import load_model
from inference.predict import predict_patches
from inference.preprocess import Volume, ct_patch, mri_patch, mri_patch_plane
from inference.saliency import heat_plane, heat_volume, heat_volume_decode, saliency, saliency_views


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


def test_the_heat_volume_lies_where_the_ct_patch_was_cut_in_the_patient():
    """A bright voxel at a known LPS point, cut out by ``ct_patch`` and stored as a heat volume:
    the volume's geometry puts its hottest voxel back at that point (what the reading room's
    overlay relies on to draw the map over its own images)."""
    affine = np.diag([0.7, 0.7, 1.5, 1.0])
    affine[:3, 3] = (-80.0, -60.0, 300.0)
    array = np.zeros((60, 200, 200), dtype=np.float32)
    hot_index = (31, 120, 90)  # (z, y, x)
    array[hot_index] = 3000.0
    volume = Volume(array=array, affine=affine, spacing=(1.5, 0.7, 0.7))
    hot_lps = (affine @ np.array([hot_index[2], hot_index[1], hot_index[0], 1.0]))[:3]
    center = hot_lps + np.array([5.0, -7.0, 3.0])  # the dot off centre on every axis

    patch = ct_patch(volume, center, size=64, spacing_mm=1.0, clip=(0.0, 3000.0))[0]
    stored = heat_volume(patch / patch.max(), center_lps=center, spacing_mm=1.0)

    s, p, left = np.unravel_index(np.argmax(heat_volume_decode(stored)), stored["shape"])
    found = np.array(stored["origin_lps"]) + np.array([left, p, s]) * stored["spacing_mm"]
    assert stored["axes"] == "SPL" and stored["shape"] == [64, 64, 64]
    np.testing.assert_allclose(found, hot_lps, atol=1.0)
    assert np.abs(heat_volume_decode(stored) - np.clip(patch / patch.max(), 0, 1)).max() <= 0.5 / 255 + 1e-6


def test_the_mri_heat_plane_lies_where_the_mri_patch_was_cut_in_the_patient():
    """A bright dot in a sagittal series stored with its rows running inferior -> superior,
    its columns posterior -> anterior and its slices right -> left (the patch flips all of
    them), cut out by ``mri_patch`` and stored as a heat plane: the plane's geometry puts the
    hottest pixel back at the dot, and the dot within the slab the map is painted on."""
    affine = np.zeros((4, 4))
    affine[:3, 0] = (0.0, -0.8, 0.0)  # columns (i): anterior
    affine[:3, 1] = (0.0, 0.0, 0.9)  # rows (j): superior
    affine[:3, 2] = (4.0, 0.0, 0.0)  # slices (k): leftward
    affine[:3, 3] = (-20.0, 40.0, 150.0)
    affine[3, 3] = 1.0
    array = np.zeros((12, 100, 90), dtype=np.float32)
    hot_index = (6, 37, 55)  # (k, j, i)
    array[hot_index] = 1000.0
    volume = Volume(array=array, affine=affine, spacing=(4.0, 0.9, 0.8))
    hot_lps = (affine @ np.array([hot_index[2], hot_index[1], hot_index[0], 1.0]))[:3]
    center = hot_lps + np.array([1.2, 6.0, -9.0])  # off centre in plane, and 1.2 mm through it

    patch = mri_patch(volume, volume, center, size=64, box_mm=60.0)
    plane = mri_patch_plane(volume, center, size=64, box_mm=60.0)
    heat = patch[1] - patch[1].min()  # the T1W centre slice, where the dot is
    stored = heat_plane(heat / heat.max(), plane=plane)

    decoded = heat_volume_decode(stored)
    _, row, column = np.unravel_index(np.argmax(decoded), decoded.shape)
    origin, (normal, down, across) = np.array(stored["origin_lps"]), np.array(stored["directions"])
    slab, pixel, _ = stored["spacing_mm"]
    found = origin + (row * down + column * across) * pixel
    assert stored["axes"] == "NRC" and stored["shape"] == [1, 64, 64]
    np.testing.assert_allclose(down, (0, 0, -1), atol=1e-12)  # rows superior -> inferior
    np.testing.assert_allclose(across, (0, 1, 0), atol=1e-12)  # columns anterior -> posterior
    np.testing.assert_allclose(found[1:], hot_lps[1:], atol=1.0)  # in plane: within a pixel
    assert found[0] == pytest.approx(hot_lps[0])  # on the dot's slice
    assert abs((hot_lps - origin) @ normal) <= slab / 2 and slab == pytest.approx(12.0)
