"""Publication figures: ROC curves and Bland-Altman plots of the reader pairs, per condition.

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
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib import colormaps, rc_context, transforms
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from readerstudy.stats.bland_altman import BlandAltmanResult, bland_altman
from readerstudy.stats.io import natural_key
from readerstudy.stats.plot_jobs import _scoring_pairs, can_draw_curve, can_draw_point
from readerstudy.stats.roc import roc_auc, roc_curve
from readerstudy.stats.roc_bands import reader_bands

__all__ = [
    "MAX_PAIR_PANELS",
    "bland_altman_figure",
    "bland_altman_grid",
    "bland_altman_summary",
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
    # zlib level 1: the same pixels, a file a little larger, written several times faster.
    figure.savefig(paths[0], dpi=150, pil_kwargs={"compress_level": 1})
    # Text stays text in the SVG: editable in a journal's workflow, and faster to write.
    with rc_context({"svg.fonttype": "none"}):
        figure.savefig(paths[1])
    return paths


def _first_round(reads: pd.DataFrame, condition: str) -> pd.DataFrame:
    return reads[(reads["condition"] == condition) & (reads["round"] == "first")]


def _shown(reader: object, labels: Mapping[str, str] | None) -> str:
    """A reader's name in a figure: its display name in ``labels``, else the name."""
    return (labels or {}).get(str(reader), str(reader))


