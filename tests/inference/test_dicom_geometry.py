"""Where a DICOM frame lies in the patient: the one reading that the import's checks and the
model's preprocessing share."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import dcmread

from inference.dicom_geometry import GeometryError, frame_planes, same_orientation
from inference.preprocess import SeriesError, load_series
from readerstudy.imaging.validation import Problem, read_header
from tests.inference.dicom_writer import write_enhanced_ct, write_series


def _slices(tmp_path, n=4):
    return write_series(tmp_path, np.zeros((n, 8, 8)), spacing_zyx=(2.5, 0.7, 0.8),
                        origin=(-10.0, 20.0, 30.0))


def test_a_classic_slice_is_placed_by_its_top_level_attributes(tmp_path):
    path = sorted(_slices(tmp_path), key=lambda p: dcmread(p).InstanceNumber)[1]

    (plane,) = frame_planes(dcmread(path))

    assert plane.index == 0 and plane.pixel_spacing == (0.7, 0.8)
    np.testing.assert_allclose(plane.position, [-10.0, 20.0, 32.5])
    np.testing.assert_allclose(plane.normal, [0.0, 0.0, 1.0])
    assert plane.height == pytest.approx(32.5)


def test_each_frame_of_an_enhanced_image_is_placed_by_its_functional_groups(tmp_path):
    path = write_enhanced_ct(tmp_path / "enhanced.dcm", np.zeros((3, 8, 8)),
                             spacing_zyx=(2.0, 0.5, 0.5), origin=(0.0, 0.0, 100.0))

    planes = frame_planes(dcmread(path))

    # Frames are stored in reverse slice order; the shared group gives the orientation.
    assert [p.height for p in planes] == [104.0, 102.0, 100.0]
    assert all(p.pixel_spacing == (0.5, 0.5) for p in planes)
    assert all(same_orientation(p.orientation, [1, 0, 0, 0, 1, 0]) for p in planes)


def test_a_frame_without_a_position_names_the_frame(tmp_path):
    path = write_enhanced_ct(tmp_path / "enhanced.dcm", np.zeros((3, 8, 8)),
                             spacing_zyx=(2.0, 0.5, 0.5), origin=(0.0, 0.0, 100.0))
    ds = dcmread(path)
    del ds.PerFrameFunctionalGroupsSequence[1].PlanePositionSequence

    with pytest.raises(GeometryError, match="frame 2: ImagePositionPatient is missing"):
        frame_planes(ds)


def test_the_import_and_the_preprocessing_refuse_a_skewed_orientation_alike(tmp_path):
    paths = _slices(tmp_path)
    ds = dcmread(paths[0])
    ds.ImageOrientationPatient = [1, 0, 0, 0.2, 1, 0]  # not orthogonal
    ds.save_as(paths[0])
    reason = "is not two orthogonal unit vectors"

    problem = read_header(paths[0], "slice.dcm")
    assert isinstance(problem, Problem) and reason in problem.reason
    with pytest.raises(SeriesError, match=reason):
        load_series(paths)


def test_the_import_places_the_frames_where_the_preprocessing_puts_the_voxels(tmp_path):
    paths = _slices(tmp_path)

    headers = [read_header(p, p.name) for p in paths]
    volume = load_series(paths)

    heights = sorted(h.positions[0][2] for h in headers)
    corners = [volume.affine @ np.array([0.0, 0.0, k, 1.0]) for k in range(len(paths))]
    np.testing.assert_allclose(heights, [c[2] for c in corners])
