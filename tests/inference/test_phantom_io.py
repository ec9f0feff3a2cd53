"""Phantom series written as DICOM by the fixtures, read back by the preprocessing.

The expected values are computed from the phantom's own geometry
(:class:`fixtures.phantoms.grid.Grid`), independently of the DICOM headers.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy import ndimage

from fixtures.phantoms.ct import make_ct_phantom
from fixtures.phantoms.dicom_writer import PatientInfo, write_ct_series, write_mri_series
from fixtures.phantoms.mri import make_mri_phantom
from inference.preprocess import ct_patch, load_series, mri_patch, window_ct

PATIENT = PatientInfo(
    patient_id="PH-7", patient_name="PHANTOM^SEVEN", birth_date=date(1948, 5, 2), sex="F", age=74
)


@pytest.fixture(scope="module")
def ct_phantom(tmp_path_factory):
    volume = make_ct_phantom(label="benign", seed=7, shape=(80, 160, 160))
    paths = write_ct_series(volume, tmp_path_factory.mktemp("ct"), patient=PATIENT, uid_seed="t")
    return volume, paths


def test_a_phantom_ct_series_reads_back_in_hounsfield_units_on_its_grid(ct_phantom):
    phantom, paths = ct_phantom

    volume = load_series(paths)

    # The writer stores integers (12 bits + intercept): within a rounding step of 1 HU.
    np.testing.assert_allclose(volume.array, phantom.array, atol=1.0)
    assert volume.spacing == pytest.approx(phantom.spacing)
    corner_kji = np.array([79.0, 159.0, 159.0])
    expected = phantom.grid.index_to_lps(corner_kji)
    np.testing.assert_allclose((volume.affine @ [159, 159, 79, 1.0])[:3], expected, atol=1e-3)


def test_the_ct_patch_is_the_phantom_at_1_mm_around_the_vertebra_centre(ct_phantom):
    phantom, paths = ct_phantom
    center = np.asarray(phantom.lesion_center_lps)

    patch = ct_patch(load_series(paths), center)

    # The same 64 mm cube at 1 mm, sampled straight from the phantom array.
    offsets = np.arange(64) - 32.0
    s, p, l_ = np.meshgrid(offsets, offsets, offsets, indexing="ij")
    lps = np.stack([l_ + center[0], p + center[1], s + center[2]], axis=-1)
    kji = phantom.grid.lps_to_index(lps)
    expected = ndimage.map_coordinates(
        phantom.array, np.moveaxis(kji, -1, 0), order=1, mode="nearest"
    )
    np.testing.assert_allclose(patch[0], window_ct(expected), atol=1.0 / 3000)  # 1 HU
    # The vertebral body, not soft tissue, fills the centre of the patch.
    assert patch[0, 28:36, 28:36, 28:36].mean() > window_ct(np.array([100.0]))[0]


@pytest.fixture(scope="module")
def mri_phantom(tmp_path_factory):
    t1, t2 = make_mri_phantom(label="malignant", seed=7, shape=(128, 128))
    root = tmp_path_factory.mktemp("mr")
    write_mri_series((t1, t2), root, patient=PATIENT, uid_seed="m")
    return t1, t2, sorted((root / "mr_t1w").iterdir()), sorted((root / "mr_t2w").iterdir())


def test_the_mri_patch_holds_the_phantoms_lesion_slice_and_its_neighbours(mri_phantom):
    t1_phantom, _, t1_paths, t2_paths = mri_phantom
    center = np.asarray(t1_phantom.lesion_center_lps)

    patch = mri_patch(load_series(t1_paths), load_series(t2_paths), center, box_mm=60.0)

    assert patch.shape == (6, 64, 64)
    k, j, i = t1_phantom.grid.lps_to_index(center)
    k0 = round(k)
    # Sagittal phantom: rows run S -> I, columns A -> P, slices toward the patient's right.
    offsets = (np.arange(64) - 31.5) * 60.0 / 64
    rows, columns = np.meshgrid(j + offsets, i + offsets, indexing="ij")
    for channel, slice_index in zip((0, 1, 2), (k0 + 1, k0, k0 - 1), strict=True):
        expected = ndimage.map_coordinates(
            t1_phantom.array[slice_index], [rows, columns], order=1, mode="nearest"
        )
        correlation = np.corrcoef(patch[channel].ravel(), expected.ravel())[0, 1]
        assert correlation > 0.999, channel
