"""A sagittal series computed from an axial CT series, for viewers without WebGL.

Cornerstone3D's volume viewports (which reformat on the GPU) do not run on its CPU
fallback, so the server stores the sagittal reformat as an ordinary stack.

Geometry (PS3.3 C.7.6.2): the axial stack has row direction ``r``, column direction ``c``
and slice normal ``n = r x c``. A sagittal image is one axial column index: its rows run
along ``-n`` (the far end of the stack, superior for a feet-first-to-head axial series, at
the top) and its columns along ``c``; the image is resampled along ``n`` by linear
interpolation to square pixels. Values are stored in Hounsfield units (slope 1,
intercept 0).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian

from readerstudy.imaging.validation import SeriesGeometry

DERIVATION = "Sagittal reformat of the axial series: linear interpolation along the slice normal"

# Attributes of one axial slice that do not describe a sagittal image.
_PER_SLICE = (
    "SliceLocation", "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing",
    "SliceThickness", "SpacingBetweenSlices", "InstanceNumber", "SmallestImagePixelValue",
    "LargestImagePixelValue", "PixelPaddingValue", "PixelPaddingRangeLimit",
    "RescaleType", "ImageComments", "AcquisitionNumber", "TablePosition",
)


def hounsfield(ds: Dataset) -> np.ndarray:
    """One slice in Hounsfield units (the modality LUT's linear rescale), as int16."""
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    hu = ds.pixel_array.astype(np.float32) * slope + intercept
    return np.clip(np.rint(hu), -32768, 32767).astype(np.int16)


def sagittal_shape(geometry: SeriesGeometry) -> tuple[int, float]:
    """Rows of a sagittal image and their spacing (square pixels)."""
    spacing = geometry.pixel_spacing[0]
    extent = (len(geometry.frames) - 1) * geometry.slice_spacing
    return int(np.floor(extent / spacing + 1e-6)) + 1, spacing


def _resample(columns_by_slice: np.ndarray, n_rows: int, step: float, slice_spacing: float) -> np.ndarray:
    """Interpolate ``(slice, j)`` from the last slice backwards at ``step`` mm intervals."""
    reversed_slices = columns_by_slice[::-1].astype(np.float32)
    t = np.arange(n_rows) * step / slice_spacing
    k0 = np.minimum(np.floor(t).astype(int), len(reversed_slices) - 1)
    k1 = np.minimum(k0 + 1, len(reversed_slices) - 1)
    w = (t - k0)[:, None]
    return np.rint(reversed_slices[k0] * (1 - w) + reversed_slices[k1] * w).astype(np.int16)


def sagittal_series(
    *, template: Dataset, volume: np.ndarray, geometry: SeriesGeometry,
    series_uid: str, sop_uid_for: Callable[[int], str],
) -> Iterator[Dataset]:
    """Yield the sagittal images, one per axial column, as CT Image Storage datasets.

    ``template`` is a de-identified axial slice: its patient, study and equipment
    attributes are copied. ``sop_uid_for(i)`` gives the SOP instance UID of image ``i``.
    """
    n_rows, row_step = sagittal_shape(geometry)
    r, c, n = geometry.row_direction, geometry.column_direction, geometry.normal
    top = geometry.origin + (len(geometry.frames) - 1) * geometry.slice_spacing * n
    base = copy.deepcopy(template)
    for keyword in _PER_SLICE:
        if keyword in base:
            del base[keyword]
    del base.PixelData
    del base.SOPInstanceUID
    base.SOPClassUID = CTImageStorage
    base.SeriesInstanceUID = series_uid
    base.ImageType = ["DERIVED", "SECONDARY", "MPR"]
    base.DerivationDescription = DERIVATION
    base.ImageOrientationPatient = [*map(float, c), *map(float, -n)]
    base.PixelSpacing = [row_step, geometry.pixel_spacing[0]]
    base.SliceThickness = geometry.pixel_spacing[1]
    base.SpacingBetweenSlices = geometry.pixel_spacing[1]
    base.Rows, base.Columns = n_rows, geometry.rows
    base.SamplesPerPixel = 1
    base.PhotometricInterpretation = "MONOCHROME2"
    base.BitsAllocated, base.BitsStored, base.HighBit, base.PixelRepresentation = 16, 16, 15, 1
    base.RescaleSlope, base.RescaleIntercept = 1, 0
    base.SeriesNumber = 9000 + int(template.get("SeriesNumber") or 0) % 1000
    for i in range(geometry.columns):
        # Shares base's elements (cheap): only elements absent from base are set below.
        ds = Dataset()
        ds.update(base)
        sop_uid = sop_uid_for(i)
        ds.SOPInstanceUID = sop_uid
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [float(v) for v in top + i * geometry.pixel_spacing[1] * r]
        image = _resample(volume[:, :, i], n_rows, row_step, geometry.slice_spacing)
        ds.PixelData = np.ascontiguousarray(image).tobytes()
        ds["PixelData"].VR = "OW"
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = UID(sop_uid)
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        ds.set_original_encoding(False, True)
        yield ds
