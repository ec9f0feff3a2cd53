"""AUCs of clustered cases: Obuchowski's (1997) nonparametric variance when a patient has
several cases.

A case of the reader study is one fracture; a patient may have several, and the reads of
one patient's fractures are not independent (the same bone quality, the same scan, the
same reader's impression of the patient). DeLong's variance (:mod:`readerstudy.stats.roc`)
treats every case as independent and so understates the AUC's variance when they are
not. Obuchowski (1997) keeps the empirical (Mann-Whitney) AUC and its structural
components but sums them within each cluster (patient) before taking their variance, and
adds the covariance of a cluster's positive and negative cases:

    X_i = sum over the positive cases j of cluster i of V10(X_ij)     (m_i positives)
    Y_i = sum over the negative cases k of cluster i of V01(Y_ik)     (n_i negatives)
    S10 = I10 / ((I10 - 1) M) * sum_i (X_i - m_i A)^2
    S01 = I01 / ((I01 - 1) N) * sum_i (Y_i - n_i A)^2
    S11 = I / (I - 1)         * sum_i (X_i - m_i A)(Y_i - n_i A)
    Var(A) = S10 / M + S01 / N + 2 S11 / (M N)

with ``I`` clusters, ``I10`` (``I01``) of them holding a positive (negative) case,
``M`` (``N``) positive (negative) cases in all. Two AUCs of the same cases (two readers,
or a reader and the model) have the covariance of the same form with cross-products, and
``S11`` of reader r's positives with reader s's negatives plus the reverse.

With one case per cluster, ``S11 = 0`` (no cluster holds both classes) and ``S10``,
``S01`` are DeLong's sample variances: ``I10 / ((I10 - 1) M) = 1 / (M - 1)``. The
variance is then DeLong's exactly (``tests/stats/test_clustered.py`` checks it).

References
----------
Obuchowski NA (1997). Nonparametric analysis of clustered ROC curve data. Biometrics
53:567-578. doi:10.2307/2533958

The formulas are those of the Cleveland Clinic's ``funcs_clusteredROC.R`` (Quantitative
Health Sciences software library), as adapted in the FDA/DIDSR iMRMC package's
``doAUCcluster``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from readerstudy.stats._validation import (
    as_binary_truth,
    as_float_array,
    check_alpha,
    check_missing_policy,
    columns,
    drop_missing,
    require_both_classes,
)
from readerstudy.stats.estimable import NotEstimableError
from readerstudy.stats.roc import (
    AUCResult,
    CIMethod,
    PairedAUCResult,
    auc_result_from,
    delong_components,
)

__all__ = [
    "METHOD",
    "auc_clustered",
    "clustered_covariance",
    "clustered_not_estimable",
    "clustered_paired",
    "has_clusters",
]

#: How the outputs name the method.
METHOD = "clustered by patient, Obuchowski 1997"


def has_clusters(clusters: object) -> bool:
    """Whether any cluster (patient) holds more than one case."""
    labels = pd.Series(np.asarray(clusters, dtype=object))
    return bool(labels.duplicated().any())


def _codes(clusters: object, n: int) -> np.ndarray:
    labels = np.asarray(clusters, dtype=object)
    if labels.shape != (n,):
        raise ValueError(f"clusters must have one label per case ({n}), got shape {labels.shape}")
    if pd.isna(labels).any():
        raise ValueError("clusters must not be missing: give each case its own label instead")
    return pd.factorize(labels)[0]


def clustered_not_estimable(truth: object, clusters: object) -> str:
    """Why Obuchowski's variance cannot be computed; ``""`` when it can.

    Each class needs cases in at least 2 clusters: ``S10`` (``S01``) has the factor
    ``I10 / (I10 - 1)`` (``I01 / (I01 - 1)``).
    """
    t = np.asarray(truth)
    codes = _codes(clusters, t.size)
    with_pos = np.unique(codes[t == 1]).size
    with_neg = np.unique(codes[t == 0]).size
    if with_pos >= 2 and with_neg >= 2:
        return ""
    return (
        "the clustered (Obuchowski) variance needs positive (malignant) cases of at least 2 "
        f"patients and negative (benign) cases of at least 2 patients; got {with_pos} and "
        f"{with_neg}"
    )


def clustered_covariance(
    truth: np.ndarray, scores: np.ndarray, clusters: object
) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of k score vectors on the same clustered cases and Obuchowski's covariance.

    Parameters
    ----------
    truth : numpy.ndarray, shape (n,)
        0/1 truth, both classes present.
    scores : numpy.ndarray, shape (k, n) or (n,)
        Higher = more likely positive; no missing values.
    clusters : array-like, shape (n,)
        The cluster (patient) of each case; any hashable labels.

    Returns
    -------
    aucs : numpy.ndarray, shape (k,)
    cov : numpy.ndarray, shape (k, k)
        ``S10 / M + S01 / N + (S11 + S11') / (M N)`` (module docstring).

    Raises
    ------
    NotEstimableError
        Fewer than 2 clusters with a case of either class.
    """
    t = np.asarray(truth, dtype=np.int64)
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    require_both_classes(t)
    reason = clustered_not_estimable(t, clusters)
    if reason:
        raise NotEstimableError(reason)
    codes = _codes(clusters, t.size)
    n_clusters = int(codes.max()) + 1
    aucs, v10, v01 = delong_components(t, s)
    pos = t == 1
    # Cluster sums of the structural components: (k, cases) @ (cases, clusters).
    in_pos = np.eye(n_clusters)[codes[pos]]
    in_neg = np.eye(n_clusters)[codes[~pos]]
    m_i, n_i = in_pos.sum(axis=0), in_neg.sum(axis=0)
    dx = v10 @ in_pos - np.outer(aucs, m_i)
    dy = v01 @ in_neg - np.outer(aucs, n_i)
    big_m, big_n = float(m_i.sum()), float(n_i.sum())
    i10, i01 = int(np.count_nonzero(m_i)), int(np.count_nonzero(n_i))
    s10 = i10 / ((i10 - 1) * big_m) * (dx @ dx.T)
    s01 = i01 / ((i01 - 1) * big_n) * (dy @ dy.T)
    s11 = n_clusters / (n_clusters - 1) * (dx @ dy.T)
    return aucs, s10 / big_m + s01 / big_n + (s11 + s11.T) / (big_m * big_n)


