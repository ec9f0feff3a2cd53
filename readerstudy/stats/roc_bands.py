"""Confidence bands of an empirical ROC curve: sensitivity at fixed false-positive rates.

At each false-positive rate (1 - specificity) of a grid, the sensitivity of the empirical
ROC curve and its pointwise percentile interval over a bootstrap stratified by truth (the
malignant and the benign cases resampled separately, so that every resample has the
study's numbers of each), as pROC's ``ci.se`` (Robin et al. 2011): the band holds the
curve at each rate with the stated confidence, not the whole curve at once.

The sensitivity at a rate the curve does not pass through is interpolated linearly
between the curve's points on either side (as pROC's ``coords`` for a specificity the
curve does not reach); at a rate the curve reaches on a vertical step, it is the top of
the step. All resamples are computed at once with numpy and no Python loop over them: the
cases are sorted once, and a resample is how often it draws each case.

References
----------
Robin X, Turck N, Hainard A, et al. (2011). pROC: an open-source package for R and S+ to
analyze and compare ROC curves. BMC Bioinformatics 12:77. doi:10.1186/1471-2105-12-77
(``ci.se``: "2000 stratified bootstrap replicates").

Macskassy SA, Provost F, Rosset S (2005). ROC confidence bands: an empirical evaluation.
Proceedings of ICML 2005: pointwise ("vertical") bands against simultaneous ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from readerstudy.stats._validation import check_alpha
from readerstudy.stats.io import natural_key
from readerstudy.stats.roc import _one_score

__all__ = ["BAND_COLUMNS", "FPR_GRID", "reader_bands", "roc_band", "sensitivity_at"]

#: The false-positive rates of a band: 0, 0.02, ..., 1.
FPR_GRID = np.linspace(0.0, 1.0, 51)
#: The columns of :func:`roc_band` (the CSV adds reader and condition in front).
BAND_COLUMNS = ("fpr", "sensitivity", "lower", "upper")


def sensitivity_at(truth: np.ndarray, scores: np.ndarray, fpr: np.ndarray) -> np.ndarray:
    """Sensitivity of the empirical ROC curve of each row of ``scores`` at the rates ``fpr``.

    Parameters
    ----------
    truth : numpy.ndarray, shape (b, n) or (n,)
        0/1 truth of the cases of each row (each row with both classes).
    scores : numpy.ndarray, shape (b, n) or (n,)
        The scores, one curve per row; a case is called positive at ``score >= t``.
    fpr : numpy.ndarray, shape (f,)
        False-positive rates in [0, 1].

    Returns
    -------
    numpy.ndarray, shape (b, f)
    """
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    t = np.broadcast_to(np.atleast_2d(np.asarray(truth)), s.shape).astype(np.float64)
    order = np.argsort(-s, axis=1, kind="stable")
    s_sorted = np.take_along_axis(s, order, axis=1)
    t_sorted = np.take_along_axis(t, order, axis=1)
    return _at_rates(t_sorted, 1.0 - t_sorted, _run_ends(s_sorted), fpr)


def _run_ends(s_sorted: np.ndarray) -> np.ndarray:
    """Whether each position of sorted scores is the last of its run of ties."""
    closes = np.ones(s_sorted.shape, dtype=bool)
    closes[..., :-1] = s_sorted[..., 1:] != s_sorted[..., :-1]
    return closes


def _at_rates(
    positives: np.ndarray, negatives: np.ndarray, closes: np.ndarray, fpr: np.ndarray
) -> np.ndarray:
    """Sensitivity at the rates ``fpr`` of curves given by case weights.

    ``positives`` and ``negatives`` (b, n): how often each case counts as a positive and as
    a negative in each curve (1/0 for a plain curve, the resample counts for a bootstrap
    curve), cases in decreasing order of score; ``closes`` (n,) or (b, n): the last case of
    each run of tied scores.
    """
    rows, n = positives.shape
    tp = np.cumsum(positives, axis=1)
    fp = np.cumsum(negatives, axis=1)
    # Within a run of tied scores only the run's last case closes a point of the curve:
    # every position takes the counts of the point that closes its run.
    if not np.all(closes):
        ends = np.broadcast_to(closes, (rows, n))
        closing = np.flip(
            np.minimum.accumulate(np.flip(np.where(ends, np.arange(n), n - 1), axis=1), axis=1),
            axis=1,
        )
        tp = np.take_along_axis(tp, closing, axis=1)
        fp = np.take_along_axis(fp, closing, axis=1)
    zero = np.zeros((rows, 1))
    tpr = np.hstack([zero, tp / tp[:, -1:]])
    # Rounded, as the wanted rates below: 3 / 50 and 0.02 * 3 differ in the last bit.
    fpr_points = np.round(np.hstack([zero, fp / fp[:, -1:]]), 12)
    # The last point at or below each rate, per row: one searchsorted over all rows, each
    # row's (non-decreasing) rates shifted by 2 x its row number.
    shift = 2.0 * np.arange(rows)[:, None]
    target = np.round(np.asarray(fpr, dtype=np.float64), 12)[None, :] + shift
    last = np.searchsorted((fpr_points + shift).ravel(), target.ravel(), side="right")
    at = last.reshape(target.shape) - 1 - (np.arange(rows) * (n + 1))[:, None]
    x0 = np.take_along_axis(fpr_points, at, axis=1)
    y0 = np.take_along_axis(tpr, at, axis=1)
    after = np.minimum(at + 1, n)
    x1 = np.take_along_axis(fpr_points, after, axis=1)
    y1 = np.take_along_axis(tpr, after, axis=1)
    step = x1 - x0
    share = np.divide(target - shift - x0, step, out=np.zeros_like(step), where=step > 0)
    return y0 + share * (y1 - y0)


def _resample_counts(
    rng: np.random.Generator, points: np.ndarray, n_points: int, n_boot: int
) -> np.ndarray:
    """(n_boot, n_points): how many of each resample's cases fall on each point of the
    curve, for a resample drawing ``points.size`` cases with replacement from cases whose
    point (index of their distinct score) is ``points``."""
    size = points.size
    drawn = points[rng.integers(0, size, size=(n_boot, size))]
    drawn += (np.arange(n_boot) * n_points)[:, None]
    return np.bincount(drawn.ravel(), minlength=n_boot * n_points).reshape(n_boot, n_points)


def roc_band(
    data: pd.DataFrame,
    *,
    truth: str = "truth",
    score: str = "score",
    fpr: np.ndarray | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    missing: str = "raise",
) -> pd.DataFrame:
    """The ROC curve's sensitivity at fixed false-positive rates with a pointwise band.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    truth : str, default "truth"
        Column of the reference standard, 0/1.
    score : str, default "score"
        Column of the scores.
    fpr : numpy.ndarray, optional
        The false-positive rates (default :data:`FPR_GRID`, 0 to 1 by 0.02).
    n_boot : int, default 2000
        Bootstrap resamples, stratified by truth (pROC's ``ci.se`` default).
    seed : int, default 0
    alpha : float, default 0.05
        1 - confidence level; the band is the resamples' ``alpha / 2`` and ``1 - alpha / 2``
        quantiles (linear interpolation, R's type 7, as pROC).
    missing : {"raise", "drop"}, default "raise"

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BAND_COLUMNS`: ``sensitivity`` is the observed curve's.
    """
    check_alpha(alpha)
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a whole number >= 1, got {n_boot!r}")
    grid = FPR_GRID if fpr is None else np.asarray(fpr, dtype=np.float64)
    if grid.ndim != 1 or ((grid < 0) | (grid > 1)).any():
        raise ValueError("fpr must be a 1-D array of rates in [0, 1]")
    t, s = _one_score(data, truth, score, missing)
    # Sorted once: a resample is the number of times it draws each case (stratified: the
    # malignant and the benign cases apart), so its curve needs no sort of its own; one
    # column per distinct score, a point of the curve.
    order = np.argsort(-s[0], kind="stable")
    t_sorted, s_sorted = t[order], s[0, order]
    point = np.cumsum(np.r_[True, s_sorted[1:] != s_sorted[:-1]]) - 1
    n_points = int(point[-1]) + 1
    pos = t_sorted == 1
    rng = np.random.default_rng(seed)
    every = np.ones(n_points, dtype=bool)
    sens = _at_rates(
        _resample_counts(rng, point[pos], n_points, int(n_boot)),
        _resample_counts(rng, point[~pos], n_points, int(n_boot)),
        every,
        grid,
    )
    lower, upper = np.quantile(sens, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    observed = _at_rates(
        np.bincount(point[pos], minlength=n_points)[None, :],
        np.bincount(point[~pos], minlength=n_points)[None, :],
        every,
        grid,
    )[0]
    return pd.DataFrame({"fpr": grid, "sensitivity": observed, "lower": lower, "upper": upper})


def reader_bands(
    reads: pd.DataFrame,
    condition: str,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The band of every reader who scored cases of both classes in one condition.

    Parameters
    ----------
    reads : pandas.DataFrame
        Validated reads (:func:`readerstudy.stats.io.validate_reads`) with ``truth``; the
        first-round reads of ``condition`` are used, as in the ROC figure.
    condition : str
    n_boot, seed, alpha
        As :func:`roc_band`; every reader's resamples come from the same seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``reader, condition`` and :data:`BAND_COLUMNS`, readers in natural order;
        no rows when nobody scored (or the cases lack a class).
    """
    columns = ["reader", "condition", *BAND_COLUMNS]
    if "score" not in reads or "truth" not in reads:
        return pd.DataFrame(columns=columns)
    first = reads[
        (reads["condition"] == condition) & (reads["round"] == "first") & reads["score"].notna()
    ]
    parts = []
    for reader in sorted(first["reader"].unique(), key=natural_key):
        mine = first[first["reader"] == reader]
        if mine["truth"].nunique() < 2:
            continue
        band = roc_band(mine, n_boot=n_boot, seed=seed, alpha=alpha)
        parts.append(band.assign(reader=str(reader), condition=condition)[columns])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
