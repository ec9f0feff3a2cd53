"""Where a DICOM image lies in the patient: the one reading of its geometry.

Both the import's validation (``readerstudy.imaging.validation``) and the model's
preprocessing (:mod:`inference.preprocess`) place every frame of a series with
:func:`frame_planes`, so a series the import accepts is read by the model in the same
patient coordinates. Pure: pydicom datasets and numpy, nothing else.

Conventions: positions and directions are DICOM patient coordinates (LPS, millimetres);
``pixel_spacing`` is ``(between rows, between columns)`` as DICOM stores it; a frame's
``height`` is its position along the slice normal (row cosine x column cosine), the key
by which a stack of slices is sorted.

References
----------
DICOM PS3.3 C.7.6.2.1.1 (Image Position and Orientation) and C.7.6.16 (the Shared and
Per-Frame Functional Groups of enhanced multi-frame images).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

__all__ = [
    "ORIENTATION_TOLERANCE",
    "FramePlane",
    "GeometryError",
    "frame_attribute",
    "frame_planes",
    "same_orientation",
]

#: Two direction cosines are the same orientation within this absolute tolerance.
ORIENTATION_TOLERANCE = 1e-3
#: How far from unit length and from orthogonal a scanner's rounded cosines may be.
_UNIT_TOLERANCE = 0.01


class GeometryError(ValueError):
    """A frame that cannot be placed in patient coordinates; the message says which
    attribute and why (the caller names the file)."""


@dataclass(frozen=True)
class FramePlane:
    """One 2D frame placed in the patient.

    Attributes
    ----------
    index : int
        The frame's 0-based index in its file (0 for a single-frame file).
    position : numpy.ndarray
        ``(3,)`` LPS mm of the centre of the first pixel (ImagePositionPatient).
    orientation : tuple of float
        The six direction cosines as stored (row direction, then column direction).
    pixel_spacing : tuple of float
        ``(between rows, between columns)`` in mm.
    """

    index: int
    position: np.ndarray
    orientation: tuple[float, ...]
    pixel_spacing: tuple[float, float]

    @property
    def row_cosine(self) -> np.ndarray:
        """Unit direction along a row (increasing column index)."""
        row = np.asarray(self.orientation[:3], dtype=np.float64)
        return row / np.linalg.norm(row)

    @property
    def column_cosine(self) -> np.ndarray:
        """Unit direction down a column (increasing row index)."""
        column = np.asarray(self.orientation[3:], dtype=np.float64)
        return column / np.linalg.norm(column)

    @property
    def normal(self) -> np.ndarray:
        """The slice normal, row cosine x column cosine."""
        return np.cross(self.row_cosine, self.column_cosine)

    @property
    def height(self) -> float:
        """Position along the slice normal, mm: the order of a stack of slices."""
        return float(self.normal @ self.position)


def _first_item(ds: Dataset | None, keyword: str) -> Dataset | None:
    if ds is None:
        return None
    sequence = ds.get(keyword)
    return sequence[0] if sequence else None


def frame_attribute(ds: Dataset, index: int, macro: str, keyword: str) -> Any:
    """``keyword`` for frame ``index``: its per-frame functional group, else the shared
    group (both inside ``macro``, e.g. ``PlanePositionSequence``), else the dataset's top
    level; None when none of them has a value."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    groups = [
        per_frame[index] if per_frame and index < len(per_frame) else None,
        _first_item(ds, "SharedFunctionalGroupsSequence"),
    ]
    for group in groups:
        item = _first_item(group, macro)
        if item is not None and keyword in item and item[keyword].value not in (None, ""):
            return item[keyword].value
    if keyword in ds and ds[keyword].value not in (None, ""):
        return ds[keyword].value
    return None


def _floats(value: Any, n: int, keyword: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise GeometryError(f"{keyword} is not numeric ({value!r})") from None
    if len(out) != n:
        raise GeometryError(f"{keyword} has {len(out)} values, expected {n}")
    if not all(np.isfinite(out)):
        raise GeometryError(f"{keyword} {list(out)} is not finite")
    return out


def _plane(ds: Dataset, index: int) -> FramePlane:
    values = {
        keyword: frame_attribute(ds, index, macro, keyword)
        for macro, keyword in (
            ("PlanePositionSequence", "ImagePositionPatient"),
            ("PlaneOrientationSequence", "ImageOrientationPatient"),
            ("PixelMeasuresSequence", "PixelSpacing"),
        )
    }
    missing = [keyword for keyword, value in values.items() if value is None]
    if missing:
        raise GeometryError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing, the "
            "slice cannot be placed in patient coordinates"
        )
    orientation = _floats(values["ImageOrientationPatient"], 6, "ImageOrientationPatient")
    row, column = np.array(orientation[:3]), np.array(orientation[3:])
    if (
        abs(np.linalg.norm(row) - 1) > _UNIT_TOLERANCE
        or abs(np.linalg.norm(column) - 1) > _UNIT_TOLERANCE
        or abs(row @ column) > _UNIT_TOLERANCE
    ):
        raise GeometryError(
            f"ImageOrientationPatient {list(orientation)} is not two orthogonal unit vectors"
        )
    spacing = _floats(values["PixelSpacing"], 2, "PixelSpacing")
    if min(spacing) <= 0:
        raise GeometryError(f"PixelSpacing {list(spacing)} must be positive")
    position = _floats(values["ImagePositionPatient"], 3, "ImagePositionPatient")
    return FramePlane(
        index=index,
        position=np.asarray(position, dtype=np.float64),
        orientation=orientation,
        pixel_spacing=(spacing[0], spacing[1]),
    )


def frame_planes(ds: Dataset) -> list[FramePlane]:
    """Every frame of one file placed in the patient, in the file's frame order.

    A classic single-frame image is read from its top-level attributes; each frame of an
    enhanced multi-frame image from its per-frame functional group, else the shared one.

    Raises
    ------
    GeometryError
        A position, orientation or pixel spacing is missing or malformed, the cosines are
        not two orthogonal unit vectors, or a multi-frame file has no per-frame groups to
        place its frames; for a multi-frame file the message names the (1-based) frame.
    """
    try:
        n_frames = int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError):
        raise GeometryError(f"NumberOfFrames {ds.get('NumberOfFrames')!r} is not a number") from None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and len(per_frame) != n_frames:
        raise GeometryError(f"{len(per_frame)} per-frame functional groups for {n_frames} frames")
    if n_frames > 1 and per_frame is None:
        raise GeometryError(f"{n_frames} frames but no Per-Frame Functional Groups to place them")
    planes = []
    for index in range(n_frames):
        try:
            planes.append(_plane(ds, index))
        except GeometryError as exc:
            if n_frames == 1:
                raise
            raise GeometryError(f"frame {index + 1}: {exc}") from None
    return planes


def same_orientation(a: Iterable[float], b: Iterable[float]) -> bool:
    """Whether two sets of six direction cosines agree within :data:`ORIENTATION_TOLERANCE`."""
    return bool(
        np.max(np.abs(np.asarray(list(a), float) - np.asarray(list(b), float)))
        <= ORIENTATION_TOLERANCE
    )
