"""Proportions with confidence intervals, and the diagnostic metrics built on them.

Sensitivity, specificity, accuracy, positive and negative predictive value are
binomial proportions ``successes / total``. Each is reported with its counts
(the n/N of publication tables) and two confidence intervals:

- Wilson's score interval (Wilson 1927), the default ``ci_low, ci_high``: good
  coverage at every n and never outside [0, 1] (Brown, Cai & DasGupta 2001);
- the Clopper-Pearson "exact" interval (Clopper & Pearson 1934),
  ``exact_ci_low, exact_ci_high``: guaranteed coverage, conservative.

Both agree with ``statsmodels.stats.proportion.proportion_confint`` (methods
``"wilson"`` and ``"beta"``) to floating point precision.

References
----------
Wilson EB (1927). Probable inference, the law of succession, and statistical
inference. J Am Stat Assoc 22:209-212. doi:10.1080/01621459.1927.10502953

Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits
illustrated in the case of the binomial. Biometrika 26:404-413.
doi:10.1093/biomet/26.4.404

Brown LD, Cai TT, DasGupta A (2001). Interval estimation for a binomial
proportion. Stat Sci 16:101-133. doi:10.1214/ss/1009213286
"""

from __future__ import annotations

from dataclasses import dataclass

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

__all__ = [
    "CALL_CODES",
    "DiagnosticMetrics",
    "Proportion",
    "as_binary_calls",
    "clopper_pearson_interval",
    "confusion_counts",
    "diagnostic_metrics",
    "diagnostic_metrics_from_counts",
    "proportion",
    "wilson_interval",
]

#: Text calls accepted wherever a benign/malignant call is expected (case-insensitive).
CALL_CODES: dict[str, int] = {"benign": 0, "malignant": 1}


@dataclass(frozen=True, slots=True)
class Proportion:
    """A binomial proportion ``successes / total`` with two confidence intervals.

    Attributes
    ----------
    estimate : float
        ``successes / total`` (NaN when ``total`` is 0).
    ci_low, ci_high : float
        Wilson score interval.
    exact_ci_low, exact_ci_high : float
        Clopper-Pearson interval.
    successes, total : int
        The n/N of publication tables.
    alpha : float
        1 - confidence level of both intervals.
    of : str
        What the denominator counts, e.g. "malignant cases" (says why a proportion of
        nothing is not estimable).
    """

    estimate: float
    ci_low: float
    ci_high: float
    exact_ci_low: float
    exact_ci_high: float
    successes: int
    total: int
    alpha: float
    of: str = "cases"

    @property
    def n(self) -> int:
        """The denominator (number of cases), as in the results table's ``n``."""
        return self.total

    @property
    def not_estimable(self) -> str:
        """Why the estimate is NaN: ``"no <of>"`` when the denominator is 0, else ``""``
        (:mod:`readerstudy.stats.estimable`)."""
        return f"no {self.of}" if self.total == 0 else ""


@dataclass(frozen=True, slots=True)
class DiagnosticMetrics:
    """Confusion counts of benign/malignant calls and the proportions built on them.

    Attributes
    ----------
    tp, fn, tn, fp : int
        Malignant called malignant, malignant called benign, benign called
        benign, benign called malignant.
    sensitivity : Proportion
        tp / (tp + fn), on the malignant cases.
    specificity : Proportion
        tn / (tn + fp), on the benign cases.
    accuracy : Proportion
        (tp + tn) / n.
    ppv : Proportion
        tp / (tp + fp), on the cases called malignant.
    npv : Proportion
        tn / (tn + fn), on the cases called benign.
    n : int
        Number of cases.
    """

    tp: int
    fn: int
    tn: int
    fp: int
    sensitivity: Proportion
    specificity: Proportion
    accuracy: Proportion
    ppv: Proportion
    npv: Proportion
    n: int


def _check_counts(successes: int, total: int) -> tuple[int, int]:
    if int(successes) != successes or int(total) != total:
        raise ValueError(f"counts must be integers, got successes={successes}, total={total}")
    successes, total = int(successes), int(total)
    if total < 0 or successes < 0 or successes > total:
        raise ValueError(f"need 0 <= successes <= total, got successes={successes}, total={total}")
    return successes, total


