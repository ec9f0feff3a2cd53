"""What hospitals send: real files of every transfer syntax shipped by pydicom-data are
imported, and served as stored (compressed frames natively, with their transfer syntax),
except Deflate and big endian, which are transcoded to Explicit VR Little Endian because
browsers cannot read them."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.sequence import Sequence
from pydicom.uid import DeflatedExplicitVRLittleEndian, MRImageStorage, generate_uid

from readerstudy.imaging.importer import import_study
from readerstudy.imaging.models import Series
from tests.imaging.dicomweb import multipart_parts
from tests.imaging.factory import manifest_row, write_manifest

pytestmark = pytest.mark.django_db

EXPLICIT_LE = "1.2.840.10008.1.2.1"


def _item(**values) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def placed(ds: Dataset) -> Dataset:
    """Give a file without patient geometry the attributes a CT/MR image has (pixels untouched)."""
    n_frames = int(ds.get("NumberOfFrames") or 1)
    if n_frames > 1 and "PerFrameFunctionalGroupsSequence" not in ds:
        # Enhanced MR: geometry lives in the functional groups (mandatory in the IOD).
        ds.SharedFunctionalGroupsSequence = Sequence([_item(
            PlaneOrientationSequence=Sequence([_item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]),
            PixelMeasuresSequence=Sequence([_item(PixelSpacing=[0.5, 0.5], SliceThickness=1.2)]),
        )])
        ds.PerFrameFunctionalGroupsSequence = Sequence([
            _item(PlanePositionSequence=Sequence([_item(ImagePositionPatient=[0, 0, 1.2 * i])]))
            for i in range(n_frames)
        ])
    elif "ImagePositionPatient" not in ds and "PerFrameFunctionalGroupsSequence" not in ds:
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0, 0, 0]
        ds.PixelSpacing = [1, 1]
    ds.FrameOfReferenceUID = ds.get("FrameOfReferenceUID") or generate_uid()
    if ds.get("Modality") != "MR":
        ds.Modality = "MR"
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    return ds


def centre_of(ds: Dataset) -> tuple[float, float, float]:
    if "PerFrameFunctionalGroupsSequence" in ds:
        return (0.5 * (ds.Columns - 1) / 2, 0.5 * (ds.Rows - 1) / 2, 1.2)
    origin = np.array(ds.ImagePositionPatient, float)
    row, col = np.array(ds.ImageOrientationPatient[:3], float), np.array(ds.ImageOrientationPatient[3:], float)
    centre = (origin + row * float(ds.PixelSpacing[1]) * (ds.Columns - 1) / 2
              + col * float(ds.PixelSpacing[0]) * (ds.Rows - 1) / 2)
    return (float(centre[0]), float(centre[1]), float(centre[2]))


def write_copy(ds: Dataset, folder: Path, *, new_series: bool) -> None:
    folder.mkdir(parents=True)
    if new_series:
        ds.SeriesInstanceUID = generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.save_as(folder / "image.dcm", enforce_file_format=True)


def deflated_mr_small(tmp_path: Path) -> Path:
    ds = dcmread(get_testdata_file("MR_small.dcm"))
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    path = tmp_path / "MR_small_deflate.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


FILES = [
    ("MR_small.dcm", EXPLICIT_LE),
    ("MR_small_implicit.dcm", EXPLICIT_LE),
    ("MR_small_bigendian.dcm", EXPLICIT_LE),
    ("deflate", EXPLICIT_LE),
    ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"),
    ("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90"),
    ("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"),
    ("JPEG-LL.dcm", "1.2.840.10008.1.2.4.70"),
    ("SC_rgb_jpeg_dcmtk.dcm", "1.2.840.10008.1.2.4.50"),
    ("emri_small.dcm", EXPLICIT_LE),
    ("emri_small_jpeg_2k_lossless.dcm", "1.2.840.10008.1.2.4.90"),
]


@pytest.mark.parametrize(("name", "served_syntax"), FILES)
def test_a_real_file_is_imported_and_its_frames_served(name, served_syntax, mr_study, dicom_root, tmp_path,
                                                        coordinator, client_for):
    source = deflated_mr_small(tmp_path) if name == "deflate" else Path(get_testdata_file(name))
    original = dcmread(source)
    write_copy(placed(dcmread(source)), dicom_root / "P/t1w", new_series=False)
    write_copy(placed(dcmread(source)), dicom_root / "P/t2w", new_series=True)
    x, y, z = centre_of(placed(dcmread(source)))
    row = manifest_row(modality="MR", center_x=x, center_y=y, center_z=z, series="t1w=P/t1w;t2w=P/t2w")
    import_study(study=mr_study, manifest_text=write_manifest(tmp_path / "m.csv", [row]).read_text(),
                 dicom_root=dicom_root)

    series = Series.objects.get(role="t1w")
    instance = series.instances.get()
    n_frames = int(original.get("NumberOfFrames") or 1)
    assert instance.number_of_frames == n_frames and instance.transfer_syntax_uid == served_syntax
    client = client_for(coordinator)
    base = f"/dicomweb/studies/{series.study_uid}/series/{series.series_uid}/instances/{instance.sop_uid}"
    [(content_type, frame)] = multipart_parts(client.get(f"{base}/frames/{n_frames}"))
    assert content_type.endswith(f"transfer-syntax={served_syntax}")
    if served_syntax == EXPLICIT_LE:
        expected = original.pixel_array.reshape(n_frames, -1)[-1].astype(original.pixel_array.dtype.newbyteorder("<"))
        assert frame == expected.tobytes()
    else:
        native = list(generate_frames(original.PixelData, number_of_frames=n_frames))[-1]
        assert frame.rstrip(b"\x00") == native.rstrip(b"\x00")  # fragments are padded to even length
    # The viewer's request: the frame alone, in the same media type and transfer syntax; the
    # first frame of a multi-frame file too, which the rest of the file follows.
    for n in sorted({1, n_frames}):
        [(_type, expected_frame)] = multipart_parts(client.get(f"{base}/frames/{n}"))
        single = client.get(f"{base}/frames/{n}", HTTP_ACCEPT="application/octet-stream, image/*")
        assert single["Content-Type"] == content_type
        assert b"".join(single.streaming_content) == expected_frame
        assert int(single["Content-Length"]) == len(expected_frame)
    [(part_type, file_bytes)] = multipart_parts(client.get(base))
    assert part_type == "application/dicom"
    served = dcmread(io.BytesIO(file_bytes))
    if "jpeg_dcmtk" not in name:  # lossless: the served file decodes to the original pixels
        np.testing.assert_array_equal(served.pixel_array, original.pixel_array)


def test_a_single_slice_ct_is_imported_without_a_derived_sagittal(ct_study, dicom_root, tmp_path):
    source = Path(get_testdata_file("CT_small.dcm"))
    (dicom_root / "ct").mkdir()
    shutil.copy(source, dicom_root / "ct" / "CT_small.dcm")
    x, y, z = centre_of(dcmread(source))
    row = manifest_row(center_x=x, center_y=y, center_z=z, series="axial=ct")
    import_study(study=ct_study, manifest_text=write_manifest(tmp_path / "m.csv", [row]).read_text(),
                 dicom_root=dicom_root)
    assert list(Series.objects.values_list("role", flat=True)) == ["axial"]
