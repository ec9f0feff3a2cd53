"""Per reader and condition: ``auc``, ``diagnostic`` and ``three_tier``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from readerstudy.stats import proportions, three_tier
from readerstudy.stats.analyses.panel import Panel
from readerstudy.stats.analyses.rows import (
    count,
    diagnostic_rows,
    from_result,
    not_estimable,
    proportion_rows,
    row,
)
from readerstudy.stats.bootstrap import bootstrap_auc
from readerstudy.stats.clustered import auc_clustered
from readerstudy.stats.estimable import attempt, note
from readerstudy.stats.roc import auc_delong, auc_from_calls


def clustered_auc_row(panel: Panel, key: tuple[str, str, str, str], metric: str,
                      truth: np.ndarray, values: np.ndarray, cases: np.ndarray,
                      alpha: float) -> list[dict]:
    """``metric`` (``auc_clustered``, ``auc_calls_clustered``): the AUC of ``values`` (scores
    or 0/1 calls of the cases ``cases``) with Obuchowski's interval clustered by patient;
    no row when no patient of the panel has several cases."""
    if panel.patients is None:
        return []
    data = pd.DataFrame({"truth": truth, "score": values, "patient": panel.patients[cases]})
    result, why = attempt(auc_clustered, data, alpha=alpha)
    n = int(truth.size)
    return [from_result(key, metric, result, n=n) if result is not None
            else not_estimable(key, metric, why, n)]


def auc_rows(panel: Panel, n_boot: int, seed: int, alpha: float) -> list[dict]:
    """``auc_delong`` and ``auc_bootstrap`` of each scoring reader, ``auc_calls`` of each reader
    with binary calls (no bootstrap when ``n_boot`` is 0); beside each DeLong row, when a
    patient has several cases, the same AUC with Obuchowski's clustered interval
    (``auc_clustered``, ``auc_calls_clustered``)."""
    rows: list[dict] = []
    cond = panel.condition
    if panel.score is not None:
        groups: dict[bytes, list[int]] = {}
        for j in panel.scorers():
            scored = ~np.isnan(panel.score[:, j])
            key, n = ("auc", cond, panel.readers[j], ""), int(scored.sum())
            data = pd.DataFrame({"truth": panel.known_truth[scored], "score": panel.score[scored, j]})
            result, why = attempt(auc_delong, data, alpha=alpha)
            if result is None:
                metrics = ("auc_delong", "auc_bootstrap") if n_boot else ("auc_delong",)
                rows += [not_estimable(key, m, why, n) for m in metrics]
                continue
            rows.append(from_result(key, "auc_delong", result, n=n))
            rows += clustered_auc_row(panel, key, "auc_clustered", panel.known_truth[scored],
                                      panel.score[scored, j], scored, alpha)
            groups.setdefault(scored.tobytes(), []).append(j)
        # Readers who scored the same cases share one bootstrap run (the same resamples).
        for members in groups.values() if n_boot else ():
            scored = ~np.isnan(panel.score[:, members[0]])
            names = [f"reader {k}" for k in range(len(members))]
            data = pd.DataFrame(panel.score[np.ix_(scored, members)], columns=names).assign(
                truth=panel.known_truth[scored])
            boot = bootstrap_auc(data, score=names, n_boot=n_boot, seed=seed, alpha=alpha)
            for k, j in enumerate(members):
                estimate, ci_low, ci_high = boot[["estimate", "ci_low", "ci_high"]].iloc[k].astype(float)
                rows.append(
                    row(
                        ("auc", cond, panel.readers[j], ""),
                        "auc_bootstrap",
                        estimate,
                        ci_low,
                        ci_high,
                        n=int(scored.sum()),
                    )
                )
    for j in panel.binary_call_readers():
        codes = panel.binary_codes(j)
        called = ~np.isnan(codes)
        key, n = ("auc", cond, panel.readers[j], ""), int(called.sum())
        data = pd.DataFrame({"truth": panel.known_truth[called], "call": codes[called]})
        result, why = attempt(auc_from_calls, data, alpha=alpha)
        rows.append(
            from_result(key, "auc_calls", result, n=n)
            if result is not None
            else not_estimable(key, "auc_calls", why, n)
        )
        rows += clustered_auc_row(panel, key, "auc_calls_clustered", panel.known_truth[called],
                                  codes[called], called, alpha)
    order = {name: i for i, name in enumerate(panel.readers)}
    return sorted(rows, key=lambda r: order[r["reader"]])


def call_rows(panel: Panel, alpha: float) -> list[dict]:
    """``diagnostic`` of each reader with binary calls; ``three_tier`` of each reader with
    three-tier calls (:meth:`Panel.three_tier_calls`)."""
    rows: list[dict] = []
    for j in panel.binary_call_readers():
        codes = panel.binary_codes(j)
        called = ~np.isnan(codes)
        data = pd.DataFrame({"truth": panel.known_truth[called], "call": codes[called]})
        metrics = proportions.diagnostic_metrics(data, alpha=alpha)
        rows += diagnostic_rows(("diagnostic", panel.condition, panel.readers[j], ""), metrics)
    for j, calls in panel.three_tier_calls().items():
        rows += _three_tier_rows(panel, j, calls, alpha)
    return rows


def _three_tier_rows(panel: Panel, j: int, calls: np.ndarray, alpha: float) -> list[dict]:
    called = calls != None  # noqa: E711 - elementwise over an object array
    truth = panel.known_truth[called]
    data = pd.DataFrame({"truth": truth, "three_tier": calls[called]})
    result = three_tier.three_tier_metrics(data, alpha=alpha)
    key = ("three_tier", panel.condition, panel.readers[j], "")
    if result.auc is not None:
        rows = [from_result(key, "auc_calls", result.auc, n=result.n_definite)]
    else:
        why = note(result.auc_not_estimable)
        rows = [not_estimable(key, "auc_calls", why, result.n_definite)]
    rows += diagnostic_rows(key, result.definite)
    rows += proportion_rows(key, "uncertain_share", result.uncertain)
    malignant = int(np.count_nonzero(truth == 1))
    rows.append(count(key, "uncertain_malignant", result.uncertain_malignant, malignant))
    rows.append(count(key, "uncertain_benign", result.uncertain_benign, truth.size - malignant))
    return rows