def wilson_interval(successes: int, total: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    ``(x + z^2/2) / (n + z^2) +/- z sqrt(n) / (n + z^2) * sqrt(p (1 - p) + z^2 / (4 n))``
    with ``p = x / n`` and ``z`` the ``1 - alpha/2`` normal quantile
    (Wilson 1927, doi:10.1080/01621459.1927.10502953), without continuity
    correction.

    Parameters
    ----------
    successes, total : int
        ``0 <= successes <= total``.
    alpha : float, default 0.05

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when ``total`` is 0.
    """
    check_alpha(alpha)
    x, n = _check_counts(successes, total)
    if n == 0:
        return float("nan"), float("nan")
    z = special.ndtri(1.0 - alpha / 2.0)
    p = x / n
    denom = n + z * z
    centre = (x + z * z / 2.0) / denom
    half = z * np.sqrt(n) / denom * np.sqrt(p * (1.0 - p) + z * z / (4.0 * n))
    # Clip only rounding residue: the Wilson interval lies inside [0, 1].
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def clopper_pearson_interval(
    successes: int, total: int, *, alpha: float = 0.05
) -> tuple[float, float]:
    """Clopper-Pearson ("exact") interval for a binomial proportion.

    The bounds are beta quantiles: ``B(alpha/2; x, n - x + 1)`` and
    ``B(1 - alpha/2; x + 1, n - x)``, with 0 when ``x = 0`` and 1 when
    ``x = n`` (Clopper & Pearson 1934, doi:10.1093/biomet/26.4.404).

    Parameters
    ----------
    successes, total : int
        ``0 <= successes <= total``.
    alpha : float, default 0.05

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when ``total`` is 0.
    """
    check_alpha(alpha)
    x, n = _check_counts(successes, total)
    if n == 0:
        return float("nan"), float("nan")
    # scipy.special's inverse regularised incomplete beta is what stats.beta.ppf calls,
    # without the distribution machinery's per-call overhead.
    low = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, alpha / 2.0))
    high = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1.0 - alpha / 2.0))
    return low, high


def proportion(successes: int, total: int, *, alpha: float = 0.05, of: str = "cases") -> Proportion:
    """A proportion with its Wilson and Clopper-Pearson intervals.

    Parameters
    ----------
    successes, total : int
        ``0 <= successes <= total``. ``total = 0`` gives NaN estimate and bounds
        (for example the PPV of a reader who never calls malignant).
    alpha : float, default 0.05
    of : str, default "cases"
        What ``total`` counts; ``Proportion.not_estimable`` says "no <of>" when it is 0.

    Returns
    -------
    Proportion

    Examples
    --------
    >>> p = proportion(33, 49)
    >>> round(p.estimate, 3), p.successes, p.total
    (0.673, 33, 49)
    """
    x, n = _check_counts(successes, total)
    low, high = wilson_interval(x, n, alpha=alpha)
    exact_low, exact_high = clopper_pearson_interval(x, n, alpha=alpha)
    return Proportion(
        estimate=x / n if n else float("nan"),
        ci_low=low,
        ci_high=high,
        exact_ci_low=exact_low,
        exact_ci_high=exact_high,
        successes=x,
        total=n,
        alpha=float(alpha),
        of=str(of),
    )


def as_binary_calls(calls: object, name: str = "calls", *, allow_nan: bool = False) -> np.ndarray:
    """Return benign/malignant calls as 0/1.

    Parameters
    ----------
    calls : array-like or pandas.Series
        0/1 (integers, floats, booleans) or the words ``"benign"`` and
        ``"malignant"`` (any case, surrounding blanks ignored).
    name : str, default "calls"
        Name used in error messages.
    allow_nan : bool, default False
        Keep missing calls as NaN (float result) instead of raising.

    Returns
    -------
    numpy.ndarray
        int64 array of 0 (benign) and 1 (malignant), or float64 with NaN.

    Raises
    ------
    ValueError
        Naming the values that are neither a 0/1 code nor one of the words.
    """
    series = calls if isinstance(calls, pd.Series) else pd.Series(np.asarray(calls))
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        text = series.astype("string").str.strip().str.lower()
        mapped = text.map(lambda v: CALL_CODES.get(v, v) if isinstance(v, str) else v)
        numeric = pd.to_numeric(mapped, errors="coerce")
        bad = numeric.isna() & series.notna() & (text != "")
        if bad.any():
            values = sorted({str(v) for v in series[bad]})[:5]
            raise ValueError(
                f"{name} must be 0/1 or 'benign'/'malignant'; {int(bad.sum())} value(s) "
                f"are not, e.g. {values}"
            )
        series = numeric.astype("float64")
    else:
        numeric = pd.to_numeric(series, errors="coerce")
        bad = series.notna() & ~numeric.isin([0, 1])
        if bad.any():
            values = sorted({str(v) for v in series[bad]})[:5]
            raise ValueError(
                f"{name} must be 0/1 or 'benign'/'malignant'; {int(bad.sum())} value(s) "
                f"are not, e.g. {values}"
            )
    return as_binary_truth(series, name, allow_nan=allow_nan)


def confusion_counts(
    data: pd.DataFrame, *, truth: str = "truth", call: str = "call"
) -> tuple[int, int, int, int]:
    """Count ``(tp, fn, tn, fp)`` of binary calls against the truth.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    truth : str, default "truth"
        Column of the reference standard: 0 = benign, 1 = malignant.
    call : str, default "call"
        Column of the calls: 0/1 or ``"benign"``/``"malignant"``.

    Returns
    -------
    tuple of int
        ``(tp, fn, tn, fp)``.
    """
    given = columns(data, truth=truth, call=call)
    return _counts(as_binary_truth(given["truth"], truth), as_binary_calls(given["call"], call))


def _counts(t: np.ndarray, c: np.ndarray) -> tuple[int, int, int, int]:
    tp = int(np.count_nonzero((t == 1) & (c == 1)))
    fn = int(np.count_nonzero((t == 1) & (c == 0)))
    tn = int(np.count_nonzero((t == 0) & (c == 0)))
    fp = int(np.count_nonzero((t == 0) & (c == 1)))
    return tp, fn, tn, fp


def diagnostic_metrics_from_counts(
    *, tp: int, fn: int, tn: int, fp: int, alpha: float = 0.05
) -> DiagnosticMetrics:
    """Sensitivity, specificity, accuracy, PPV and NPV from confusion counts.

    Parameters
    ----------
    tp, fn, tn, fp : int
        True positives (malignant called malignant), false negatives, true
        negatives, false positives.
    alpha : float, default 0.05

    Returns
    -------
    DiagnosticMetrics
        Every proportion with Wilson and Clopper-Pearson intervals.

    Examples
    --------
    The MSK attending of the MRI study (STUDY-PROTOCOL.md: TP 47, TN 139, FN 3, FP 1):

    >>> m = diagnostic_metrics_from_counts(tp=47, fn=3, tn=139, fp=1)
    >>> m.sensitivity.estimate, round(m.specificity.estimate, 4)
    (0.94, 0.9929)
    """
    for label, value in (("tp", tp), ("fn", fn), ("tn", tn), ("fp", fp)):
        if int(value) != value or value < 0:
            raise ValueError(f"{label} must be a non-negative integer, got {value!r}")
    tp, fn, tn, fp = int(tp), int(fn), int(tn), int(fp)
    n = tp + fn + tn + fp
    return DiagnosticMetrics(
        tp=tp,
        fn=fn,
        tn=tn,
        fp=fp,
        sensitivity=proportion(tp, tp + fn, alpha=alpha, of="malignant cases"),
        specificity=proportion(tn, tn + fp, alpha=alpha, of="benign cases"),
        accuracy=proportion(tp + tn, n, alpha=alpha, of="cases"),
        ppv=proportion(tp, tp + fp, alpha=alpha, of="cases called malignant"),
        npv=proportion(tn, tn + fn, alpha=alpha, of="cases called benign"),
        n=n,
    )


def diagnostic_metrics(
    data: pd.DataFrame,
    *,
    truth: str = "truth",
    call: str = "call",
    alpha: float = 0.05,
    missing: str = "raise",
) -> DiagnosticMetrics:
    """Sensitivity, specificity, accuracy, PPV and NPV of benign/malignant calls.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    truth : str, default "truth"
        Column of the reference standard, 0 = benign, 1 = malignant.
    call : str, default "call"
        Column of the reader's calls: 0/1 or ``"benign"``/``"malignant"``.
    alpha : float, default 0.05
        1 - confidence level of the Wilson and Clopper-Pearson intervals.
    missing : {"raise", "drop"}, default "raise"
        What to do with a case whose truth or call is missing.

    Returns
    -------
    DiagnosticMetrics

    See Also
    --------
    diagnostic_metrics_from_counts : the same from published counts.
    """
    check_alpha(alpha)
    check_missing_policy(missing)
    given = columns(data, truth=truth, call=call)
    t = as_binary_truth(given["truth"], truth, allow_nan=True).astype(np.float64)
    c = as_binary_calls(given["call"], call, allow_nan=True).astype(np.float64)
    kept = drop_missing(missing, **{truth: t, call: c})
    tp, fn, tn, fp = _counts(kept[truth], kept[call])
    return diagnostic_metrics_from_counts(tp=tp, fn=fn, tn=tn, fp=fp, alpha=alpha)