def roc_figure(reads: pd.DataFrame, condition: str = "", bands: pd.DataFrame | None = None,
               *, labels: Mapping[str, str] | None = None) -> Figure:
    """ROC curves and operating points of every reader in one condition.

    A reader is drawn when its reads allow (:func:`~readerstudy.stats.plot_jobs.
    can_draw_curve`, :func:`~readerstudy.stats.plot_jobs.can_draw_point`); the others are
    left out (:func:`~readerstudy.stats.plot_jobs.left_out_notes` names them), not the
    figure. A curve's AUC in the legend is the empirical (Mann-Whitney) one, defined with a
    single case of each class.

    Parameters
    ----------
    reads : pandas.DataFrame
        Validated reads (:func:`readerstudy.stats.analysis.validate_reads`)
        with a ``truth`` column.
    condition : str, default ""
        The condition to draw ("" when the reads have no condition column).
    bands : pandas.DataFrame, optional
        Confidence bands (:func:`readerstudy.stats.roc_bands.reader_bands`), each drawn
        shaded in its reader's colour under the curve.
    labels : mapping, optional
        Reader name -> the name the legend shows (others as they are).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if "truth" not in reads:
        raise ValueError("a ROC figure needs the 'truth' column")
    first = _first_round(reads, condition)
    if first.empty:
        raise ValueError(f"no first-round reads in condition {condition!r}")
    # Fixed margins, not the constrained layout: its solver lays the figure out twice.
    figure = Figure(figsize=(5.5, 5.5))
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.1, top=0.94)
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle=":", color="0.6", linewidth=1)
    palette = _palette()
    readers = sorted(first["reader"].unique(), key=natural_key)
    markers: set[str] = set()
    for reader in readers:
        mine = first[first["reader"] == reader]
        model = bool((mine["reader_kind"] == "model").any())
        # Line2D keyword arguments (matplotlib types them as Any).
        style: dict[str, Any] = (dict(_MODEL_STYLE) if model
                                 else {"color": next(palette), "linewidth": 1.3})
        label: str | None = _shown(reader, labels)
        if can_draw_curve(mine):
            scored = mine.loc[mine["score"].notna()]
            curve = roc_curve(scored)
            auc = roc_auc(scored)
            ax.plot(curve["fpr"], curve["tpr"], label=f"{label} (AUC {auc:.2f})", **style)
            label = None
            if bands is not None:
                band = bands[bands["reader"] == str(reader)]
                ax.fill_between(band["fpr"], band["lower"], band["upper"],
                                color=style["color"], alpha=0.12, linewidth=0)
        if can_draw_point(mine):
            binary = mine.loc[mine["call"].isin(["benign", "malignant"])]
            t, c = binary["truth"].to_numpy(), (binary["call"] == "malignant").to_numpy()
            sens, spec = c[t == 1].mean(), 1.0 - c[t == 0].mean()
            markers.add("model" if model else "reader")
            # Above the axes and the curves, unclipped: a point on an edge (a model that
            # calls no benign case malignant sits at 1 - specificity = 0) shows whole.
            ax.plot([1.0 - spec], [sens], **_point_style(model, style["color"]),
                    label=None if label is None else f"{label} (call)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(f"ROC, {condition}" if condition else "ROC")
    handles, texts = ax.get_legend_handles_labels()
    # What the markers mean: a legend entry each, drawn in grey (the colour is the reader's).
    for kind, text in (("reader", "reader's benign/malignant call"),
                       ("model", "model's benign/malignant call")):
        if kind in markers:
            handles.append(Line2D([], [], **_point_style(kind == "model", "0.6")))
            texts.append(text)
    ax.legend(handles, texts, loc="lower right", fontsize=7, frameon=False)
    return figure


def _point_style(model: bool, color: Any) -> dict[str, Any]:
    """An operating point's marker: a dot in the reader's colour, the model's a large white
    star, each with a dark edge, drawn above everything and not clipped by the axes."""
    return {"marker": "*" if model else "o", "markersize": 14 if model else 7,
            "linestyle": "none", "color": "white" if model else color,
            "markeredgecolor": "black" if model else "0.15",
            "markeredgewidth": 1.2 if model else 0.8, "zorder": 5, "clip_on": False}


def _palette() -> Iterator[tuple[float, float, float]]:
    # tab10 is a ListedColormap of RGB tuples; the stubs type the registry with the base
    # class (no colors) and colors as any array-like.
    tab10 = cast(ListedColormap, colormaps["tab10"])
    return itertools.cycle(cast(Sequence[tuple[float, float, float]], tab10.colors))


def bland_altman_figure(
    result: BlandAltmanResult, *, reader: str = "A", other: str = "B", title: str = "",
    quantity: str = "",
) -> Figure:
    """Bland-Altman plot: difference against mean, bias and limits with their intervals.

    Parameters
    ----------
    result : BlandAltmanResult
        From :func:`readerstudy.stats.bland_altman.bland_altman`.
    reader, other : str
        Names of the two measurements (difference = reader - other).
    title : str, optional
    quantity : str, optional
        What was measured, with its unit ("Anterior height (mm)"), named on the axes.

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
    unit = f", {quantity}" if quantity else ""
    ax.set_xlabel(f"mean of {reader} and {other}{unit}")
    ax.set_ylabel(f"{reader} - {other}{unit}")
    ax.set_title(textwrap.fill(title or f"Bland-Altman, {reader} vs {other}", 60))
    return figure


#: A condition with more reader pairs than this draws only each reader against the model as
#: panels (every pair is still in the summary figure).
MAX_PAIR_PANELS = 12


#: Characters of a panel's name per line (a 2.6-inch panel at 6 points).
_PANEL_CHARS = 46


