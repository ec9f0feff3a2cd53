"""Publication figures: ROC curves per condition and Bland-Altman plots per reader pair.

Figures are drawn with matplotlib's object-oriented API on the Agg canvas
(``matplotlib.figure.Figure``), never through ``pyplot``: no global state, no
GUI backend, safe in a Celery worker. Each figure is saved as PNG (for
slides) and SVG (for journals).

In a ROC figure, readers with scores are empirical ROC curves (ties kept
together, as :func:`readerstudy.stats.roc.roc_curve`), readers with only
benign/malignant calls are single operating points, and the model - a reader
whose ``reader_kind`` is "model", or whose name starts with "model" - is a
thick black curve (or a black star) so that it stands out from the readers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib import colormaps, rc_context
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from readerstudy.stats.bland_altman import BlandAltmanResult, bland_altman
from readerstudy.stats.io import natural_key, validate_reads
from readerstudy.stats.roc import auc_delong, roc_curve

__all__ = [
    "bland_altman_figure",
    "roc_figure",
    "save_figure",
    "slug",
    "write_plots",
]

_MODEL_STYLE = {"color": "black", "linewidth": 2.5}


def slug(text: object) -> str:
    """A file-name-safe version of a reader or condition name ("" becomes "all")."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.")
    return cleaned or "all"


def save_figure(figure: Figure, stem: str | Path) -> list[Path]:
    """Save a figure as ``stem.png`` (150 dpi) and ``stem.svg``; return both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    figure.savefig(paths[0], dpi=150)
    # Text stays text in the SVG: editable in a journal's workflow, and faster to write.
    with rc_context({"svg.fonttype": "none"}):
        figure.savefig(paths[1])
    return paths


def _first_round(reads: pd.DataFrame, condition: str) -> pd.DataFrame:
    return reads[(reads["condition"] == condition) & (reads["round"] == "first")]


def roc_figure(reads: pd.DataFrame, condition: str = "") -> Figure:
    """ROC curves and operating points of every reader in one condition.

    Parameters
    ----------
    reads : pandas.DataFrame
        Validated reads (:func:`readerstudy.stats.analysis.validate_reads`)
        with a ``truth`` column.
    condition : str, default ""
        The condition to draw ("" when the reads have no condition column).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if "truth" not in reads:
        raise ValueError("a ROC figure needs the 'truth' column")
    first = _first_round(reads, condition)
    if first.empty:
        raise ValueError(f"no first-round reads in condition {condition!r}")
    figure = Figure(figsize=(5.5, 5.5), layout="constrained")
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle=":", color="0.6", linewidth=1)
    palette = _palette()
    readers = sorted(first["reader"].unique(), key=natural_key)
    for reader in readers:
        mine = first[first["reader"] == reader]
        model = (mine["reader_kind"] == "model").any()
        # Line2D keyword arguments (matplotlib types them as Any).
        style: dict[str, Any] = (dict(_MODEL_STYLE) if model
                                 else {"color": next(palette), "linewidth": 1.3})
        truth = mine["truth"].to_numpy()
        has_both = (truth == 1).any() and (truth == 0).any()
        scored = mine["score"].notna().to_numpy() if "score" in mine else np.zeros(len(mine), bool)
        label: str | None = str(reader)
        if scored.any() and has_both and len(set(truth[scored])) == 2:
            curve = roc_curve(mine.loc[scored])
            auc = auc_delong(mine.loc[scored]).estimate
            ax.plot(curve["fpr"], curve["tpr"], label=f"{label} (AUC {auc:.2f})", **style)
            label = None
        if "call" in mine:
            calls = mine["call"]
            binary = calls.isin(["benign", "malignant"]).to_numpy()
            if binary.any() and len(set(truth[binary])) == 2:
                t, c = truth[binary], (calls[binary] == "malignant").to_numpy()
                sens, spec = c[t == 1].mean(), 1.0 - c[t == 0].mean()
                ax.plot(
                    [1.0 - spec],
                    [sens],
                    marker="*" if model else "o",
                    markersize=13 if model else 7,
                    linestyle="none",
                    color=style["color"],
                    markeredgecolor="white",
                    label=None if label is None else f"{label} (call)",
                )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(f"ROC, {condition}" if condition else "ROC")
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    return figure


