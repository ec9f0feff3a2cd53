"""The figures of an export, drawn by ``readerstudy.stats.plots``.

- ROC curves per condition (readers with scores as curves with pointwise 95% confidence
  bands, also as ``roc_bands_<condition>.csv``; readers with calls as operating points,
  the model set apart) and Bland-Altman plots of every pair of readers'
  scores: :func:`readerstudy.stats.plots.write_plots`;
- Bland-Altman plots of every continuous measurement: per measurement and condition one
  figure with a panel per pair of readers who measured it (``bland_altman_<measurement>_
  <condition>``; a study of four readers and the model has ten pairs: one figure, not ten).

Readers are named as the tables name them (:func:`readerstudy.analysis.display.reader_label`),
the axes name the quantity and its unit, and a reader or pair whose reads cannot be drawn is
left out of its figure by name (a note), not the figure.

Each figure is written as PNG and SVG.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pandas as pd

from readerstudy.analysis.display import measurement_label, reader_label
from readerstudy.analysis.frames import STATS_COLUMNS, measurement_column
from readerstudy.analysis.table_parts import reader_order
from readerstudy.stats import plots
from readerstudy.stats.bland_altman import bland_altman
from readerstudy.stats.plot_jobs import start_plots

#: What the scores are, as the Bland-Altman figures' axes name them.
SCORE_QUANTITY = "Probability of malignancy (0-100)"


def _labels(reads: pd.DataFrame) -> dict[str, str]:
    """Every reader's display name, as the tables show it (a model's long id shortened)."""
    return {str(r): reader_label(str(r)) for r in reads["reader"].dropna().unique()}


def _measurement_figures(reads: pd.DataFrame, directory: Path, *, alpha: float,
                         notes: list[str] | None = None) -> list[Path]:
    """One Bland-Altman figure per measurement and condition; a pair with fewer than 2
    cases measured by both is left out of it and named in ``notes``."""
    written: list[Path] = []
    labels = _labels(reads)
    prefix = measurement_column("")
    first = reads.loc[reads["round"] == "first"]
    for column in [c for c in reads.columns if c.startswith(prefix)]:
        key = column.removeprefix(prefix)
        for condition in sorted(first["condition"].dropna().unique()):
            mine = first.loc[first["condition"] == condition]
            wide = mine.pivot_table(index="case", columns="reader", values=column, aggfunc="first")
            # The tables' reader order, so that a panel's difference (reader - other) has
            # the sign of table 3b's bias.
            readers = [r for r in reader_order(mine) if r in wide.columns and wide[r].notna().any()]
            pairs, left_out = [], []
            for reader, other in combinations(readers, 2):
                pair = wide[[reader, other]].dropna()
                if len(pair) >= 2:
                    pairs.append((reader, other,
                                  bland_altman(pair, x=reader, y=other, alpha=alpha)))
                else:
                    left_out.append(f"{labels[str(reader)]} - {labels[str(other)]}")
            if left_out and notes is not None:
                notes.append(f"Bland-Altman figure of {measurement_label(key)}, {condition}: "
                             f"{'; '.join(left_out)} left out (fewer than 2 cases measured "
                             "by both)")
            if not pairs:
                continue
            figure = plots.bland_altman_grid(
                pairs, title=f"{measurement_label(key)}, {condition}: Bland-Altman, every pair",
                labels=labels, quantity=measurement_label(key))
            stem = f"bland_altman_{plots.slug(key)}_{plots.slug(condition)}"
            written += plots.save_figure(figure, directory / stem)
    return written


def write_figures(reads: pd.DataFrame, directory: Path, *, title: str,
                  alpha: float = 0.05, n_boot: int = 2000, seed: int = 0) -> list[str]:
    """Write the figures of ``reads`` (one test set) into ``directory``; returns notes on
    figures the data do not allow, and on readers and pairs left out of a figure (drawn
    with the others). Readers by their display names, as in the tables. ``n_boot`` and
    ``seed``: the bootstrap of the ROC curves' confidence bands
    (``roc_bands_<condition>.csv`` beside the figures; 0: none)."""
    notes: list[str] = []
    if reads.empty:
        return notes
    columns = [c for c in STATS_COLUMNS if c in reads.columns]
    try:
        jobs = start_plots(reads[columns], directory, alpha=alpha, missing="drop",
                           n_boot=n_boot, seed=seed, labels=_labels(reads),
                           quantity=SCORE_QUANTITY)
        jobs.result()
        notes += jobs.notes
    except ValueError as exc:
        notes.append(f"ROC and Bland-Altman figures of scores not drawn: {exc}")
    try:
        _measurement_figures(reads, directory, alpha=alpha, notes=notes)
    except ValueError as exc:
        notes.append(f"Bland-Altman figures of measurements not drawn: {exc}")
    return notes
