"""Multi-reader multi-case ROC analysis: Obuchowski-Rockette with Hillis' improvements.

Each reader's empirical AUC in each treatment (modality, condition) is modelled
with the Obuchowski-Rockette (1995) ANOVA

    AUC_ij = mu + tau_i + R_j + (tau R)_ij + e_ij,

treatments i fixed, readers j random, with error covariances Cov1 (same
reader, different treatments), Cov2 (different readers, same treatment) and
Cov3 (different readers, different treatments) estimated from the
case-resampling covariance matrix of the AUCs - by the jackknife (default) or
by DeLong's method - and averaged as Hillis (2005, 2014) describes.

Three analyses are reported:

- RRRC (random readers, random cases): Hillis' F test with denominator
  ``MS(TR) + r max(Cov2 - Cov3, 0)`` and his denominator degrees of freedom
  ``ddf_H = den^2 (t-1)(r-1) / MS(TR)^2`` (Hillis 2007, 2008);
- FRRC (fixed readers, random cases): Obuchowski-Rockette's chi-square, with
  denominator ``Var - Cov1 + (r-1) max(Cov2 - Cov3, 0)``; pairwise z tests;
- RRFC (random readers, fixed cases): ``F = MS(T) / MS(TR)`` on
  ``(t-1), (t-1)(r-1)`` degrees of freedom.

Negative ``Cov2 - Cov3`` (and ``Cov2`` in single-treatment intervals) are
replaced by 0 in the denominators, as Hillis prescribes; the variance
component table reports the unconstrained estimates (a negative
``var_TR``, as in Zanca et al.'s data, is reported as is).

The results reproduce RJafroc's ``StSignificanceTesting(..., method = "OR")``
and MRMCaov's ``mrmc()`` on the Van Dyke and Zanca data sets to the printed
precision (see ``tests/stats/test_mrmc.py``).

References
----------
Obuchowski NA, Rockette HE (1995). Hypothesis testing of diagnostic accuracy
for multiple readers and multiple tests: an ANOVA approach with dependent
observations. Commun Stat Simul Comput 24:285-308. doi:10.1080/03610919508813243

Hillis SL, Obuchowski NA, Schartz KM, Berbaum KS (2005). A comparison of the
Dorfman-Berbaum-Metz and Obuchowski-Rockette methods for receiver operating
characteristic (ROC) data. Stat Med 24:1579-1607. doi:10.1002/sim.2024

Hillis SL (2007). A comparison of denominator degrees of freedom methods for
multiple observer ROC analysis. Stat Med 26:596-619. doi:10.1002/sim.2532

Hillis SL, Berbaum KS, Metz CE (2008). Recent developments in the
Dorfman-Berbaum-Metz procedure for multireader ROC study analysis. Acad Radiol
15:647-661. doi:10.1016/j.acra.2007.12.015

Hillis SL (2014). A marginal-mean ANOVA approach for analyzing multireader
multicase radiological imaging data. Stat Med 33:330-360. doi:10.1002/sim.5926
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from readerstudy.stats._validation import (
    as_binary_truth,
    as_float_array,
    check_alpha,
    check_missing_policy,
    handle_missing,
    require_both_classes,
    require_columns,
)
from readerstudy.stats.estimable import NotEstimableError
from readerstudy.stats.roc import delong_components, delong_covariance

CovarianceMethod = Literal["jackknife", "delong"]

__all__ = ["MRMCResult", "or_hillis", "or_variance_components"]

_COMPARISON_COLUMNS = [
    "analysis",
    "treatment_a",
    "treatment_b",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "statistic",
    "statistic_name",
    "df",
    "p_value",
    "ci_method",
]
_GLOBAL_COLUMNS = ["analysis", "statistic_name", "statistic", "df_num", "df_den", "p_value"]


def _empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass(frozen=True, slots=True)
class MRMCResult:
    """Results of an Obuchowski-Rockette-Hillis analysis.

    Attributes
    ----------
    treatment_aucs : pandas.DataFrame
        One row per analysis and treatment: ``analysis`` ("RRRC", "FRRC",
        "RRFC"), ``treatment``, ``estimate`` (reader-averaged AUC), ``se``,
        ``df`` (inf for normal-based intervals), ``ci_low``, ``ci_high``
        (truncated to the AUC's range [0, 1]), ``ci_method`` (how the interval
        was made, e.g. "t (df 5.2), truncated to [0, 1]"). Each treatment's
        interval uses only that treatment's data.
    comparisons : pandas.DataFrame
        One row per analysis and treatment pair: ``analysis``,
        ``treatment_a``, ``treatment_b``, ``estimate`` (a - b), ``se``,
        ``ci_low``, ``ci_high`` (truncated to [-1, 1]), ``ci_method``, ``statistic`` (t for RRRC and RRFC, z for
        FRRC; named in ``statistic_name``), ``df`` (Hillis ddf for RRRC,
        inf for FRRC, (t-1)(r-1) for RRFC), ``p_value`` (two-sided). Empty
        with a single treatment.
    variance_components : pandas.DataFrame
        ``name``, ``estimate``: ``var_R``, ``var_TR``, ``cov1``, ``cov2``,
        ``cov3``, ``var_error``, ``corr1``, ``corr2``, ``corr3``, ``msT``,
        ``msR``, ``msTR`` (unconstrained; NaN where the design cannot
        estimate one, e.g. ``cov1`` with one treatment).
    reader_aucs : pandas.DataFrame
        ``reader``, ``treatment``, ``auc``: each reader's empirical AUC.
    global_tests : pandas.DataFrame
        Test of equal treatment AUCs per analysis: ``analysis``,
        ``statistic_name`` ("F" or "chi2"), ``statistic``, ``df_num``,
        ``df_den``, ``p_value``. With two treatments it agrees with the
        single pairwise comparison. Empty with a single treatment.
    """

    treatment_aucs: pd.DataFrame
    comparisons: pd.DataFrame
    variance_components: pd.DataFrame
    reader_aucs: pd.DataFrame
    global_tests: pd.DataFrame = field(default_factory=lambda: _empty_frame(_GLOBAL_COLUMNS))


def _sorted_levels(values: pd.Series) -> list[object]:
    levels = pd.unique(values)
    try:
        return sorted(levels.tolist())
    except TypeError:
        return list(levels)


def _score_cube(
    df: pd.DataFrame,
    *,
    reader: str,
    treatment: str,
    case: str,
    truth: str,
    score: str,
    missing: str,
) -> tuple[list[object], list[object], np.ndarray, np.ndarray]:
    """Validate the long data; return treatments, readers, truth (n,), scores (t, r, n)."""
    ids = [reader, treatment, case]
    require_columns(df, [*ids, truth, score])
    missing_ids = df[ids].isna()
    if missing_ids.to_numpy().any():
        if missing == "raise":
            counts = ", ".join(f"{c!r}: {int(k)}" for c, k in missing_ids.sum().items() if k)
            raise ValueError(
                f"missing identifiers in {counts} row(s) of {len(df)}; "
                "pass missing='drop' to drop those rows"
            )
        df = df.loc[~missing_ids.any(axis=1)]
    df = handle_missing(df, [truth, score], missing, unit=case)

    truth_per_case = df.groupby(case, sort=False)[truth].nunique()
    conflicting = truth_per_case.index[truth_per_case > 1]
    if len(conflicting):
        raise ValueError(
            f"column {truth!r} differs between rows of the same case for {len(conflicting)} "
            f"case(s), e.g. {list(conflicting[:5])}; truth is a property of the case"
        )
    treatments = _sorted_levels(df[treatment])
    readers = _sorted_levels(df[reader])
    cases = _sorted_levels(df[case])
    t_idx = pd.Categorical(df[treatment], categories=treatments).codes
    r_idx = pd.Categorical(df[reader], categories=readers).codes
    c_idx = pd.Categorical(df[case], categories=cases).codes
    shape = (len(treatments), len(readers), len(cases))

    seen = np.zeros(shape, dtype=np.int64)
    np.add.at(seen, (t_idx, r_idx, c_idx), 1)
    if (seen > 1).any():
        t, r, c = np.argwhere(seen > 1)[0]
        raise ValueError(
            f"{int((seen > 1).sum())} reader x treatment x case combination(s) appear more "
            f"than once, e.g. reader {readers[r]!r}, treatment {treatments[t]!r}, "
            f"case {cases[c]!r}; give one score per read"
        )
    cube = np.full(shape, np.nan)
    cube[t_idx, r_idx, c_idx] = as_float_array(df[score], score)
    case_truth = np.empty(len(cases))
    case_truth[c_idx] = as_binary_truth(df[truth], truth)

    unread = np.isnan(cube)
    if unread.any():
        if missing == "raise":
            t, r, c = np.argwhere(unread)[0]
            raise ValueError(
                f"the design is not fully crossed: {int(unread.sum())} reader x treatment x "
                f"case combination(s) have no score, e.g. reader {readers[r]!r}, treatment "
                f"{treatments[t]!r}, case {cases[c]!r}; pass missing='drop' to drop cases "
                "not read by every reader in every treatment"
            )
        complete = ~unread.any(axis=(0, 1))
        cube = cube[:, :, complete]
        case_truth = case_truth[complete]
    n_pos, n_neg = require_both_classes(case_truth, truth)
    if n_pos < 2 or n_neg < 2:
        raise NotEstimableError(
            f"the analysis needs at least 2 positive and 2 negative cases; "
            f"got {n_pos} positive and {n_neg} negative"
        )
    return treatments, readers, case_truth.astype(np.int64), cube


def _jackknife_covariance(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their case-jackknife covariance matrix (Efron 1982; Hillis 2005).

    Leaving out one case changes the Mann-Whitney AUC in closed form through
    DeLong's placement values, so all n leave-one-out AUCs cost O(k n).
    """
    aucs, v10, v01 = delong_components(truth, scores)
    m, n_neg = v10.shape[1], v01.shape[1]
    pseudo = np.empty((truth.size, scores.shape[0]))
    pseudo[truth == 1] = ((m * aucs[:, np.newaxis] - v10) / (m - 1)).T
    pseudo[truth == 0] = ((n_neg * aucs[:, np.newaxis] - v01) / (n_neg - 1)).T
    deviations = pseudo - pseudo.mean(axis=0)
    n = truth.size
    return aucs, (n - 1) / n * (deviations.T @ deviations)


