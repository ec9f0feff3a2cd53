"""Intraclass correlation coefficients: the six forms of Shrout & Fleiss (1979).

From the two-way ANOVA of an n targets x k raters table (one rating per cell)
with mean squares for targets (``MSR``), raters (``MSC``), residual
(``MSE``) and within targets (``MSW``, the one-way residual):

=========  ===========  ======================  ==========================================
form       McGraw-Wong  model, definition       estimate
=========  ===========  ======================  ==========================================
ICC(1,1)   ICC(1)       one-way random          (MSR - MSW) / (MSR + (k-1) MSW)
ICC(2,1)   ICC(A,1)     two-way, agreement      (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)
ICC(3,1)   ICC(C,1)     two-way, consistency    (MSR - MSE) / (MSR + (k-1) MSE)
ICC(1,k)   ICC(k)       one-way, mean of k      (MSR - MSW) / MSR
ICC(2,k)   ICC(A,k)     two-way, agreement      (MSR - MSE) / (MSR + (MSC - MSE) / n)
ICC(3,k)   ICC(C,k)     two-way, consistency    (MSR - MSE) / MSR
=========  ===========  ======================  ==========================================

The F test of "no target variance" is ``MSR / MSW`` on (n-1, n(k-1)) df for
the one-way forms and ``MSR / MSE`` on (n-1, (n-1)(k-1)) df for the others.
Confidence intervals are the F-based intervals of Shrout & Fleiss (1979) and
McGraw & Wong (1996, Table 7); the agreement forms use Satterthwaite's
approximate df. ICC(2,k)'s bounds are the Spearman-Brown step-up of
ICC(2,1)'s, which is algebraically McGraw & Wong's formula. The results equal
``pingouin.intraclass_corr`` and R's ``psych::ICC``.

The same estimators serve a random or a mixed two-way model (McGraw & Wong
1996): ICC(2,·) is "absolute agreement", ICC(3,·) "consistency". For
reader-versus-reader or reader-versus-model reliability, Koo & Li (2016)
recommend the two-way, absolute-agreement, single-rater form, ICC(2,1).

References
----------
Shrout PE, Fleiss JL (1979). Intraclass correlations: uses in assessing rater
reliability. Psychol Bull 86:420-428. doi:10.1037/0033-2909.86.2.420

McGraw KO, Wong SP (1996). Forming inferences about some intraclass
correlation coefficients. Psychol Methods 1:30-46. doi:10.1037/1082-989X.1.1.30

Koo TK, Li MY (2016). A guideline of selecting and reporting intraclass
correlation coefficients for reliability research. J Chiropr Med
15:155-163. doi:10.1016/j.jcm.2016.02.012
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from readerstudy.stats._validation import check_alpha, check_missing_policy, wide_ratings
from readerstudy.stats.estimable import NotEstimableError

__all__ = ["FORMS", "ICCResult", "icc", "icc_wide", "koo_li"]

#: The six forms in Shrout & Fleiss order, with (McGraw & Wong name, model, definition, unit).
FORMS: dict[str, tuple[str, str, str, str]] = {
    "ICC(1,1)": ("ICC(1)", "one-way random", "absolute agreement", "single"),
    "ICC(2,1)": ("ICC(A,1)", "two-way", "absolute agreement", "single"),
    "ICC(3,1)": ("ICC(C,1)", "two-way", "consistency", "single"),
    "ICC(1,k)": ("ICC(k)", "one-way random", "absolute agreement", "average"),
    "ICC(2,k)": ("ICC(A,k)", "two-way", "absolute agreement", "average"),
    "ICC(3,k)": ("ICC(C,k)", "two-way", "consistency", "average"),
}


#: Sums of squares below this share of the total are rounding noise of exact agreement.
_EXACT = 1e-12


@dataclass(frozen=True, slots=True)
class ICCResult:
    """One intraclass correlation with its F test and interval.

    Attributes
    ----------
    form : str
        Shrout & Fleiss name, e.g. ``"ICC(2,1)"``.
    mcgraw_wong : str
        McGraw & Wong name, e.g. ``"ICC(A,1)"``.
    model, definition, unit : str
        ``"one-way random"``/``"two-way"``; ``"absolute agreement"``/
        ``"consistency"``; ``"single"``/``"average"``.
    estimate, ci_low, ci_high : float
    statistic : float
        F statistic of the test that the target variance is zero.
    df1, df2 : float
        Its numerator and denominator degrees of freedom.
    p_value : float
        One-sided (upper tail) p-value of the F test.
    n : int
        Number of targets (cases).
    k : int
        Number of raters.
    """

    form: str
    mcgraw_wong: str
    model: str
    definition: str
    unit: str
    estimate: float
    ci_low: float
    ci_high: float
    statistic: float
    df1: float
    df2: float
    p_value: float
    n: int
    k: int

    @property
    def not_estimable(self) -> str:
        """Why the estimate is NaN (``""`` when it is not): the ratings do not vary, so
        the variance ratio is 0/0 (:mod:`readerstudy.stats.estimable`)."""
        if not np.isnan(self.estimate):
            return ""
        return "the ratings vary neither between cases nor residually (the ICC is 0/0)"

    @property
    def no_interval(self) -> str:
        """Why an estimate has no interval (``""`` when it has one or is NaN): the
        ratings agree exactly, so the residual variance is 0, F is infinite and the
        F-based interval would have no width."""
        if np.isnan(self.estimate) or not (np.isnan(self.ci_low) or np.isnan(self.ci_high)):
            return ""
        return (
            "the ratings agree exactly (residual variance 0), so F is infinite and the "
            "F-based interval has no width"
        )


def koo_li(icc_value: float) -> str:
    """Koo & Li (2016) band of an ICC value.

    Returns
    -------
    str
        ``"poor"`` (< 0.5), ``"moderate"`` (0.5 to < 0.75), ``"good"``
        (0.75 to 0.9), ``"excellent"`` (> 0.9); ``""`` for NaN.

    References
    ----------
    Koo & Li (2016), J Chiropr Med 15:155, doi:10.1016/j.jcm.2016.02.012, p. 161.
    """
    if icc_value is None or np.isnan(icc_value):
        return ""
    if icc_value < 0.5:
        return "poor"
    if icc_value < 0.75:
        return "moderate"
    if icc_value <= 0.9:
        return "good"
    return "excellent"


def icc_wide(
    ratings: object, *, alpha: float = 0.05, missing: str = "raise"
) -> tuple[ICCResult, ...]:
    """The six ICC forms of a targets x raters table.

    Parameters
    ----------
    ratings : array-like or pandas.DataFrame, shape (n targets, k raters)
        Numeric ratings, one per cell.
    alpha : float, default 0.05
        1 - confidence level.
    missing : {"raise", "drop"}, default "raise"
        With ``"drop"`` a target with any missing rating is dropped (listwise
        deletion, as ``pingouin.intraclass_corr(nan_policy="omit")``).

    Returns
    -------
    tuple of ICCResult
        In the order of :data:`FORMS`.

    Raises
    ------
    NotEstimableError
        Fewer than 2 targets or 2 raters (a ``ValueError``).
    ValueError
        Non-numeric or missing ratings.
    """
    check_alpha(alpha)
    check_missing_policy(missing)
    frame = ratings if isinstance(ratings, pd.DataFrame) else pd.DataFrame(np.asarray(ratings))
    try:
        y = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError("ICC ratings must be numeric") from exc
    if y.ndim != 2:
        raise ValueError(f"ratings must be (targets, raters), got shape {y.shape}")
    if np.isinf(y).any():
        raise ValueError("ICC ratings hold infinite values")
    incomplete = np.isnan(y).any(axis=1)
    if incomplete.any():
        if missing == "raise":
            raise ValueError(
                f"{int(incomplete.sum())} of {y.shape[0]} targets lack a rating from some "
                "rater; pass missing='drop' to drop them"
            )
        y = y[~incomplete]
    n, k = y.shape
    if n < 2 or k < 2:
        raise NotEstimableError(f"ICC needs at least 2 targets and 2 raters, got {n} and {k}")

    grand = y.mean()
    row_means, col_means = y.mean(axis=1), y.mean(axis=0)
    ss_rows = k * ((row_means - grand) ** 2).sum()
    ss_cols = n * ((col_means - grand) ** 2).sum()
    ss_total = ((y - grand) ** 2).sum()
    # The residual sum of squares from the residuals themselves, not as a difference of
    # totals: ratings that agree exactly must give exactly 0, not rounding noise (which
    # gave F = -1.6e30 or 6e15 instead of an infinite F).
    ss_error = ((y - row_means[:, None] - col_means[None, :] + grand) ** 2).sum()
    if ss_error <= _EXACT * ss_total:
        ss_error = np.float64(0.0)
    df_rows, df_cols = n - 1.0, k - 1.0
    df_error, df_within = df_rows * df_cols, n * (k - 1.0)
    msr = ss_rows / df_rows
    msc = ss_cols / df_cols
    mse = ss_error / df_error
    msw = (ss_cols + ss_error) / df_within
    if ss_cols <= _EXACT * ss_total:
        ss_cols = msc = np.float64(0.0)
        msw = ss_error / df_within

    with np.errstate(divide="ignore", invalid="ignore"):
        estimates = {
            "ICC(1,1)": (msr - msw) / (msr + (k - 1) * msw),
            "ICC(2,1)": (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n),
            "ICC(3,1)": (msr - mse) / (msr + (k - 1) * mse),
            "ICC(1,k)": (msr - msw) / msr,
            "ICC(2,k)": (msr - mse) / (msr + (msc - mse) / n),
            "ICC(3,k)": (msr - mse) / msr,
        }
        f_one = msr / msw
        f_two = msr / mse
        fq = stats.f.ppf
        q = 1.0 - alpha / 2.0
        # One-way and consistency forms: exact F intervals (Shrout & Fleiss 1979).
        f1_low = f_one / fq(q, df_rows, df_within)
        f1_high = f_one * fq(q, df_within, df_rows)
        f3_low = f_two / fq(q, df_rows, df_error)
        f3_high = f_two * fq(q, df_error, df_rows)
        # Absolute agreement: Satterthwaite df (McGraw & Wong 1996, Table 7).
        icc2 = estimates["ICC(2,1)"]
        fj = msc / mse
        v_num = df_error * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v_den = df_rows * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = v_num / v_den
        f2_upper = fq(q, df_rows, v)
        f2_lower = fq(q, v, df_rows)
        denom = k * msc + (k * n - k - n) * mse
        low2 = n * (msr - f2_upper * mse) / (f2_upper * denom + n * msr)
        high2 = n * (f2_lower * msr - mse) / (denom + n * f2_lower * msr)
        intervals = {
            "ICC(1,1)": ((f1_low - 1) / (f1_low + k - 1), (f1_high - 1) / (f1_high + k - 1)),
            "ICC(2,1)": (low2, high2),
            "ICC(3,1)": ((f3_low - 1) / (f3_low + k - 1), (f3_high - 1) / (f3_high + k - 1)),
            "ICC(1,k)": (1 - 1 / f1_low, 1 - 1 / f1_high),
            "ICC(2,k)": (k * low2 / (1 + (k - 1) * low2), k * high2 / (1 + (k - 1) * high2)),
            "ICC(3,k)": (1 - 1 / f3_low, 1 - 1 / f3_high),
        }
    p_one = float(stats.f.sf(f_one, df_rows, df_within)) if f_one == f_one else np.nan
    p_two = float(stats.f.sf(f_two, df_rows, df_error)) if f_two == f_two else np.nan
    results = []
    for form, (mcgraw_wong, model, definition, unit) in FORMS.items():
        one_way = form.startswith("ICC(1")
        low, high = intervals[form]
        if (not (np.isfinite(low) and np.isfinite(high)) or not np.isfinite(estimates[form])
                or high - low <= _EXACT):
            low = high = np.nan  # no residual variance: the F interval is degenerate
        results.append(
            ICCResult(
                form=form,
                mcgraw_wong=mcgraw_wong,
                model=model,
                definition=definition,
                unit=unit,
                estimate=float(estimates[form]),
                ci_low=float(low),
                ci_high=float(high),
                statistic=float(f_one if one_way else f_two),
                df1=df_rows,
                df2=df_within if one_way else df_error,
                p_value=p_one if one_way else p_two,
                n=int(n),
                k=int(k),
            )
        )
    return tuple(results)


def icc(
    data: pd.DataFrame,
    *,
    subject: str = "case",
    rater: str = "reader",
    rating: str = "score",
    alpha: float = 0.05,
    missing: str = "raise",
) -> tuple[ICCResult, ...]:
    """The six ICC forms from long data: one row per (subject, rater) rating.

    Parameters
    ----------
    data : pandas.DataFrame
        Long (tidy) ratings.
    subject, rater, rating : str, default "case", "reader", "score"
        Column names: the rated unit (case, vertebra; pingouin's ``targets``), the
        rater (reader, model), the numeric rating.
    alpha : float, default 0.05
    missing : {"raise", "drop"}, default "raise"
        A subject not rated by every rater (or with a missing rating) raises,
        or with ``"drop"`` is dropped.

    Returns
    -------
    tuple of ICCResult
        See :func:`icc_wide`.

    Raises
    ------
    ValueError
        A missing column, or a (subject, rater) pair rated more than once.
    """
    wide = wide_ratings(data, subject=subject, rater=rater, rating=rating)
    if not pd.api.types.is_numeric_dtype(data[rating]):
        raise ValueError(f"column {rating!r} must be numeric for an ICC")
    return icc_wide(wide, alpha=alpha, missing=missing)
