"""Write small synthetic CT/MR series as DICOM files for the inference tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    EnhancedCTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)


def _base(modality: str, sop_class: str, rows: int, columns: int, series_uid: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientID = "PHANTOM"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1"
    ds.SeriesInstanceUID = series_uid
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    return ds


def write_series(
    directory: Path,
    values: np.ndarray,
    *,
    spacing_zyx: tuple[float, float, float],
    origin: tuple[float, float, float],
    row_cosine: tuple[float, float, float] = (1.0, 0.0, 0.0),
    column_cosine: tuple[float, float, float] = (0.0, 1.0, 0.0),
    modality: str = "CT",
    slope: float = 1.0,
    intercept: float = -1024.0,
    transfer_syntax: str | None = None,
    series_uid: str | None = None,
) -> list[Path]:
    """One file per slice; ``values[k]`` (real-world units) is slice ``k``.

    Slice ``k`` lies at ``origin + k * spacing_z * (row x column)``; files are named in
    a scrambled order so a reader has to sort them by position.
    """
    directory.mkdir(parents=True, exist_ok=True)
    stored = np.round((np.asarray(values, dtype=np.float64) - intercept) / slope).astype(np.int16)
    normal = np.cross(row_cosine, column_cosine)
    series_uid = series_uid or generate_uid()
    sop_class = CTImageStorage if modality == "CT" else MRImageStorage
    paths = []
    order = np.random.default_rng(7).permutation(len(stored))
    for k, plane in enumerate(stored):
        ds = _base(modality, sop_class, plane.shape[0], plane.shape[1], series_uid)
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [
            float(v) for v in np.asarray(origin) + k * spacing_zyx[0] * normal
        ]
        ds.ImageOrientationPatient = [*map(float, row_cosine), *map(float, column_cosine)]
        ds.PixelSpacing = [spacing_zyx[1], spacing_zyx[2]]
        ds.SliceThickness = spacing_zyx[0]
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.PixelData = np.ascontiguousarray(plane).tobytes()
        if transfer_syntax is not None:
            ds.compress(transfer_syntax)
        path = directory / f"slice_{order[k]:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_enhanced_ct(
    path: Path,
    values: np.ndarray,
    *,
    spacing_zyx: tuple[float, float, float],
    origin: tuple[float, float, float],
    intercept: float = -1024.0,
) -> Path:
    """One enhanced multi-frame CT file, frames stored in reverse slice order."""
    stored = np.round(np.asarray(values, dtype=np.float64) - intercept).astype(np.int16)
    n = len(stored)
    ds = _base("CT", EnhancedCTImageStorage, stored.shape[1], stored.shape[2], generate_uid())
    ds.NumberOfFrames = n
    shared = Dataset()
    orientation = Dataset()
    orientation.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    measures = Dataset()
    measures.PixelSpacing = [spacing_zyx[1], spacing_zyx[2]]
    measures.SliceThickness = spacing_zyx[0]
    transform = Dataset()
    transform.RescaleSlope, transform.RescaleIntercept = 1.0, intercept
    transform.RescaleType = "HU"
    shared.PlaneOrientationSequence = Sequence([orientation])
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.PixelValueTransformationSequence = Sequence([transform])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for k in reversed(range(n)):
        item = Dataset()
        position = Dataset()
        position.ImagePositionPatient = [origin[0], origin[1], origin[2] + k * spacing_zyx[0]]
        item.PlanePositionSequence = Sequence([position])
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.PixelData = np.ascontiguousarray(stored[::-1]).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path
