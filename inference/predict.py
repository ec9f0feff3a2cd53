"""Probabilities of malignancy, the three-tier call, and Grad-CAM saliency."""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.visualize import GradCAM
from numpy.typing import ArrayLike
from torch import nn

from inference.checkpoint import LoadedModel
from inference.networks import ARCHITECTURES
from inference.preprocess import ct_patch, load_series, load_series_around, mri_patch

__all__ = [
    "TIER_BENIGN",
    "TIER_LABELS",
    "TIER_MALIGNANT",
    "TIER_UNCERTAIN",
    "CasePrediction",
    "case_patches",
    "predict_case",
    "predict_patches",
    "saliency",
    "select_device",
    "three_tier",
]

TIER_BENIGN = "benign"
TIER_UNCERTAIN = "uncertain"
TIER_MALIGNANT = "malignant"
#: Display labels of the three-tier codes.
TIER_LABELS: dict[str, str] = {
    TIER_BENIGN: "definitely benign",
    TIER_UNCERTAIN: "uncertain - recommend MRI",
    TIER_MALIGNANT: "definitely malignant",
}


@dataclass(frozen=True)
class CasePrediction:
    """The model's reading of one case.

    Attributes
    ----------
    probability : float
        Probability of malignancy, 0..1.
    tier : str
        Three-tier code (:data:`TIER_BENIGN`, :data:`TIER_UNCERTAIN`, :data:`TIER_MALIGNANT`).
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


def three_tier(prob: float, lower: float, upper: float) -> str:
    """Map a probability of malignancy to a three-tier code.

    ``prob < lower`` is definitely benign, ``prob >= upper`` definitely malignant, the
    band in between uncertain (recommend MRI). With ``lower == upper`` this is a plain
    binary call at that threshold.

    Returns
    -------
    str
        :data:`TIER_BENIGN`, :data:`TIER_UNCERTAIN` or :data:`TIER_MALIGNANT`; the display
        text is ``TIER_LABELS[code]``.
    """
    if not 0.0 <= lower <= upper <= 1.0:
        raise ValueError(f"thresholds must satisfy 0 <= lower <= upper <= 1, got {lower}, {upper}")
    if not 0.0 <= prob <= 1.0:  # also refuses NaN
        raise ValueError(f"a probability must lie in [0, 1], got {prob}")
    if prob < lower:
        return TIER_BENIGN
    if prob >= upper:
        return TIER_MALIGNANT
    return TIER_UNCERTAIN


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
    _check_patches(model, patches)
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


def _check_patches(model: LoadedModel, patches: np.ndarray) -> None:
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
    by one T1W slice step along the T1W normal), for :func:`predict_case` to take the
    highest of their probabilities.
    """
    spec = model.input_spec
    center = np.asarray(center_lps, dtype=np.float64).reshape(-1)
    if spec["kind"] == "ct_patch":
        size = int(spec["patch_size"][0])
        spacing = float(spec["spacing_mm"])
        volume = load_series_around(
            _series(series, "axial"), center, half_size_mm=size / 2 * spacing
        )
        window = tuple(float(v) for v in spec["window_hu"])
        patch = ct_patch(volume, center, size=size, spacing_mm=spacing, clip=window)
        return patch[np.newaxis]
    if spec["kind"] == "mri_patch":
        t1 = load_series(_series(series, "t1w"))
        t2 = load_series(_series(series, "t2w"))
        step = t1.affine[:3, 2]
        size, box = int(spec["patch_size"][0]), float(spec["box_mm"])
        return np.stack(
            [
                mri_patch(t1, t2, center + shift * step, size=size, box_mm=box)
                for shift in (-1, 0, 1)
            ]
        )
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
        For MRI the probability is the highest of the three slice-centred patches (the
        per-patient rule of the published ResNet50 model).
    """
    started = time.perf_counter()
    patches = case_patches(model, series, center_lps)
    probabilities = predict_patches(model, patches, device=device)
    probability = float(probabilities.max())
    lower, upper = model.thresholds
    return CasePrediction(
        probability=probability,
        tier=three_tier(probability, lower, upper),
        runtime_s=time.perf_counter() - started,
        patch_probabilities=tuple(float(p) for p in probabilities),
    )


# One Grad-CAM per loaded network, on a private copy: MONAI's hooks stay off the network
# that predict_patches uses, and are registered once rather than at every call.
_CAMS: weakref.WeakKeyDictionary[nn.Module, GradCAM] = weakref.WeakKeyDictionary()


def saliency(
    model: LoadedModel,
    patch: np.ndarray,
    *,
    class_index: int | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Grad-CAM map of one patch, upsampled to the patch and scaled to 0..1.

    Parameters
    ----------
    model : LoadedModel
        The model whose evidence to show.
    patch : np.ndarray
        One preprocessed patch ``(channels, *patch_size)``.
    class_index : int, optional
        0 (benign) or 1 (malignant); the predicted class when omitted.
    device : str or torch.device, optional
        CUDA when available, else the CPU.

    Returns
    -------
    np.ndarray
        ``patch_size`` float32 in [0, 1], 1 where the evidence is strongest (all zeros when
        the map is flat).

    References
    ----------
    Selvaraju R. R. et al., "Grad-CAM: visual explanations from deep networks via
    gradient-based localization", ICCV 2017, doi:10.1109/ICCV.2017.74
    (``monai.visualize.GradCAM``).
    """
    patch = np.asarray(patch, dtype=np.float32)
    _check_patches(model, patch[np.newaxis])
    if class_index not in (None, 0, 1):
        raise ValueError(f"class_index must be 0, 1 or None, got {class_index}")
    target = select_device(device)
    cam = _CAMS.get(model.network)
    if cam is None:
        copy = deepcopy(model.network).eval()
        layer = ARCHITECTURES[model.architecture].cam_layer
        cam = GradCAM(nn_module=copy, target_layers=layer, postprocessing=_identity)
        _CAMS[model.network] = cam
    cam.nn_module.model.to(target)
    x = torch.from_numpy(patch[np.newaxis]).to(target).requires_grad_(True)
    with torch.enable_grad():
        raw = cam(x, class_idx=class_index)
    heat = raw[0, 0].detach().float().cpu().numpy()
    low, high = float(heat.min()), float(heat.max())
    if not np.isfinite(high - low) or high - low <= 1e-12:
        return np.zeros_like(heat, dtype=np.float32)
    return ((heat - low) / (high - low)).astype(np.float32)


def _identity(x: Any) -> Any:
    return x
