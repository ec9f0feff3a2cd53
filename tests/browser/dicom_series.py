"""Small synthetic DICOM series for the browser tests.

A CT stack whose picture differs from slice to slice (a bright disc whose radius and density
change along the stack, on a body outline), so scrolling visibly changes the image; and a pair
of sagittal MRI series sharing a frame of reference. Optionally encoded with a compressed
transfer syntax, to exercise the browser's decoders on the real serving path.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

from readerstudy.imaging.manifest import REQUIRED_COLUMNS

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


def ct_volume(n: int, size: int) -> np.ndarray:
    """Hounsfield units (slice, row, column): air, a body, a 'vertebra' changing along the stack."""
    k, y, x = np.meshgrid(np.arange(n), np.arange(size), np.arange(size), indexing="ij")
    c = (size - 1) / 2
    hu = np.full((n, size, size), -1000, dtype=np.int16)
    body = ((x - c) / (0.45 * size)) ** 2 + ((y - c) / (0.35 * size)) ** 2 <= 1
    hu[body] = 40
    radius = 0.08 * size + 0.08 * size * (k / max(n - 1, 1))
    vertebra = (x - c) ** 2 + (y - c - 0.12 * size) ** 2 <= radius**2
    hu[vertebra] = (200 + 800 * (k % 8 < 4))[vertebra]
    return hu


def write_series(folder: Path, *, modality: str = "CT", n: int = 32, size: int = 64,
                 slice_spacing: float = 2.5, orientation=AXIAL, study_uid: str | None = None,
                 frame_of_reference_uid: str | None = None, transfer_syntax: UID = ExplicitVRLittleEndian,
                 patient_id: str = "MRN-BROWSER-1", hu_offset: int = 0) -> list[Path]:
    """One series of ``n`` slices; ``hu_offset`` shifts every voxel (cases that differ)."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    series_uid, frame_uid = generate_uid(), frame_of_reference_uid or generate_uid()
    row, col = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row, col)
    origin = -(size / 2) * row - (size / 2) * col - (n * slice_spacing / 2) * normal
    hu = ct_volume(n, size) + hu_offset
    stored = hu + 1024 if modality == "CT" else np.clip(hu + 1000, 0, None) // 2
    paths = []
    for k in range(n):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage if modality == "CT" else MRImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
        ds.Modality = modality
        ds.PatientName, ds.PatientID = "Browser^Test", patient_id
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = list(orientation)
        ds.ImagePositionPatient = [float(v) for v in origin + k * slice_spacing * normal]
        ds.PixelSpacing = [1.0, 1.0]
        ds.SliceThickness = slice_spacing
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        if modality == "CT":
            ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, -1024, "HU"
        ds.PixelData = stored[k].astype(np.uint16).tobytes()
        if transfer_syntax != ExplicitVRLittleEndian:
            ds.compress(transfer_syntax)
        path = folder / f"IM{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def manifest(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REQUIRED_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row.get(key, "") for key in REQUIRED_COLUMNS})
    return buffer.getvalue()


def case_row(*, case_id: str, patient_id: str, modality: str, series: str, label: str = "malignant") -> dict[str, str]:
    """A manifest row whose annotated centre is the middle of the series written above."""
    return {
        "patient_id": patient_id, "case_id": case_id, "label": label, "label_source": "histopathology",
        "test_set": "internal", "vertebra_level": "L1", "center_x": "0", "center_y": "0", "center_z": "0",
        "age": "70", "sex": "F", "institution": "Browser General", "scanner_vendor": "VendorB",
        "field_strength": "1.5" if modality == "MR" else "", "modality": modality, "series": series,
    }


def write_ct_cases(root: Path, count: int, *, hu_step: int = 0, **options) -> str:
    """``count`` CT cases (one patient each) under ``root``, benign and malignant in turn (case
    ``ct-<i>`` is malignant when ``i`` is odd); case ``i``'s voxels are ``i * hu_step`` HU
    brighter. Returns their manifest."""
    rows = []
    for i in range(count):
        folder = f"P{i:03d}/axial"
        write_series(root / folder, patient_id=f"MRN-{i:03d}", hu_offset=i * hu_step, **options)
        rows.append(case_row(case_id=f"ct-{i}", patient_id=f"MRN-{i:03d}", modality="CT",
                             series=f"axial={folder}", label="malignant" if i % 2 else "benign"))
    return manifest(rows)


