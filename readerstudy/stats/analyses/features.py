"""``features``: binary imaging features (``feature_<name>`` columns) against the reference
standard, per human reader who recorded them and condition, on the reader's first reads of
the cases with every feature recorded.

Per feature (metrics named after the column, ``feature_<name>_...``):

- ``_present_malignant``, ``_present_benign``: cases with the feature (``n``: the
  malignant, the benign cases);
- ``_fisher_or``: the conditional maximum-likelihood odds ratio with its exact interval and
  Fisher's two-sided p (:func:`readerstudy.stats.features.fisher_per_feature`);
  ``_fisher_or_holm``: the same with Holm's adjusted p over the features;
- ``_logistic_or``: the feature's odds ratio in one logistic regression of malignancy on
  every feature (Wald interval, z, p; :func:`readerstudy.stats.features.logistic_regression`).

Per reader: ``logistic_events`` (malignant cases; ``n``: cases), ``logistic_firth`` (1 when
the data are separated and Firth's penalised likelihood was used, else 0; its ``note`` says
why, and which constant features were left out), ``logistic_separation`` (1 or 0) and
``logistic_accuracy`` (with ``_clopper_pearson`` and ``_successes``): the share of cases the fitted model classifies correctly at 0.5 (apparent
accuracy, as Yeh et al. 2022 report it; Wilson interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from readerstudy.stats.analyses.panel import Panel
from readerstudy.stats.analyses.rows import Key, count, not_estimable, proportion_rows, row
from readerstudy.stats.estimable import attempt, note
from readerstudy.stats.features import LogisticResult, fisher_per_feature, logistic_regression
from readerstudy.stats.proportions import proportion

PREFIX = "feature_"
CONSTANT = "left out of the regression: the feature is present in every case or in none"


def feature_columns(reads: pd.DataFrame) -> list[str]:
    return [c for c in reads.columns if c.startswith(PREFIX)]


def feature_rows(panel: Panel, features: list[str], alpha: float) -> list[dict]:
    rows: list[dict] = []
    if not features or panel.truth is None:
        return rows
    first = panel.first
    for reader in panel.humans:
        mine = first.loc[first["reader"] == reader, ["truth", *features]]
        if not mine[features].notna().any().any():
            continue  # a reader who recorded no feature
        rows += _reader_rows(("features", panel.condition, reader, ""), mine.dropna(), features,
                             alpha)  # fmt: skip
    return rows


def _reader_rows(key: Key, data: pd.DataFrame, features: list[str], alpha: float) -> list[dict]:
    if data.empty:
        why = note("no case has every feature recorded")
        return [not_estimable(key, f"{f}_{metric}", why, 0)
                for f in features for metric in ("fisher_or", "logistic_or")]  # fmt: skip
    fisher = fisher_per_feature(data, features=features, truth="truth", alpha=alpha)
    with np.errstate(all="ignore"):
        logistic, logistic_why = attempt(
            logistic_regression, data, features=features, truth="truth", alpha=alpha
        )
    rows = []
    for rec in fisher.itertuples(index=False):
        f = rec.feature
        rows += [
            count(key, f"{f}_present_malignant", rec.present_malignant, rec.n_malignant),
            count(key, f"{f}_present_benign", rec.present_benign, rec.n_benign),
            row(key, f"{f}_fisher_or", rec.estimate, rec.ci_low, rec.ci_high,
                p_value=rec.p_value, n=rec.n, note=rec.note),
            row(key, f"{f}_fisher_or_holm", rec.estimate, rec.ci_low, rec.ci_high,
                p_value=rec.p_holm, n=rec.n, note=rec.note),
            _logistic_row(key, f, logistic, logistic_why, len(data)),
        ]  # fmt: skip
    if logistic is not None:
        rows += [
            count(key, "logistic_events", logistic.n_events, logistic.n),
            row(key, "logistic_firth", float(logistic.method == "firth"), n=logistic.n,
                note=logistic.note),
            row(key, "logistic_separation", float(logistic.separation), n=logistic.n),
        ]  # fmt: skip
        rows += proportion_rows(key, "logistic_accuracy",
                                proportion(logistic.correct, logistic.n, alpha=alpha))
    return rows


def _logistic_row(
    key: Key, feature: str, result: LogisticResult | None, why: str, n: int
) -> dict:
    metric = f"{feature}_logistic_or"
    if result is None:
        return not_estimable(key, metric, why, n)
    terms = result.coefficients.set_index("term")
    if feature not in terms.index:
        return not_estimable(key, metric, note(CONSTANT), result.n)
    term = terms.loc[feature]
    return row(key, metric, term["odds_ratio"], term["odds_ratio_ci_low"],
               term["odds_ratio_ci_high"], term["statistic"], p_value=term["p_value"],
               n=result.n)  # fmt: skip
