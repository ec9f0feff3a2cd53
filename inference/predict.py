"""Probabilities of malignancy: patches of a case through the network, and a case read from
DICOM files to its probability and three-tier call (the rules of which are
:mod:`inference.postprocess`'s)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
from numpy.typing import ArrayLike

from inference.checkpoint import LoadedModel
from inference.postprocess import TIER_LABELS, case_probability, three_tier
from inference.preprocess import (
    PatchPlane,
    ct_patch,
    load_series,
    load_series_around,
    mri_patch,
    mri_patch_plane,
)

__all__ = [
    "CasePrediction",
    "case_patches",
    "case_patches_placed",
    "check_patches",
    "predict_case",
    "predict_patches",
    "select_device",
]

@dataclass(frozen=True)
class CasePrediction:
    """The model's reading of one case.

    Attributes
    ----------
    probability : float
        Probability of malignancy, 0..1.
    tier : str
        Three-tier code (:func:`inference.postprocess.three_tier`).
    runtime_s : float
        Wall time from DICOM files to probability, seconds.
    patch_probabilities : tuple of float
        The probability of each patch the case was read from (one for CT; the lesion
        slice and its two neighbours for MRI).
    """

    probability: float
    tier: str
    runtime_s: float
    patch_probabilities: tuple[float, ...] = ()

    @property
    def tier_label(self) -> str:
        return TIER_LABELS[self.tier]


def select_device(device: str | torch.device | None = None) -> torch.device:
    """The requested device, else CUDA when available, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def predict_patches(
    model: LoadedModel,
    patches: np.ndarray,
    *,
    batch_size: int = 32,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Probabilities of malignancy for a stack of preprocessed patches.

    Parameters
    ----------
    model : LoadedModel
        From :func:`inference.checkpoint.load_model`; its network is moved to ``device``.
    patches : np.ndarray
        ``(n, channels, *patch_size)`` as the card's input specification says.
    batch_size : int
        Patches per forward pass.
    device : str or torch.device, optional
        CUDA when available, else the CPU.

    Returns
    -------
    np.ndarray
        ``(n,)`` float64, softmax probability of the ``malignant`` class.
    """
    patches = np.asarray(patches, dtype=np.float32)
    check_patches(model, patches)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    target = select_device(device)
    network = model.network.to(target).eval()
    out = np.empty(len(patches), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, len(patches), batch_size):
            batch = torch.from_numpy(patches[start : start + batch_size]).to(target)
            logits = network(batch)
            out[start : start + len(batch)] = torch.softmax(logits.float(), dim=1)[:, 1].cpu()
    return out


def check_patches(model: LoadedModel, patches: np.ndarray) -> None:
    """Refuse patches whose shape is not ``(n, *input)`` of the card, or that are not finite."""
    spec = model.input_spec
    expected = (len(spec["channels"]), *(int(s) for s in spec["patch_size"]))
    if patches.ndim != len(expected) + 1 or patches.shape[1:] != expected:
        raise ValueError(
            f"patches must have shape (n, {', '.join(map(str, expected))}) for model "
            f"{model.card['name']!r}, got {patches.shape}"
        )
    if not np.all(np.isfinite(patches)):
        raise ValueError("patches contain NaN or infinite values")


def case_patches(
    model: LoadedModel,
    series: Mapping[str, Sequence[Path | str]],
    center_lps: ArrayLike,
) -> np.ndarray:
    """Preprocess one case as the model card specifies; ``(n, channels, *patch_size)``.

    CT reads ``series["axial"]`` and cuts one patch (only the slices the patch touches are
    decoded). MRI reads ``series["t1w"]`` and ``series["t2w"]`` and builds three 6-channel
    patches, centred on the lesion slice and on each of its neighbours (the centre moved
    by one T1W slice step along the T1W normal), which
    :func:`inference.postprocess.case_probability` reads as one case.
    """
    return case_patches_placed(model, series, center_lps)[0]


def case_patches_placed(
    model: LoadedModel,
    series: Mapping[str, Sequence[Path | str]],
    center_lps: ArrayLike,
) -> tuple[np.ndarray, list[PatchPlane | None]]:
    """:func:`case_patches` and, per patch, the plane an MRI patch lies in
    (:func:`inference.preprocess.mri_patch_plane`; None for CT, whose patch is placed by the
    centre and the card's spacing), so that a map of the patch can be drawn in the patient."""
    spec = model.input_spec
    center = np.asarray(center_lps, dtype=np.float64).reshape(-1)
    if spec["kind"] == "ct_patch":
        size = int(spec["patch_size"][0])
        spacing = float(spec["spacing_mm"])
        volume = load_series_around(
            _series(series, "axial"), center, half_size_mm=size / 2 * spacing
        )
        # The preprocessing spec's window_hu is [low, high].
        window = cast(tuple[float, float], tuple(float(v) for v in spec["window_hu"]))
        patch = ct_patch(volume, center, size=size, spacing_mm=spacing, clip=window)
        return patch[np.newaxis], [None]
    if spec["kind"] == "mri_patch":
        t1 = load_series(_series(series, "t1w"))
        t2 = load_series(_series(series, "t2w"))
        step = t1.affine[:3, 2]
        size, box = int(spec["patch_size"][0]), float(spec["box_mm"])
        centers = [center + shift * step for shift in (-1, 0, 1)]
        patches = np.stack([mri_patch(t1, t2, c, size=size, box_mm=box) for c in centers])
        return patches, [mri_patch_plane(t1, c, size=size, box_mm=box) for c in centers]
    raise ValueError(f"unknown input kind {spec['kind']!r} in the card of {model.card['name']!r}")


def _series(series: Mapping[str, Sequence[Path | str]], role: str) -> Sequence[Path | str]:
    if role not in series or not series[role]:
        raise ValueError(f"the case needs a {role!r} series; it has {sorted(series)}")
    return series[role]


def predict_case(
    model: LoadedModel,
    series: Mapping[str, Sequence[Path | str]],
    center_lps: ArrayLike,
    *,
    device: str | torch.device | None = None,
) -> CasePrediction:
    """Read one fracture from DICOM files: probability, three-tier code, runtime.

    Parameters
    ----------
    model : LoadedModel
        A CT model (``series["axial"]``) or an MRI model (``series["t1w"]`` and
        ``series["t2w"]``).
    series : mapping of role -> DICOM file paths
        The case's series by role.
    center_lps : array-like of 3 floats
        The annotated centre of the fractured vertebral body, LPS mm.
    device : str or torch.device, optional
        CUDA when available, else the CPU.

    Returns
    -------
    CasePrediction
        For MRI the probability is the highest of the three slice-centred patches
        (:func:`inference.postprocess.case_probability`).
    """
    started = time.perf_counter()
    patches = case_patches(model, series, center_lps)
    probabilities = predict_patches(model, patches, device=device)
    probability, _ = case_probability(probabilities)
    lower, upper = model.thresholds
    return CasePrediction(
        probability=probability,
        tier=three_tier(probability, lower, upper),
        runtime_s=time.perf_counter() - started,
        patch_probabilities=tuple(float(p) for p in probabilities),
    )
