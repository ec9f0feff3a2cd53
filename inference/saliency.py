"""Where the model looked: Grad-CAM maps of a patch, and the small overlay images that
trainees see after their own read.

The worker makes them with the prediction (``readerstudy.predictions.worker``) and the app
stores them, so that showing them loads no network.
"""

from __future__ import annotations

import base64
import io
import weakref
import zlib
from copy import deepcopy
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from monai.visualize import GradCAM
from PIL import Image
from torch import nn

from inference.checkpoint import LoadedModel
from inference.networks import ARCHITECTURES
from inference.predict import check_patches, select_device
from inference.preprocess import PatchPlane

__all__ = [
    "METHOD",
    "VOLUME_ENCODING",
    "heat_plane",
    "heat_volume",
    "heat_volume_decode",
    "saliency",
    "saliency_views",
]

#: The method named beside the maps wherever they are shown.
METHOD = "Grad-CAM"
_HEAT_ALPHA = 0.55

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
    check_patches(model, patch[np.newaxis])
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


def saliency_views(
    model: LoadedModel, patch: np.ndarray, *, device: str | torch.device | None = None,
    heat: np.ndarray | None = None,
) -> list[dict[str, str]]:
    """Grad-CAM over the patch as small PNGs (data URIs), one per view.

    CT ``(1, S, P, L)``: axial, sagittal and coronal planes through the vertebra centre,
    superior up, anterior up (axial) or left (sagittal), the patient's right on the
    image's left. MRI ``(6, S, P)``: the lesion slice of T1W and of T2W, superior up and
    anterior left. The heat map (0..1) is blended over the grey image.

    Returns
    -------
    list of dict
        ``{"view": name, "png": "data:image/png;base64,..."}`` per view.
    """
    if heat is None:
        heat = saliency(model, patch, device=device)
    if patch.ndim == 4:  # CT: (1, S, P, L) with S running inferior -> superior
        volume, centre = patch[0], np.array(patch.shape[1:]) // 2
        planes = {
            "axial": (volume[centre[0]], heat[centre[0]]),
            "sagittal": (volume[::-1, :, centre[2]], heat[::-1, :, centre[2]]),
            "coronal": (volume[::-1, centre[1], :], heat[::-1, centre[1], :]),
        }
    else:  # MRI: T1W slices -1, 0, +1 then T2W; rows already superior -> inferior
        planes = {"sagittal T1W": (patch[1], heat), "sagittal T2W": (patch[4], heat)}
    return [{"view": name, "png": _overlay_png(image, weight)} for name, (image, weight) in planes.items()]


def _overlay_png(image: np.ndarray, heat: np.ndarray) -> str:
    low, high = np.percentile(image, [1, 99])
    grey = np.clip((image - low) / ((high - low) or 1.0), 0.0, 1.0)[..., np.newaxis]
    colour = colormaps["inferno"](np.clip(heat, 0.0, 1.0))[..., :3]
    alpha = _HEAT_ALPHA * np.clip(heat, 0.0, 1.0)[..., np.newaxis]
    rgb = (grey * (1 - alpha) + colour * alpha) * 255
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb.round().astype(np.uint8))).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


#: How :func:`heat_volume` writes the map: unsigned bytes (0..255 for 0..1), C order,
#: compressed with zlib (RFC 1950, what the browser's ``DecompressionStream("deflate")``
#: reads) and written in base64.
VOLUME_ENCODING = "uint8-zlib-base64"


def heat_volume(heat: np.ndarray, *, center_lps: Any, spacing_mm: float) -> dict[str, Any]:
    """A CT patch's Grad-CAM map with where it lies in the patient, so that a viewer can draw
    it over its own images at their resolution (sampled at each screen pixel).

    The patch convention of :func:`inference.preprocess.ct_patch`: ``heat[s, p, l]`` lies at
    ``center + (l - size//2, p - size//2, s - size//2) * spacing_mm`` in LPS millimetres (axis 0
    inferior -> superior, 1 anterior -> posterior, 2 right -> left).

    Returns
    -------
    dict
        ``shape`` (S, P, L); ``origin_lps``: LPS mm of voxel (0, 0, 0), as (x, y, z);
        ``spacing_mm``; ``axes`` "SPL"; ``encoding`` :data:`VOLUME_ENCODING`; ``data``.
    """
    heat = np.asarray(heat, dtype=np.float32)
    if heat.ndim != 3:
        raise ValueError(f"a CT heat map is 3-D (S, P, L), got shape {heat.shape}")
    center = np.asarray(center_lps, dtype=np.float64).reshape(3)
    half = np.array(heat.shape[::-1]) // 2  # (L, P, S) = (x, y, z) voxel of the centre
    origin = center - half * float(spacing_mm)
    quantised = np.round(np.clip(heat, 0.0, 1.0) * 255).astype(np.uint8)
    return {
        "shape": [int(n) for n in heat.shape],
        "origin_lps": [float(v) for v in origin],
        "spacing_mm": float(spacing_mm),
        "axes": "SPL",
        "encoding": VOLUME_ENCODING,
        "data": base64.b64encode(zlib.compress(np.ascontiguousarray(quantised).tobytes(), 6)).decode("ascii"),
    }


def heat_plane(heat: np.ndarray, *, plane: PatchPlane) -> dict[str, Any]:
    """An MRI patch's Grad-CAM map (a 2-D network: one map for the patch's slices) with where
    it lies in the patient, in the form of :func:`heat_volume` with its axes given explicitly.

    The map lies in the plane of the patch's centre T1W slice (:func:`inference.preprocess.
    mri_patch_plane`) and covers the slab of the three slices the patch stacks: ``heat[r, c]``
    is at ``origin_lps + r * pixel_mm * down + c * pixel_mm * across``, and a viewer paints it
    on any image within half the slab (1.5 slice steps) of that plane.

    Returns
    -------
    dict
        ``shape`` (1, rows, columns); ``origin_lps``; ``spacing_mm`` per axis (slab thickness,
        pixel, pixel); ``directions``: LPS unit vectors of the axes (slice normal, rows,
        columns); ``axes`` "NRC"; ``encoding`` :data:`VOLUME_ENCODING`; ``data``.
    """
    heat = np.asarray(heat, dtype=np.float32)
    if heat.ndim != 2:
        raise ValueError(f"an MRI heat map is 2-D (rows, columns), got shape {heat.shape}")
    quantised = np.round(np.clip(heat, 0.0, 1.0) * 255).astype(np.uint8)
    return {
        "shape": [1, *(int(n) for n in heat.shape)],
        "origin_lps": [float(v) for v in plane.origin_lps],
        "spacing_mm": [3.0 * plane.slice_step_mm, plane.pixel_mm, plane.pixel_mm],
        "directions": [[float(v) for v in axis] for axis in (plane.normal, plane.down, plane.across)],
        "axes": "NRC",
        "encoding": VOLUME_ENCODING,
        "data": base64.b64encode(zlib.compress(np.ascontiguousarray(quantised).tobytes(), 6)).decode("ascii"),
    }


def heat_volume_decode(volume: dict[str, Any]) -> np.ndarray:
    """The map of :func:`heat_volume` or :func:`heat_plane` as float32 0..1 in its ``shape``
    (for tests and scripts)."""
    if volume.get("encoding") != VOLUME_ENCODING:
        raise ValueError(f"unknown encoding {volume.get('encoding')!r}")
    raw = zlib.decompress(base64.b64decode(volume["data"]))
    return np.frombuffer(raw, dtype=np.uint8).reshape(volume["shape"]).astype(np.float32) / 255.0
