"""Weights and model card on disk: ``weights.pt`` (a state_dict) + ``model_card.json``.

The card says what the weights are (architecture and its arguments), what they expect
(modality, patch size, spacing, window, channels), what they output (classes and the
three-tier thresholds), what they were trained and validated on, and what they are for.
It carries two checksums:

* ``weights_sha256``: SHA-256 of the weights file, so a truncated, corrupt or swapped
  weights file is refused;
* ``card_sha256``: SHA-256 of the card's other fields (canonical JSON: sorted keys, no
  whitespace), so a hand-edited card (say, moved thresholds) is refused too.

Weights are read with ``torch.load(..., weights_only=True)``: no pickled code runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import monai
import torch
from torch import nn

from inference.networks import ARCHITECTURES, build_network

__all__ = [
    "CARD_FILE",
    "CLASSES",
    "WEIGHTS_FILE",
    "LoadedModel",
    "ModelLoadError",
    "card_checksum",
    "load_model",
    "save_model",
]

WEIGHTS_FILE = "weights.pt"
CARD_FILE = "model_card.json"
CLASSES = ("benign", "malignant")
CARD_FORMAT = 1

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "card_format": int,
    "name": str,
    "version": str,
    "architecture": str,
    "architecture_kwargs": dict,
    "modality": str,
    "input": dict,
    "classes": list,
    "thresholds": dict,
    "training_data": dict,
    "validation_metrics": dict,
    "intended_use": str,
    "created": str,
    "weights_file": str,
    "weights_sha256": str,
    "torch_version": str,
    "monai_version": str,
    "card_sha256": str,
}


class ModelLoadError(Exception):
    """A checkpoint that must not be used; the message names the file and the reason."""


@dataclass(frozen=True)
class LoadedModel:
    """A network in eval mode with the card that describes it."""

    network: nn.Module
    card: dict[str, Any]
    path: Path

    @property
    def architecture(self) -> str:
        return str(self.card["architecture"])

    @property
    def modality(self) -> str:
        return str(self.card["modality"])

    @property
    def thresholds(self) -> tuple[float, float]:
        """``(lower, upper)`` of the three-tier output."""
        return float(self.card["thresholds"]["lower"]), float(self.card["thresholds"]["upper"])

    @property
    def input_spec(self) -> dict[str, Any]:
        return dict(self.card["input"])


def card_checksum(card: Mapping[str, Any]) -> str:
    """SHA-256 of the card without its own ``card_sha256`` field, as canonical JSON."""
    body = {key: value for key, value in card.items() if key != "card_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_model(
    network: nn.Module,
    out_dir: Path | str,
    *,
    card: Mapping[str, Any],
    created: datetime | None = None,
) -> Path:
    """Write ``weights.pt`` and ``model_card.json`` into ``out_dir``.

    Parameters
    ----------
    network : nn.Module
        The trained network; its state_dict is saved (moved to the CPU).
    out_dir : path-like
        Directory, created if needed; existing files of the same names are replaced.
    card : mapping
        At least ``name``, ``version``, ``architecture``, ``architecture_kwargs``,
        ``input``, ``thresholds`` (``{"lower": .., "upper": ..}``), ``training_data``,
        ``validation_metrics`` and ``intended_use``. ``modality`` defaults to the
        architecture's; checksums, versions, classes and ``created`` are filled in.
    created : datetime, optional
        Creation time (timezone-aware); now in UTC when omitted.

    Returns
    -------
    Path
        The directory, loadable with :func:`load_model`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in network.state_dict().items()}, buffer)
    weights = buffer.getvalue()
    (out / WEIGHTS_FILE).write_bytes(weights)
    if created is None:
        created = datetime.fromtimestamp(time.time(), tz=UTC)
    elif created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    arch = ARCHITECTURES.get(str(card.get("architecture")))
    full: dict[str, Any] = {
        "card_format": CARD_FORMAT,
        "classes": list(CLASSES),
        "modality": arch.modality if arch else None,
        **dict(card),
        "created": created.isoformat(),
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "torch_version": torch.__version__,
        "monai_version": monai.__version__,
    }
    full = json.loads(json.dumps(full))  # plain JSON types, as the file will hold them
    full["card_sha256"] = card_checksum(full)
    problems = _card_problems(full)
    if problems:
        raise ValueError("the model card is incomplete: " + "; ".join(problems))
    (out / CARD_FILE).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    return out


