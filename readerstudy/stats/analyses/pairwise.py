"""Every pair of readers in a condition: ``delong_paired``, ``mcnemar``, ``kappa``,
``bland_altman``.

In a pair, ``reader`` is the earlier of the panel's order (human readers first, then
models) and ``other`` the later, so every difference is reader minus other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from readerstudy.stats import agreement, mcnemar
from readerstudy.stats.analyses.panel import Panel, ordered
from readerstudy.stats.analyses.rows import from_result, not_estimable, pairs, row
from readerstudy.stats.bland_altman import BlandAltmanResult, bland_altman
from readerstudy.stats.clustered import clustered_covariance, clustered_not_estimable, difference
from readerstudy.stats.estimable import attempt, no_interval, note
from readerstudy.stats.roc import delong_covariance, delong_not_estimable


def pairwise_rows(panel: Panel, alpha: float) -> list[dict]:
    rows: list[dict] = []
    cond, readers = panel.condition, panel.readers
    if panel.truth is not None and panel.score is not None:
        rows += _paired_auc_rows(panel, panel.score, readers, "auc_difference", alpha)
    binary_idx = panel.binary_call_readers() if panel.truth is not None else []
    if len(binary_idx) >= 2:
        binary = [readers[j] for j in binary_idx]
        codes = np.column_stack([panel.binary_codes(j) for j in binary_idx])
        rows += _paired_auc_rows(panel, codes, binary, "auc_calls_difference", alpha)
        rows += _mcnemar_rows(panel, codes, binary, alpha)
    if panel.codes is not None:
        rows += _kappa_rows(panel, alpha)
    scorers = panel.scorers()
    for a, i in enumerate(scorers):
        for j in scorers[a + 1 :]:
            both = ~np.isnan(panel.known_score[:, i]) & ~np.isnan(panel.known_score[:, j])
            key = ("bland_altman", cond, readers[i], readers[j])
            rows += bland_altman_rows(
                key, panel.known_score[both, i], panel.known_score[both, j], alpha,
                nothing="no case scored by both readers",
            )  # fmt: skip
    return rows


BLAND_ALTMAN_METRICS = ("bias", "loa_lower", "loa_upper", "sd_difference")


def bland_altman_rows(
    key: tuple[str, str, str, str],
    a: np.ndarray,
    b: np.ndarray,
    alpha: float,
    *,
    nothing: str,
    prefix: str = "",
) -> list[dict]:
    """``bias``, ``loa_lower``, ``loa_upper``, ``sd_difference`` of ``a - b`` (each metric
    name after ``prefix``); not estimable with ``nothing`` as the reason when no pair is
    complete."""
    r: BlandAltmanResult | None
    data = pd.DataFrame({"x": a, "y": b})
    r, why = attempt(bland_altman, data, x="x", y="y", alpha=alpha) if a.size else (
        None, note(nothing))
    if r is None:
        return [not_estimable(key, prefix + m, why, int(a.size)) for m in BLAND_ALTMAN_METRICS]
    return [
        from_result(key, f"{prefix}bias", r, df=r.df),
        row(key, f"{prefix}loa_lower", r.loa_low, r.loa_low_ci_low, r.loa_low_ci_high, n=r.n),
        row(key, f"{prefix}loa_upper", r.loa_high, r.loa_high_ci_low, r.loa_high_ci_high, n=r.n),
        row(key, f"{prefix}sd_difference", r.sd, n=r.n),
    ]


def _paired_auc_rows(
    panel: Panel, matrix: np.ndarray, readers: list[str], metric: str, alpha: float
) -> list[dict]:
    """DeLong's paired test for every pair, as :func:`readerstudy.stats.roc.delong_paired`;
    when a patient has several cases, beside it the test with Obuchowski's clustered
    covariance (``<metric>_clustered``, :func:`readerstudy.stats.clustered.clustered_paired`).

    One covariance matrix serves every pair that read the same cases, instead
    of one DeLong computation per pair.
    """
    rows = []
    masks = [~np.isnan(matrix[:, j]) for j in range(len(readers))]
    methods: list[tuple[str, np.ndarray | None]] = [(metric, None)]
    if panel.patients is not None:
        methods.append((f"{metric}_clustered", panel.patients))
    cache: dict[tuple[bytes, str], tuple[list[int], np.ndarray, np.ndarray] | str] = {}
    for i, j in pairs(len(readers)):
        if not (masks[i].any() and masks[j].any()):
            continue  # a reader without any value: nothing to compare
        both = masks[i] & masks[j]
        key_ = ("delong_paired", panel.condition, readers[i], readers[j])
        reason = delong_not_estimable(panel.known_truth[both]) if both.any() else "no case read by both"
        if reason:
            rows += [not_estimable(key_, name, note(reason), int(both.sum()))
                     for name, _ in methods]
            continue
        for name, patients in methods:
            key = (both.tobytes(), name)
            if key not in cache:
                members = [k for k in range(len(readers)) if (masks[k] & both).sum() == both.sum()]
                scores = matrix[np.ix_(both, members)].T
                truth = panel.known_truth[both]
                if patients is None:
                    cache[key] = (members, *delong_covariance(truth, scores))
                else:
                    why = clustered_not_estimable(truth, patients[both])
                    cache[key] = note(why) if why else (
                        members, *clustered_covariance(truth, scores, patients[both]))
            got = cache[key]
            if isinstance(got, str):
                rows.append(not_estimable(key_, name, got, int(both.sum())))
                continue
            members, aucs, cov = got
            diff, se, _, _, _, _ = difference(aucs, cov, members.index(i), members.index(j), alpha)
            same = bool(np.array_equal(matrix[both, i], matrix[both, j]))
            rows.append(_difference_row(key_, name, diff, se, alpha, int(both.sum()), same))
    return rows


def _difference_row(
    key: tuple[str, str, str, str], metric: str, diff: float, se: float, alpha: float, n: int,
    same: bool,
) -> dict:
    """A difference of AUCs with its Wald interval, z and p; ``same``: both readers gave the
    same ratings.

    A difference without variance has neither an interval nor a z test (``roc.delong_paired``
    and :func:`readerstudy.stats.clustered.difference` follow pROC, z = 0 and p = 1 for
    identical curves; a table should not print those beside "no interval"): identical
    ratings, or curves, say so in the note; another difference without variance gets
    :func:`no_zero_width`'s reason.
    """
    if se > 0:
        z = stats.norm.ppf(1.0 - alpha / 2.0)
        stat = diff / se
        return row(key, metric, diff, diff - z * se, diff + z * se, stat, np.nan,
                   float(2.0 * stats.norm.sf(abs(stat))), n)  # fmt: skip
    if diff == 0:
        what = "calls" if metric.startswith(("auc_calls", "definite_auc_calls")) else "scores"
        why = f"identical {what}" if same else "identical ROC curves"
        return row(key, metric, diff, n=n, note=no_interval(f"{why}: difference 0, no variance"))
    return row(key, metric, diff, diff, diff, n=n)


def _mcnemar_rows(panel: Panel, codes: np.ndarray, readers: list[str], alpha: float) -> list[dict]:
    rows = []
    for i, j in pairs(len(readers)):
        both = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j])
        key = ("mcnemar", panel.condition, readers[i], readers[j])
        rows += mcnemar_pair_rows(key, panel.known_truth[both], codes[both, i], codes[both, j],
                                  alpha)  # fmt: skip
    return rows


def mcnemar_pair_rows(
    key: tuple[str, str, str, str],
    t: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    alpha: float,
    prefix: str = "",
    both: str = "both readers",
) -> list[dict]:
    """Exact and chi-square McNemar tests of two sets of paired 0/1 calls ``a``, ``b`` of
    the same cases (truth ``t``): sensitivity (malignant cases), specificity (benign cases),
    accuracy (all), each metric named ``prefix`` + ``sensitivity_exact`` ...; the estimate
    is the proportion correct of ``a`` minus that of ``b``."""
    rows = []
    for name, subset, cases in (
        ("sensitivity", t == 1, "malignant cases"),
        ("specificity", t == 0, "benign cases"),
        ("accuracy", t == t, "cases"),
    ):
        if not subset.any():
            why = note(f"no {cases} called by {both}")
            rows += [not_estimable(key, f"{prefix}{name}_{m}", why, 0) for m in ("exact", "chi2")]
            continue
        right_a, right_b = a[subset] == t[subset], b[subset] == t[subset]
        a_only, b_only = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
        for method in ("exact", "chi2"):
            r = mcnemar.mcnemar_from_counts(
                a_only, b_only, int(subset.sum()), method=method, alpha=alpha
            )
            rows.append(from_result(key, f"{prefix}{name}_{method}", r, df=r.df))
    return rows


def paired_auc_row(
    key: tuple[str, str, str, str], t: np.ndarray, a: np.ndarray, b: np.ndarray, metric: str,
    alpha: float, patients: np.ndarray | None = None,
) -> list[dict]:
    """DeLong's paired test of the AUCs of ``a`` and ``b`` (scores or 0/1 calls of the same
    cases, truth ``t``): AUC(a) - AUC(b), Wald interval, z, p; with ``patients`` (the
    patient of each case, when a patient has several cases in the study), beside it the
    same test with Obuchowski's clustered covariance (``<metric>_clustered``)."""
    reason = delong_not_estimable(t) if t.size else "no case read by both"
    names = [metric] if patients is None else [metric, f"{metric}_clustered"]
    if reason:
        return [not_estimable(key, name, note(reason), int(t.size)) for name in names]
    same = bool(np.array_equal(a, b))
    aucs, cov = delong_covariance(t, np.vstack([a, b]))
    diff = float(aucs[0] - aucs[1])
    se = float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1], 0.0)))
    rows = [_difference_row(key, metric, diff, se, alpha, int(t.size), same)]
    if patients is not None:
        why = clustered_not_estimable(t, patients)
        if why:
            rows.append(not_estimable(key, names[1], note(why), int(t.size)))
        else:
            aucs, cov = clustered_covariance(t, np.vstack([a, b]), patients)
            diff, se, _, _, _, _ = difference(aucs, cov, 0, 1, alpha)
            rows.append(_difference_row(key, names[1], diff, se, alpha, int(t.size), same))
    return rows


