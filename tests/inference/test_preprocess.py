"""DICOM series -> volumes in patient space -> CT patches and MRI slice stacks."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import JPEG2000Lossless

from inference.preprocess import (
    SeriesError,
    Volume,
    ct_patch,
    load_series,
    load_series_around,
    mri_patch,
)
from tests.inference.dicom_writer import write_enhanced_ct, write_series

SPACING = (2.5, 0.625, 0.5)  # (z, y, x) mm: anisotropic, as a clinical CT
ORIGIN = (-40.0, -40.0, 100.0)  # LPS of voxel (0, 0, 0)
SHAPE = (40, 128, 160)
# A 10 mm cube whose faces fall halfway between voxel centres on every axis, so that
# linear interpolation crosses half its contrast exactly at the faces.
CUBE_CENTER = np.array([0.25, 0.3125, 148.75])


def _grid_lps(shape, spacing, origin):
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    return origin[0] + i * spacing[2], origin[1] + j * spacing[1], origin[2] + k * spacing[0]


def _cube_volume(center, edge_mm=10.0, inside=1000.0, outside=0.0):
    """Soft tissue with a bright cube of ``edge_mm`` centred at LPS ``center``."""
    L, P, S = _grid_lps(SHAPE, SPACING, ORIGIN)
    half = edge_mm / 2
    cube = (abs(L - center[0]) < half) & (abs(P - center[1]) < half) & (abs(S - center[2]) < half)
    return np.where(cube, inside, outside).astype(np.float32)


@pytest.fixture
def cube_series(tmp_path):
    values = _cube_volume(CUBE_CENTER)
    paths = write_series(tmp_path / "ct", values, spacing_zyx=SPACING, origin=ORIGIN)
    # Centre the patch half a millimetre off the cube centre: its 1 mm samples then lie
    # at +/-0.5, 1.5, ... 4.5 mm inside the faces and 5.5 mm outside.
    return paths, values, CUBE_CENTER + 0.5


def test_series_is_sorted_by_position_and_placed_in_patient_space(cube_series):
    paths, values, _ = cube_series

    volume = load_series(paths)

    np.testing.assert_allclose(volume.array, values, atol=0.5)
    assert volume.array.dtype == np.float32
    assert volume.spacing == pytest.approx(SPACING)
    corner = volume.affine @ np.array([159, 127, 39, 1.0])
    np.testing.assert_allclose(corner[:3], [-40 + 159 * 0.5, -40 + 127 * 0.625, 100 + 39 * 2.5])
    np.testing.assert_allclose(volume.affine[:3, 3], ORIGIN)


def test_rescale_slope_and_intercept_give_hounsfield_units(tmp_path):
    hu = np.full((3, 8, 8), -1000.0)
    hu[:, 4, 4] = 1500.0
    paths = write_series(
        tmp_path, hu, spacing_zyx=(1, 1, 1), origin=(0, 0, 0), slope=2.0, intercept=-2048.0
    )
    assert int(dcmread(paths[0]).pixel_array[4, 4]) == (1500 + 2048) // 2  # stored, not HU

    np.testing.assert_allclose(load_series(paths).array, hu)


def test_ct_patch_holds_a_10_mm_cube_at_its_centre_with_1_mm_voxels(cube_series):
    paths, _, center = cube_series

    patch = ct_patch(load_series(paths), center)

    assert patch.shape == (1, 64, 64, 64)
    assert patch.dtype == np.float32
    bright = patch[0] > (500.0 + 1000.0) / 3000.0  # halfway between 0 and 1000 HU
    assert bright[32, 32, 32]
    # A 10 mm object spans 10 voxels of 1 mm along each patient axis through the centre.
    assert bright[:, 32, 32].sum() == 10
    assert bright[32, :, 32].sum() == 10
    assert bright[32, 32, :].sum() == 10
    centroid = np.argwhere(bright).mean(axis=0)
    np.testing.assert_allclose(centroid, [31.5, 31.5, 31.5], atol=0.6)


def test_ct_patch_axes_run_along_the_patient_axes_whatever_the_scan_orientation(tmp_path):
    # Rows run to the patient's right (as in some enhanced CT): the patch must not flip.
    values = np.zeros((30, 60, 60), dtype=np.float32)
    values[15, 30, 20] = 2000.0  # 10 columns before the centre = 10 mm to the patient's LEFT
    paths = write_series(
        tmp_path,
        values,
        spacing_zyx=(1.0, 1.0, 1.0),
        origin=(0.0, 0.0, 0.0),
        row_cosine=(-1.0, 0.0, 0.0),
    )
    volume = load_series(paths)
    center = volume.affine @ np.array([30, 30, 15, 1.0])

    patch = ct_patch(volume, center[:3])

    peak = np.unravel_index(np.argmax(patch[0]), patch[0].shape)
    assert peak == (32, 32, 42)  # axis 2 runs right -> left


def test_ct_patch_windows_hounsfield_units_to_unit_range_and_reads_air_outside(cube_series):
    paths, _, center = cube_series
    volume = load_series(paths)

    patch = ct_patch(volume, center, clip=(0.0, 500.0))
    edge = ct_patch(volume, np.array(ORIGIN), clip=(-1000.0, 2000.0))

    assert patch.min() == pytest.approx(0.0) and patch.max() == pytest.approx(1.0)
    assert edge[0, 0, 0, 0] == 0.0  # outside the volume reads the lower bound of the window
    assert edge[0, 40, 40, 40] == pytest.approx(1000 / 3000, abs=1e-6)  # 0 HU inside


def test_loading_only_the_slab_around_the_centre_gives_the_same_patch(cube_series):
    paths, _, center = cube_series

    slab = load_series_around(paths, center, half_size_mm=32.0)
    full = load_series(paths)

    assert slab.array.shape[0] < full.array.shape[0]
    np.testing.assert_array_equal(ct_patch(slab, center), ct_patch(full, center))


def test_compressed_series_decode_through_the_pylibjpeg_plugins(tmp_path):
    hu = np.arange(4 * 64 * 64, dtype=np.float64).reshape(4, 64, 64) % 3000 - 1000
    paths = write_series(
        tmp_path, hu, spacing_zyx=(2, 1, 1), origin=(0, 0, 0), transfer_syntax=JPEG2000Lossless
    )
    assert dcmread(paths[0]).file_meta.TransferSyntaxUID == JPEG2000Lossless

    np.testing.assert_allclose(load_series(paths).array, hu)


def test_enhanced_multiframe_ct_is_read_from_its_functional_groups(tmp_path, cube_series):
    _, values, center = cube_series
    path = write_enhanced_ct(tmp_path / "enhanced.dcm", values, spacing_zyx=SPACING, origin=ORIGIN)

    volume = load_series([path])

    np.testing.assert_allclose(volume.array, values, atol=0.5)
    np.testing.assert_allclose(volume.affine[:3, 3], ORIGIN)
    assert ct_patch(volume, center)[0, 32, 32, 32] > 0.5


def test_pydicom_enhanced_ct_sample_loads_two_frames_ten_mm_apart():
    path = get_testdata_file("eCT_Supplemental.dcm")
    raw = dcmread(path).pixel_array

    volume = load_series([path])

    assert volume.array.shape == (2, 512, 512)
    assert volume.spacing == pytest.approx((10.0, 0.388672, 0.388672))
    # Rows run to the patient's right, so the slice normal row x column points inferior
    # and the second frame (10 mm higher) comes first along it.
    np.testing.assert_allclose(volume.affine[:3, 2], [0, 0, -10])
    np.testing.assert_allclose(volume.affine[:3, 3], [99.5, -301.5, -149.0])
    np.testing.assert_allclose(volume.array, raw[::-1].astype(np.float32) - 1024.0)


def test_ct_small_from_pydicom_data_loads_in_hounsfield_units():
    path = get_testdata_file("CT_small.dcm")
    ds = dcmread(path)

    volume = load_series([path])

    assert volume.array.shape == (1, 128, 128)
    np.testing.assert_array_equal(volume.array[0], ds.pixel_array.astype(np.float32) - 1024.0)
    assert volume.spacing == pytest.approx((5.0, 0.661468, 0.661468))
    np.testing.assert_allclose(volume.affine[:3, 3], [-158.135803, -179.035797, -75.699997])
    # Soft tissue of the scanned body sits near 0 HU, not near the stored ~1000.
    assert -200 < np.median(volume.array) < 200


def _slices(tmp_path, n=6):
    return write_series(tmp_path, np.zeros((n, 8, 8)), spacing_zyx=(2, 1, 1), origin=(0, 0, 0))


def test_a_missing_slice_is_refused_naming_a_file(tmp_path):
    paths = sorted(_slices(tmp_path), key=lambda p: dcmread(p).InstanceNumber)
    del paths[3]

    with pytest.raises(SeriesError, match=r"slice_\d{4}\.dcm.*not evenly spaced"):
        load_series(paths)


def test_a_duplicate_slice_is_refused_naming_both_files(tmp_path):
    paths = _slices(tmp_path / "a")
    copy = _slices(tmp_path / "b", n=1)[0]
    ds = dcmread(copy)
    ds.SeriesInstanceUID = dcmread(paths[0]).SeriesInstanceUID
    ds.save_as(copy)

    with pytest.raises(SeriesError, match="same slice position"):
        load_series([*paths, copy])


def test_files_of_two_series_are_refused(tmp_path):
    mixed = [*_slices(tmp_path / "a"), *_slices(tmp_path / "b")]

    with pytest.raises(SeriesError, match="SeriesInstanceUID"):
        load_series(mixed)


def test_a_file_that_is_not_dicom_is_refused_by_name(tmp_path):
    paths = _slices(tmp_path)
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an image")

    with pytest.raises(SeriesError, match=r"notes\.txt: not a readable DICOM file"):
        load_series([*paths, bogus])


def test_a_slice_in_another_orientation_is_refused(tmp_path):
    paths = _slices(tmp_path)
    ds = dcmread(paths[2])
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    ds.save_as(paths[2])

    with pytest.raises(SeriesError, match=f"{paths[2].name}.*ImageOrientationPatient"):
        load_series(paths)


def test_a_slice_without_position_is_refused(tmp_path):
    paths = _slices(tmp_path)
    ds = dcmread(paths[1])
    del ds.ImagePositionPatient
    ds.save_as(paths[1])

    with pytest.raises(SeriesError, match=f"{paths[1].name}: ImagePositionPatient is missing"):
        load_series(paths)


def test_an_empty_series_is_refused():
    with pytest.raises(SeriesError, match="empty"):
        load_series([])


# --------------------------------------------------------------------------- MRI


def _sagittal(tmp_path, name, weight):
    """Sagittal series (rows posterior, columns inferior): 9 slices 4 mm apart, 0.8 mm pixels.

    The lesion slice (index 4) holds a bright 12 mm square at the vertebra centre; the
    slice to the patient's right of it a dim marker, the one to the left a bright marker.
    """
    n, rows, cols = 9, 120, 110
    values = np.full((n, rows, cols), 100.0 * weight)
    values[4, 54:69, 49:64] = 400.0 * weight
    # Slices are stacked along row x column = (0,1,0) x (0,0,-1) = (-1, 0, 0): to the right.
    values[5, 60, 55] = 50.0 * weight  # index 5 is 4 mm to the right
    values[3, 60, 55] = 900.0 * weight  # index 3 is 4 mm to the left
    origin = (16.0, -60.0, 40.0)
    paths = write_series(
        tmp_path / name,
        values,
        spacing_zyx=(4.0, 0.8, 0.8),
        origin=origin,
        row_cosine=(0.0, 1.0, 0.0),
        column_cosine=(0.0, 0.0, -1.0),
        modality="MR",
        intercept=0.0,
    )
    volume = load_series(paths)
    center = volume.affine @ np.array([56, 61, 4, 1.0])
    return volume, center[:3]


def test_mri_patch_stacks_three_sagittal_slices_of_t1_and_t2_centred_on_the_lesion(tmp_path):
    t1, center = _sagittal(tmp_path, "t1", 1.0)
    t2, _ = _sagittal(tmp_path, "t2", 2.0)

    patch = mri_patch(t1, t2, center, size=64, box_mm=40.0)

    assert patch.shape == (6, 64, 64)
    assert patch.dtype == np.float32
    for lesion in (patch[1], patch[4]):  # the lesion slice of T1W and of T2W
        bright = lesion > lesion.mean() + lesion.std()
        centroid = np.argwhere(bright).mean(axis=0)
        np.testing.assert_allclose(centroid, [31.5, 31.5], atol=1.0)
        assert 20 <= bright[32].sum() <= 26  # 12 mm of a 40 mm box at 64 pixels: ~19-24


def test_mri_patch_is_z_scored_per_sequence(tmp_path):
    t1, center = _sagittal(tmp_path, "t1", 1.0)
    t2, _ = _sagittal(tmp_path, "t2", 5.0)

    patch = mri_patch(t1, t2, center)

    for block in (patch[:3], patch[3:]):
        assert block.mean() == pytest.approx(0.0, abs=1e-5)
        assert block.std() == pytest.approx(1.0, abs=1e-4)


def test_mri_patch_orders_neighbour_slices_from_the_patients_right_to_left(tmp_path):
    t1, center = _sagittal(tmp_path, "t1", 1.0)

    patch = mri_patch(t1, t1, center, box_mm=64.0)

    # The slice to the right carries the dim marker, the one to the left the bright one.
    assert patch[0].min() < patch[2].min()
    assert patch[2].max() > patch[0].max()


def test_volume_maps_patient_points_back_to_voxel_indices():
    affine = np.diag([0.5, 0.5, 3.0, 1.0])
    affine[:3, 3] = [10, 20, 30]
    volume = Volume(np.zeros((2, 2, 2), np.float32), affine, (3.0, 0.5, 0.5))

    np.testing.assert_allclose(volume.index_of([11, 21, 36]), [2, 2, 2])
