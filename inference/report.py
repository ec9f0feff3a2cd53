"""Training report: loss curves per fold, validation ROC, and a JSON summary.

The ROC area and curve are the study's own (:mod:`readerstudy.stats.roc`, pure and
without Django), so the model's validation AUC is computed as the analysis computes a
reader's. Figures are drawn with matplotlib's object-oriented API
(``matplotlib.figure.Figure``), so no pyplot state or display backend is involved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from readerstudy.stats.roc import roc_auc, roc_curve

if TYPE_CHECKING:
    from inference.train import FoldHistory

__all__ = ["write_training_report"]

LOSS_FIGURE = "loss_curves.png"
ROC_FIGURE = "roc.png"
REPORT_FILE = "report.json"


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
    cases = pd.DataFrame({"truth": np.asarray(labels).reshape(-1),
                          "score": np.asarray(probabilities, dtype=np.float64).reshape(-1)})
    curve = roc_curve(cases)
    fpr, tpr, cuts = (curve[column].to_numpy() for column in ("fpr", "tpr", "threshold"))
    auc = roc_auc(cases)
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
    s = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1) == 1
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