def _ba_panel(ax: Any, result: BlandAltmanResult, reader: str, other: str) -> None:
    """One Bland-Altman panel: the points (rasterised in the SVG: a thousand markers are
    slow to write and to open), bias and limits with their intervals shaded."""
    # Line2D markers, not a scatter collection: Agg stamps one cached marker, many times
    # faster for a thousand points.
    ax.plot(result.mean_of_pairs, result.differences, linestyle="none", marker="o",
            markersize=2, alpha=0.5, color="tab:blue", markeredgewidth=0, rasterized=True)
    for value, low, high, dashed in (
        (result.loa_high, result.loa_high_ci_low, result.loa_high_ci_high, True),
        (result.estimate, result.ci_low, result.ci_high, False),
        (result.loa_low, result.loa_low_ci_low, result.loa_low_ci_high, True),
    ):
        ax.axhline(value, color="black", linestyle="--" if dashed else "-", linewidth=0.8)
        ax.axhspan(low, high, color="0.85", alpha=0.6, linewidth=0)
    ax.axhline(0.0, color="0.6", linestyle=":", linewidth=0.8)
    # Plain text rather than a title, and three ticks a side: matplotlib's title placement
    # and tick objects cost more than the data. The pair's names above the panel, wrapped
    # to its width (a model's name is long); the bias inside, where nothing cuts it off.
    ax.text(0.0, 1.03, textwrap.fill(f"{reader} - {other}", _PANEL_CHARS, max_lines=2,
                                     placeholder="…"),
            fontsize=6, transform=ax.transAxes, va="bottom")
    ax.text(0.03, 0.96, f"bias {result.estimate:.3g}", fontsize=6, transform=ax.transAxes,
            va="top")
    ax.locator_params(nbins=3)
    ax.tick_params(labelsize=6)


def _padded(values: list[np.ndarray]) -> tuple[float, float]:
    """The range of the finite ``values`` with 5% room either side."""
    every = np.concatenate([np.ravel(v) for v in values])
    every = every[np.isfinite(every)]
    if every.size == 0:
        return -1.0, 1.0
    low, high = float(every.min()), float(every.max())
    room = 0.05 * (high - low) or 0.5
    return low - room, high + room


def _shared_limits(
    pairs: Sequence[tuple[str, str, BlandAltmanResult]],
) -> tuple[tuple[float, float], tuple[float, float]]:
    """x and y limits that show every pair's points, bias with its interval, limits of
    agreement and the line of no difference. Not the limits' own intervals: a pair of three
    cases has limits-of-agreement intervals of +-300 on a 0-100 score, and the shared axis
    flattened every other pair's points to a line; a wide interval runs off the panel."""
    results = [r for _, _, r in pairs]
    x = [np.asarray(r.mean_of_pairs, dtype=float) for r in results]
    y = [np.asarray(r.differences, dtype=float) for r in results] + [np.array([0.0])] + [
        np.array([r.loa_low, r.loa_high, r.ci_low, r.ci_high], dtype=float) for r in results]
    return _padded(x), _padded(y)


def bland_altman_grid(
    pairs: Sequence[tuple[str, str, BlandAltmanResult]], *, title: str = "",
    labels: Mapping[str, str] | None = None, quantity: str = "score",
) -> Figure:
    """Bland-Altman panels of several pairs in one figure (difference = reader - other,
    against the pair's mean), bias and 95% limits of agreement with their intervals.

    ``labels`` maps reader names to the names shown (others as they are); ``quantity``
    names what was measured, with its unit, on the axes ("Anterior height (mm)")."""
    n = len(pairs)
    columns = min(4, n)
    rows = -(-n // columns)
    width, height = 2.6 * columns + 0.9, 2.3 * rows + 0.9
    # Fixed margins instead of the constrained layout: its solver costs more than drawing.
    # Room for the axes' labels (two lines on the left), each panel's name above it and
    # the title.
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=0.75 / width, right=1 - 0.1 / width, bottom=0.5 / height,
                           top=1 - 0.6 / height, wspace=0.3, hspace=0.5)
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    # The shared limits set once, autoscaling off: otherwise every line and band added
    # autoscales all the shared panels again.
    x_limits, y_limits = _shared_limits(pairs)
    axes[0, 0].set_xlim(*x_limits)
    axes[0, 0].set_ylim(*y_limits)
    for ax in axes.ravel():
        ax.set_autoscale_on(False)
    for ax, (reader, other, result) in zip(axes.ravel(), pairs, strict=False):
        _ba_panel(ax, result, _shown(reader, labels), _shown(other, labels))
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for ax in axes.ravel()[max(0, n - columns):n]:  # the lowest panel of each column
        ax.tick_params(labelbottom=True)
    figure.text(0.5, 0.08 / height, f"Mean of the pair, {quantity}", ha="center",
                va="bottom", fontsize=8)
    figure.text(0.08 / width, 0.5, f"Difference, reader - other\n{quantity}", va="center",
                ha="left", rotation=90, fontsize=8, multialignment="center")
    if title:
        figure.text(0.5, 1 - 0.08 / height, textwrap.fill(title, int(width * 14)),
                    ha="center", va="top", fontsize=9)
    return figure


