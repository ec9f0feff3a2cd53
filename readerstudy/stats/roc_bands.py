"""Confidence bands of an empirical ROC curve: sensitivity at fixed false-positive rates.

At each false-positive rate (1 - specificity) of a grid, the sensitivity of the empirical
ROC curve and its pointwise percentile interval over a bootstrap stratified by truth (the
malignant and the benign cases resampled separately, so that every resample has the
study's numbers of each), as pROC's ``ci.se`` (Robin et al. 2011): the band holds the
curve at each rate with the stated confidence, not the whole curve at once.

The sensitivity at a rate the curve does not pass through is interpolated linearly
between the curve's points on either side (as pROC's ``coords`` for a specificity the
curve does not reach); at a rate the curve reaches on a vertical step, it is the top of
the step. All resamples are computed at once with numpy: one sort of a (resamples x cases)
matrix, no Python loop over resamples.

References
----------
Robin X, Turck N, Hainard A, et al. (2011). pROC: an open-source package for R and S+ to
analyze and compare ROC curves. BMC Bioinformatics 12:77. doi:10.1186/1471-2105-12-77
(``ci.se``: "2000 stratified bootstrap replicates").

Macskassy SA, Provost F, Rosset S (2005). ROC confidence bands: an empirical evaluation.
ICML 2005: pointwise vertical-averaging bands as these.
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
    rows, n = s.shape
    order = np.argsort(-s, axis=1, kind="stable")
    s_sorted = np.take_along_axis(s, order, axis=1)
    t_sorted = np.take_along_axis(t, order, axis=1)
    tp = np.cumsum(t_sorted, axis=1)
    fp = np.cumsum(1.0 - t_sorted, axis=1)
    n_pos, n_neg = tp[:, -1:], fp[:, -1:]
    # Within a run of tied scores only the run's last case closes a point of the curve:
    # every position takes the counts of the point that closes its run.
    closes = np.ones(s.shape, dtype=bool)
    closes[:, :-1] = s_sorted[:, 1:] != s_sorted[:, :-1]
    closing = np.flip(np.minimum.accumulate(np.flip(
        np.where(closes, np.arange(n), n - 1), axis=1), axis=1), axis=1)
    tpr = np.hstack([np.zeros((rows, 1)), np.take_along_axis(tp, closing, axis=1) / n_pos])
    # Rounded, as the wanted rates below: 3 / 50 and 0.02 * 3 differ in the last bit.
    fpr_points = np.round(np.hstack([np.zeros((rows, 1)),
                                     np.take_along_axis(fp, closing, axis=1) / n_neg]), 12)
    # The last point at or below each rate, per row: one searchsorted over all rows, each
    # row's (non-decreasing) rates shifted by 2 x its row number.
    shift = 2.0 * np.arange(rows)[:, None]
    flat = (fpr_points + shift).ravel()
    target = np.round(np.asarray(fpr, dtype=np.float64), 12)[None, :] + shift
    last = np.searchsorted(flat, target.ravel(), side="right").reshape(target.shape) - 1
    base = (np.arange(rows) * (n + 1))[:, None]
    at = last - base
    x0 = np.take_along_axis(fpr_points, at, axis=1)
    y0 = np.take_along_axis(tpr, at, axis=1)
    after = np.minimum(at + 1, n)
    x1 = np.take_along_axis(fpr_points, after, axis=1)
    y1 = np.take_along_axis(tpr, after, axis=1)
    wanted = target - shift
    step = x1 - x0
    share = np.divide(wanted - x0, step, out=np.zeros_like(step), where=step > 0)
    return y0 + share * (y1 - y0)


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
    pos, neg = s[0, t == 1], s[0, t == 0]
    rng = np.random.default_rng(seed)
    boot = np.hstack([
        pos[rng.integers(0, pos.size, size=(int(n_boot), pos.size))],
        neg[rng.integers(0, neg.size, size=(int(n_boot), neg.size))],
    ])
    boot_truth = np.r_[np.ones(pos.size), np.zeros(neg.size)]
    sens = sensitivity_at(boot_truth, boot, grid)
    lower, upper = np.quantile(sens, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    observed = sensitivity_at(t, s[0], grid)[0]
    return pd.DataFrame({"fpr": grid, "sensitivity": observed, "lower": lower, "upper": upper})


def reader_bands(
    reads: pd.DataFrame, condition: str, *, n_boot: int = 2000, seed: int = 0,
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
    first = reads[(reads["condition"] == condition) & (reads["round"] == "first")
                  & reads["score"].notna()]
    parts = []
    for reader in sorted(first["reader"].unique(), key=natural_key):
        mine = first[first["reader"] == reader]
        if mine["truth"].nunique() < 2:
            continue
        band = roc_band(mine, n_boot=n_boot, seed=seed, alpha=alpha)
        parts.append(band.assign(reader=str(reader), condition=condition)[columns])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