def _prepared(data: pd.DataFrame, missing: str, **names: str) -> dict[str, np.ndarray]:
    check_missing_policy(missing)
    given = columns(data, **names)
    values: dict[str, np.ndarray] = {
        "truth": as_binary_truth(given["truth"], names["truth"], allow_nan=True).astype(np.float64)
    }
    for key in names:
        if key not in ("truth", "cluster"):
            values[key] = as_float_array(given[key], names[key], allow_nan=True)
    labels = given["cluster"].astype(object).to_numpy()
    blank = pd.isna(labels)
    if blank.any():
        raise ValueError(f"column {names['cluster']!r} is empty at {int(blank.sum())} case(s)")
    order = np.arange(labels.size, dtype=np.float64)
    kept = drop_missing(missing, row=order, **values)
    out = dict(kept)
    out["cluster"] = labels[kept["row"].astype(np.int64)]
    out["truth"] = kept["truth"].astype(np.int64)
    return out


def auc_clustered(
    data: pd.DataFrame,
    *,
    truth: str = "truth",
    score: str = "score",
    cluster: str = "patient",
    alpha: float = 0.05,
    ci: CIMethod = "wald",
    missing: str = "raise",
) -> AUCResult:
    """Empirical AUC with Obuchowski's (1997) clustered standard error and interval.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    truth : str, default "truth"
        Column of the reference standard: 0 = benign, 1 = malignant.
    score : str, default "score"
        Column of the scores (or 0/1 calls): higher = more likely malignant.
    cluster : str, default "patient"
        Column of each case's cluster (the patient).
    alpha : float, default 0.05
    ci : {"wald", "logit"}, default "wald"
        As :func:`readerstudy.stats.roc.auc_delong`.
    missing : {"raise", "drop"}, default "raise"

    Returns
    -------
    AUCResult
        ``method`` is ``"Obuchowski (clustered), Wald"`` (or ``logit``).
    """
    check_alpha(alpha)
    if ci not in ("wald", "logit"):
        raise ValueError(f"ci must be 'wald' or 'logit', got {ci!r}")
    got = _prepared(data, missing, truth=truth, score=score, cluster=cluster)
    t = got["truth"]
    aucs, cov = clustered_covariance(t, got["score"], got["cluster"])
    return auc_result_from(aucs, cov, t, alpha=alpha, ci=ci, method="Obuchowski (clustered)")


def difference(
    aucs: np.ndarray, cov: np.ndarray, a: int, b: int, alpha: float
) -> tuple[float, float, float, float, float, float]:
    """AUC(a) - AUC(b) from a covariance matrix: (difference, se, ci_low, ci_high, z, p).

    Identical curves give ``z = 0, p = 1``; a difference without variance ``z = +/-inf``.
    """
    diff = float(aucs[a] - aucs[b])
    se = float(np.sqrt(max(cov[a, a] + cov[b, b] - 2.0 * cov[a, b], 0.0)))
    z = diff / se if se > 0 else float(np.copysign(np.inf, diff) if diff else 0.0)
    half = float(stats.norm.ppf(1.0 - alpha / 2.0)) * se
    return diff, se, diff - half, diff + half, z, float(2.0 * stats.norm.sf(abs(z)))


def clustered_paired(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    truth: str = "truth",
    cluster: str = "patient",
    alpha: float = 0.05,
    missing: str = "raise",
) -> PairedAUCResult:
    """The paired test of two AUCs of the same clustered cases, Obuchowski's covariance.

    ``z = (AUC_x - AUC_y) / SE``, ``SE^2 = Var(x) + Var(y) - 2 Cov(x, y)`` from
    :func:`clustered_covariance`; two-sided normal p-value, Wald interval.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    x, y : str
        Columns of the two scores (two readers, or a reader and the model).
    truth : str, default "truth"
    cluster : str, default "patient"
    alpha : float, default 0.05
    missing : {"raise", "drop"}, default "raise"
        With ``"drop"``, a case missing in either score is dropped from both.

    Returns
    -------
    PairedAUCResult
    """
    check_alpha(alpha)
    got = _prepared(data, missing, truth=truth, x=x, y=y, cluster=cluster)
    aucs, cov = clustered_covariance(got["truth"], np.vstack([got["x"], got["y"]]), got["cluster"])
    diff, se, low, high, z, p = difference(aucs, cov, 0, 1, alpha)
    return PairedAUCResult(
        auc_a=float(aucs[0]),
        auc_b=float(aucs[1]),
        estimate=diff,
        se=se,
        ci_low=low,
        ci_high=high,
        statistic=z,
        p_value=p,
        n=int(got["truth"].size),
    )
