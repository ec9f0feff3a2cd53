"""Cross-validated training with patient-level folds, threshold choice and a checkpoint.

The recipe of the published models: Adam (lr 1e-4), batch 32, cross-entropy, k-fold
cross-validation with folds grouped by patient, early stopping on the validation loss
and the best epoch kept per fold; augmentation by left-right flip, rotation of +/-10
degrees in the sagittal plane, random zoom and elastic grid distortion (MONAI).

After the folds:

* the three-tier thresholds are chosen on the pooled out-of-fold probabilities
  (:func:`choose_thresholds`);
* the final model is the fold model with the lowest best validation loss (the "best
  model" of the published CT study); its card records the pooled out-of-fold metrics
  and that fold's own validation AUC.

Everything is seeded: the same inputs and seed on the same machine give the same
weights.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from monai.data import MetaTensor
from monai.transforms import (
    Compose,
    RandFlip,
    RandGridDistortion,
    RandomizableTransform,
    RandRotate,
    RandZoom,
)
from numpy.typing import ArrayLike
from torch import nn

from inference.checkpoint import save_model
from inference.networks import ARCHITECTURES, build_network
from inference.predict import select_device
from inference.preprocess import CT_INPUT_SPEC, MRI_INPUT_SPEC
from inference.report import write_training_report
from readerstudy.stats.roc import roc_auc

__all__ = [
    "FoldHistory",
    "TrainResult",
    "augmentation",
    "choose_thresholds",
    "patient_folds",
    "train",
]

_SAGITTAL_ROTATION = math.radians(10.0)
_DEFAULT_INTENDED_USE = (
    "Research use in blinded reader studies: a second reader that estimates the "
    "probability that a thoracolumbar vertebral fracture is malignant rather than "
    "osteoporotic. Not a medical device; not for clinical decisions."
)


@dataclass(frozen=True)
class FoldHistory:
    """Losses of one cross-validation fold, one value per epoch run."""

    fold: int
    train_loss: list[float]
    val_loss: list[float]
    best_epoch: int  # 0-based index into the lists
    n_train: int
    n_val: int
    val_auc: float | None  # None when the fold holds one class only

    @property
    def best_val_loss(self) -> float:
        return self.val_loss[self.best_epoch]


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` produced.

    Attributes
    ----------
    model_dir : Path
        Checkpoint directory (``weights.pt``, ``model_card.json``).
    report_dir : Path
        Training report (``loss_curves.png``, ``roc.png``, ``report.json``).
    card : dict
        The model card as written.
    folds : tuple of FoldHistory
        Per-fold loss curves.
    fold_of : np.ndarray
        Validation fold of each input patch.
    oof_probabilities : np.ndarray
        Out-of-fold probability of malignancy of each input patch.
    thresholds : (float, float)
        ``(lower, upper)`` of the three-tier output.
    best_fold : int
        Fold whose model was saved.
    seconds : float
        Wall time of the whole run.
    """

    model_dir: Path
    report_dir: Path
    card: dict[str, Any]
    folds: tuple[FoldHistory, ...]
    fold_of: np.ndarray
    oof_probabilities: np.ndarray
    thresholds: tuple[float, float]
    best_fold: int
    seconds: float


# --------------------------------------------------------------------------- folds


def patient_folds(
    labels: ArrayLike, patient_ids: ArrayLike, folds: int, *, seed: int
) -> np.ndarray:
    """Assign every sample to a fold so that no patient is in two folds.

    Patients are stratified by their label (malignant if any of their samples is) and
    dealt round-robin in a seeded random order, so each fold gets about the same number
    of benign and malignant patients.

    Returns
    -------
    np.ndarray
        ``(n,)`` int, the fold (0..folds-1) of each sample.
    """
    labels = np.asarray(labels)
    patient_ids = np.asarray(patient_ids)
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    patients = np.unique(patient_ids)
    if len(patients) < folds:
        raise ValueError(f"{len(patients)} patients cannot fill {folds} folds")
    rng = np.random.default_rng(seed)
    patient_label = {p: int(labels[patient_ids == p].max()) for p in patients}
    order = [
        p
        for label in (0, 1)
        for p in rng.permutation([p for p in patients if patient_label[p] == label])
    ]
    fold_of_patient = {p: i % folds for i, p in enumerate(order)}
    return np.array([fold_of_patient[p] for p in patient_ids], dtype=int)


