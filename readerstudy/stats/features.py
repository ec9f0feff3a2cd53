"""Binary imaging features against the reference standard.

- :func:`fisher_per_feature`: presence of each feature in malignant versus
  benign cases, Fisher's exact test (two-sided, as R's ``fisher.test``) with
  the conditional maximum-likelihood odds ratio and its exact interval, and
  Holm's adjustment over the features.
- :func:`logistic_regression`: the features combined in a logistic model of
  malignancy. Maximum likelihood via statsmodels' ``Logit``; when the data
  are (quasi-)completely separated - a feature seen only in one group, which
  is common with 15 features and a few dozen cases - the maximum-likelihood
  estimates do not exist (they run to infinity), and Firth's penalised
  likelihood is used instead (``method="auto"``) or a ``ValueError`` names
  the problem (``method="mle"``). Separation is detected exactly, by the
  linear program of Konis (2007), not by watching for huge coefficients.
- :func:`holm`: Holm's step-down adjustment of p-values.

Firth's estimates here come with Wald intervals and p-values from the
inverse information at the penalised estimate. R's ``logistf`` reports
profile penalised-likelihood intervals and likelihood-ratio p-values by
default (Heinze & Schemper 2002), which are better for small samples; the
point estimates agree.

References
----------
Fisher RA (1935). The logic of inductive inference. J R Stat Soc 98:39-82.
doi:10.2307/2342435

Holm S (1979). A simple sequentially rejective multiple test procedure.
Scand J Stat 6:65-70.

Firth D (1993). Bias reduction of maximum likelihood estimates. Biometrika
80:27-38. doi:10.1093/biomet/80.1.27

Heinze G, Schemper M (2002). A solution to the problem of separation in
logistic regression. Stat Med 21:2409-2419. doi:10.1002/sim.1047

Konis K (2007). Linear programming algorithms for detecting separated data in
binary logistic regression models. DPhil thesis, University of Oxford.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from scipy.stats.contingency import odds_ratio

from readerstudy.stats._validation import (
    as_binary_truth,
    check_alpha,
    handle_missing,
    require_columns,
)
from readerstudy.stats.estimable import NotEstimableError, note

LogisticMethod = Literal["auto", "mle", "firth"]

__all__ = [
    "LogisticResult",
    "detect_separation",
    "fisher_per_feature",
    "holm",
    "logistic_regression",
]

_PRESENCE_WORDS = {"yes": 1, "no": 0, "true": 1, "false": 0, "present": 1, "absent": 0}


@dataclass(frozen=True, slots=True)
class LogisticResult:
    """A logistic regression of malignancy on binary features.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        One row per term (``"intercept"`` first, then the features):
        ``term, estimate`` (log odds), ``se, ci_low, ci_high, odds_ratio,
        odds_ratio_ci_low, odds_ratio_ci_high, statistic`` (Wald z),
        ``p_value``.
    n : int
        Number of cases.
    n_events : int
        Number of malignant cases.
    method : str
        ``"maximum likelihood"`` or ``"firth"``.
    separation : bool
        Whether the data are (quasi-)completely separated.
    converged : bool
    dropped : tuple of str
        Features left out because they are constant (present in every case or
        in none).
    note : str
        Why Firth's method was used, or which features were dropped; empty
        otherwise.
    correct : int
        Cases the fitted model classifies correctly at a probability of 0.5
        (malignant when the fitted probability is >= 0.5): the apparent
        (resubstitution) accuracy is ``correct / n``, as Yeh et al. 2022 report
        the model's accuracy; it is optimistic for new cases.
    """

    coefficients: pd.DataFrame
    n: int
    n_events: int
    method: str
    separation: bool
    converged: bool
    dropped: tuple[str, ...]
    note: str
    correct: int = 0


def holm(p_values: object) -> np.ndarray:
    """Holm's step-down adjusted p-values.

    With the m p-values sorted increasingly, ``p_(i)`` becomes
    ``max_{j <= i} min(1, (m - j + 1) p_(j))`` (Holm 1979). NaN values are
    left out of m and stay NaN. Matches
    ``statsmodels.stats.multitest.multipletests(method="holm")``.

    Parameters
    ----------
    p_values : array-like, shape (m,)

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D, got shape {p.shape}")
    valid = ~np.isnan(p)
    if ((p[valid] < 0) | (p[valid] > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    values = p[valid]
    m = values.size
    if m == 0:
        return out
    order = np.argsort(values, kind="stable")
    stepped = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * values[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    out[valid] = adjusted
    return out


def _as_presence(values: pd.Series, name: str) -> np.ndarray:
    series = values
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        text = series.astype("string").str.strip().str.lower()
        series = pd.to_numeric(text.map(lambda v: _PRESENCE_WORDS.get(v, v)), errors="coerce")
        bad = series.isna() & values.notna()
        if bad.any():
            raise ValueError(
                f"feature {name!r} must be 0/1 (or yes/no, present/absent); "
                f"got e.g. {sorted({str(v) for v in values[bad]})[:5]}"
            )
    return as_binary_truth(series, f"feature {name!r}")


def _prepare(
    data: pd.DataFrame, features: Sequence[str], truth: str, missing: str
) -> tuple[np.ndarray, np.ndarray]:
    features = list(features)
    if not features:
        raise ValueError("features must name at least one column")
    if truth in features:
        raise ValueError(f"the truth column {truth!r} cannot also be a feature")
    require_columns(data, [*features, truth])
    frame = handle_missing(data, [*features, truth], missing)
    y = as_binary_truth(frame[truth], truth)
    x = np.column_stack([_as_presence(frame[f], f) for f in features]).astype(np.float64)
    return x, y


@functools.lru_cache(maxsize=4096)
def _fisher_2x2(
    a: int, b: int, c: int, d: int, *, confidence: float
) -> tuple[float, float, float, float, str]:
    """Fisher's test of ``[[a, b], [c, d]]``: (p, odds ratio, low, high, note).

    Cached: the exact interval of the conditional odds ratio takes a root search, and an
    export asks for the same few small tables again and again (readers, test sets,
    subgroups).
    """
    table = np.array([[a, b], [c, d]])
    p_value = float(stats.fisher_exact(table).pvalue)
    if (table.sum(axis=1) == 0).any():
        return (
            p_value,
            np.nan,
            np.nan,
            np.nan,
            note("only one class (malignant or benign) among the cases"),
        )
    if (table.sum(axis=0) == 0).any():
        where = "every" if table[:, 1].sum() == 0 else "no"
        return p_value, np.nan, np.nan, np.nan, note(f"the feature is present in {where} case")
    result = odds_ratio(table, kind="conditional")
    ci = result.confidence_interval(confidence_level=confidence)
    return p_value, float(result.statistic), float(ci.low), float(ci.high), ""


def fisher_per_feature(
    data: pd.DataFrame,
    *,
    features: Sequence[str],
    truth: str = "truth",
    alpha: float = 0.05,
    missing: str = "raise",
) -> pd.DataFrame:
    """Fisher's exact test of each feature's presence, malignant versus benign.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    features : sequence of str
        Columns coded 0/1 (or yes/no, present/absent): feature presence.
    truth : str, default "truth"
        Column of the reference standard, 0 = benign, 1 = malignant.
    alpha : float, default 0.05
        1 - confidence level of the odds-ratio interval.
    missing : {"raise", "drop"}, default "raise"
        With ``"drop"`` a case missing any feature is dropped for all features
        (so every test uses the same cases).

    Returns
    -------
    pandas.DataFrame
        One row per feature: ``feature, present_malignant, n_malignant,
        present_benign, n_benign, estimate`` (conditional maximum-likelihood
        odds ratio of presence, malignant versus benign, as R's
        ``fisher.test``), ``ci_low, ci_high`` (its exact interval),
        ``p_value`` (two-sided), ``p_holm`` (Holm-adjusted over the
        features), ``n``, ``note``: ``""``, or ``"not estimable: <reason>"``
        when the odds ratio is (a feature present in every case or in none, or
        one class only; the p-value is then 1).

    References
    ----------
    Fisher (1935), doi:10.2307/2342435; Holm (1979), Scand J Stat 6:65.
    """
    check_alpha(alpha)
    x, y = _prepare(data, features, truth, missing)
    malignant = y == 1
    rows = []
    for j, name in enumerate(features):
        present = x[:, j] == 1
        table = np.array(
            [
                [np.sum(present & malignant), np.sum(~present & malignant)],
                [np.sum(present & ~malignant), np.sum(~present & ~malignant)],
            ]
        )
        p_value, estimate, low, high, reason = _fisher_2x2(
            *(int(v) for v in table.ravel()), confidence=1.0 - alpha
        )
        rows.append(
            {
                "feature": name,
                "present_malignant": int(table[0, 0]),
                "n_malignant": int(table[0].sum()),
                "present_benign": int(table[1, 0]),
                "n_benign": int(table[1].sum()),
                "estimate": estimate,
                "ci_low": low,
                "ci_high": high,
                "p_value": p_value,
                "n": int(table.sum()),
                "note": reason,
            }
        )
    out = pd.DataFrame(rows)
    out.insert(out.columns.get_loc("n"), "p_holm", holm(out["p_value"].to_numpy()))
    return out


def detect_separation(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether a logistic design is completely or quasi-completely separated.

    Solves Konis' (2007) linear program: maximise ``sum_i s_i x_i' b`` subject
    to ``s_i x_i' b >= 0`` for every case and ``-1 <= b <= 1``, with
    ``s_i = 2 y_i - 1``. A positive optimum means a direction in which the
    likelihood increases without bound: the maximum-likelihood estimate does
    not exist.

    Parameters
    ----------
    x : numpy.ndarray, shape (n, p)
        Design matrix including the intercept column.
    y : numpy.ndarray, shape (n,)
        0/1 outcome.

    Returns
    -------
    bool
    """
    signed = x * (2.0 * np.asarray(y, dtype=np.float64) - 1.0)[:, None]
    result = optimize.linprog(
        c=-signed.sum(axis=0),
        A_ub=-signed,
        b_ub=np.zeros(signed.shape[0]),
        bounds=[(-1.0, 1.0)] * signed.shape[1],
        method="highs",
    )
    if not result.success:  # pragma: no cover - bounded feasible LP (b = 0) always solves
        raise RuntimeError(f"separation check failed: {result.message}")
    return bool(-result.fun > 1e-7 * max(1.0, np.abs(signed).sum()))


def _firth(
    x: np.ndarray, y: np.ndarray, *, max_iter: int = 200, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Firth's penalised maximum likelihood by Newton-Raphson with step halving."""

    def penalised_loglik(beta: np.ndarray) -> float:
        eta = x @ beta
        pi = special.expit(eta)
        info = x.T @ ((pi * (1.0 - pi))[:, None] * x)
        sign, logdet = np.linalg.slogdet(info)
        if sign <= 0:
            return -np.inf
        return float((y * eta - np.logaddexp(0.0, eta)).sum() + 0.5 * logdet)

    beta = np.zeros(x.shape[1])
    current = penalised_loglik(beta)
    converged = False
    for _ in range(max_iter):
        pi = special.expit(x @ beta)
        w = pi * (1.0 - pi)
        cov = np.linalg.inv(x.T @ (w[:, None] * x))
        hat = w * np.einsum("ij,jk,ik->i", x, cov, x)
        score = x.T @ (y - pi + hat * (0.5 - pi))
        step = cov @ score
        scale = 1.0
        while scale > 1e-10:
            candidate = penalised_loglik(beta + scale * step)
            if candidate >= current - 1e-12:
                break
            scale /= 2.0
        beta = beta + scale * step
        current = penalised_loglik(beta)
        if np.max(np.abs(scale * step)) < tol:
            converged = True
            break
    pi = special.expit(x @ beta)
    cov = np.linalg.inv(x.T @ ((pi * (1.0 - pi))[:, None] * x))
    return beta, cov, converged


def _mle(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.Logit(y, x).fit(method="newton", maxiter=100, disp=False)
    return (
        np.asarray(fit.params),
        np.asarray(fit.cov_params()),
        bool(fit.mle_retvals.get("converged", False)),
    )


def logistic_regression(
    data: pd.DataFrame,
    *,
    features: Sequence[str],
    truth: str = "truth",
    method: LogisticMethod = "auto",
    alpha: float = 0.05,
    missing: str = "raise",
) -> LogisticResult:
    """Logistic regression of malignancy on binary features.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    features : sequence of str
        Feature columns coded 0/1 (or yes/no, present/absent).
    truth : str, default "truth"
        Reference-standard column, 0 = benign, 1 = malignant.
    method : {"auto", "mle", "firth"}, default "auto"
        ``"mle"``: maximum likelihood (statsmodels ``Logit``), refusing
        separated data with a ``ValueError``. ``"firth"``: Firth's penalised
        likelihood (Firth 1993; Heinze & Schemper 2002). ``"auto"``: maximum
        likelihood unless the data are separated, then Firth, saying so in
        ``note``.
    alpha : float, default 0.05
        1 - confidence level of the Wald intervals.
    missing : {"raise", "drop"}, default "raise"

    Returns
    -------
    LogisticResult

    Raises
    ------
    NotEstimableError
        One class only, no feature that varies, collinear features, or no more
        cases than parameters (a ``ValueError``; :mod:`readerstudy.stats.estimable`).
    ValueError
        Unknown method, bad input, or separated data with ``method="mle"``.
    """
    check_alpha(alpha)
    if method not in ("auto", "mle", "firth"):
        raise ValueError(f"method must be 'auto', 'mle' or 'firth', got {method!r}")
    x, y = _prepare(data, features, truth, missing)
    n_events = int(y.sum())
    if n_events in (0, y.size):
        raise NotEstimableError(
            f"{truth!r} needs both benign and malignant cases; got {n_events} malignant of {y.size}"
        )
    constant = [f for j, f in enumerate(features) if np.all(x[:, j] == x[0, j])]
    kept = [j for j, f in enumerate(features) if f not in constant]
    if not kept:
        raise NotEstimableError(
            f"every feature is constant (present in all or no cases): {constant}"
        )
    names = [features[j] for j in kept]
    design = np.column_stack([np.ones(y.size), x[:, kept]])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise NotEstimableError(
            f"features {names} are collinear (one is a combination of the others and the "
            "intercept); remove the redundant ones"
        )
    if y.size <= design.shape[1]:
        raise NotEstimableError(f"{y.size} cases are too few for {design.shape[1]} parameters")

    separated = detect_separation(design, y.astype(np.float64))
    notes = []
    if constant:
        notes.append(f"constant features left out: {', '.join(constant)}")
    if separated:
        one_sided = [
            f
            for j, f in zip(kept, names, strict=True)
            if not ((x[:, j] == 1) & (y == 0)).any()
            or not ((x[:, j] == 1) & (y == 1)).any()
            or not ((x[:, j] == 0) & (y == 0)).any()
            or not ((x[:, j] == 0) & (y == 1)).any()
        ]
        detail = (
            f"feature(s) {', '.join(one_sided)} occur (or are absent) in one group only"
            if one_sided
            else "a combination of features separates the groups"
        )
        if method == "mle":
            raise ValueError(
                f"the data are separated ({detail}): maximum-likelihood estimates do not "
                "exist; use method='firth' (penalised likelihood) or method='auto'"
            )
        if method == "auto":
            notes.append(f"data separated ({detail}); Firth's penalised likelihood used")

    use_firth = method == "firth" or (method == "auto" and separated)
    if use_firth:
        beta, cov, converged = _firth(design, y.astype(np.float64))
    else:
        beta, cov, converged = _mle(design, y)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    z = stats.norm.ppf(1.0 - alpha / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = beta / se
    coefficients = pd.DataFrame(
        {
            "term": ["intercept", *names],
            "estimate": beta,
            "se": se,
            "ci_low": beta - z * se,
            "ci_high": beta + z * se,
            "odds_ratio": np.exp(beta),
            "odds_ratio_ci_low": np.exp(beta - z * se),
            "odds_ratio_ci_high": np.exp(beta + z * se),
            "statistic": statistic,
            "p_value": 2.0 * stats.norm.sf(np.abs(statistic)),
        }
    )
    fitted = special.expit(design @ beta)
    correct = int(((fitted >= 0.5) == (y == 1)).sum())
    return LogisticResult(
        correct=correct,
        coefficients=coefficients,
        n=int(y.size),
        n_events=n_events,
        method="firth" if use_firth else "maximum likelihood",
        separation=separated,
        converged=converged,
        dropped=tuple(constant),
        note="; ".join(notes),
    )