#: Inches per character of 6-point text (DejaVu Sans, a little more than its average).
_INCH_PER_CHAR_6PT = 0.048


def bland_altman_summary(
    pairs: Sequence[tuple[str, str, BlandAltmanResult]], *, title: str = "",
    labels: Mapping[str, str] | None = None, quantity: str = "score",
) -> Figure:
    """Every pair's Bland-Altman result on one axis: the bias with its interval (a point
    and bar) and the 95% limits of agreement (a thin line), one row per pair.

    ``labels`` and ``quantity`` as :func:`bland_altman_grid`; the figure is as wide as its
    longest pair name needs, so that no name is cut off."""
    n = len(pairs)
    names = [f"{_shown(reader, labels)} - {_shown(other, labels)}" for reader, other, _ in pairs]
    # The names' room on the left, estimated from their length: measuring the text would
    # need a renderer pass, which costs as much as drawing the figure.
    left = 0.25 + _INCH_PER_CHAR_6PT * max((len(name) for name in names), default=0)
    width, height = left + 4.5, 1.3 + 0.16 * n
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=left / width, right=1 - 0.15 / width, bottom=0.6 / height,
                           top=1 - 0.45 / height)
    ax = figure.add_subplot()
    y = np.arange(n)[::-1]
    bias = np.array([r.estimate for _, _, r in pairs])
    low = np.array([r.ci_low for _, _, r in pairs])
    high = np.array([r.ci_high for _, _, r in pairs])
    ax.hlines(y, [r.loa_low for _, _, r in pairs], [r.loa_high for _, _, r in pairs],
              color="0.6", linewidth=1, label="95% limits of agreement")
    ax.hlines(y, low, high, color="black", linewidth=1.5)
    ax.plot(bias, y, linestyle="none", marker="o", markersize=3, color="black",
            label="bias (95% CI)")
    ax.axvline(0.0, color="0.6", linestyle=":", linewidth=0.8)
    # The pair names as plain text beside the rows, not as tick labels: 55 tick objects
    # cost more than the rest of the figure.
    ax.set_yticks([])
    beside = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    for row, name in zip(y, names, strict=True):
        ax.text(-0.01, row, name, transform=beside, ha="right", va="center", fontsize=6)
    ax.set_ylim(-2.5, n - 0.5)  # room for the legend under the last pair
    ax.set_xlabel(f"Difference, reader - other: {quantity}", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.set_title(textwrap.fill(title or "Bland-Altman, every pair", int(width * 13)),
                 fontsize=9)
    return figure


def _pair_results(first: pd.DataFrame, alpha: float) -> list[tuple[str, str, BlandAltmanResult]]:
    """Bland-Altman of every pair of scoring readers (humans first, then models; reader -
    other), on the cases both scored; a pair with fewer than 2 such cases is left out
    (:func:`~readerstudy.stats.plot_jobs.left_out_notes` names it)."""
    wide = first.pivot_table(index="case", columns="reader", values="score", aggfunc="first")
    wide.columns = wide.columns.astype(str)
    out = []
    for reader, other in _scoring_pairs(first)[0]:
        pair = wide[[reader, other]].dropna().set_axis(["x", "y"], axis=1)
        out.append((reader, other, bland_altman(pair, x="x", y="y", alpha=alpha)))
    return out


def _condition_figures(data: pd.DataFrame, condition: str, out: Path, alpha: float,
                       n_boot: int = 0, seed: int = 0, *,
                       labels: Mapping[str, str] | None = None,
                       quantity: str = "score") -> list[Path]:
    """Draw and save one condition's figures (run in a worker process when in parallel);
    with ``n_boot`` > 0 the ROC figure has confidence bands, written as
    ``roc_bands_<condition>.csv`` too. Readers and pairs that cannot be drawn are left
    out of their figure, which is drawn with the others (none left: no figure)."""
    written: list[Path] = []
    first = _first_round(data, condition)
    name = slug(condition)
    drawable = any(can_draw_curve(mine) or can_draw_point(mine)
                   for _, mine in first.groupby("reader")) if "truth" in data else False
    if drawable:
        bands = None
        if n_boot and "score" in data:
            bands = reader_bands(data, condition, n_boot=n_boot, seed=seed, alpha=alpha)
            out.mkdir(parents=True, exist_ok=True)
            bands.to_csv(out / f"roc_bands_{name}.csv", index=False)
            written.append(out / f"roc_bands_{name}.csv")
        figure = roc_figure(data, condition, bands, labels=labels)
        written += save_figure(figure, out / f"roc_{name}")
    if "score" not in data:
        return written
    pairs = _pair_results(first, alpha)
    if not pairs:
        return written
    suffix = f", {condition}" if condition else ""
    models = set(first.loc[first["reader_kind"] == "model", "reader"].astype(str))
    panels = pairs if len(pairs) <= MAX_PAIR_PANELS else [
        p for p in pairs if p[1] in models and p[0] not in models]
    if panels:
        what = "every pair" if panels is pairs else "each reader vs the model"
        figure = bland_altman_grid(panels, title=f"Bland-Altman, {what}{suffix}",
                                   labels=labels, quantity=quantity)
        written += save_figure(figure, out / f"bland_altman_{name}")
    figure = bland_altman_summary(pairs, title=f"Bland-Altman, every pair{suffix}",
                                  labels=labels, quantity=quantity)
    written += save_figure(figure, out / f"bland_altman_{name}_summary")
    return written


def write_plots(
    reads: pd.DataFrame,
    out_dir: str | Path,
    *,
    alpha: float = 0.05,
    missing: str = "raise",
    workers: int = 1,
    n_boot: int = 2000,
    seed: int = 0,
    labels: Mapping[str, str] | None = None,
    quantity: str = "score",
) -> list[Path]:
    """Draw and save every ROC and Bland-Altman figure the reads allow.

    Per condition: ``roc_<condition>`` (when truth is given; with scores, each curve with
    its pointwise confidence band, also written as ``roc_bands_<condition>.csv``:
    :func:`readerstudy.stats.roc_bands.reader_bands`); with scores,
    ``bland_altman_<condition>``, one panel per pair of scoring readers (only each reader
    against the model when there are more than :data:`MAX_PAIR_PANELS` pairs), and
    ``bland_altman_<condition>_summary``, every pair's bias with its interval and limits
    of agreement on one axis. Each as PNG and SVG in ``out_dir``. A few multi-panel
    figures instead of one per pair: a study of 10 readers and the model has 55 pairs per
    condition.

    Parameters
    ----------
    reads : pandas.DataFrame
        Reads as given to :func:`readerstudy.stats.analysis.analyse`.
    out_dir : str or pathlib.Path
    alpha : float, default 0.05
        1 - confidence level of the Bland-Altman intervals.
    missing : {"raise", "drop"}, default "raise"
    workers : int, default 1
        Processes drawing the conditions in parallel (forked; 1 draws here, as a
        daemonic process such as a Celery worker must: it cannot have children).
    n_boot : int, default 2000
        Bootstrap resamples of the ROC bands (stratified by truth); 0 draws no bands.
    seed : int, default 0
        Seed of the bands' bootstrap.
    labels : mapping, optional
        Reader name -> the name the figures show (the export's display names).
    quantity : str, default "score"
        What the scores are, with their unit, named on the Bland-Altman axes.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from readerstudy.stats.plot_jobs import start_plots

    return start_plots(reads, out_dir, alpha=alpha, missing=missing, workers=workers,
                       n_boot=n_boot, seed=seed, labels=labels, quantity=quantity).result()