def _palette() -> Iterator[tuple[float, float, float]]:
    # tab10 is a ListedColormap of RGB tuples; the stubs type the registry with the base
    # class (no colors) and colors as any array-like.
    tab10 = cast(ListedColormap, colormaps["tab10"])
    return itertools.cycle(cast(Sequence[tuple[float, float, float]], tab10.colors))


def bland_altman_figure(
    result: BlandAltmanResult, *, reader: str = "A", other: str = "B", title: str = ""
) -> Figure:
    """Bland-Altman plot: difference against mean, bias and limits with their intervals.

    Parameters
    ----------
    result : BlandAltmanResult
        From :func:`readerstudy.stats.bland_altman.bland_altman`.
    reader, other : str
        Names of the two measurements (difference = reader - other).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure = Figure(figsize=(6.0, 4.5), layout="constrained")
    ax = figure.add_subplot()
    ax.scatter(result.mean_of_pairs, result.differences, s=12, alpha=0.6, color="tab:blue")
    for value, low, high, label in (
        (result.loa_high, result.loa_high_ci_low, result.loa_high_ci_high, "upper LoA"),
        (result.estimate, result.ci_low, result.ci_high, "bias"),
        (result.loa_low, result.loa_low_ci_low, result.loa_low_ci_high, "lower LoA"),
    ):
        dashed = label != "bias"
        ax.axhline(value, color="black", linestyle="--" if dashed else "-", linewidth=1)
        ax.axhspan(low, high, color="0.85", alpha=0.6, linewidth=0)
        below = label == "lower LoA"
        ax.annotate(
            f"{label} {value:.3g}",
            xy=(0.99, value),
            xycoords=("axes fraction", "data"),
            xytext=(0, -2 if below else 2),
            textcoords="offset points",
            ha="right",
            va="top" if below else "bottom",
            fontsize=7,
        )
    ax.axhline(0.0, color="0.6", linestyle=":", linewidth=1)
    ax.set_xlabel(f"mean of {reader} and {other}")
    ax.set_ylabel(f"{reader} - {other}")
    ax.set_title(title or f"Bland-Altman, {reader} vs {other}")
    return figure


def write_plots(
    reads: pd.DataFrame, out_dir: str | Path, *, alpha: float = 0.05, missing: str = "raise"
) -> list[Path]:
    """Draw and save every ROC and Bland-Altman figure the reads allow.

    One ROC figure per condition (when truth is given), named
    ``roc_<condition>``; one Bland-Altman figure per pair of readers with
    scores in a condition, ``bland_altman_<condition>_<reader>_vs_<other>``.
    Each as PNG and SVG in ``out_dir``.

    Parameters
    ----------
    reads : pandas.DataFrame
        Reads as given to :func:`readerstudy.stats.analysis.analyse`.
    out_dir : str or pathlib.Path
    alpha : float, default 0.05
        1 - confidence level of the Bland-Altman intervals.
    missing : {"raise", "drop"}, default "raise"

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    data = validate_reads(reads, missing=missing)
    out = Path(out_dir)
    written: list[Path] = []
    for condition in sorted(data["condition"].unique(), key=natural_key):
        first = _first_round(data, condition)
        if "truth" in data:
            written += save_figure(roc_figure(data, condition), out / f"roc_{slug(condition)}")
        if "score" not in data:
            continue
        wide = first.pivot_table(index="case", columns="reader", values="score", aggfunc="first")
        kinds = first.groupby("reader")["reader_kind"].first()
        readers = sorted(
            [r for r in wide.columns if wide[r].notna().any()],
            key=lambda r: (kinds[r] == "model", natural_key(r)),
        )
        for i, reader in enumerate(readers):
            for other in readers[i + 1 :]:
                pair = wide[[reader, other]].dropna()
                if len(pair) < 2:
                    continue
                result = bland_altman(pair, x=reader, y=other, alpha=alpha)
                title = f"{reader} vs {other}" + (f", {condition}" if condition else "")
                figure = bland_altman_figure(result, reader=reader, other=other, title=title)
                stem = f"bland_altman_{slug(condition)}_{slug(reader)}_vs_{slug(other)}"
                written += save_figure(figure, out / stem)
    return written
