"""Small synthetic DICOM series and manifests for the imaging tests (64 x 64, 20 slices).

Each series is a regular stack with a bright cube in the middle, so a reformat can be
checked; defects (a second frame of reference, a missing slice, ...) are made by the tests
by editing the written files.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

from readerstudy.imaging.manifest import REQUIRED_COLUMNS

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


def volume(n: int = 20, rows: int = 64, columns: int = 64) -> np.ndarray:
    """A test volume (slice, row, column): a ramp background and a bright cube."""
    k, j, i = np.meshgrid(np.arange(n), np.arange(rows), np.arange(columns), indexing="ij")
    data = (k * 7 + j + 2 * i).astype(np.int16)
    data[n // 4: 3 * n // 4, rows // 4: 3 * rows // 4, columns // 4: 3 * columns // 4] += 1000
    return data


def write_series(
    folder: Path, *, modality: str = "CT", n: int = 20, rows: int = 64, columns: int = 64,
    pixel_spacing: tuple[float, float] = (1.0, 1.0), slice_spacing: float = 2.5,
    orientation: tuple[float, ...] = AXIAL, origin: tuple[float, float, float] = (-32.0, -32.0, -25.0),
    patient_name: str = "Doe^Jane", patient_id: str = "MRN-0001",
    study_uid: str | None = None, frame_of_reference_uid: str | None = None,
    edit: Callable[[Dataset, int], None] | None = None,
) -> list[Path]:
    """Write a stack of single-frame images; ``edit(ds, k)`` may change slice ``k`` before writing."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    frame_of_reference_uid = frame_of_reference_uid or generate_uid()
    row, col = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row, col)
    data = volume(n, rows, columns)
    paths = []
    for k in range(n):
        ds = Dataset()
        sop_uid = generate_uid()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage if modality == "CT" else MRImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = sop_uid
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_of_reference_uid
        ds.Modality = modality
        ds.PatientName = patient_name
        ds.PatientID = patient_id
        ds.PatientBirthDate = "19510304"
        ds.StudyDate = "20240105"
        ds.InstitutionName = "Secret General Hospital"
        ds.Manufacturer = "VendorX"
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = list(orientation)
        ds.ImagePositionPatient = [float(v) for v in np.array(origin) + k * slice_spacing * normal]
        ds.PixelSpacing = list(pixel_spacing)
        ds.SliceThickness = slice_spacing
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        if modality == "CT":
            ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = data[k].tobytes()
        if edit is not None:
            edit(ds, k)
        path = folder / f"IM{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def edit_file(path: Path, change: Callable[[Dataset], None]) -> None:
    ds = dcmread(path)
    change(ds)
    ds.save_as(path, enforce_file_format=True)


def series_center(paths: list[Path]) -> tuple[float, float, float]:
    """The LPS centre of a written stack (mean of the first and last slices' centres)."""
    centres = []
    for path in (paths[0], paths[-1]):
        ds = dcmread(path, stop_before_pixels=True)
        row, col = np.array(ds.ImageOrientationPatient[:3], float), np.array(ds.ImageOrientationPatient[3:], float)
        origin = np.array(ds.ImagePositionPatient, float)
        centres.append(origin + row * (ds.Columns - 1) / 2 * float(ds.PixelSpacing[1])
                       + col * (ds.Rows - 1) / 2 * float(ds.PixelSpacing[0]))
    centre = (centres[0] + centres[1]) / 2
    return (float(centre[0]), float(centre[1]), float(centre[2]))


def manifest_row(**values) -> dict[str, str]:
    row = {
        "patient_id": "MRN-0001", "case_id": "case-1", "label": "malignant",
        "label_source": "histopathology", "test_set": "internal", "vertebra_level": "L1",
        "center_x": "0", "center_y": "0", "center_z": "0", "age": "71", "sex": "F",
        "institution": "Secret General Hospital", "scanner_vendor": "VendorX",
        "field_strength": "", "modality": "CT", "series": "P0001/ct_axial",
    }
    row.update({k: str(v) for k, v in values.items()})
    return row


def write_manifest(path: Path, rows: list[dict[str, str]], extra_columns: tuple[str, ...] = ()) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*REQUIRED_COLUMNS, *extra_columns])
        writer.writeheader()
        writer.writerows(rows)
    return path


def ct_case(root: Path, folder: str = "P0001/ct_axial", *, patient_id: str = "MRN-0001",
            case_id: str = "case-1", **series_options) -> dict[str, str]:
    """Write an axial CT series and return its manifest row (centre in the middle)."""
    paths = write_series(root / folder, patient_id=patient_id, **series_options)
    x, y, z = series_center(paths)
    return manifest_row(patient_id=patient_id, case_id=case_id, center_x=x, center_y=y, center_z=z,
                        series=f"axial={folder}")


def mr_case(root: Path, prefix: str = "P0002", *, patient_id: str = "MRN-0002", case_id: str = "case-2",
            **series_options) -> dict[str, str]:
    """Write sagittal T1W and T2W series sharing one frame of reference; return the manifest row."""
    study_uid, frame_of_reference = generate_uid(), generate_uid()
    options = dict(modality="MR", orientation=SAGITTAL, n=12, slice_spacing=4.0, origin=(22.0, -32.0, 32.0),
                   study_uid=study_uid, frame_of_reference_uid=frame_of_reference, patient_id=patient_id)
    options.update(series_options)
    t1 = write_series(root / prefix / "mr_t1w", **options)
    write_series(root / prefix / "mr_t2w", **options)
    x, y, z = series_center(t1)
    return manifest_row(patient_id=patient_id, case_id=case_id, center_x=x, center_y=y, center_z=z,
                        modality="MR", field_strength="1.5",
                        series=f"t1w={prefix}/mr_t1w;t2w={prefix}/mr_t2w")
