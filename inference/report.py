"""Training report: loss curves per fold, validation ROC, and a JSON summary.

Figures are drawn with matplotlib's object-oriented API (``matplotlib.figure.Figure``),
so no pyplot state or display backend is involved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from scipy.stats import rankdata

if TYPE_CHECKING:
    from inference.train import FoldHistory

__all__ = ["roc_auc", "roc_curve", "write_training_report"]

LOSS_FIGURE = "loss_curves.png"
ROC_FIGURE = "roc.png"
REPORT_FILE = "report.json"


def _binary(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.size} and {y.size}")
    if not set(np.unique(y)) <= {0, 1}:
        raise ValueError("labels must be 0 (benign) or 1 (malignant)")
    if not (np.any(y == 1) and np.any(y == 0)):
        raise ValueError("an ROC curve needs cases of both classes")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or infinite values")
    return s, y.astype(bool)


def roc_auc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the empirical ROC curve (ties count one half).

    Computed as the Mann-Whitney U statistic divided by ``n_malignant * n_benign``, with
    mid-ranks for ties.

    References
    ----------
    Hanley J. A., McNeil B. J., "The meaning and use of the area under a receiver
    operating characteristic (ROC) curve", Radiology 143:29-36 (1982),
    doi:10.1148/radiology.143.1.7063747.
    """
    s, y = _binary(scores, labels)
    ranks = rankdata(s)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def roc_curve(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical ROC points, calling malignant when ``score >= threshold``.

    Returns
    -------
    fpr, tpr, thresholds : np.ndarray
        From ``(0, 0)`` at threshold ``inf`` to ``(1, 1)`` at the lowest score; one point
        per distinct score.
    """
    s, y = _binary(scores, labels)
    thresholds = np.unique(s)[::-1]
    order = np.argsort(-s, kind="stable")
    sorted_scores, sorted_labels = s[order], y[order]
    # Index of the last case with score >= each threshold.
    last = np.searchsorted(-sorted_scores, -thresholds, side="right") - 1
    tp = np.cumsum(sorted_labels)[last]
    fp = np.cumsum(~sorted_labels)[last]
    tpr = np.concatenate([[0.0], tp / y.sum()])
    fpr = np.concatenate([[0.0], fp / (~y).sum()])
    return fpr, tpr, np.concatenate([[np.inf], thresholds])


def write_training_report(
    out_dir: Path | str,
    *,
    folds: Sequence[FoldHistory],
    probabilities: ArrayLike,
    labels: ArrayLike,
    thresholds: tuple[float, float],
    summary: Mapping[str, Any],
) -> Path:
    """Write ``loss_curves.png``, ``roc.png`` and ``report.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Created if needed.
    folds : sequence of FoldHistory
        Per-fold train and validation losses and best epochs.
    probabilities, labels : array-like
        Pooled out-of-fold probabilities of malignancy and labels.
    thresholds : (float, float)
        Three-tier ``(lower, upper)``, marked on the ROC curve.
    summary : mapping
        JSON-serialisable facts to include in ``report.json``.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _loss_figure(folds, out / LOSS_FIGURE)
    fpr, tpr, cuts = roc_curve(probabilities, labels)
    auc = roc_auc(probabilities, labels)
    _roc_figure(fpr, tpr, auc, probabilities, labels, thresholds, out / ROC_FIGURE)
    report = {
        **dict(summary),
        "auc_out_of_fold": auc,
        "thresholds": {"lower": thresholds[0], "upper": thresholds[1]},
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": cuts[1:].tolist()},
        "folds": [
            {
                "fold": h.fold,
                "n_train": h.n_train,
                "n_val": h.n_val,
                "best_epoch": h.best_epoch + 1,
                "best_val_loss": h.best_val_loss,
                "val_auc": h.val_auc,
                "train_loss": h.train_loss,
                "val_loss": h.val_loss,
            }
            for h in folds
        ],
        "figures": [LOSS_FIGURE, ROC_FIGURE],
    }
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _loss_figure(folds: Sequence[FoldHistory], path: Path) -> None:
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.subplots()
    colours = [f"C{i % 10}" for i in range(len(folds))]
    for history, colour in zip(folds, colours, strict=True):
        epochs = np.arange(1, len(history.train_loss) + 1)
        axes.plot(epochs, history.train_loss, ls="--", color=colour, alpha=0.7)
        axes.plot(epochs, history.val_loss, ls="-", color=colour, label=f"fold {history.fold}")
        axes.plot(history.best_epoch + 1, history.best_val_loss, "o", color=colour)
    axes.set_xlabel("epoch")
    axes.set_ylabel("cross-entropy loss")
    axes.set_title("Loss per fold (dashed: training, solid: validation, dot: kept epoch)")
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=110)


def _roc_figure(
    fpr: np.ndarray,
    tpr: np.ndarray,
    auc: float,
    probabilities: ArrayLike,
    labels: ArrayLike,
    thresholds: tuple[float, float],
    path: Path,
) -> None:
    s, y = _binary(probabilities, labels)
    figure = Figure(figsize=(5, 5), layout="constrained")
    axes = figure.subplots()
    axes.plot(fpr, tpr, drawstyle="steps-post", label=f"out-of-fold, AUC {auc:.3f}")
    axes.plot([0, 1], [0, 1], ls=":", color="grey")
    for name, cut, marker in (("lower", thresholds[0], "v"), ("upper", thresholds[1], "^")):
        called = s >= cut
        axes.plot(
            np.mean(called[~y]), np.mean(called[y]), marker, ms=8,
            label=f"{name} threshold {cut:.3f}",
        )  # fmt: skip
    axes.set_xlabel("1 - specificity")
    axes.set_ylabel("sensitivity")
    axes.set_title("Validation ROC (pooled folds)")
    axes.set_aspect("equal")
    axes.legend(loc="lower right", fontsize="small")
    figure.savefig(path, dpi=110)
