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
    t = np.broadcast_to(np.atleast_2d(np.asarray(truth)), s.shape)
    rows = []
    for row_truth, row_scores in zip(t, s, strict=True):
        every_case_once = np.ones((row_scores.size, 1), dtype=np.float32)
        rows.append(_SortedCases(row_truth, row_scores).at_rates(every_case_once, fpr)[0])
    return np.array(rows)


class _SortedCases:
    """One reader's cases in decreasing order of score, and the runs of tied scores (a run
    is one point of the curve), from which the curve of any weighting of the cases - the
    cases themselves, or a bootstrap resample's counts - is read at fixed rates."""

    def __init__(self, truth: np.ndarray, scores: np.ndarray) -> None:
        self.order = np.argsort(-scores, kind="stable")
        s = scores[self.order]
        self.is_pos = truth[self.order] == 1
        runs = np.cumsum(np.r_[True, s[1:] != s[:-1]]) - 1
        n_runs = int(runs[-1]) + 1
        # How many positives and negatives precede each run (and all of them, at the end).
        self.pos_before = np.r_[0, np.cumsum(np.bincount(runs[self.is_pos], minlength=n_runs))]
        self.neg_before = np.r_[0, np.cumsum(np.bincount(runs[~self.is_pos], minlength=n_runs))]
        self.run_of_neg = runs[~self.is_pos]

    def at_rates(self, weights: np.ndarray, fpr: np.ndarray) -> np.ndarray:
        """Sensitivity at the rates ``fpr`` (b, f) of the curves of ``weights`` (n, b): how
        often each case, in decreasing order of score, counts in each of b curves."""
        cum_pos = _cumulative(weights[self.is_pos])  # (positives, b)
        fp = np.ascontiguousarray(_cumulative(weights[~self.is_pos]).T)  # (b, negatives)
        rows, n_neg = fp.shape
        total_pos, total_neg = cum_pos[-1].astype(np.float64)[:, None], fp[:, -1:]
        # The wanted rates (to 12 decimals) as counts of negatives (rounded again for the
        # comparison, as 3 / 50 and 0.02 * 3 differ in the last bit), and how many negatives' running counts are at or
        # below each: one searchsorted over every row, each row's counts shifted by its row
        # number times more than any count.
        wanted = np.round(np.asarray(fpr, dtype=np.float64), 12)[None, :] * total_neg
        shift = (float(total_neg.max()) + 1.0) * np.arange(rows)[:, None]
        below = np.searchsorted((fp + shift).ravel(), (np.round(wanted, 9) + shift).ravel(),
                                side="right")
        q = below.reshape(wanted.shape) - (np.arange(rows) * n_neg)[:, None]
        # The first negative beyond the rate is in run r: the curve there goes from the point
        # before run r (at or below the rate; at a rate reached on a vertical step, the
        # step's top) to the point closing run r (beyond it), a straight line between.
        run = self.run_of_neg[np.minimum(q, n_neg - 1)]
        row = np.arange(rows)[:, None]

        def running(counts: np.ndarray, upto: np.ndarray, by_row: bool) -> np.ndarray:
            at = np.maximum(upto - 1, 0)
            values = counts[row, at] if by_row else counts[at, row]
            return np.where(upto > 0, values, 0).astype(np.float64)

        x0, x1 = running(fp, self.neg_before[run], True), running(fp, self.neg_before[run + 1], True)
        y0, y1 = (running(cum_pos, self.pos_before[run], False),
                  running(cum_pos, self.pos_before[run + 1], False))
        # Every negative at or below the rate (the rate 1): the curve's last point.
        past = q >= n_neg
        x0, y0 = np.where(past, wanted, x0), np.where(past, total_pos, y0)
        step = x1 - x0
        share = np.divide(wanted - x0, step, out=np.zeros_like(step), where=(step > 0) & ~past)
        return (y0 + share * (y1 - y0)) / total_pos


def _cumulative(weights: np.ndarray) -> np.ndarray:
    """Running sums down the first axis (float32: whole counts are exact up to 2**24).

    With many columns (resamples) a loop over the rows, each a vectorised addition across
    the columns, is several times faster than numpy's cumsum down that axis."""
    out = np.array(weights, dtype=np.float32)
    if out.shape[1] < 64:
        return np.cumsum(out, axis=0, out=out)
    for i in range(1, out.shape[0]):
        np.add(out[i - 1], out[i], out=out[i])
    return out


def _resample_counts(rng: np.random.Generator, truth: np.ndarray, n_boot: int) -> np.ndarray:
    """(n, n_boot): how often each resample draws each case, the malignant and the benign
    cases resampled apart (each resample has the study's numbers of each)."""
    n = truth.size
    strata = [np.flatnonzero(truth == 1), np.flatnonzero(truth == 0)]
    drawn = np.hstack([cases[rng.integers(0, cases.size, size=(n_boot, cases.size))]
                       for cases in strata])
    drawn += (np.arange(n_boot) * n)[:, None]
    counts = np.bincount(drawn.ravel(), minlength=n_boot * n).reshape(n_boot, n)
    return np.ascontiguousarray(counts.T, dtype=np.float32)


def _check_n_boot(n_boot: int) -> None:
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a whole number >= 1, got {n_boot!r}")


def _band(truth: np.ndarray, scores: np.ndarray, counts: np.ndarray, grid: np.ndarray,
          alpha: float) -> pd.DataFrame:
    """The observed curve and its band at the rates ``grid``, from the resamples' case
    counts (:func:`_resample_counts` of these cases, in this order)."""
    # Sorted once: a resample is the number of times it draws each case, so its curve needs
    # no sort of its own.
    cases = _SortedCases(truth, scores)
    sens = cases.at_rates(counts[cases.order], grid)
    lower, upper = np.quantile(sens, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    observed = cases.at_rates(np.ones((truth.size, 1), dtype=np.float32), grid)[0]
    return pd.DataFrame({"fpr": grid, "sensitivity": observed, "lower": lower, "upper": upper})


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
    _check_n_boot(n_boot)
    grid = FPR_GRID if fpr is None else np.asarray(fpr, dtype=np.float64)
    if grid.ndim != 1 or ((grid < 0) | (grid > 1)).any():
        raise ValueError("fpr must be a 1-D array of rates in [0, 1]")
    t, s = _one_score(data, truth, score, missing)
    counts = _resample_counts(np.random.default_rng(seed), t, int(n_boot))
    return _band(t, s[0], counts, grid, alpha)


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
        As :func:`roc_band`. Readers who scored the same cases share the resamples (a
        paired bootstrap, as for comparing their curves): one draw of ``n_boot`` resamples
        from ``seed`` serves them all.

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
    check_alpha(alpha)
    _check_n_boot(n_boot)
    # One order of the cases for every reader, so that readers who scored the same cases
    # share the resamples (each resample draws the same cases for all of them).
    first = first[first["truth"].notna()].sort_values(
        "case", key=lambda cases: cases.astype(str), kind="stable")
    draws: dict[tuple[object, ...], np.ndarray] = {}
    parts = []
    for reader in sorted(first["reader"].unique(), key=natural_key):
        mine = first[first["reader"] == reader]
        truth = mine["truth"].to_numpy(dtype=np.int64)
        if np.unique(truth).size < 2:
            continue
        cases = tuple(mine["case"])
        if cases not in draws:
            draws[cases] = _resample_counts(np.random.default_rng(seed), truth, int(n_boot))
        band = _band(truth, mine["score"].to_numpy(dtype=np.float64), draws[cases], FPR_GRID,
                     alpha)
        parts.append(band.assign(reader=str(reader), condition=condition)[columns])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