# --------------------------------------------------------------------------- thresholds


def choose_thresholds(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    min_sensitivity: float = 0.95,
    min_specificity: float = 0.95,
) -> tuple[float, float]:
    """Three-tier thresholds from validation probabilities.

    ``lower`` is the highest threshold that calls at most ``1 - min_sensitivity`` of the
    malignant fractures "definitely benign" (``p < lower``); ``upper`` the lowest that
    calls at most ``1 - min_specificity`` of the benign fractures "definitely malignant"
    (``p >= upper``). Each is placed halfway between the two neighbouring observed
    probabilities, so it is not fitted to one case. When the two cross, one threshold
    between them meets both targets and both are set to their midpoint (no uncertain
    band).

    Parameters
    ----------
    probabilities, labels : array-like
        Pooled out-of-fold probabilities of malignancy and labels (1 = malignant).
    min_sensitivity, min_specificity : float
        Targets on the malignant and the benign side.

    Returns
    -------
    (float, float)
        ``(lower, upper)`` with ``0 <= lower <= upper <= 1``.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError("probabilities and labels must be 1-D arrays of the same length")
    if not (np.any(y == 1) and np.any(y == 0)):
        raise ValueError("thresholds need validation cases of both classes")
    values = np.unique(p)
    malignant = np.sort(p[y == 1])
    benign = np.sort(p[y == 0])[::-1]
    misses = math.floor((1.0 - min_sensitivity) * len(malignant) + 1e-9)
    false_alarms = math.floor((1.0 - min_specificity) * len(benign) + 1e-9)

    if misses >= len(malignant):
        lower = 1.0
    else:
        anchor = malignant[misses]  # p < lower must exclude this one
        below = values[values < anchor]
        lower = (below[-1] + anchor) / 2 if len(below) else anchor / 2
    if false_alarms >= len(benign):
        upper = 0.0
    else:
        anchor = benign[false_alarms]  # p >= upper must exclude this one
        above = values[values > anchor]
        upper = (above[0] + anchor) / 2 if len(above) else (1.0 + anchor) / 2
    if lower > upper:
        lower = upper = (lower + upper) / 2
    return float(lower), float(upper)


# --------------------------------------------------------------------------- augmentation


class _RandSliceOrderFlip(RandomizableTransform):
    """Left-right flip of a sagittal MRI patch: reverse the slice order per sequence.

    The channels are (T1W right, lesion, left, T2W right, lesion, left); mirroring the
    patient swaps the neighbours and leaves the in-plane images unchanged.
    """

    def __init__(self, prob: float, slices_per_sequence: int = 3) -> None:
        RandomizableTransform.__init__(self, prob)
        self.slices = slices_per_sequence

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        self.randomize(None)
        if not self._do_transform:
            return img
        n = img.shape[0]
        order = [
            block + self.slices - 1 - s
            for block in range(0, n, self.slices)
            for s in range(self.slices)
        ]
        return img[order]


def augmentation(modality: str, *, prob: float = 0.5) -> Compose:
    """The protocol's augmentations as a MONAI ``Compose`` for one patch ``(C, *spatial)``.

    CT patches ``(1, S, P, L)``: flip along L, rotation of up to 10 degrees in the S-P
    (sagittal) plane, zoom 0.9-1.1, grid distortion (4 cells, 5%). MRI patches
    ``(6, S, P)``: slice-order flip (left-right), in-plane rotation of up to 10 degrees,
    zoom, grid distortion. Each is applied with probability ``prob``.
    """
    if modality == "CT":
        transforms = [
            RandFlip(prob=prob, spatial_axis=2),
            # MONAI's range_z turns in the plane of array axes 0 and 1: here S and P.
            RandRotate(range_z=_SAGITTAL_ROTATION, prob=prob, padding_mode="border"),
        ]
    elif modality == "MR":
        transforms = [
            _RandSliceOrderFlip(prob=prob),
            RandRotate(range_x=_SAGITTAL_ROTATION, prob=prob, padding_mode="border"),
        ]
    else:
        raise ValueError(f"modality must be 'CT' or 'MR', got {modality!r}")
    transforms += [
        RandZoom(prob=prob, min_zoom=0.9, max_zoom=1.1, keep_size=True, padding_mode="edge"),
        RandGridDistortion(num_cells=4, distort_limit=0.05, prob=prob, padding_mode="border"),
    ]
    return Compose(transforms)


# --------------------------------------------------------------------------- training


def train(
    patches: np.ndarray,
    labels: ArrayLike,
    patient_ids: ArrayLike,
    *,
    arch: str,
    out_dir: Path | str,
    folds: int = 5,
    max_epochs: int = 30,
    lr: float = 1e-4,
    batch_size: int = 32,
    patience: int = 5,
    seed: int = 0,
    arch_kwargs: Mapping[str, Any] | None = None,
    card_extra: Mapping[str, Any] | None = None,
    augment: bool = True,
    device: str | torch.device | None = None,
    created: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train with patient-grouped k-fold cross-validation and write checkpoint and report.

    Parameters
    ----------
    patches : np.ndarray
        ``(n, channels, *patch_size)`` float32 made with the default settings of
        :mod:`inference.preprocess` (:func:`~inference.preprocess.ct_patch` or
        :func:`~inference.preprocess.window_ct` for CT, :func:`~inference.preprocess.mri_patch`
        for MRI): the card records those settings as the model's input specification.
    labels : array-like
        ``(n,)`` 0 = benign, 1 = malignant.
    patient_ids : array-like
        ``(n,)`` patient of each patch; folds never split a patient.
    arch : str
        Architecture name (:data:`inference.networks.ARCHITECTURES`).
    out_dir : path-like
        Checkpoint goes here, the report into ``out_dir / "report"``.
    folds, max_epochs, lr, batch_size, patience, seed
        Cross-validation and optimisation settings (defaults: the protocol's).
    arch_kwargs : mapping, optional
        Network arguments (e.g. ``{"channels": [8, 16, 32, 64]}``), recorded in the card.
    card_extra : mapping, optional
        Card fields to add or override: ``name``, ``version``, ``intended_use``,
        ``training_data`` (merged, e.g. ``{"note": "trained on synthetic phantoms; no
        clinical meaning"}``), ``thresholds`` (e.g. a fixed 0.5 for the MRI model).
    augment : bool
        Apply :func:`augmentation` to training batches.
    device : str or torch.device, optional
        CUDA when available, else the CPU.
    created : datetime, optional
        Timestamp for the card (now when omitted).
    progress : callable, optional
        Receives one line per epoch.

    Returns
    -------
    TrainResult
    """
    started = time.perf_counter()
    x = np.ascontiguousarray(patches, dtype=np.float32)
    y = np.asarray(labels).astype(np.int64)
    groups = np.asarray(patient_ids)
    spec = ARCHITECTURES.get(arch)
    if spec is None:
        raise ValueError(
            f"unknown architecture {arch!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        )
    if not (len(x) == len(y) == len(groups)):
        raise ValueError(
            f"patches, labels and patient_ids differ in length: {len(x)}, {len(y)}, {len(groups)}"
        )
    if not set(np.unique(y)) <= {0, 1} or len(np.unique(y)) < 2:
        raise ValueError("labels must be 0 (benign) and 1 (malignant), with both present")
    if not np.all(np.isfinite(x)):
        raise ValueError("patches contain NaN or infinite values")
    if max_epochs < 1 or patience < 1 or batch_size < 1 or lr <= 0:
        raise ValueError("max_epochs, patience, batch_size and lr must be positive")
    kwargs = dict(arch_kwargs or {})
    target = select_device(device)
    log = progress or (lambda _line: None)

    fold_of = patient_folds(y, groups, folds, seed=seed)
    oof = np.full(len(y), np.nan)
    histories: list[FoldHistory] = []
    best_states: list[dict[str, torch.Tensor]] = []
    for fold in range(folds):
        train_idx = np.flatnonzero(fold_of != fold)
        val_idx = np.flatnonzero(fold_of == fold)
        history, state, probabilities = _train_fold(
            x, y, train_idx, val_idx,
            arch=arch, kwargs=kwargs, modality=spec.modality, fold=fold,
            max_epochs=max_epochs, lr=lr, batch_size=batch_size, patience=patience,
            seed=seed, augment=augment, device=target, log=log,
        )  # fmt: skip
        oof[val_idx] = probabilities
        histories.append(history)
        best_states.append(state)

    thresholds = choose_thresholds(oof, y)
    best_fold = min(range(folds), key=lambda f: histories[f].best_val_loss)
    network = build_network(arch, **kwargs)
    network.load_state_dict(best_states[best_fold])

    extra = dict(card_extra or {})
    if "thresholds" in extra:
        thresholds = (float(extra["thresholds"]["lower"]), float(extra["thresholds"]["upper"]))
    metrics = _validation_metrics(oof, y, thresholds, histories, best_fold)
    card = _card(
        arch=arch, kwargs=kwargs, modality=spec.modality, x=x, y=y, groups=groups,
        folds=folds, thresholds=thresholds, metrics=metrics, extra=extra,
        settings={"max_epochs": max_epochs, "lr": lr, "batch_size": batch_size,
                  "patience": patience, "seed": seed, "augment": augment},
    )  # fmt: skip
    model_dir = save_model(network, out_dir, card=card, created=created)
    saved_card = json.loads((model_dir / "model_card.json").read_text())
    report_dir = write_training_report(
        Path(out_dir) / "report",
        folds=histories,
        probabilities=oof,
        labels=y,
        thresholds=thresholds,
        summary={"best_fold": best_fold, "validation_metrics": metrics, "card": saved_card},
    )
    return TrainResult(
        model_dir=model_dir,
        report_dir=report_dir,
        card=saved_card,
        folds=tuple(histories),
        fold_of=fold_of,
        oof_probabilities=oof,
        thresholds=thresholds,
        best_fold=best_fold,
        seconds=time.perf_counter() - started,
    )


def _train_fold(
    x: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    *,
    arch: str,
    kwargs: dict[str, Any],
    modality: str,
    fold: int,
    max_epochs: int,
    lr: float,
    batch_size: int,
    patience: int,
    seed: int,
    augment: bool,
    device: torch.device,
    log: Callable[[str], None],
) -> tuple[FoldHistory, dict[str, torch.Tensor], np.ndarray]:
    fold_seed = seed * 1000 + fold
    torch.manual_seed(fold_seed)
    rng = np.random.default_rng(fold_seed)
    transform = augmentation(modality) if augment else None
    if transform is not None:
        transform.set_random_state(seed=fold_seed)
    network = build_network(arch, **kwargs).to(device)
    optimiser = torch.optim.Adam(network.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    train_losses: list[float] = []
    val_losses: list[float] = []
    best_state: dict[str, torch.Tensor] = {}
    best_epoch, waited = 0, 0
    for epoch in range(max_epochs):
        network.train()
        total = 0.0
        order = rng.permutation(train_idx)
        for start in range(0, len(order), batch_size):
            members = order[start : start + batch_size]
            inputs = _batch(x, members, transform).to(device)
            targets = torch.from_numpy(y[members]).to(device)
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(network(inputs), targets)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(members)
        train_losses.append(total / len(train_idx))
        val_loss, _ = _evaluate(network, x[val_idx], y[val_idx], batch_size, device, loss_fn)
        val_losses.append(val_loss)
        log(
            f"fold {fold} epoch {epoch + 1}: train loss {train_losses[-1]:.4f}, "
            f"validation loss {val_loss:.4f}"
        )
        if not best_state or val_loss < val_losses[best_epoch] - 1e-6:
            best_epoch, waited = epoch, 0
            best_state = deepcopy({k: v.detach().cpu() for k, v in network.state_dict().items()})
        else:
            waited += 1
            if waited >= patience:
                break
    network.load_state_dict(best_state)
    _, probabilities = _evaluate(network, x[val_idx], y[val_idx], batch_size, device, loss_fn)
    fold_auc = (roc_auc(pd.DataFrame({"truth": y[val_idx], "score": probabilities}))
                if len(np.unique(y[val_idx])) == 2 else None)
    history = FoldHistory(
        fold=fold,
        train_loss=train_losses,
        val_loss=val_losses,
        best_epoch=best_epoch,
        n_train=len(train_idx),
        n_val=len(val_idx),
        val_auc=fold_auc,
    )
    return history, best_state, probabilities


def _batch(x: np.ndarray, members: np.ndarray, transform: Compose | None) -> torch.Tensor:
    if transform is None:
        return torch.from_numpy(x[members])
    out = []
    for i in members:
        item = transform(torch.from_numpy(x[i]))
        out.append(item.as_tensor() if isinstance(item, MetaTensor) else torch.as_tensor(item))
    return torch.stack(out).float()


def _evaluate(
    network: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    device: torch.device,
    loss_fn: nn.Module,
) -> tuple[float, np.ndarray]:
    network.eval()
    losses, probabilities = [], []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            logits = network(torch.from_numpy(x[start : start + batch_size]).to(device))
            targets = torch.from_numpy(y[start : start + batch_size]).to(device)
            losses.append(float(loss_fn(logits, targets)) * len(targets))
            probabilities.append(torch.softmax(logits.float(), dim=1)[:, 1].cpu().numpy())
    return sum(losses) / len(x), np.concatenate(probabilities).astype(np.float64)


def _validation_metrics(
    oof: np.ndarray,
    y: np.ndarray,
    thresholds: tuple[float, float],
    histories: Sequence[FoldHistory],
    best_fold: int,
) -> dict[str, Any]:
    lower, upper = thresholds
    definite = (oof < lower) | (oof >= upper)
    called_malignant = oof >= upper
    tp = int(np.sum(definite & called_malignant & (y == 1)))
    tn = int(np.sum(definite & ~called_malignant & (y == 0)))
    n_pos = int(np.sum(definite & (y == 1)))
    n_neg = int(np.sum(definite & (y == 0)))
    binary = oof >= 0.5
    return {
        "scope": "pooled out-of-fold predictions of the cross-validation",
        "auc": roc_auc(pd.DataFrame({"truth": y, "score": oof})),
        "accuracy_at_0.5": float(np.mean(binary == (y == 1))),
        "definite_cases": int(definite.sum()),
        "definite_sensitivity": tp / n_pos if n_pos else None,
        "definite_specificity": tn / n_neg if n_neg else None,
        "definite_accuracy": (tp + tn) / int(definite.sum()) if definite.any() else None,
        "share_uncertain": float(1.0 - definite.mean()),
        "fold_auc": [h.val_auc for h in histories],
        "fold_best_val_loss": [h.best_val_loss for h in histories],
        "final_model_fold": best_fold,
        "final_model_val_auc": histories[best_fold].val_auc,
    }


def _card(
    *,
    arch: str,
    kwargs: dict[str, Any],
    modality: str,
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    folds: int,
    thresholds: tuple[float, float],
    metrics: dict[str, Any],
    extra: dict[str, Any],
    settings: dict[str, Any],
) -> dict[str, Any]:
    input_spec = deepcopy(CT_INPUT_SPEC if modality == "CT" else MRI_INPUT_SPEC)
    input_spec["patch_size"] = list(x.shape[2:])
    training_data = {
        "n_patches": len(y),
        "n_benign": int(np.sum(y == 0)),
        "n_malignant": int(np.sum(y == 1)),
        "n_patients": len(np.unique(groups)),
        "folds": folds,
        "split": "k-fold grouped by patient, stratified by patient label",
        "training": {**settings, "optimiser": "Adam", "loss": "cross-entropy"},
        **dict(extra.pop("training_data", {})),
    }
    card: dict[str, Any] = {
        "name": f"{arch}",
        "version": "0.1.0",
        "architecture": arch,
        "architecture_kwargs": kwargs,
        "modality": modality,
        "input": input_spec,
        "thresholds": {
            "lower": thresholds[0],
            "upper": thresholds[1],
            "rule": "lower: at most 5% of malignant called definitely benign; upper: at most "
            "5% of benign called definitely malignant (pooled out-of-fold predictions)",
        },
        "training_data": training_data,
        "validation_metrics": metrics,
        "intended_use": _DEFAULT_INTENDED_USE,
        "final_model": f"fold {metrics['final_model_fold']} of {folds}: the lowest best "
        "validation loss",
    }
    card.update(extra)
    return card
