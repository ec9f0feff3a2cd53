"""Checks on the DICOM files of an import, made before anything is written.

Every problem is collected (not raised at the first one) so the coordinator sees them all
at once, each naming the file or manifest row and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from inference.dicom_geometry import GeometryError, frame_planes, same_orientation

PIXEL_SPACING_TOLERANCE_MM = 1e-3
SLICE_STEP_TOLERANCE_MM = 0.05
SLICE_STEP_TOLERANCE_RELATIVE = 0.02
DEFAULT_SLICE_SPACING_MM = 1.0


@dataclass(frozen=True)
class Problem:
    """Why an import is refused: one file or manifest row and the reason."""

    reason: str
    row: int | None = None
    file: str | None = None

    def as_dict(self) -> dict[str, object]:
        where: dict[str, object] = {}
        if self.row is not None:
            where["row"] = self.row
        if self.file is not None:
            where["file"] = self.file
        return where | {"reason": self.reason}

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"manifest row {self.row}")
        if self.file is not None:
            where.append(self.file)
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


class ImportRefused(Exception):
    """Nothing was imported; ``problems`` says why."""

    def __init__(self, problems: Iterable[Problem]):
        # In manifest order, however they were found (a coordinator fixes the spreadsheet from
        # the top down); problems of a file or of the whole import after the rows, as found.
        self.problems = sorted(problems, key=lambda p: (p.row is None, p.row or 0))
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class InstanceHeader:
    """What the import needs from one file's header."""

    path: Path
    name: str
    sop_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str
    frame_of_reference_uid: str
    modality: str
    transfer_syntax_uid: str
    rows: int
    columns: int
    number_of_frames: int
    orientation: tuple[float, ...]
    pixel_spacing: tuple[float, float]
    positions: tuple[tuple[float, float, float], ...]
    instance_number: int | None
    burned_in_annotation: bool
    slice_spacing_hint: float | None


def _optional_float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def read_header(path: Path, name: str) -> InstanceHeader | Problem:
    """Parse one file's header; a :class:`Problem` naming the file if it is unusable."""
    try:
        ds = dcmread(path, defer_size="64 KB")
    except InvalidDicomError:
        return Problem(file=name, reason="not a DICOM file (no DICM prefix after the 128-byte preamble)")
    except Exception as exc:  # pydicom raises many kinds on damaged files
        return Problem(file=name, reason=f"could not be parsed as DICOM: {exc}")
    if "PixelData" not in ds:
        return Problem(file=name, reason="holds no image (no PixelData)")
    meta = getattr(ds, "file_meta", None)
    missing = [k for k in ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID",
                           "Modality", "Rows", "Columns") if not ds.get(k)]
    if missing or meta is None or not meta.get("TransferSyntaxUID"):
        missing += [] if meta is not None and meta.get("TransferSyntaxUID") else ["TransferSyntaxUID"]
        return Problem(file=name, reason=f"missing required attributes: {', '.join(missing)}")
    try:
        planes = frame_planes(ds)
    except GeometryError as exc:
        return Problem(file=name, reason=f"{exc}")
    number = ds.get("InstanceNumber")
    return InstanceHeader(
        path=path, name=name,
        sop_uid=str(ds.SOPInstanceUID), sop_class_uid=str(ds.SOPClassUID),
        study_uid=str(ds.StudyInstanceUID), series_uid=str(ds.SeriesInstanceUID),
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID") or ""),
        modality=str(ds.Modality), transfer_syntax_uid=str(meta.TransferSyntaxUID),
        rows=int(ds.Rows), columns=int(ds.Columns), number_of_frames=len(planes),
        orientation=planes[0].orientation, pixel_spacing=planes[0].pixel_spacing,
        # ImagePositionPatient has three values (x, y, z).
        positions=tuple(cast(tuple[float, float, float], tuple(float(v) for v in plane.position))
                        for plane in planes),
        instance_number=int(number) if number not in (None, "") else None,
        burned_in_annotation=str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES",
        slice_spacing_hint=_optional_float(ds.get("SpacingBetweenSlices")) or _optional_float(ds.get("SliceThickness")),
    )


@dataclass(frozen=True)
class Frame:
    header: InstanceHeader
    frame: int  # 1-based
    position: float  # along the normal, mm


@dataclass
class SeriesGeometry:
    """A consistent series: a regular stack of frames along the slice normal."""

    row_direction: np.ndarray
    column_direction: np.ndarray
    normal: np.ndarray
    pixel_spacing: tuple[float, float]  # (between rows, between columns)
    slice_spacing: float
    origin: np.ndarray  # LPS of the first frame's first pixel
    rows: int
    columns: int
    frames: list[Frame] = field(default_factory=list)

    @property
    def orientation(self) -> list[float]:
        return [*map(float, self.row_direction), *map(float, self.column_direction)]

    def voxel_index(self, point: Iterable[float]) -> np.ndarray:
        """Continuous (column, row, slice) index of an LPS point."""
        offset = np.asarray(list(point), dtype=float) - self.origin
        return np.array([
            offset @ self.row_direction / self.pixel_spacing[1],
            offset @ self.column_direction / self.pixel_spacing[0],
            offset @ self.normal / self.slice_spacing,
        ])

    def contains(self, point: Iterable[float]) -> bool:
        """Whether an LPS point lies inside the volume covered by the voxels."""
        index = self.voxel_index(point)
        upper = np.array([self.columns, self.rows, len(self.frames)]) - 0.5
        return bool(np.all(index >= -0.5) and np.all(index <= upper))


