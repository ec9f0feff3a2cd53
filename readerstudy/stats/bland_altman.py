"""Bland-Altman agreement of two continuous measurements of the same cases.

With ``d_i = x_i - y_i``: the bias is the mean difference ``dbar``, the
limits of agreement are ``dbar -/+ c s`` with ``s`` the SD of the differences
and ``c`` the multiplier (``z_{1-alpha/2}``, 1.96 for 95%, by default; the
1986 Lancet paper rounded it to 2). Confidence intervals:

- bias: ``dbar +/- t_{n-1} s / sqrt(n)`` (Bland & Altman 1986); the paired
  t test of zero bias gives ``statistic, df, p_value``;
- limits, ``"exact"`` (default): the exact parametric interval of Carkeet
  (2015): the bounds of ``dbar + c s`` are ``dbar + s t'_q / sqrt(n)`` with
  ``t'_q`` the q quantile of the noncentral t distribution on n-1 df and
  noncentrality ``c sqrt(n)`` (mirror for the lower limit);
- limits, ``"approximate"``: ``limit +/- t_{n-1} SE`` with
  ``SE = s sqrt(1/n + c^2 / (2 (n - 1)))`` (Bland & Altman 1999, sec. 2.3;
  about ``sqrt(3 s^2 / n)``, the 1986 paper's rule).

References
----------
Bland JM, Altman DG (1986). Statistical methods for assessing agreement
between two methods of clinical measurement. Lancet 327:307-310.
doi:10.1016/S0140-6736(86)90837-8

Bland JM, Altman DG (1999). Measuring agreement in method comparison studies.
Stat Methods Med Res 8:135-160. doi:10.1177/096228029900800204

Carkeet A (2015). Exact parametric confidence intervals for Bland-Altman
limits of agreement. Optom Vis Sci 92:e71-e80.
doi:10.1097/OPX.0000000000000513
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from readerstudy.stats._validation import (
    as_float_array,
    check_alpha,
    check_missing_policy,
    columns,
    drop_missing,
)
from readerstudy.stats.estimable import NotEstimableError

LimitsCI = Literal["exact", "approximate"]

__all__ = ["BlandAltmanResult", "bland_altman"]


@dataclass(frozen=True, slots=True)
class BlandAltmanResult:
    """Bias and limits of agreement of ``a - b``, with confidence intervals.

    Attributes
    ----------
    estimate : float
        Bias: the mean of ``a - b``.
    ci_low, ci_high : float
        t interval of the bias.
    statistic, df, p_value : float
        Paired t test of zero bias (t, n - 1, two-sided p).
    sd : float
        Standard deviation of the differences (n - 1 denominator).
    loa_low, loa_high : float
        Limits of agreement ``estimate -/+ multiplier * sd``.
    loa_low_ci_low, loa_low_ci_high : float
        Interval of the lower limit.
    loa_high_ci_low, loa_high_ci_high : float
        Interval of the upper limit.
    multiplier : float
        ``c`` in ``estimate +/- c sd``.
    limits_ci : str
        ``"exact"`` or ``"approximate"``.
    n : int
        Number of paired measurements.
    mean_of_pairs : numpy.ndarray
        ``(a + b) / 2`` per case (the plot's x axis).
    differences : numpy.ndarray
        ``a - b`` per case (the plot's y axis).
    """

    estimate: float
    ci_low: float
    ci_high: float
    statistic: float
    df: float
    p_value: float
    sd: float
    loa_low: float
    loa_high: float
    loa_low_ci_low: float
    loa_low_ci_high: float
    loa_high_ci_low: float
    loa_high_ci_high: float
    multiplier: float
    limits_ci: str
    n: int
    mean_of_pairs: np.ndarray
    differences: np.ndarray


def bland_altman(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    alpha: float = 0.05,
    multiplier: float | None = None,
    limits_ci: LimitsCI = "exact",
    missing: str = "raise",
) -> BlandAltmanResult:
    """Bland-Altman bias and limits of agreement of two paired measurements.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    x, y : str
        Columns of the two measurements of each case (e.g. reader and model, or
        two readers). Differences are ``x - y``.
    alpha : float, default 0.05
        1 - confidence level of every interval.
    multiplier : float, optional
        ``c`` of the limits ``bias +/- c sd``. Default ``z_{1-alpha/2}`` (1.96);
        2 reproduces the 1986 paper.
    limits_ci : {"exact", "approximate"}, default "exact"
        Interval of the limits: Carkeet (2015) or Bland & Altman (1999).
    missing : {"raise", "drop"}, default "raise"

    Returns
    -------
    BlandAltmanResult

    Raises
    ------
    NotEstimableError
        Fewer than 2 complete pairs (a ``ValueError``).
    ValueError
        A missing column, non-numeric values.

    Examples
    --------
    Bland & Altman (1986), peak flow, Wright minus mini Wright, first readings:
    bias -2.1, SD 38.8 l/min.
    """
    check_alpha(alpha)
    check_missing_policy(missing)
    if limits_ci not in ("exact", "approximate"):
        raise ValueError(f"limits_ci must be 'exact' or 'approximate', got {limits_ci!r}")
    given = columns(data, x=x, y=y)
    kept = drop_missing(missing, x=as_float_array(given["x"], x, allow_nan=True),
                        y=as_float_array(given["y"], y, allow_nan=True))
    return _bland_altman(kept["x"], kept["y"], alpha, multiplier, limits_ci)


def _bland_altman(
    x: np.ndarray, y: np.ndarray, alpha: float, multiplier: float | None, limits_ci: str
) -> BlandAltmanResult:
    n = x.size
    if n < 2:
        raise NotEstimableError(f"Bland-Altman needs at least 2 paired measurements, got {n}")
    c = float(special.ndtri(1.0 - alpha / 2.0)) if multiplier is None else float(multiplier)
    if not c > 0:
        raise ValueError(f"multiplier must be positive, got {multiplier!r}")

    d = x - y
    bias = float(d.mean())
    sd = float(d.std(ddof=1))
    df = n - 1.0
    t_q = float(special.stdtrit(df, 1.0 - alpha / 2.0))
    se_bias = sd / np.sqrt(n)
    if se_bias > 0:
        t_stat = bias / se_bias
        p_value = float(2.0 * special.stdtr(df, -abs(t_stat)))
    else:
        t_stat = 0.0 if bias == 0 else float(np.copysign(np.inf, bias))
        p_value = 1.0 if bias == 0 else 0.0
    loa_low, loa_high = bias - c * sd, bias + c * sd

    if limits_ci == "exact":
        nc = c * np.sqrt(n)
        k_low = float(special.nctdtrit(df, nc, alpha / 2.0)) / np.sqrt(n)
        k_high = float(special.nctdtrit(df, nc, 1.0 - alpha / 2.0)) / np.sqrt(n)
        high_ci = (bias + k_low * sd, bias + k_high * sd)
        low_ci = (bias - k_high * sd, bias - k_low * sd)
    else:
        se_limit = sd * np.sqrt(1.0 / n + c * c / (2.0 * df))
        high_ci = (loa_high - t_q * se_limit, loa_high + t_q * se_limit)
        low_ci = (loa_low - t_q * se_limit, loa_low + t_q * se_limit)

    return BlandAltmanResult(
        estimate=bias,
        ci_low=float(bias - t_q * se_bias),
        ci_high=float(bias + t_q * se_bias),
        statistic=float(t_stat),
        df=df,
        p_value=p_value,
        sd=sd,
        loa_low=float(loa_low),
        loa_high=float(loa_high),
        loa_low_ci_low=float(low_ci[0]),
        loa_low_ci_high=float(low_ci[1]),
        loa_high_ci_low=float(high_ci[0]),
        loa_high_ci_high=float(high_ci[1]),
        multiplier=c,
        limits_ci=limits_ci,
        n=int(n),
        mean_of_pairs=(x + y) / 2.0,
        differences=d,
    )
