"""Result rows: one estimate each, with the columns of :data:`readerstudy.stats.io.RESULT_COLUMNS`."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from readerstudy.stats import proportions
from readerstudy.stats.estimable import no_interval, note
from readerstudy.stats.io import ANALYSES, RESULT_COLUMNS

#: Where an estimate belongs: (analysis, condition, reader, other).
Key = tuple[str, str, str, str]


class Estimate(Protocol):
    """A result dataclass with an estimate and its interval (statistic, p_value, n and
    not_estimable are read when it has them)."""

    @property
    def estimate(self) -> float: ...
    @property
    def ci_low(self) -> float: ...
    @property
    def ci_high(self) -> float: ...

PROPORTIONS = ("sensitivity", "specificity", "accuracy", "ppv", "npv")


def row(
    key: Key,
    metric: str,
    estimate: float,
    ci_low: float = np.nan,
    ci_high: float = np.nan,
    statistic: float = np.nan,
    df: float = np.nan,
    p_value: float = np.nan,
    n: int | None = None,
    note: str = "",
) -> dict:
    values = (*key, metric, estimate, ci_low, ci_high, statistic, df, p_value, n, note)
    return dict(zip(RESULT_COLUMNS, values, strict=True))


def not_estimable(key: Key, metric: str, why: str, n: int | None = None) -> dict:
    """A row for an estimate the data do not allow: NaN, and ``why`` (a note) in ``note``."""
    return row(key, metric, np.nan, n=n, note=why)


def from_result(
    key: Key, metric: str, r: Estimate, *, df: float = np.nan, n: int | None = None
) -> dict:
    """A row from a result dataclass (estimate, ci_low, ci_high; statistic, p_value, n if any).

    A NaN estimate carries the result's ``not_estimable`` reason in ``note``.
    """
    reason = getattr(r, "not_estimable", "")
    why = note(reason) if reason else ""
    without_interval: str = getattr(r, "no_interval", "")
    if not why and without_interval:
        why = no_interval(without_interval)
    return row(
        key,
        metric,
        r.estimate,
        r.ci_low,
        r.ci_high,
        getattr(r, "statistic", np.nan),
        df,
        getattr(r, "p_value", np.nan),
        getattr(r, "n", None) if n is None else n,
        why,
    )


def count(key: Key, metric: str, value: int, of: int) -> dict:
    """A whole number ``value`` out of ``of`` cases (no interval)."""
    return row(key, metric, float(value), n=of)


def proportion_rows(key: Key, name: str, value: proportions.Proportion) -> list[dict]:
    """``name`` (Wilson interval), ``name_clopper_pearson`` and ``name_successes``."""
    why = note(value.not_estimable) if value.not_estimable else ""
    return [
        row(key, name, value.estimate, value.ci_low, value.ci_high, n=value.total, note=why),
        row(
            key,
            f"{name}_clopper_pearson",
            value.estimate,
            value.exact_ci_low,
            value.exact_ci_high,
            n=value.total,
            note=why,
        ),
        count(key, f"{name}_successes", value.successes, value.total),
    ]


def diagnostic_rows(key: Key, metrics: proportions.DiagnosticMetrics) -> list[dict]:
    rows = []
    for name in PROPORTIONS:
        rows += proportion_rows(key, name, getattr(metrics, name))
    return rows


def pairs(n: int) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, of ``n`` readers."""
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


#: Why an interval has no width, by the start of the metric's name (the first that matches).
_ZERO_WIDTH = (
    ("auc_difference", "the variance of the AUC difference is 0 in these data (both readers' "
                       "AUCs are without variance: constant scores or perfect separation), so "
                       "neither an interval nor DeLong's z test exists"),
    ("auc_calls_difference", "the variance of the AUC difference is 0 in these data (both "
                             "readers' AUCs are without variance: one call for every case or "
                             "perfect separation), so neither an interval nor DeLong's z test "
                             "exists"),
    ("auc", "the AUC's variance is 0 in these data: every case has the same score, or the "
            "scores (calls) separate the classes perfectly"),
    ("cohen_kappa", "kappa's standard error is 0 in these data: a reader used one category "
                    "only, or the readers agree on every case"),
    ("fleiss_kappa", "the jackknife standard error is 0: leaving out any one case gives "
                     "the same kappa"),
    ("icc", "the ratings agree exactly (residual variance 0)"),
    ("", "its standard error is 0 in these data"),
)


def _zero_width_reason(metric: str) -> str:
    bare = metric.split("measurement_", 1)[-1].split("_", 1)[-1] if metric.startswith(
        "measurement_") else metric
    return next(why for start, why in _ZERO_WIDTH if bare.startswith(start)
                or metric.startswith(start))


def no_zero_width(row_: dict) -> dict:
    """A row whose interval has no width (``ci_low == ci_high``, both finite) loses the
    interval, and an infinite z or t with it (a test with no variance is not a test), and
    says why in ``note``; other rows are returned as they are."""
    low, high, estimate = row_["ci_low"], row_["ci_high"], row_["estimate"]
    if row_["note"] or not (np.isfinite(low) and np.isfinite(high) and np.isfinite(estimate)):
        return row_
    if high - low > 1e-12 * max(1.0, abs(estimate)):
        return row_
    fixed = dict(row_, ci_low=np.nan, ci_high=np.nan, note=no_interval(_zero_width_reason(
        row_["metric"])))
    if np.isinf(row_["statistic"]) and not row_["metric"].startswith(("icc", "measurement_")):
        fixed.update(statistic=np.nan, p_value=np.nan)
    return fixed


def results_frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as the results table: ordered by :data:`ANALYSES`, typed as documented.

    An interval with no width is left out, with the reason (:func:`no_zero_width`)."""
    rows = [no_zero_width(r) for r in rows]
    results = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    if results.empty:
        return results.astype({"n": "Int64", "note": str})
    order = {name: i for i, name in enumerate(ANALYSES)}
    results = results.sort_values("analysis", key=lambda s: s.map(order), kind="stable")
    text = ["analysis", "condition", "reader", "other", "metric", "note"]
    results[text] = results[text].astype(str)
    numeric = ["estimate", "ci_low", "ci_high", "statistic", "df", "p_value"]
    results[numeric] = results[numeric].astype("float64")
    results["n"] = results["n"].astype("Float64").astype("Int64")
    return results.reset_index(drop=True)