def _kappa_rows(panel: Panel, alpha: float) -> list[dict]:
    rows = []
    variants: list[tuple[agreement.Weights, str]] = [(None, "cohen_kappa")]
    if ordered(panel.categories):
        variants += [("linear", "cohen_kappa_linear"), ("quadratic", "cohen_kappa_quadratic")]
    callers = [j for j in range(len(panel.readers)) if panel.calls_of(j)]
    for a, i in enumerate(callers):
        for j in callers[a + 1 :]:
            rows += _kappa_pair(panel, i, j, variants, alpha)
    return rows


def _kappa_pair(
    panel: Panel, i: int, j: int, variants: list[tuple[agreement.Weights, str]], alpha: float
) -> list[dict]:
    codes, k = panel.known_codes, len(panel.categories)
    key = ("kappa", panel.condition, panel.readers[i], panel.readers[j])
    both = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j])
    if not both.any():
        why = note("no case called by both readers")
        metrics = [metric for _, metric in variants] + ["observed_agreement"]
        return [not_estimable(key, metric, why, 0) for metric in metrics]
    cells = codes[both, i].astype(np.int64) * k + codes[both, j].astype(np.int64)
    table = np.bincount(cells, minlength=k * k).reshape(k, k)
    results = [
        (metric, agreement.cohen_kappa_from_table(table, weights=w, alpha=alpha))
        for w, metric in variants
    ]
    return [from_result(key, metric, r) for metric, r in results] + [
        observed_agreement_row(key, results[0][1])
    ]


def observed_agreement_row(key: tuple[str, str, str, str], kappa: agreement.KappaResult) -> dict:
    """The share of cases both raters put in the same category (unweighted kappa's p_o)."""
    return row(key, "observed_agreement", kappa.observed_agreement, n=kappa.n)
