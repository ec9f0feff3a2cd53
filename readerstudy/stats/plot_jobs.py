"""The figures of :mod:`readerstudy.stats.plots`, drawn in worker processes while the caller
goes on (the command line runs the statistics meanwhile).

This module does not import matplotlib: the workers do, in parallel with the caller, so
that drawing adds little to the wall-clock time of a run on two cores.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from readerstudy.stats._validation import check_alpha
from readerstudy.stats.io import natural_key, validate_reads

__all__ = ["PlotJobs", "can_draw_curve", "can_draw_point", "left_out_notes", "start_plots"]

#: Why a reader is not in a ROC figure.
NOT_IN_ROC = ("neither scores nor benign/malignant calls of at least one malignant and one "
              "benign case")


def can_draw_curve(mine: pd.DataFrame) -> bool:
    """Whether one reader's reads give a ROC curve: scores of at least one malignant and one
    benign case (its AUC is then the Mann-Whitney estimate; DeLong's variance, which needs
    two of each, is not needed to draw it)."""
    if "score" not in mine or "truth" not in mine:
        return False
    return mine.loc[mine["score"].notna(), "truth"].nunique() == 2


def can_draw_point(mine: pd.DataFrame) -> bool:
    """Whether one reader's reads give an operating point: benign/malignant calls of at
    least one malignant and one benign case."""
    if "call" not in mine or "truth" not in mine:
        return False
    return mine.loc[mine["call"].isin(["benign", "malignant"]), "truth"].nunique() == 2


def _scoring_pairs(first: pd.DataFrame) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The pairs of scoring readers (humans first, then models; natural order) whose
    Bland-Altman analysis can be drawn (at least 2 cases both scored), and those that
    cannot."""
    wide = first.pivot_table(index="case", columns="reader", values="score", aggfunc="first")
    kinds = first.groupby("reader")["reader_kind"].first()
    readers = sorted(
        [r for r in wide.columns if wide[r].notna().any()],
        key=lambda r: (kinds[r] == "model", natural_key(r)),
    )
    scored = {r: wide[r].notna().to_numpy() for r in readers}
    drawn: list[tuple[str, str]] = []
    left_out: list[tuple[str, str]] = []
    for i, reader in enumerate(readers):
        for other in readers[i + 1 :]:
            both = int(np.count_nonzero(scored[reader] & scored[other]))
            (drawn if both >= 2 else left_out).append((str(reader), str(other)))
    return drawn, left_out


def left_out_notes(data: pd.DataFrame, condition: str,
                   labels: Mapping[str, str] | None = None) -> list[str]:
    """Notes naming the readers left out of one condition's ROC figure and the pairs left
    out of its Bland-Altman figures (the others are drawn), by their display names."""
    def name(reader: object) -> str:
        return (labels or {}).get(str(reader), str(reader))

    first = data[(data["condition"] == condition) & (data["round"] == "first")]
    where = f", {condition}" if condition else ""
    notes = []
    if "truth" in first:
        missing = [name(r) for r, mine in sorted(first.groupby("reader"),
                                                 key=lambda item: natural_key(item[0]))
                   if not can_draw_curve(mine) and not can_draw_point(mine)]
        if missing:
            notes.append(f"ROC figure{where}: {', '.join(missing)} left out ({NOT_IN_ROC})")
    if "score" in first:
        _drawn, pairs = _scoring_pairs(first)
        if pairs:
            named = "; ".join(f"{name(a)} - {name(b)}" for a, b in pairs)
            notes.append(f"Bland-Altman figures of scores{where}: {named} left out (fewer "
                         "than 2 cases scored by both)")
    return notes


def _draw(data: pd.DataFrame, condition: str, out: Path, alpha: float, n_boot: int = 0,
          seed: int = 0, labels: Mapping[str, str] | None = None,
          quantity: str = "score") -> list[Path]:
    from readerstudy.stats.plots import _condition_figures

    return _condition_figures(data, condition, out, alpha, n_boot, seed, labels=labels,
                              quantity=quantity)