def _distinct(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def check_series(headers: list[InstanceHeader], *, where: str) -> tuple[SeriesGeometry | None, list[Problem]]:
    """Check that ``headers`` form one regular stack; return its geometry or the problems.

    Consistent means: one series, one frame of reference, one orientation, the same pixel
    spacing and matrix, no duplicated instance or slice, and equally spaced slices with
    none missing.
    """
    problems: list[Problem] = []
    if not headers:
        return None, [Problem(file=where, reason="no DICOM files in this folder")]

    def refuse(reason: str) -> None:
        problems.append(Problem(file=where, reason=reason))

    for attribute, label in (("series_uid", "series (SeriesInstanceUID)"),
                             ("frame_of_reference_uid", "frames of reference (FrameOfReferenceUID)"),
                             ("study_uid", "studies (StudyInstanceUID)"),
                             ("modality", "modalities")):
        values = _distinct(getattr(h, attribute) for h in headers)
        if len(values) > 1:
            refuse(f"{len(values)} different {label} in one series: {', '.join(values)}")
    matrices = _distinct(f"{h.rows}x{h.columns}" for h in headers)
    if len(matrices) > 1:
        refuse(f"images of different sizes (rows x columns) in one series: {', '.join(matrices)}")

    first = headers[0]
    reference = np.array(first.orientation)
    for h in headers[1:]:
        if not same_orientation(h.orientation, first.orientation):
            refuse(f"two orientations (ImageOrientationPatient) in one series: {first.name} has "
                   f"{list(first.orientation)}, {h.name} has {list(h.orientation)}")
            break
    for h in headers[1:]:
        if np.max(np.abs(np.array(h.pixel_spacing) - np.array(first.pixel_spacing))) > PIXEL_SPACING_TOLERANCE_MM:
            refuse(f"unequal pixel spacing in one series: {first.name} has {list(first.pixel_spacing)} mm, "
                   f"{h.name} has {list(h.pixel_spacing)} mm")
            break
    seen: dict[str, str] = {}
    for h in headers:
        if h.sop_uid in seen:
            refuse(f"duplicated instance: {seen[h.sop_uid]} and {h.name} have the same SOPInstanceUID")
        seen[h.sop_uid] = h.name
    if problems:
        return None, problems

    row, col = reference[:3], reference[3:]
    normal = np.cross(row, col)
    frames = sorted(
        (Frame(header=h, frame=i + 1, position=float(np.asarray(p) @ normal))
         for h in headers for i, p in enumerate(h.positions)),
        key=lambda f: f.position,
    )
    slice_spacing = _check_steps(frames, refuse, hint=first.slice_spacing_hint)
    if problems:
        return None, problems
    origin_frame = frames[0]
    origin = np.array(origin_frame.header.positions[origin_frame.frame - 1])
    return SeriesGeometry(
        row_direction=row, column_direction=col, normal=normal,
        pixel_spacing=first.pixel_spacing, slice_spacing=slice_spacing, origin=origin,
        rows=first.rows, columns=first.columns, frames=frames,
    ), problems


def _describe(frame: Frame) -> str:
    if frame.header.number_of_frames > 1:
        return f"{frame.header.name} frame {frame.frame}"
    return frame.header.name


def _check_steps(frames: list[Frame], refuse, *, hint: float | None) -> float:
    if len(frames) == 1:
        return hint or DEFAULT_SLICE_SPACING_MM
    steps = np.diff([f.position for f in frames])
    duplicates = [(frames[i], frames[i + 1]) for i, step in enumerate(steps) if step < SLICE_STEP_TOLERANCE_MM]
    for a, b in duplicates:
        refuse(f"duplicated slice: {_describe(a)} and {_describe(b)} lie at the same position "
               f"({a.position:.2f} mm along the slice normal)")
    if duplicates:
        return 0.0
    spacing = float(np.median(steps))
    tolerance = max(SLICE_STEP_TOLERANCE_MM, SLICE_STEP_TOLERANCE_RELATIVE * spacing)
    for i, step in enumerate(steps):
        if abs(step - spacing) <= tolerance:
            continue
        ratio = step / spacing
        between = f"between {_describe(frames[i])} and {_describe(frames[i + 1])}"
        if ratio > 1.5 and abs(ratio - round(ratio)) * spacing <= tolerance:
            missing = round(ratio) - 1
            refuse(f"{missing} missing slice{'s' if missing > 1 else ''} {between}: a gap of "
                   f"{step:.2f} mm where the series steps {spacing:.2f} mm")
        else:
            refuse(f"unequal slice spacing {between}: {step:.2f} mm where the series steps "
                   f"{spacing:.2f} mm")
    return spacing
