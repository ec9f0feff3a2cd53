"""The figures of :mod:`readerstudy.stats.plots`, drawn in worker processes while the caller
goes on (the command line runs the statistics meanwhile).

This module does not import matplotlib: the workers do, in parallel with the caller, so
that drawing adds little to the wall-clock time of a run on two cores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from readerstudy.stats._validation import check_alpha
from readerstudy.stats.io import natural_key, validate_reads

__all__ = ["PlotJobs", "start_plots"]


def _draw(data: pd.DataFrame, condition: str, out: Path, alpha: float, n_boot: int = 0,
          seed: int = 0) -> list[Path]:
    from readerstudy.stats.plots import _condition_figures

    return _condition_figures(data, condition, out, alpha, n_boot, seed)


class PlotJobs:
    """Figures being drawn: :meth:`result` waits for them and returns the files written.

    With ``workers`` > 1, or ``background``, the conditions are drawn in forked worker
    processes, which start at once: the caller can run the statistics meanwhile (the command
    line does), so that drawing costs little wall-clock time. One worker per condition on
    two cores (the command line): three processes then share two cores, and each worker
    imports matplotlib, but the figures with their ROC bands cost more CPU time than the
    statistics, so one worker alone would finish last; ``background`` with one worker
    keeps a single worker beside the caller (a machine with one core).
    """

    def __init__(self, data: pd.DataFrame, out: Path, alpha: float, workers: int,
                 n_boot: int = 0, seed: int = 0, background: bool = False) -> None:
        self._data, self._out, self._alpha = data, out, alpha
        self._bands = (n_boot, seed)  # the ROC bands' bootstrap
        self._conditions = sorted(data["condition"].unique(), key=natural_key)
        self._pool: Any = None
        self._parts: list[Any] = []
        if (workers > 1 or background) and self._conditions:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                max_workers=max(1, min(workers, len(self._conditions))),
                mp_context=multiprocessing.get_context("fork"),
            )
            self._parts = [
                self._pool.submit(_draw, data[data["condition"] == c], c, out,
                                  alpha, *self._bands)
                for c in self._conditions
            ]

    def result(self) -> list[Path]:
        """Wait for every figure; the paths written (PNG and SVG), in condition order."""
        if self._pool is None:
            return [p for c in self._conditions
                    for p in _draw(self._data, c, self._out, self._alpha, *self._bands)]
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
) -> PlotJobs:
    """Validate the reads and start drawing the figures of :func:`write_plots`; call
    ``.result()`` on the returned :class:`PlotJobs` for the files. ``n_boot`` > 0 adds
    the ROC curves' confidence bands (bootstrap resamples, seeded by ``seed``).

    ``workers`` processes draw the conditions; with one, it draws them here when
    ``.result()`` is called, or in a worker process of its own at once with ``background``
    (so that the caller's own work overlaps the drawing).

    Raises
    ------
    ValueError
        Bad reads (before anything is drawn).
    """
    check_alpha(alpha)
    data = validate_reads(reads, missing=missing)
    return PlotJobs(data, Path(out_dir), alpha, workers, n_boot, seed, background)