def write_mr_case(root: Path, extra_roles: tuple[str, ...] = ()) -> str:
    """One MRI case with sagittal T1W and T2W series, and ``extra_roles`` (``stir``, ``dwi``)
    drawn the same way; returns its manifest."""
    study_uid, frame_uid = generate_uid(), generate_uid()
    options = dict(modality="MR", n=12, size=64, slice_spacing=4.0, orientation=SAGITTAL,
                   study_uid=study_uid, frame_of_reference_uid=frame_uid, patient_id="MRN-MR-1")
    roles = ("t1w", "t2w", *extra_roles)
    for role in roles:
        write_series(root / f"MR1/{role}", **options)
    return manifest([case_row(case_id="mr-1", patient_id="MRN-MR-1", modality="MR",
                              series=";".join(f"{role}=MR1/{role}" for role in roles))])


def write_stack_from_file(source: Path, folder: Path, *, n: int, modality: str, study_uid: str,
                          frame_of_reference_uid: str, patient_id: str, slice_spacing: float = 3.0) -> None:
    """``n`` slices made of one file's pixel data, kept byte for byte in its transfer syntax.

    pydicom-data holds single images in many transfer syntaxes; this stacks one into a
    sagittal series (new instance UIDs, positions along the normal) so it can be imported.
    """
    from pydicom import dcmread

    folder.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid()
    row, col = np.array(SAGITTAL[:3]), np.array(SAGITTAL[3:])
    normal = np.cross(row, col)
    for k in range(n):
        ds = dcmread(source)
        spacing = [float(v) for v in ds.get("PixelSpacing", [1.0, 1.0])]
        # Centred on (0, 0, 0), where the manifest puts the vertebra.
        origin = -(ds.Columns - 1) / 2 * spacing[1] * row - (ds.Rows - 1) / 2 * spacing[0] * col
        sop_uid = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = sop_uid
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_of_reference_uid
        ds.Modality = modality
        ds.PatientID = patient_id
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = list(SAGITTAL)
        ds.ImagePositionPatient = [float(v) for v in origin + (k - (n - 1) / 2) * slice_spacing * normal]
        ds.PixelSpacing = spacing
        ds.SliceThickness = slice_spacing
        for keyword in ("NumberOfFrames", "FrameIncrementPointer", "PerFrameFunctionalGroupsSequence",
                        "SharedFunctionalGroupsSequence", "DetectorInformationSequence"):
            if keyword in ds:
                delattr(ds, keyword)
        ds.save_as(folder / f"IM{k:04d}.dcm", enforce_file_format=True)


# Pairs of pydicom-data files (T1W slot, T2W slot) covering the compressed transfer syntaxes.
TESTDATA_PAIRS = (
    ("MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"),  # JPEG 2000 lossless, JPEG-LS
    ("MR_small_RLE.dcm", "MR_small_bigendian.dcm"),  # RLE, big endian (transcoded on import)
    ("JPEG-LL.dcm", "JPEG-lossy.dcm"),  # JPEG lossless process 14, JPEG extended 12-bit
)


def write_testdata_mr_cases(root: Path) -> str:
    """One MRI case per pair of TESTDATA_PAIRS; returns their manifest."""
    from pydicom.data import get_testdata_file

    rows = []
    for i, pair in enumerate(TESTDATA_PAIRS):
        study_uid, frame_uid, patient = generate_uid(), generate_uid(), f"MRN-TD-{i}"
        for role, name in zip(("t1w", "t2w"), pair, strict=True):
            write_stack_from_file(Path(get_testdata_file(name)), root / f"TD{i}" / role, n=3, modality="MR",
                                  study_uid=study_uid, frame_of_reference_uid=frame_uid, patient_id=patient)
        rows.append(case_row(case_id=f"td-{i}", patient_id=patient, modality="MR",
                             series=f"t1w=TD{i}/t1w;t2w=TD{i}/t2w"))
    return manifest(rows)


def zip_of(folder: Path, manifest_text: str, target: Path) -> Path:
    """``folder`` with ``manifest_text`` as its manifest.csv, zipped as an import expects."""
    (folder / "manifest.csv").write_text(manifest_text)
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target
