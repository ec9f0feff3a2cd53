"""DICOM series to model input: volumes in patient space, CT patches and MRI slice stacks.

Conventions
-----------
* A :class:`Volume` holds the voxels as ``array[z, y, x]`` (slice, row, column) and an
  ``affine`` that maps the index ``(i, j, k) = (x, y, z) = (column, row, slice)`` to DICOM
  patient coordinates (LPS, millimetres): ``lps = affine @ (i, j, k, 1)``. This is the
  convention of the DICOM standard (PS3.3 C.7.6.2.1.1) and of ITK/SimpleITK.
* ``Volume.spacing`` is in array order ``(z, y, x)`` mm, so ``spacing[a]`` belongs to
  ``array.shape[a]``.
* A CT patch is sampled on a grid aligned with the patient axes, whatever the acquisition
  orientation: ``patch[0, s, p, l]`` lies at ``center + (l - size//2, p - size//2,
  s - size//2) * spacing_mm`` in LPS, i.e. axis 0 runs inferior -> superior, axis 1
  anterior -> posterior and axis 2 right -> left. The centre of the vertebra is voxel
  ``(size//2, size//2, size//2)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from numpy.typing import ArrayLike
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from scipy import ndimage

from inference.dicom_geometry import GeometryError, frame_attribute, frame_planes, same_orientation

__all__ = [
    "CT_INPUT_SPEC",
    "MRI_INPUT_SPEC",
    "PatchPlane",
    "SeriesError",
    "Volume",
    "ct_patch",
    "load_series",
    "load_series_around",
    "mri_patch",
    "mri_patch_plane",
    "window_ct",
]

#: Input specification written into the model card of a CT model.
CT_INPUT_SPEC: dict[str, Any] = {
    "kind": "ct_patch",
    "series": ["axial"],
    "patch_size": [64, 64, 64],
    "spacing_mm": 1.0,
    "window_hu": [-1000.0, 2000.0],
    "normalisation": "HU clipped to window_hu, then (HU - low) / (high - low) -> [0, 1]",
    "channels": ["CT"],
    "axes": "(channel, inferior->superior, anterior->posterior, right->left)",
    "interpolation": "trilinear",
}

#: Input specification written into the model card of an MRI model.
MRI_INPUT_SPEC: dict[str, Any] = {
    "kind": "mri_patch",
    "series": ["t1w", "t2w"],
    "patch_size": [64, 64],
    "box_mm": 60.0,
    "normalisation": "z-score per sequence over the three slices of the patch",
    "channels": ["T1W-1", "T1W0", "T1W+1", "T2W-1", "T2W0", "T2W+1"],
    "axes": "(channel, superior->inferior, anterior->posterior)",
    "interpolation": "bilinear in plane, nearest slice through plane",
}

# Positions are decimal strings rounded by the scanner: allow a fifth of a slice step.
_POSITION_TOLERANCE = 0.2


class SeriesError(ValueError):
    """A DICOM series that cannot be turned into a volume; the message names the file."""


@dataclass(frozen=True)
class Volume:
    """One image series in patient space.

    Attributes
    ----------
    array : np.ndarray
        ``(z, y, x)`` float32 voxel values after the modality rescale (HU for CT).
    affine : np.ndarray
        ``(4, 4)`` float64, index ``(i=x, j=y, k=z, 1)`` -> LPS millimetres.
    spacing : tuple of float
        Voxel size in millimetres in array order ``(z, y, x)``.
    """

    array: np.ndarray
    affine: np.ndarray
    spacing: tuple[float, float, float]

    def index_of(self, lps: ArrayLike) -> np.ndarray:
        """Continuous voxel index ``(i, j, k)`` (= x, y, z) of an LPS point in mm."""
        point = np.append(np.asarray(lps, dtype=np.float64).reshape(3), 1.0)
        return (np.linalg.inv(self.affine) @ point)[:3]


@dataclass(frozen=True)
class _Frame:
    """Geometry of one 2D frame of a series, read from the header only."""

    path: Path
    frame: int | None  # None: single-frame file
    position: np.ndarray
    row_cosine: np.ndarray
    column_cosine: np.ndarray
    orientation: tuple[float, ...]  # the six cosines as stored, to compare frames
    pixel_spacing: tuple[float, float]  # (between rows, between columns) in mm
    shape: tuple[int, int]
    slope: float
    intercept: float
    series_uid: str | None
    thickness: float | None

    @property
    def label(self) -> str:
        return str(self.path) if self.frame is None else f"{self.path} (frame {self.frame + 1})"


# --------------------------------------------------------------------------- loading


def load_series(paths: Sequence[Path | str]) -> Volume:
    """Read one DICOM series into a :class:`Volume` in patient space.

    Slices are sorted along the slice normal (row cosine x column cosine of
    ImageOrientationPatient, dotted with ImagePositionPatient); RescaleSlope and
    RescaleIntercept are applied (Hounsfield units for CT). Enhanced multi-frame files are
    read frame by frame from the Shared and Per-Frame Functional Groups. Compressed transfer
    syntaxes are decoded by pydicom's pixel data handlers (pylibjpeg plugins).

    Parameters
    ----------
    paths : sequence of path-like
        The files of exactly one series (one multi-frame file, or one file per slice).

    Returns
    -------
    Volume
        ``array`` ``(z, y, x)`` float32, ``affine`` index -> LPS mm, ``spacing`` ``(z, y, x)``.

    Raises
    ------
    SeriesError
        The files are not DICOM, lack geometry, mix series, orientations or matrix sizes,
        repeat a slice position or leave a gap; the message names the offending file.

    References
    ----------
    DICOM PS3.3 C.7.6.2.1.1 (Image Position and Orientation) and C.7.6.16 (functional
    groups of enhanced multi-frame images).
    """
    datasets: dict[Path, Dataset] = {}
    frames = _sorted_frames(_read_frames(paths, keep=datasets))
    affine = _affine(frames)
    return _volume(frames, affine, _decode(frames, datasets))


def load_series_around(
    paths: Sequence[Path | str], center_lps: ArrayLike, *, half_size_mm: float
) -> Volume:
    """Read only the slices a cube around a point can touch.

    Every header is read and checked exactly as in :func:`load_series`, but pixel data is
    decoded only for the slices that intersect the cube of half edge ``half_size_mm``
    centred on ``center_lps`` and aligned with the patient axes (the region
    :func:`ct_patch` samples), plus one slice each side for interpolation. A 300-slice CT
    series then costs about as much as the 70 slices around the vertebra. The result is a
    slab of the full volume: the same voxels at the same patient coordinates, so a patch
    inside the cube is identical to one cut from :func:`load_series`.

    Parameters
    ----------
    paths : sequence of path-like
        The files of one series.
    center_lps : array-like of 3 floats
        The point of interest in LPS mm.
    half_size_mm : float
        Half the edge of the cube (32 for a 64 mm patch).
    """
    if half_size_mm <= 0:
        raise ValueError(f"half_size_mm must be positive, got {half_size_mm}")
    frames = _sorted_frames(_read_frames(paths))
    affine = _affine(frames)
    k_center = _inverse_point(affine, center_lps)[2]
    # Largest slice-index offset over the cube's corners: |row 2 of the inverse| . h.
    reach = half_size_mm * float(np.abs(np.linalg.inv(affine)[2, :3]).sum()) + 1.0
    first = max(int(np.floor(k_center - reach)), 0)
    last = min(int(np.ceil(k_center + reach)), len(frames) - 1)
    if first > last:
        raise SeriesError(
            f"the point {np.round(np.asarray(center_lps, float), 1).tolist()} mm lies more "
            f"than {half_size_mm} mm outside the series starting at {frames[0].label}"
        )
    slab = frames[first : last + 1]
    slab_affine = affine.copy()
    slab_affine[:3, 3] = affine[:3, :3] @ np.array([0.0, 0.0, first]) + affine[:3, 3]
    return _volume(slab, slab_affine, _decode(slab, {}))


def _read_frames(
    paths: Sequence[Path | str], keep: dict[Path, Dataset] | None = None
) -> list[_Frame]:
    """Geometry of every frame; with ``keep``, files are read whole and kept there."""
    if isinstance(paths, str | Path):
        raise TypeError("paths must be a sequence of files, not a single path")
    if len(paths) == 0:
        raise SeriesError("the series is empty: no DICOM files were given")
    frames: list[_Frame] = []
    for raw in paths:
        path = Path(raw)
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=keep is None)
        except (InvalidDicomError, OSError, EOFError, ValueError) as exc:
            raise SeriesError(f"{path}: not a readable DICOM file ({exc})") from exc
        frames.extend(_frames_of(ds, path))
        if keep is not None:
            keep[path] = ds
    series = {f.series_uid for f in frames if f.series_uid}
    if len(series) > 1:
        first = frames[0]
        other = next(f for f in frames if f.series_uid and f.series_uid != first.series_uid)
        raise SeriesError(
            f"{other.label}: SeriesInstanceUID {other.series_uid} differs from "
            f"{first.series_uid} of {first.label}; give one series at a time"
        )
    return frames


def _frames_of(ds: Dataset, path: Path) -> list[_Frame]:
    if int(ds.get("SamplesPerPixel", 1)) != 1:
        raise SeriesError(f"{path}: colour images (SamplesPerPixel > 1) cannot be read")
    try:
        planes = frame_planes(ds)
    except GeometryError as exc:
        raise SeriesError(f"{path}: {exc}") from exc
    single = len(planes) == 1
    shape = (int(ds.Rows), int(ds.Columns))
    series_uid = str(ds.SeriesInstanceUID) if "SeriesInstanceUID" in ds else None
    frames = []
    for plane in planes:
        rescale = "PixelValueTransformationSequence"
        slope = frame_attribute(ds, plane.index, rescale, "RescaleSlope")
        intercept = frame_attribute(ds, plane.index, rescale, "RescaleIntercept")
        thickness = frame_attribute(ds, plane.index, "PixelMeasuresSequence", "SpacingBetweenSlices")
        if thickness is None:
            thickness = frame_attribute(ds, plane.index, "PixelMeasuresSequence", "SliceThickness")
        frame = None if single else plane.index
        try:
            frames.append(_Frame(
                path=path,
                frame=frame,
                position=plane.position,
                row_cosine=plane.row_cosine,
                column_cosine=plane.column_cosine,
                orientation=plane.orientation,
                pixel_spacing=plane.pixel_spacing,
                shape=shape,
                slope=1.0 if slope is None else float(slope),
                intercept=0.0 if intercept is None else float(intercept),
                series_uid=series_uid,
                thickness=None if thickness is None else float(thickness),
            ))
        except (TypeError, ValueError) as exc:
            where = path if single else f"{path} (frame {plane.index + 1})"
            raise SeriesError(f"{where}: malformed rescale or slice thickness ({exc})") from exc
    return frames


def _sorted_frames(frames: list[_Frame]) -> list[_Frame]:
    reference = frames[0]
    for frame in frames[1:]:
        if frame.shape != reference.shape:
            raise SeriesError(
                f"{frame.label}: matrix {frame.shape} differs from {reference.shape} "
                f"of {reference.label}"
            )
        if not np.allclose(frame.pixel_spacing, reference.pixel_spacing, atol=1e-3):
            raise SeriesError(
                f"{frame.label}: PixelSpacing {frame.pixel_spacing} differs from "
                f"{reference.pixel_spacing} of {reference.label}"
            )
        if not same_orientation(frame.orientation, reference.orientation):
            raise SeriesError(
                f"{frame.label}: ImageOrientationPatient differs from {reference.label}; "
                "a series must have one orientation"
            )
    normal = np.cross(reference.row_cosine, reference.column_cosine)
    ordered = sorted(frames, key=lambda f: float(normal @ f.position))
    heights = np.array([normal @ f.position for f in ordered])
    for before, after, gap in zip(ordered, ordered[1:], np.diff(heights), strict=False):
        if gap < 1e-3:
            raise SeriesError(
                f"{after.label}: same slice position as {before.label} "
                "(duplicate or mixed acquisitions)"
            )
    return ordered


def _affine(frames: list[_Frame]) -> np.ndarray:
    first = frames[0]
    row_spacing, column_spacing = first.pixel_spacing
    normal = np.cross(first.row_cosine, first.column_cosine)
    if len(frames) > 1:
        # The mean step vector keeps a gantry tilt (a step not parallel to the normal).
        step = (frames[-1].position - first.position) / (len(frames) - 1)
        step_length = float(np.linalg.norm(step))
        positions = np.array([f.position for f in frames])
        expected = first.position + np.outer(np.arange(len(frames)), step)
        deviation = np.linalg.norm(positions - expected, axis=1)
        worst = int(np.argmax(deviation))
        if deviation[worst] > _POSITION_TOLERANCE * step_length + 1e-3:
            raise SeriesError(
                f"{frames[worst].label}: slice positions are not evenly spaced "
                f"(off by {deviation[worst]:.2f} mm for a {step_length:.2f} mm step); "
                "a slice is missing or the series mixes slice spacings"
            )
    else:
        step = normal * (first.thickness or 1.0)
    affine = np.eye(4)
    affine[:3, 0] = first.row_cosine * column_spacing
    affine[:3, 1] = first.column_cosine * row_spacing
    affine[:3, 2] = step
    affine[:3, 3] = first.position
    return affine


def _decode(frames: list[_Frame], datasets: dict[Path, Dataset]) -> np.ndarray:
    rows, columns = frames[0].shape
    out = np.empty((len(frames), rows, columns), dtype=np.float32)
    by_file: dict[Path, list[tuple[int, _Frame]]] = {}
    for slot, frame in enumerate(frames):
        by_file.setdefault(frame.path, []).append((slot, frame))
    for path, members in by_file.items():
        try:
            ds = datasets.pop(path, None)
            pixels = (ds if ds is not None else pydicom.dcmread(path)).pixel_array
        except Exception as exc:  # decoders raise many types; report them all by file
            raise SeriesError(f"{path}: pixel data cannot be decoded ({exc})") from exc
        for slot, frame in members:
            plane = pixels if frame.frame is None else pixels[frame.frame]
            if plane.shape != (rows, columns):
                raise SeriesError(f"{frame.label}: pixel data shape {plane.shape} is unexpected")
            np.multiply(plane, frame.slope, out=out[slot], casting="unsafe")
            out[slot] += frame.intercept
    return out


def _volume(frames: list[_Frame], affine: np.ndarray, array: np.ndarray) -> Volume:
    spacing = np.linalg.norm(affine[:3, :3], axis=0)  # (x, y, z)
    return Volume(
        array=array,
        affine=affine,
        spacing=(float(spacing[2]), float(spacing[1]), float(spacing[0])),
    )


def _inverse_point(affine: np.ndarray, lps: ArrayLike) -> np.ndarray:
    point = np.asarray(lps, dtype=np.float64).reshape(-1)
    if point.shape != (3,) or not np.all(np.isfinite(point)):
        raise ValueError(f"a centre must be 3 finite LPS coordinates in mm, got {lps!r}")
    return (np.linalg.inv(affine) @ np.append(point, 1.0))[:3]


# --------------------------------------------------------------------------- CT


def ct_patch(
    volume: Volume,
    center_lps: ArrayLike,
    *,
    size: int = 64,
    spacing_mm: float = 1.0,
    clip: tuple[float, float] = (-1000.0, 2000.0),
) -> np.ndarray:
    """Cut an isotropic CT patch around a vertebra centre, windowed to about [0, 1].

    The patch grid is aligned with the patient axes (see the module docstring), centred on
    ``center_lps`` at voxel ``size // 2`` on each axis, and sampled by trilinear
    interpolation from only the neighbourhood of the volume it covers. Points outside the
    volume read as the lower window bound (air). Intensities are clipped to ``clip`` HU
    and scaled linearly so that ``clip[0] -> 0`` and ``clip[1] -> 1``.

    Parameters
    ----------
    volume : Volume
        A CT volume in HU from :func:`load_series`.
    center_lps : array-like of 3 floats
        The annotated centre of the vertebral body in LPS mm.
    size : int
        Edge of the cubic patch in voxels.
    spacing_mm : float
        Isotropic voxel size of the patch.
    clip : (float, float)
        HU window; values outside are clipped before scaling.

    Returns
    -------
    np.ndarray
        ``(1, size, size, size)`` float32 in [0, 1].
    """
    low, high = (float(clip[0]), float(clip[1]))
    if not high > low:
        raise ValueError(f"clip must be (low, high) with high > low, got {clip}")
    if size < 1 or spacing_mm <= 0:
        raise ValueError(f"size and spacing_mm must be positive, got {size} and {spacing_mm}")
    center = np.asarray(center_lps, dtype=np.float64).reshape(-1)
    _inverse_point(volume.affine, center)  # validates the centre
    offsets = (np.arange(size, dtype=np.float64) - size // 2) * spacing_mm
    s, p, l_ = np.meshgrid(offsets, offsets, offsets, indexing="ij")
    lps = np.stack([l_ + center[0], p + center[1], s + center[2]])  # (3, size, size, size)
    values = _sample(volume, lps, cval=low, order=1)
    return window_ct(values, clip=(low, high))[np.newaxis]


def window_ct(hu: np.ndarray, *, clip: tuple[float, float] = (-1000.0, 2000.0)) -> np.ndarray:
    """Clip Hounsfield units to ``clip`` and scale linearly to [0, 1] (float32, a copy).

    The intensity step of :func:`ct_patch`, for patches already resampled elsewhere
    (e.g. the phantom patch data set).
    """
    low, high = float(clip[0]), float(clip[1])
    if not high > low:
        raise ValueError(f"clip must be (low, high) with high > low, got {clip}")
    out = np.clip(np.asarray(hu, dtype=np.float32), low, high)
    out -= low
    out /= high - low
    return out


def _sample(volume: Volume, lps: np.ndarray, *, cval: float, order: int) -> np.ndarray:
    """Interpolate ``volume`` at LPS points ``(3, *grid)``; reads only the needed box."""
    inverse = np.linalg.inv(volume.affine)
    grid_shape = lps.shape[1:]
    flat = lps.reshape(3, -1)
    ijk = inverse[:3, :3] @ flat + inverse[:3, 3:4]
    zyx = ijk[::-1]
    lower = np.floor(zyx.min(axis=1)).astype(int) - 1
    upper = np.ceil(zyx.max(axis=1)).astype(int) + 2
    lower = np.clip(lower, 0, np.array(volume.array.shape))
    upper = np.clip(upper, 0, np.array(volume.array.shape))
    if np.any(upper - lower < 1):
        return np.full(grid_shape, cval, dtype=np.float32)
    box = volume.array[lower[0] : upper[0], lower[1] : upper[1], lower[2] : upper[2]]
    local = zyx - lower[:, np.newaxis]
    out = ndimage.map_coordinates(
        np.ascontiguousarray(box, dtype=np.float32),
        local,
        order=order,
        mode="nearest",
        prefilter=False,
        output=np.float32,
    )
    # The box has a margin, so only the true volume edge is replicated, and only for the
    # half voxel next to it; farther out the patch reads ``cval``.
    shape = np.array(volume.array.shape)[:, np.newaxis]
    outside = np.any((zyx < -0.5) | (zyx > shape - 0.5), axis=0)
    out[outside] = cval
    return out.reshape(grid_shape)


# --------------------------------------------------------------------------- MRI


def mri_patch(
    t1: Volume,
    t2: Volume,
    center_lps: ArrayLike,
    *,
    size: int = 64,
    box_mm: float = 60.0,
) -> np.ndarray:
    """Stack the sagittal lesion slice and its neighbours from T1W and T2W: 6 channels.

    For each sequence, the slice nearest to ``center_lps`` along the series normal and the
    slices just before and after it (repeated at the edge of the series) are taken as
    they are (no through-plane interpolation: sagittal MRI slices are 3-4 mm thick). In
    each slice a square box of ``box_mm`` around the in-plane projection of the centre is
    resampled bilinearly to ``size x size``, oriented superior -> inferior down the rows
    and anterior -> posterior along the columns regardless of the series' own
    orientation; the neighbours are ordered right -> left in the patient, so a
    left-right flip of the patch is a reversal of the slice order. Each sequence is then z-scored over its three slices (mean 0, standard
    deviation 1), which keeps the contrast between neighbouring slices.

    Parameters
    ----------
    t1, t2 : Volume
        Sagittal T1-weighted and T2-weighted series of the same patient.
    center_lps : array-like of 3 floats
        The centre of the fractured vertebral body in LPS mm.
    size : int
        Output edge in pixels.
    box_mm : float
        Edge of the square box around the vertebra (a lumbar body is about 30 x 45 mm).

    Returns
    -------
    np.ndarray
        ``(6, size, size)`` float32: T1W slices -1, 0, +1 then T2W slices -1, 0, +1.
    """
    if box_mm <= 0 or size < 2:
        raise ValueError(f"box_mm and size must be positive, got {box_mm} and {size}")
    blocks = []
    for name, volume in (("T1W", t1), ("T2W", t2)):
        stack = _sagittal_slices(volume, center_lps, size=size, box_mm=box_mm, name=name)
        blocks.append(_zscore(stack))
    return np.concatenate(blocks).astype(np.float32, copy=False)


@dataclass(frozen=True)
class PatchPlane:
    """Where the pixels of an :func:`mri_patch` lie in the patient.

    Pixel ``(r, c)`` of each channel lies at ``origin_lps + (r * down + c * across) *
    pixel_mm`` (LPS mm) in the T1W slice nearest the centre; the patch stacks that slice and
    its neighbours, ``slice_step_mm`` apart along ``normal``.
    """

    origin_lps: np.ndarray  # LPS mm of the centre of pixel (0, 0)
    down: np.ndarray  # unit LPS vector along the rows (superior -> inferior)
    across: np.ndarray  # unit LPS vector along the columns (anterior -> posterior)
    normal: np.ndarray  # unit LPS vector of the slice normal
    pixel_mm: float
    slice_step_mm: float


def mri_patch_plane(t1: Volume, center_lps: ArrayLike, *, size: int = 64, box_mm: float = 60.0) -> PatchPlane:
    """The plane of the T1W slice that :func:`mri_patch` cuts around ``center_lps``, with its
    pixel grid: what a viewer needs to draw a map of the patch over its own images."""
    grid = _sagittal_grid(t1, center_lps, size=size, box_mm=box_mm, name="T1W")
    center_ijk, k_center = grid["center_ijk"], grid["k_center"]
    on_slice = (t1.affine @ np.array([center_ijk[0], center_ijk[1], k_center, 1.0]))[:3]
    first = float(grid["offsets"][0])
    step = t1.affine[:3, 2]
    return PatchPlane(
        origin_lps=on_slice + first * (grid["down"] + grid["across"]),
        down=grid["down"],
        across=grid["across"],
        normal=step / np.linalg.norm(step),
        pixel_mm=box_mm / size,
        slice_step_mm=float(np.linalg.norm(step)),
    )


def _sagittal_grid(
    volume: Volume, center_lps: ArrayLike, *, size: int, box_mm: float, name: str
) -> dict[str, Any]:
    """The sampling grid of :func:`mri_patch` in one series: the continuous (i, j) index of
    every output pixel, the slice nearest the centre and the rows' and columns' LPS unit
    vectors."""
    center_ijk = _inverse_point(volume.affine, center_lps)
    n_slices = volume.array.shape[0]
    k_center = round(float(center_ijk[2]))
    if not 0 <= k_center < n_slices:
        raise ValueError(
            f"{name}: the centre falls on slice {k_center}, outside the {n_slices} slices "
            "of the series"
        )
    # In-plane axes in index units, flipped so rows run S->I and columns A->P.
    row_axis = volume.affine[:3, 0] / np.linalg.norm(volume.affine[:3, 0])  # along i
    column_axis = volume.affine[:3, 1] / np.linalg.norm(volume.affine[:3, 1])  # along j
    posterior, inferior = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0])
    axes = [("i", row_axis, volume.spacing[2]), ("j", column_axis, volume.spacing[1])]
    across = max(axes, key=lambda a: abs(a[1] @ posterior))  # image columns: A->P
    down = next(a for a in axes if a is not across)  # image rows: S->I
    across_sign = np.sign(across[1] @ posterior) or 1.0
    down_sign = np.sign(down[1] @ inferior) or 1.0
    offsets = (np.arange(size) - (size - 1) / 2) * (box_mm / size)
    rows, columns = np.meshgrid(offsets, offsets, indexing="ij")
    index = {
        across[0]: center_ijk[0 if across[0] == "i" else 1] + across_sign * columns / across[2],
        down[0]: center_ijk[0 if down[0] == "i" else 1] + down_sign * rows / down[2],
    }
    return {"center_ijk": center_ijk, "k_center": k_center, "index": index, "offsets": offsets,
            "down": down_sign * down[1], "across": across_sign * across[1]}


def _sagittal_slices(
    volume: Volume, center_lps: ArrayLike, *, size: int, box_mm: float, name: str
) -> np.ndarray:
    grid = _sagittal_grid(volume, center_lps, size=size, box_mm=box_mm, name=name)
    index, k_center, n_slices = grid["index"], grid["k_center"], volume.array.shape[0]
    # Neighbours in patient order, right -> left, whatever the direction of the series.
    leftward = volume.affine[:3, 2] @ np.array([1.0, 0.0, 0.0]) >= 0
    slices = []
    for dk in (-1, 0, 1) if leftward else (1, 0, -1):
        k = min(max(k_center + dk, 0), n_slices - 1)
        plane = volume.array[k]
        slices.append(
            ndimage.map_coordinates(
                plane,
                np.stack([index["j"], index["i"]]),
                order=1,
                mode="nearest",
                output=np.float32,
            )
        )
    return np.stack(slices)


def _zscore(stack: np.ndarray) -> np.ndarray:
    std = float(stack.std())
    return (stack - stack.mean()) / (std if std > 1e-6 else 1.0)
