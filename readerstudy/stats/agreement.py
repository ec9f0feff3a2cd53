"""Chance-corrected agreement of categorical ratings: Cohen's and Fleiss' kappa.

- Cohen's kappa for two raters (Cohen 1960), unweighted or weighted
  (Cohen 1968) with linear (Cicchetti-Allison) or quadratic (Fleiss-Cohen)
  agreement weights, with the large-sample standard error of Fleiss, Cohen &
  Everitt (1969) for the interval and the standard error under H0 (kappa = 0)
  for the z test, as SAS PROC FREQ (AGREE) reports them.
- Fleiss' kappa for m raters per subject (Fleiss 1971), overall and per
  category, with the z test of Fleiss, Nee & Landis (1979) as R's
  ``irr::kappam.fleiss`` reports it, and a jackknife interval over subjects.
- Landis & Koch (1977) bands for reporting.

Weights act on the *positions* of the categories in their order (first,
second, ...), not on their numeric values: with categories 1, 2, 3, 4, 6 the
categories 4 and 6 are adjacent. This is the convention of ``irr::kappa2``;
pass ``categories=`` to fix the order and to include unobserved categories.

References
----------
Cohen J (1960). A coefficient of agreement for nominal scales. Educ Psychol
Meas 20:37-46. doi:10.1177/001316446002000104

Cohen J (1968). Weighted kappa. Psychol Bull 70:213-220. doi:10.1037/h0026256

Fleiss JL, Cohen J, Everitt BS (1969). Large sample standard errors of kappa
and weighted kappa. Psychol Bull 72:323-327. doi:10.1037/h0028106

Fleiss JL (1971). Measuring nominal scale agreement among many raters.
Psychol Bull 76:378-382. doi:10.1037/h0031619

Fleiss JL, Nee JCM, Landis JR (1979). Large sample variance of kappa in the
case of different sets of raters. Psychol Bull 86:974-977.
doi:10.1037/0033-2909.86.5.974

Landis JR, Koch GG (1977). The measurement of observer agreement for
categorical data. Biometrics 33:159-174. doi:10.2307/2529310
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from readerstudy.stats._validation import (
    check_alpha,
    check_missing_policy,
    columns,
    wide_ratings,
)
from readerstudy.stats.estimable import NotEstimableError

Weights = Literal["linear", "quadratic"] | None

__all__ = [
    "FleissKappaResult",
    "KappaResult",
    "agreement_table",
    "cohen_kappa",
    "cohen_kappa_from_table",
    "fleiss_kappa",
    "fleiss_kappa_from_counts",
    "kappa_weights",
    "landis_koch",
]


_ONE_CATEGORY = "every rating is the same category, so chance agreement is 1 and kappa is 0/0"


@dataclass(frozen=True, slots=True)
class KappaResult:
    """Cohen's (weighted) kappa of two raters.

    Attributes
    ----------
    estimate : float
        Kappa; NaN when chance agreement is 1 (both raters used one category).
    se : float
        Large-sample standard error (Fleiss, Cohen & Everitt 1969), used for
        the interval ("ASE" in SAS).
    ci_low, ci_high : float
        ``estimate +/- z se``, truncated to kappa's range [-1, 1] (SAS reports the
        untruncated bounds; they differ only where a bound passes -1 or 1).
    statistic : float
        ``estimate / se_null``, the z test of kappa = 0.
    p_value : float
        Two-sided p-value of that test.
    se_null : float
        Standard error under kappa = 0 ("ASE under H0" in SAS).
    n : int
        Number of rated subjects.
    observed_agreement, expected_agreement : float
        Weighted observed and chance agreement.
    weights : str
        ``"unweighted"``, ``"linear"`` or ``"quadratic"``.
    categories : tuple
        The categories, in the order the weights use.
    ci_method : str
        How the interval was made (:data:`KAPPA_CI_METHOD`).
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    se_null: float
    n: int
    observed_agreement: float
    expected_agreement: float
    weights: str
    categories: tuple[object, ...]
    ci_method: str = ""

    @property
    def not_estimable(self) -> str:
        """Why the estimate is NaN (``""`` when it is not; :mod:`readerstudy.stats.estimable`)."""
        if not np.isnan(self.estimate):
            return ""
        return _ONE_CATEGORY


#: The interval of Cohen's kappa, as the results name it.
KAPPA_CI_METHOD = "Wald, Fleiss-Cohen-Everitt large-sample SE, truncated to [-1, 1]"
#: The interval of Fleiss' kappa.
FLEISS_CI_METHOD = "Wald, jackknife SE over subjects, truncated to [-1, 1]"