def load_model(path: Path | str, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a checkpoint directory (or its ``model_card.json``) after verifying it.

    Checks, in order: the card is JSON with every field of the right type and sensible
    values; ``card_sha256`` matches the card; the weights file exists and its SHA-256
    matches ``weights_sha256``; ``torch.load(weights_only=True)`` reads a state_dict;
    the state_dict fits the card's architecture exactly.

    Parameters
    ----------
    path : path-like
        The checkpoint directory or the card file in it.
    device : str or torch.device
        Where to put the network.

    Returns
    -------
    LoadedModel
        The network in eval mode and the card.

    Raises
    ------
    ModelLoadError
        On any failed check, naming the file and the reason.
    """
    path = Path(path)
    card_path = path / CARD_FILE if path.is_dir() else path
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{card_path}: model card not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{card_path}: not a readable JSON model card ({exc})") from exc
    if not isinstance(card, dict):
        raise ModelLoadError(f"{card_path}: the model card must be a JSON object")
    problems = _card_problems(card)
    if problems:
        raise ModelLoadError(f"{card_path}: invalid model card: " + "; ".join(problems))
    if card_checksum(card) != card["card_sha256"]:
        raise ModelLoadError(
            f"{card_path}: the card was modified after it was written (card_sha256 does not "
            "match its content); retrain or restore the original card"
        )

    weights_path = card_path.parent / card["weights_file"]
    try:
        data = weights_path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"{weights_path}: weights file cannot be read ({exc})") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != card["weights_sha256"]:
        raise ModelLoadError(
            f"{weights_path}: SHA-256 {digest[:12]}... does not match the card's "
            f"{card['weights_sha256'][:12]}...; the file is corrupt, truncated or not the "
            "one the card describes"
        )
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad archive
        raise ModelLoadError(f"{weights_path}: not a readable weights file ({exc})") from exc
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ModelLoadError(f"{weights_path}: does not hold a state_dict of tensors")
    try:
        network = build_network(card["architecture"], **card["architecture_kwargs"])
    except ValueError as exc:
        raise ModelLoadError(f"{card_path}: {exc}") from exc
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelLoadError(
            f"{weights_path}: the weights do not fit architecture {card['architecture']!r} "
            f"with {card['architecture_kwargs']} ({str(exc).splitlines()[0]})"
        ) from exc
    network.to(device).eval()
    return LoadedModel(network=network, card=card, path=card_path.parent)


def _card_problems(card: Mapping[str, Any]) -> list[str]:
    """Everything wrong with a card, as short sentences naming the field."""
    problems = []
    for key, kind in _REQUIRED.items():
        if key not in card:
            problems.append(f"{key} is missing")
        elif not isinstance(card[key], kind) or isinstance(card[key], bool):
            problems.append(f"{key} must be {getattr(kind, '__name__', kind)}")
    if problems:
        return problems
    if card["card_format"] != CARD_FORMAT:
        problems.append(f"card_format {card['card_format']} is not supported ({CARD_FORMAT})")
    if not card["name"].strip() or not card["version"].strip():
        problems.append("name and version must not be empty")
    arch = ARCHITECTURES.get(card["architecture"])
    if arch is None:
        problems.append(f"architecture {card['architecture']!r} is unknown")
    elif card["modality"] != arch.modality:
        problems.append(
            f"modality {card['modality']!r} does not match architecture "
            f"{card['architecture']!r} ({arch.modality})"
        )
    if card["classes"] != list(CLASSES):
        problems.append(f"classes must be {list(CLASSES)}")
    problems.extend(_threshold_problems(card["thresholds"]))
    for key in ("kind", "patch_size", "channels"):
        if key not in card["input"]:
            problems.append(f"input.{key} is missing")
    if "/" in card["weights_file"] or "\\" in card["weights_file"]:
        problems.append("weights_file must be a file name next to the card")
    for key in ("weights_sha256", "card_sha256"):
        if not _SHA256.match(card[key]):
            problems.append(f"{key} must be 64 lowercase hex digits")
    return problems


def _threshold_problems(thresholds: Mapping[str, Any]) -> list[str]:
    try:
        lower, upper = float(thresholds["lower"]), float(thresholds["upper"])
    except (KeyError, TypeError, ValueError):
        return ["thresholds must hold numbers 'lower' and 'upper'"]
    if not 0.0 <= lower <= upper <= 1.0:
        return [f"thresholds must satisfy 0 <= lower <= upper <= 1, got {lower}, {upper}"]
    return []
