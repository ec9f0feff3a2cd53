"""McNemar's test for paired binary outcomes (two readers, the same cases).

The cases both readers got right or both got wrong carry no information about
a difference; only the discordant pairs do: ``b`` cases where reader A
succeeded and B failed, ``c`` where B succeeded and A failed. Under the null
hypothesis of equal success probabilities, ``b ~ Binomial(b + c, 1/2)``.

Two versions, as in R's ``mcnemar.test`` and ``exact2x2::mcnemar.exact``:

- ``"exact"``: two-sided binomial p-value ``min(1, 2 P(X <= min(b, c)))``
  (the exact conditional test);
- ``"chi2"``: ``(|b - c| - 1)^2 / (b + c)`` on 1 df, with Edwards' (1948)
  continuity correction (R's default); ``"chi2_uncorrected"``:
  ``(b - c)^2 / (b + c)`` (McNemar 1947).

The estimate is the difference of the paired proportions,
``p_A - p_B = (b - c) / n``, with the Wald interval of Agresti (2013, sec. 11.1)
``SE = sqrt((b + c) - (b - c)^2 / n) / n``.

In reader studies, success means a correct call, and the test is run on a
subset of cases (STUDY-PROTOCOL.md): sensitivity on the malignant cases only,
specificity on the benign cases only, accuracy on all.

References
----------
McNemar Q (1947). Note on the sampling error of the difference between
correlated proportions or percentages. Psychometrika 12:153-157.
doi:10.1007/BF02295996

Edwards AL (1948). Note on the "correction for continuity" in testing the
significance of the difference between correlated proportions.
Psychometrika 13:185-187. doi:10.1007/BF02289261

Agresti A (2013). Categorical Data Analysis, 3rd ed., sec. 11.1. Wiley.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from readerstudy.stats._validation import (
    as_binary_truth,
    check_alpha,
    check_missing_policy,
    columns,
    drop_missing,
)
from readerstudy.stats.estimable import NotEstimableError
from readerstudy.stats.proportions import as_binary_calls

McNemarMethod = Literal["exact", "chi2", "chi2_uncorrected"]
METHODS: tuple[str, ...] = ("exact", "chi2", "chi2_uncorrected")

__all__ = [
    "METHODS",
    "McNemarResult",
    "mcnemar",
    "mcnemar_accuracy",
    "mcnemar_from_counts",
    "mcnemar_sensitivity",
    "mcnemar_specificity",
]


@dataclass(frozen=True, slots=True)
class McNemarResult:
    """McNemar's test and the difference of two paired proportions.

    Attributes
    ----------
    estimate : float
        ``p_A - p_B``: success proportion of A minus that of B on the same cases.
    ci_low, ci_high : float
        Wald interval of the difference (Agresti 2013, sec. 11.1).
    statistic : float
        ``"exact"``: ``min(b, c)`` (the binomial count, as statsmodels reports);
        ``"chi2"``/``"chi2_uncorrected"``: the chi-square statistic.
        0 when there is no discordant pair.
    df : float
        1 for the chi-square versions, NaN for the exact test.
    p_value : float
        Two-sided; 1 when there is no discordant pair.
    n : int
        Number of paired cases.
    a_only, b_only : int
        Discordant pairs: A succeeded and B failed (``b``); B succeeded and A
        failed (``c``).
    method : str
        ``"exact"``, ``"chi2"`` or ``"chi2_uncorrected"``.
    """

    estimate: float
    ci_low: float
    ci_high: float
    statistic: float
    df: float
    p_value: float
    n: int
    a_only: int
    b_only: int
    method: str


def mcnemar_from_counts(
    a_only: int,
    b_only: int,
    n: int,
    *,
    method: McNemarMethod = "exact",
    alpha: float = 0.05,
) -> McNemarResult:
    """McNemar's test from the discordant counts of a paired 2 x 2 table.

    Parameters
    ----------
    a_only : int
        Pairs where A succeeded and B failed (``n12`` of the table with A in rows).
    b_only : int
        Pairs where B succeeded and A failed (``n21``).
    n : int
        All paired cases (concordant + discordant); used for the estimate.
    method : {"exact", "chi2", "chi2_uncorrected"}, default "exact"
    alpha : float, default 0.05
        1 - confidence level of the interval of the difference.

    Returns
    -------
    McNemarResult

    Raises
    ------
    NotEstimableError
        When ``n`` is 0 (:mod:`readerstudy.stats.estimable`).

    Examples
    --------
    Agresti (2013) Table 11.1, presidential approval (794, 150, 86, 570):

    >>> r = mcnemar_from_counts(150, 86, 1600, method="chi2_uncorrected")
    >>> round(float(np.sqrt(r.statistic)), 2)
    4.17
    """
    check_alpha(alpha)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    for label, value in (("a_only", a_only), ("b_only", b_only), ("n", n)):
        if int(value) != value or value < 0:
            raise ValueError(f"{label} must be a non-negative integer, got {value!r}")
    b, c, n = int(a_only), int(b_only), int(n)
    if b + c > n:
        raise ValueError(f"discordant pairs ({b} + {c}) exceed the number of cases n={n}")
    if n == 0:
        raise NotEstimableError("no paired cases to compare")
    discordant = b + c
    estimate = (b - c) / n
    se = float(np.sqrt(max(discordant - (b - c) ** 2 / n, 0.0)) / n)
    z = special.ndtri(1.0 - alpha / 2.0)
    if discordant == 0:
        statistic, p_value = 0.0, 1.0
    elif method == "exact":
        statistic = float(min(b, c))
        p_value = float(min(1.0, 2.0 * special.bdtr(min(b, c), discordant, 0.5)))
    else:
        numerator = abs(b - c) - (1.0 if method == "chi2" else 0.0)
        statistic = float(max(numerator, 0.0) ** 2 / discordant)
        p_value = float(special.chdtrc(1, statistic))
    return McNemarResult(
        estimate=float(estimate),
        ci_low=float(estimate - z * se),
        ci_high=float(estimate + z * se),
        statistic=statistic,
        df=float("nan") if method == "exact" else 1.0,
        p_value=p_value,
        n=n,
        a_only=b,
        b_only=c,
        method=method,
    )


def mcnemar(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    method: McNemarMethod = "exact",
    alpha: float = 0.05,
    missing: str = "raise",
) -> McNemarResult:
    """McNemar's test on two paired 0/1 outcomes.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    x, y : str
        Columns of the two outcomes of each case: 1 = success (e.g. a correct call),
        0 = failure. ``estimate`` is the share of successes in x minus that in y.
    method : {"exact", "chi2", "chi2_uncorrected"}, default "exact"
    alpha : float, default 0.05
    missing : {"raise", "drop"}, default "raise"
        With ``"drop"`` a case missing in either column is dropped from both.

    Returns
    -------
    McNemarResult
    """
    check_missing_policy(missing)
    given = columns(data, x=x, y=y)
    a = as_binary_truth(given["x"], x, allow_nan=True).astype(np.float64)
    b = as_binary_truth(given["y"], y, allow_nan=True).astype(np.float64)
    kept = drop_missing(missing, x=a, y=b)
    return _mcnemar(kept["x"], kept["y"], method, alpha)


def _mcnemar(a: np.ndarray, b: np.ndarray, method: McNemarMethod, alpha: float) -> McNemarResult:
    a_only = int(np.count_nonzero((a == 1) & (b == 0)))
    b_only = int(np.count_nonzero((a == 0) & (b == 1)))
    return mcnemar_from_counts(a_only, b_only, a.size, method=method, alpha=alpha)


def _on_subset(
    data: pd.DataFrame,
    x: str,
    y: str,
    truth: str,
    subset: int | None,
    method: McNemarMethod,
    alpha: float,
    missing: str,
) -> McNemarResult:
    check_missing_policy(missing)
    given = columns(data, truth=truth, x=x, y=y)
    t = as_binary_truth(given["truth"], truth, allow_nan=True).astype(np.float64)
    a = as_binary_calls(given["x"], x, allow_nan=True).astype(np.float64)
    b = as_binary_calls(given["y"], y, allow_nan=True).astype(np.float64)
    kept = drop_missing(missing, truth=t, x=a, y=b)
    t, a, b = kept["truth"], kept["x"], kept["y"]
    keep = np.ones(t.size, dtype=bool) if subset is None else t == subset
    if not keep.any():
        cases = {None: "cases", 1: "malignant cases", 0: "benign cases"}[subset]
        raise NotEstimableError(f"no {cases} read by both readers")
    return _mcnemar((a[keep] == t[keep]).astype(np.int64), (b[keep] == t[keep]).astype(np.int64),
                    method, alpha)  # fmt: skip


def mcnemar_sensitivity(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    truth: str = "truth",
    method: McNemarMethod = "exact",
    alpha: float = 0.05,
    missing: str = "raise",
) -> McNemarResult:
    """Compare two readers' sensitivities: McNemar on the malignant cases only.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    x, y : str
        Columns of the two readers' calls on the same cases (0/1 or
        "benign"/"malignant").
    truth : str, default "truth"
        Column of the reference standard, 0 = benign, 1 = malignant.
    method : {"exact", "chi2", "chi2_uncorrected"}, default "exact"
    alpha : float, default 0.05
    missing : {"raise", "drop"}, default "raise"

    Returns
    -------
    McNemarResult
        ``estimate`` is sensitivity(x) - sensitivity(y); ``n`` the number of
        malignant cases.
    """
    return _on_subset(data, x, y, truth, 1, method, alpha, missing)


def mcnemar_specificity(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    truth: str = "truth",
    method: McNemarMethod = "exact",
    alpha: float = 0.05,
    missing: str = "raise",
) -> McNemarResult:
    """Compare two readers' specificities: McNemar on the benign cases only.

    Parameters are those of :func:`mcnemar_sensitivity`; ``estimate`` is
    specificity(x) - specificity(y) and ``n`` the number of benign cases.
    """
    return _on_subset(data, x, y, truth, 0, method, alpha, missing)


def mcnemar_accuracy(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    truth: str = "truth",
    method: McNemarMethod = "exact",
    alpha: float = 0.05,
    missing: str = "raise",
) -> McNemarResult:
    """Compare two readers' accuracies: McNemar on correct/incorrect over all cases.

    Parameters are those of :func:`mcnemar_sensitivity`; ``estimate`` is
    accuracy(x) - accuracy(y) and ``n`` the number of cases.
    """
    return _on_subset(data, x, y, truth, None, method, alpha, missing)