def _in_range(bound: float) -> float:
    """A kappa interval's bound inside kappa's range [-1, 1] (NaN stays NaN)."""
    return float(np.clip(bound, -1.0, 1.0))


@dataclass(frozen=True, slots=True)
class FleissKappaResult:
    """Fleiss' kappa of m raters per subject.

    Attributes
    ----------
    estimate : float
        Overall kappa (Fleiss 1971).
    se : float
        Jackknife standard error over subjects (Efron & Tibshirani 1993,
        ch. 11), used for the interval.
    ci_low, ci_high : float
        ``estimate +/- z se``, truncated to [-1, 1].
    statistic : float
        ``estimate / se_null``, the z test of kappa = 0 (``irr::kappam.fleiss``).
    p_value : float
        Two-sided p-value of that test.
    se_null : float
        Standard error under kappa = 0 (Fleiss, Nee & Landis 1979).
    n : int
        Number of subjects.
    n_raters : int
        Ratings per subject (m).
    category_kappas : pandas.DataFrame
        One row per category: ``category, estimate, se_null, statistic,
        p_value`` (Fleiss 1971, eq. 9).
    ci_method : str
        How the interval was made (:data:`FLEISS_CI_METHOD`).
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    se_null: float
    n: int
    n_raters: int
    category_kappas: pd.DataFrame
    ci_method: str = ""

    @property
    def not_estimable(self) -> str:
        """Why the estimate is NaN (``""`` when it is not; :mod:`readerstudy.stats.estimable`)."""
        if not np.isnan(self.estimate):
            return ""
        return _ONE_CATEGORY


def landis_koch(kappa: float) -> str:
    """Landis & Koch (1977) band of a kappa value.

    Parameters
    ----------
    kappa : float

    Returns
    -------
    str
        ``"poor"`` (< 0), ``"slight"`` (0-0.20), ``"fair"`` (0.21-0.40),
        ``"moderate"`` (0.41-0.60), ``"substantial"`` (0.61-0.80),
        ``"almost perfect"`` (0.81-1.00); ``""`` for NaN. A value between two
        published bounds (e.g. 0.205) goes to the lower band.

    References
    ----------
    Landis & Koch (1977), Biometrics 33:159, doi:10.2307/2529310, p. 165.
    """
    if kappa is None or np.isnan(kappa):
        return ""
    if kappa < 0:
        return "poor"
    for bound, label in (
        (0.205, "slight"),
        (0.405, "fair"),
        (0.605, "moderate"),
        (0.805, "substantial"),
    ):
        if kappa < bound:
            return label
    return "almost perfect"


def kappa_weights(n_categories: int, weights: Weights = None) -> np.ndarray:
    """Agreement weights ``w_ij`` (1 on the diagonal) for k ordered categories.

    Parameters
    ----------
    n_categories : int
    weights : {None, "linear", "quadratic"}
        ``None``: identity (unweighted kappa). ``"linear"``:
        ``1 - |i - j| / (k - 1)`` (Cicchetti & Allison 1971, SAS's default).
        ``"quadratic"``: ``1 - (i - j)^2 / (k - 1)^2`` (Fleiss & Cohen 1973).

    Returns
    -------
    numpy.ndarray, shape (k, k)
    """
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    k = int(n_categories)
    if weights is None or k < 2:
        return np.eye(k)
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / (k - 1)
    return 1.0 - (distance if weights == "linear" else distance**2)


def _as_labels(x: object, name: str) -> pd.Series:
    if isinstance(x, pd.DataFrame):
        raise ValueError(f"{name} must be 1-D (an array or a Series), got a DataFrame")
    series = x.reset_index(drop=True) if isinstance(x, pd.Series) else pd.Series(np.asarray(x))
    if series.ndim != 1 or series.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of categories")
    return series


def _resolve_categories(
    observed: pd.Series, categories: Sequence[object] | None, weights: Weights
) -> list[object]:
    values = pd.unique(observed.dropna())
    if categories is None:
        try:
            cats = sorted(values.tolist())
        except TypeError as exc:
            raise ValueError(
                "the categories mix types and cannot be ordered; pass categories= in order"
            ) from exc
        if weights is not None and any(isinstance(v, str) for v in cats):
            raise ValueError(
                "weighted kappa needs ordered categories: pass categories= in order "
                f"(observed {cats})"
            )
        return cats
    cats = list(categories)
    if len(set(cats)) != len(cats):
        raise ValueError(f"categories must be distinct, got {cats}")
    unknown = sorted({str(v) for v in values if v not in set(cats)})
    if unknown:
        raise ValueError(f"ratings {unknown} are not among categories {cats}")
    return cats


def agreement_table(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    categories: Sequence[object] | None = None,
    weights: Weights = None,
    missing: str = "raise",
) -> tuple[np.ndarray, list[object]]:
    """Cross-tabulate two raters' ratings of the same subjects.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    x, y : str
        Columns of the two raters' category labels (numbers or strings).
    categories : sequence, optional
        All categories in order. Default: the sorted observed labels.
    weights : {None, "linear", "quadratic"}
        Only checked here: weighted kappa needs an order, so string labels
        without ``categories`` are refused.
    missing : {"raise", "drop"}, default "raise"

    Returns
    -------
    table : numpy.ndarray, shape (k, k)
        Counts, rater x in rows, rater y in columns.
    categories : list
    """
    check_missing_policy(missing)
    given = columns(data, x=x, y=y)
    sa, sb = _as_labels(given["x"], x), _as_labels(given["y"], y)
    incomplete = sa.isna() | sb.isna()
    if incomplete.any():
        if missing == "raise":
            raise ValueError(
                f"{int(incomplete.sum())} of {sa.size} subjects lack a rating; "
                "pass missing='drop' to drop them"
            )
        sa, sb = sa[~incomplete], sb[~incomplete]
    cats = _resolve_categories(pd.concat([sa, sb]), categories, weights)
    index = {c: i for i, c in enumerate(cats)}
    ia = sa.map(index).to_numpy(dtype=np.int64)
    ib = sb.map(index).to_numpy(dtype=np.int64)
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, (ia, ib), 1.0)
    return table, cats


def cohen_kappa_from_table(
    table: object,
    *,
    weights: Weights = None,
    alpha: float = 0.05,
    categories: Sequence[object] | None = None,
) -> KappaResult:
    """Cohen's (weighted) kappa from a square agreement table of counts.

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o = sum w_ij p_ij`` and
    ``p_e = sum w_ij p_i. p_.j``. The standard error is that of Fleiss, Cohen &
    Everitt (1969), eq. (13) for weighted kappa (which reduces to their
    unweighted formula with identity weights):

    ``var = [sum p_ij (w_ij - (wbar_i. + wbar_.j)(1 - k))^2 - (k - p_e (1 - k))^2]
    / (n (1 - p_e)^2)``

    and under H0 ``var0 = [sum p_i. p_.j (w_ij - (wbar_i. + wbar_.j))^2 - p_e^2]
    / (n (1 - p_e)^2)``, with ``wbar_i. = sum_j p_.j w_ij`` and
    ``wbar_.j = sum_i p_i. w_ij``. These are the "ASE" and "ASE under H0"
    of SAS PROC FREQ.

    Parameters
    ----------
    table : array-like, shape (k, k)
        Counts; rater A in rows, rater B in columns, categories in order.
    weights : {None, "linear", "quadratic"}
    alpha : float, default 0.05
    categories : sequence, optional
        Labels of the rows/columns, recorded in the result.

    Returns
    -------
    KappaResult
    """
    check_alpha(alpha)
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"table must be square (k x k), got shape {counts.shape}")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("table must hold non-negative finite counts")
    n = float(counts.sum())
    if n == 0:
        raise ValueError("table holds no subjects")
    k = counts.shape[0]
    cats = tuple(categories) if categories is not None else tuple(range(1, k + 1))
    if len(cats) != k:
        raise ValueError(f"{len(cats)} categories given for a {k} x {k} table")
    w = kappa_weights(k, weights)
    p = counts / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    p_o = float((w * p).sum())
    p_e = float((w * np.outer(rows, cols)).sum())
    label = "unweighted" if weights is None else weights
    if np.isclose(p_e, 1.0):
        nan = float("nan")
        return KappaResult(nan, nan, nan, nan, nan, nan, nan, int(n), p_o, p_e, label, cats)
    kappa = (p_o - p_e) / (1.0 - p_e)
    wbar = (w @ cols)[:, None] + (w.T @ rows)[None, :]
    var = ((p * (w - wbar * (1.0 - kappa)) ** 2).sum() - (kappa - p_e * (1.0 - kappa)) ** 2) / (
        n * (1.0 - p_e) ** 2
    )
    var0 = ((np.outer(rows, cols) * (w - wbar) ** 2).sum() - p_e**2) / (n * (1.0 - p_e) ** 2)
    se = float(np.sqrt(max(var, 0.0)))
    se0 = float(np.sqrt(max(var0, 0.0)))
    z = special.ndtri(1.0 - alpha / 2.0)
    statistic = kappa / se0 if se0 > 0 else float("nan")
    p_value = float(2.0 * special.ndtr(-abs(statistic))) if se0 > 0 else float("nan")
    return KappaResult(
        estimate=float(kappa),
        se=se,
        ci_low=_in_range(kappa - z * se),
        ci_high=_in_range(kappa + z * se),
        statistic=float(statistic),
        p_value=p_value,
        se_null=se0,
        n=int(n),
        observed_agreement=p_o,
        expected_agreement=p_e,
        weights=label,
        categories=cats,
        ci_method=KAPPA_CI_METHOD,
    )


def cohen_kappa(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    weights: Weights = None,
    categories: Sequence[object] | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
) -> KappaResult:
    """Cohen's (weighted) kappa of two raters rating the same subjects.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    x, y : str
        Columns of the two raters' category labels (e.g. two readers' calls on
        the same cases, or one reader's first and repeat reads).
    weights : {None, "linear", "quadratic"}
        Agreement weights on category positions (see module notes).
    categories : sequence, optional
        All categories, in order; needed for weighted kappa of text labels.
    alpha : float, default 0.05
    missing : {"raise", "drop"}, default "raise"

    Returns
    -------
    KappaResult
        See :func:`cohen_kappa_from_table` for the formulas.

    References
    ----------
    Cohen (1960), doi:10.1177/001316446002000104; Cohen (1968),
    doi:10.1037/h0026256; Fleiss, Cohen & Everitt (1969), doi:10.1037/h0028106.
    """
    table, cats = agreement_table(data, x=x, y=y, categories=categories, weights=weights,
                                  missing=missing)
    return cohen_kappa_from_table(table, weights=weights, alpha=alpha, categories=cats)


def fleiss_kappa_from_counts(
    counts: object,
    *,
    alpha: float = 0.05,
    categories: Sequence[object] | None = None,
) -> FleissKappaResult:
    """Fleiss' kappa from a subjects x categories table of rating counts.

    With ``x_ij`` raters putting subject i in category j, m raters per
    subject and N subjects: ``p_j = sum_i x_ij / (N m)``,
    ``P_i = (sum_j x_ij^2 - m) / (m (m - 1))``, and
    ``kappa = (mean(P_i) - sum p_j^2) / (1 - sum p_j^2)`` (Fleiss 1971).
    The z test uses the variance under H0 of Fleiss, Nee & Landis (1979):
    ``2 / (N m (m - 1)) [(sum p_j q_j)^2 - sum p_j q_j (q_j - p_j)] / (sum p_j q_j)^2``.
    Per-category kappas are ``1 - sum_i x_ij (m - x_ij) / (N m (m - 1) p_j q_j)``
    with null variance ``2 / (N m (m - 1))``. The interval uses the jackknife
    standard error over subjects, because the H0 variance does not describe
    the sampling error of a non-zero kappa.

    Parameters
    ----------
    counts : array-like, shape (N, k)
        Non-negative integer counts; every row must sum to the same m >= 2.
    alpha : float, default 0.05
    categories : sequence, optional
        Labels of the k columns (default 1..k).

    Returns
    -------
    FleissKappaResult
    """
    check_alpha(alpha)
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"counts must be (subjects, categories), got shape {x.shape}")
    if x.shape[0] < 2:
        raise NotEstimableError(f"Fleiss' kappa needs at least 2 subjects, got {x.shape[0]}")
    if not np.isfinite(x).all() or (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("counts must be non-negative integers")
    m_per_subject = x.sum(axis=1)
    if not (m_per_subject == m_per_subject[0]).all():
        bad = int(np.flatnonzero(m_per_subject != m_per_subject[0])[0])
        raise ValueError(
            "every subject needs the same number of ratings; subject at position "
            f"{bad} has {int(m_per_subject[bad])}, the first has {int(m_per_subject[0])}"
        )
    m = float(m_per_subject[0])
    if m < 2:
        raise NotEstimableError(f"Fleiss' kappa needs at least 2 ratings per subject, got {int(m)}")
    n_subj, k = x.shape
    cats = tuple(categories) if categories is not None else tuple(range(1, k + 1))
    if len(cats) != k:
        raise ValueError(f"{len(cats)} categories given for {k} columns")

    agreement_i = ((x * x).sum(axis=1) - m) / (m * (m - 1.0))

    def kappa_of(
        totals: np.ndarray, sum_agreement: np.ndarray | float, subjects: np.ndarray | np.float64
    ) -> tuple[np.ndarray, np.ndarray]:
        """Kappa and category shares from category totals; vectorised over leading axes."""
        p = totals / np.expand_dims(subjects * m, -1)
        chance = (p * p).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sum_agreement / subjects - chance) / (1.0 - chance), p

    totals = x.sum(axis=0)
    whole_kappa, p = kappa_of(totals, agreement_i.sum(), np.float64(n_subj))
    kappa = float(whole_kappa)
    q = 1.0 - p
    pq = p * q
    sum_pq = float(pq.sum())
    scale = n_subj * m * (m - 1.0)
    if sum_pq > 0:
        var0 = 2.0 / scale * (sum_pq**2 - float((pq * (q - p)).sum())) / sum_pq**2
        se0 = float(np.sqrt(var0))
        statistic = kappa / se0
        p_value = float(2.0 * stats.norm.sf(abs(statistic)))
    else:
        se0 = statistic = p_value = float("nan")

    # Jackknife: leave each subject out in closed form (vectorised over subjects).
    loo_kappa, _ = kappa_of(
        totals[None, :] - x,
        agreement_i.sum() - agreement_i,
        np.full(n_subj, n_subj - 1.0),
    )
    if np.isfinite(loo_kappa).all():
        se = float(np.sqrt((n_subj - 1.0) / n_subj * ((loo_kappa - loo_kappa.mean()) ** 2).sum()))
    else:
        se = float("nan")
    z = stats.norm.ppf(1.0 - alpha / 2.0)

    with np.errstate(invalid="ignore", divide="ignore"):
        cat_kappa = 1.0 - (x * (m - x)).sum(axis=0) / (scale * pq)
    cat_se0 = np.sqrt(2.0 / scale)
    cat_z = cat_kappa / cat_se0
    category_kappas = pd.DataFrame(
        {
            "category": list(cats),
            "estimate": cat_kappa,
            "se_null": cat_se0,
            "statistic": cat_z,
            "p_value": 2.0 * stats.norm.sf(np.abs(cat_z)),
        }
    )
    return FleissKappaResult(
        estimate=kappa,
        se=se,
        ci_low=_in_range(kappa - z * se),
        ci_high=_in_range(kappa + z * se),
        statistic=float(statistic),
        p_value=p_value,
        se_null=se0,
        n=int(n_subj),
        n_raters=int(m),
        category_kappas=category_kappas,
        ci_method=FLEISS_CI_METHOD,
    )


def fleiss_kappa(
    data: pd.DataFrame,
    *,
    subject: str = "case",
    rater: str = "reader",
    rating: str = "call",
    categories: Sequence[object] | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
) -> FleissKappaResult:
    """Fleiss' kappa of several raters rating the same subjects.

    Parameters
    ----------
    data : pandas.DataFrame
        Long (tidy) ratings: one row per subject and rater.
    subject, rater, rating : str, default "case", "reader", "call"
        Columns: the rated subject, the rater, the category label. Every subject
        needs a rating from every rater (the raters may differ between subjects:
        then ``rater`` numbers a subject's ratings 1..m).
    categories : sequence, optional
        All categories (default: the sorted observed labels). Unobserved
        categories do not change the overall kappa.
    alpha : float, default 0.05
    missing : {"raise", "drop"}, default "raise"
        With ``"drop"`` a subject without a rating from every rater is dropped.

    Returns
    -------
    FleissKappaResult
        See :func:`fleiss_kappa_from_counts` for the formulas.

    Raises
    ------
    ValueError
        A missing column, fewer than 2 raters, or a subject rated twice by a rater.

    References
    ----------
    Fleiss (1971), doi:10.1037/h0031619; Fleiss, Nee & Landis (1979),
    doi:10.1037/0033-2909.86.5.974.
    """
    check_missing_policy(missing)
    frame = wide_ratings(data, subject=subject, rater=rater, rating=rating)
    if frame.shape[1] < 2:
        raise ValueError(f"Fleiss' kappa needs at least 2 raters, got {frame.shape[1]}")
    incomplete = frame.isna().any(axis=1)
    if incomplete.any():
        if missing == "raise":
            raise ValueError(
                f"{int(incomplete.sum())} of {len(frame)} subjects lack a rating; "
                "pass missing='drop' to drop them"
            )
        frame = frame.loc[~incomplete]
    stacked = pd.Series(frame.to_numpy().ravel())
    cats = _resolve_categories(stacked, categories, None)
    index = {c: i for i, c in enumerate(cats)}
    codes = np.vectorize(index.__getitem__, otypes=[np.int64])(frame.to_numpy())
    counts = np.zeros((frame.shape[0], len(cats)))
    rows = np.repeat(np.arange(frame.shape[0]), frame.shape[1])
    np.add.at(counts, (rows, codes.ravel()), 1.0)
    return fleiss_kappa_from_counts(counts, alpha=alpha, categories=cats)