def _draw_all(data: pd.DataFrame, conditions: list[str], out: Path, alpha: float,
              args: tuple[Any, ...], workers: int) -> list[Path]:
    """Draw every condition's figures, the first here and each other one in a process
    forked from here once matplotlib is imported (up to ``workers`` in all): one import of
    matplotlib, half a second of CPU time, serves every process."""
    # matplotlib, imported once here for the processes forked below to inherit.
    import readerstudy.stats.plots  # noqa: F401

    def draw(condition: str) -> list[Path]:
        return _draw(data[data["condition"] == condition], condition, out, alpha, *args)

    if workers < 2 or len(conditions) < 2:
        return [p for c in conditions for p in draw(c)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(workers, len(conditions)) - 1,
                             mp_context=multiprocessing.get_context("fork")) as pool:
        later = [pool.submit(_draw, data[data["condition"] == c], c, out, alpha, *args)
                 for c in conditions[1:]]
        here = draw(conditions[0])
        return here + [p for part in later for p in part.result()]


class PlotJobs:
    """Figures being drawn: :meth:`result` waits for them and returns the files written.

    With ``workers`` > 1, or ``background``, the figures are drawn in a forked worker
    process, which starts at once: the caller can run the statistics meanwhile (the
    command line does), so that drawing costs little wall-clock time. With ``workers`` > 1
    that process imports matplotlib, draws the first condition and forks a process for
    each other (up to ``workers`` in all), so that matplotlib is imported once: on two
    cores (the command line) three processes then share them, but the figures with their
    ROC bands cost more CPU time than the statistics, so one worker alone would finish
    last; ``background`` with one worker keeps a single worker beside the caller (a
    machine with one core).
    """

    def __init__(self, data: pd.DataFrame, out: Path, alpha: float, workers: int,
                 n_boot: int = 0, seed: int = 0, background: bool = False,
                 labels: Mapping[str, str] | None = None, quantity: str = "score") -> None:
        self._data, self._out, self._alpha = data, out, alpha
        # The ROC bands' bootstrap, the readers' display names and the scores' quantity.
        self._args = (n_boot, seed, dict(labels or {}), quantity)
        self._conditions = sorted(data["condition"].unique(), key=natural_key)
        self._pool: Any = None
        self._parts: list[Any] = []
        if (workers > 1 or background) and self._conditions:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("fork"))
            self._parts = [self._pool.submit(_draw_all, data, self._conditions, out, alpha,
                                             self._args, workers)]
        #: The readers and pairs each figure leaves out, by name: worked out here (cheap),
        #: after the workers have started.
        self.notes = [note for c in self._conditions
                      for note in left_out_notes(data, c, labels)]

    def result(self) -> list[Path]:
        """Wait for every figure; the paths written (PNG and SVG), in condition order."""
        if self._pool is None:
            return [p for c in self._conditions
                    for p in _draw(self._data, c, self._out, self._alpha, *self._args)]
        try:
            return [p for part in self._parts for p in part.result()]
        finally:
            self._pool.shutdown()

    def cancel(self) -> None:
        """Stop the workers (figures already written stay)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def start_plots(
    reads: pd.DataFrame,
    out_dir: str | Path,
    *,
    alpha: float = 0.05,
    missing: str = "raise",
    workers: int = 1,
    n_boot: int = 0,
    seed: int = 0,
    background: bool = False,
    labels: Mapping[str, str] | None = None,
    quantity: str = "score",
) -> PlotJobs:
    """Validate the reads and start drawing the figures of :func:`write_plots`; call
    ``.result()`` on the returned :class:`PlotJobs` for the files. ``n_boot`` > 0 adds
    the ROC curves' confidence bands (bootstrap resamples, seeded by ``seed``).

    ``workers`` processes draw the conditions; with one, it draws them here when
    ``.result()`` is called, or in a worker process of its own at once with ``background``
    (so that the caller's own work overlaps the drawing).

    ``labels`` maps reader names to the names the figures show (the export's display names;
    others are shown as they are); ``quantity`` names the scores on the Bland-Altman axes
    ("Probability of malignancy (0-100)"). The returned jobs' ``notes`` name the readers
    and pairs a figure leaves out.

    Raises
    ------
    ValueError
        Bad reads (before anything is drawn).
    """
    check_alpha(alpha)
    data = validate_reads(reads, missing=missing)
    return PlotJobs(data, Path(out_dir), alpha, workers, n_boot, seed, background,
                    labels, quantity)