def _mean_or_nan(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def or_variance_components(theta: np.ndarray, cov: np.ndarray) -> dict[str, float]:
    """Obuchowski-Rockette variance components from reader AUCs and their covariance.

    Parameters
    ----------
    theta : numpy.ndarray, shape (t, r)
        AUC of each treatment (rows) and reader (columns).
    cov : numpy.ndarray, shape (t*r, t*r)
        Covariance of ``theta.ravel()`` (treatment-major order).

    Returns
    -------
    dict
        ``var_error`` (mean variance), ``cov1``, ``cov2``, ``cov3`` (mean
        covariances for same reader / same treatment / neither), their
        correlations ``corr1..3``, mean squares ``msT``, ``msR``, ``msTR`` of
        the two-way treatment x reader table, and ``var_R`` =
        (MS(R) - MS(TR))/t - Cov1 + Cov3 and ``var_TR`` =
        MS(TR) - Var + Cov1 + Cov2 - Cov3 (Hillis et al. 2005, Table I).
        With one treatment, ``var_R`` = MS(R) - Var + Cov2 (reader and
        treatment-by-reader variance are then confounded).
    """
    t, r = theta.shape
    tr = np.repeat(np.arange(t), r)
    rd = np.tile(np.arange(r), t)
    same_t = tr[:, np.newaxis] == tr[np.newaxis, :]
    same_r = rd[:, np.newaxis] == rd[np.newaxis, :]
    var = float(np.diag(cov).mean())
    cov1 = _mean_or_nan(cov[~same_t & same_r])
    cov2 = _mean_or_nan(cov[same_t & ~same_r])
    cov3 = _mean_or_nan(cov[~same_t & ~same_r])

    grand = theta.mean()
    t_means = theta.mean(axis=1)
    r_means = theta.mean(axis=0)
    ms_t = r * float(((t_means - grand) ** 2).sum()) / (t - 1) if t > 1 else float("nan")
    ms_r = t * float(((r_means - grand) ** 2).sum()) / (r - 1) if r > 1 else float("nan")
    if t > 1 and r > 1:
        interaction = theta - t_means[:, np.newaxis] - r_means[np.newaxis, :] + grand
        ms_tr = float((interaction**2).sum()) / ((t - 1) * (r - 1))
        var_r = (ms_r - ms_tr) / t - cov1 + cov3
        var_tr = ms_tr - var + cov1 + cov2 - cov3
    else:
        ms_tr = float("nan")
        var_r = ms_r - var + cov2 if t == 1 else float("nan")
        var_tr = float("nan")
    return {
        "var_R": var_r,
        "var_TR": var_tr,
        "cov1": cov1,
        "cov2": cov2,
        "cov3": cov3,
        "var_error": var,
        "corr1": cov1 / var if var > 0 else float("nan"),
        "corr2": cov2 / var if var > 0 else float("nan"),
        "corr3": cov3 / var if var > 0 else float("nan"),
        "msT": ms_t,
        "msR": ms_r,
        "msTR": ms_tr,
    }


def _t_interval(
    estimate: float, se: float, df: float, alpha: float
) -> tuple[float, float, float, float]:
    """(ci_low, ci_high, statistic, two-sided p) for a t (df finite) or z (df inf)."""
    dist = stats.norm if np.isinf(df) else stats.t(df)
    quantile = float(dist.ppf(1.0 - alpha / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = (
            estimate / se if se > 0 else (0.0 if estimate == 0 else np.copysign(np.inf, estimate))
        )
    p = float(2.0 * dist.sf(abs(statistic)))
    return estimate - quantile * se, estimate + quantile * se, float(statistic), p


def _clipped(low: float, high: float, df: float, lowest: float) -> tuple[float, float, str]:
    """The interval truncated to [``lowest``, 1] (an AUC's range, or a difference's
    [-1, 1]), and how it was made: a t interval on ``df`` degrees of freedom, or a normal
    (z) one when ``df`` is infinite. RJafroc and iMRMC report the untruncated bounds;
    they differ only where a bound passes the range."""
    kind = "z" if np.isinf(df) else f"t (df {df:.4g})"
    return (float(np.clip(low, lowest, 1.0)), float(np.clip(high, lowest, 1.0)),
            f"{kind}, truncated to [{lowest:g}, 1]")


def _f_sf(statistic: float, df_num: int, df_den: float) -> float:
    """Upper tail of F(df_num, df_den); F(d, inf) is chi2(d) / d."""
    if np.isinf(df_den):
        return float(stats.chi2.sf(statistic * df_num, df_num))
    return float(stats.f.sf(statistic, df_num, df_den))


def _hillis_ddf(den: float, ms: float, df_ms: float) -> float:
    """Satterthwaite-type ddf of Hillis (2007): den^2 df / ms^2 (inf when ms is 0)."""
    if ms <= 0:
        return float("inf")
    return den**2 * df_ms / ms**2


def _treatment_intervals(
    theta: np.ndarray,
    cov: np.ndarray,
    treatments: list[object],
    analyses: list[str],
    alpha: float,
) -> pd.DataFrame:
    """Reader-averaged AUC of each treatment, from that treatment's data only.

    RRRC: ``se^2 = (MS(R)_i + r max(Cov2_i, 0)) / r`` with Hillis' ddf;
    FRRC: ``se^2 = (Var_i + (r-1) max(Cov2_i, 0)) / r``, normal;
    RRFC: ``se^2 = MS(R)_i / r`` on r - 1 df (Hillis 2007, sec. 5).
    """
    t, r = theta.shape
    blocks = cov.reshape(t, r, t, r)
    rows = []
    for i, name in enumerate(treatments):
        block = blocks[i, :, i, :]
        var_i = float(np.diag(block).mean())
        cov2_i = float(block[~np.eye(r, dtype=bool)].mean()) if r > 1 else 0.0
        ms_r_i = float(theta[i].var(ddof=1)) if r > 1 else float("nan")
        estimate = float(theta[i].mean())
        for analysis in analyses:
            if analysis == "RRRC":
                den = ms_r_i + r * max(cov2_i, 0.0)
                se, dof = np.sqrt(den / r), _hillis_ddf(den, ms_r_i, r - 1)
            elif analysis == "FRRC":
                se, dof = np.sqrt((var_i + (r - 1) * max(cov2_i, 0.0)) / r), float("inf")
            else:
                se, dof = np.sqrt(ms_r_i / r), float(r - 1)
            low, high, _, _ = _t_interval(estimate, float(se), dof, alpha)
            low, high, method = _clipped(low, high, dof, 0.0)
            rows.append(
                {
                    "analysis": analysis,
                    "treatment": name,
                    "estimate": estimate,
                    "se": float(se),
                    "df": dof,
                    "ci_low": low,
                    "ci_high": high,
                    "ci_method": method,
                }
            )
    return pd.DataFrame(rows)


def _denominators(vc: dict[str, float], t: int, r: int) -> dict[str, tuple[float, float]]:
    """Per analysis: (denominator of the F / chi-square, error df).

    RRRC: ``MS(TR) + r max(Cov2 - Cov3, 0)`` on Hillis' ddf;
    FRRC: ``Var - Cov1 + (r-1) max(Cov2 - Cov3, 0)`` on infinite df;
    RRFC: ``MS(TR)`` on (t-1)(r-1) df.
    """
    cov_diff = max(vc["cov2"] - vc["cov3"], 0.0) if r > 1 else 0.0
    frrc = (vc["var_error"] - vc["cov1"] + (r - 1) * cov_diff, float("inf"))
    if r < 2:
        return {"FRRC": frrc}
    rrrc = vc["msTR"] + r * cov_diff
    return {
        "RRRC": (rrrc, _hillis_ddf(rrrc, vc["msTR"], (t - 1) * (r - 1))),
        "FRRC": frrc,
        "RRFC": (vc["msTR"], float((t - 1) * (r - 1))),
    }


def _comparisons(
    theta: np.ndarray,
    denominators: dict[str, tuple[float, float]],
    treatments: list[object],
    alpha: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairwise differences of reader-averaged AUCs and the global test, per analysis."""
    t, r = theta.shape
    means = theta.mean(axis=1)
    ms_t = r * float(((means - means.mean()) ** 2).sum()) / (t - 1)
    pairs, global_tests = [], []
    for analysis, (den, dof) in denominators.items():
        se = float(np.sqrt(2.0 * den / r))
        for a, b in combinations(range(t), 2):
            estimate = float(means[a] - means[b])
            low, high, statistic, p = _t_interval(estimate, se, dof, alpha)
            low, high, method = _clipped(low, high, dof, -1.0)
            pairs.append(
                {
                    "analysis": analysis,
                    "treatment_a": treatments[a],
                    "treatment_b": treatments[b],
                    "estimate": estimate,
                    "se": se,
                    "ci_low": low,
                    "ci_high": high,
                    "statistic": statistic,
                    "statistic_name": "z" if analysis == "FRRC" else "t",
                    "df": dof,
                    "p_value": p,
                    "ci_method": method,
                }
            )
        ratio = ms_t / den if den > 0 else float("inf")
        if analysis == "FRRC":
            name, statistic, p = (
                "chi2",
                (t - 1) * ratio,
                float(stats.chi2.sf((t - 1) * ratio, t - 1)),
            )
        else:
            name, statistic, p = "F", ratio, _f_sf(ratio, t - 1, dof)
        global_tests.append(
            {
                "analysis": analysis,
                "statistic_name": name,
                "statistic": statistic,
                "df_num": float(t - 1),
                "df_den": dof,
                "p_value": p,
            }
        )
    return (
        pd.DataFrame(pairs, columns=_COMPARISON_COLUMNS),
        pd.DataFrame(global_tests, columns=_GLOBAL_COLUMNS),
    )


def or_hillis(
    data: pd.DataFrame,
    *,
    subject: str = "case",
    rater: str = "reader",
    treatment: str = "condition",
    truth: str = "truth",
    rating: str = "score",
    covariance: CovarianceMethod = "jackknife",
    alpha: float = 0.05,
    missing: str = "raise",
) -> MRMCResult:
    """Obuchowski-Rockette-Hillis MRMC analysis of empirical AUCs.

    Parameters
    ----------
    data : pandas.DataFrame
        Long data: one row per read (reader x treatment x case), fully crossed
        (every reader reads every case in every treatment).
    subject, rater, treatment, truth, rating : str
        Column names, by default those of the reads table: the case (``"case"``), the
        reader (``"reader"``), the modality or reading condition (``"condition"``),
        the reference standard (``"truth"``: 0 = benign, 1 = malignant, constant
        within a case) and the rating (``"score"``: higher = more likely malignant;
        a rating, a probability, or a 0/1 call).
    covariance : {"jackknife", "delong"}, default "jackknife"
        Estimator of the covariance of the reader AUCs over cases: the case
        jackknife (Hillis et al. 2005; RJafroc's and MRMCaov's default) or
        DeLong et al.'s (1988) structural-components estimator.
    alpha : float, default 0.05
        1 - confidence level of every interval.
    missing : {"raise", "drop"}, default "raise"
        With ``"drop"``, a case with any missing value, or not read by every
        reader in every treatment, is dropped for everyone.

    Returns
    -------
    MRMCResult

    Notes
    -----
    With one treatment only the per-treatment intervals are given. With one
    reader only the fixed-reader (FRRC) analysis is defined.

    References
    ----------
    Obuchowski & Rockette (1995); Hillis et al. (2005), Stat Med 24:1579;
    Hillis (2007), Stat Med 26:596; Hillis et al. (2008), Acad Radiol 15:647.
    """
    check_alpha(alpha)
    check_missing_policy(missing)
    if covariance not in ("jackknife", "delong"):
        raise ValueError(f"covariance must be 'jackknife' or 'delong', got {covariance!r}")
    treatments, readers, y, cube = _score_cube(
        data,
        reader=rater,
        treatment=treatment,
        case=subject,
        truth=truth,
        score=rating,
        missing=missing,
    )
    t, r = len(treatments), len(readers)
    flat = cube.reshape(t * r, -1)
    if covariance == "jackknife":
        aucs, cov = _jackknife_covariance(y, flat)
    else:
        aucs, cov = delong_covariance(y, flat)
    theta = aucs.reshape(t, r)
    vc = or_variance_components(theta, cov)
    denominators = _denominators(vc, t, r)
    if t > 1:
        comparisons, global_tests = _comparisons(theta, denominators, treatments, alpha)
    else:
        comparisons = _empty_frame(_COMPARISON_COLUMNS)
        global_tests = _empty_frame(_GLOBAL_COLUMNS)
    return MRMCResult(
        treatment_aucs=_treatment_intervals(theta, cov, treatments, list(denominators), alpha),
        comparisons=comparisons,
        variance_components=pd.DataFrame({"name": list(vc), "estimate": list(vc.values())}),
        reader_aucs=pd.DataFrame(
            {
                "reader": np.tile(np.asarray(readers, dtype=object), t),
                "treatment": np.repeat(np.asarray(treatments, dtype=object), r),
                "auc": aucs,
            }
        ),
        global_tests=global_tests,
    )
