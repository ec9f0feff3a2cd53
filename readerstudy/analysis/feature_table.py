"""Table 6: the 15 MRI features against the reference standard, as numbers.

For every reader who scored the feature checklist (STUDY-PROTOCOL.md: an expert scores 15
binary MRI features), on that reader's first reads of the cases with every feature
recorded: each feature's presence in malignant versus benign cases with Fisher's exact
test (conditional maximum-likelihood odds ratio, exact interval, two-sided p, Holm's
adjustment over the features; :func:`readerstudy.stats.features.fisher_per_feature`), and
the features combined in one logistic regression of malignancy (odds ratios with Wald
intervals; Firth's penalised likelihood when the data are separated, as they often are
with 15 features and a few dozen cases; :func:`readerstudy.stats.features.logistic_regression`).

References
----------
Fisher RA (1935). J R Stat Soc 98:39-82. doi:10.2307/2342435

Holm S (1979). Scand J Stat 6:65-70.

Firth D (1993). Biometrika 80:27-38. doi:10.1093/biomet/80.1.27

Heinze G, Schemper M (2002). Stat Med 21:2409-2419. doi:10.1002/sim.1047
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from readerstudy.analysis.frames import HUMAN, feature_column
from readerstudy.analysis.table_parts import (
    conditions,
    estimate_columns,
    first_reads,
    reader_order,
    value_columns,
)
from readerstudy.stats.estimable import attempt, note
from readerstudy.stats.features import LogisticResult, fisher_per_feature, logistic_regression

PREFIX = feature_column("")
CONSTANT = "left out of the regression: the feature is present in every case or in none"


def _fisher_columns(rec) -> dict[str, object]:
    return {
        "present_malignant": rec.present_malignant, "n_malignant": rec.n_malignant,
        "present_benign": rec.present_benign, "n_benign": rec.n_benign,
        "fisher_or": rec.estimate, "fisher_or_ci_low": rec.ci_low,
        "fisher_or_ci_high": rec.ci_high, "fisher_or_note": rec.note,
        "fisher_p": rec.p_value, "fisher_p_holm": rec.p_holm, "n": rec.n,
    }


def _logistic_columns(result: LogisticResult | None, why: str, column: str) -> dict[str, object]:
    if result is None:
        return (estimate_columns("logistic_or", None, why)
                | value_columns("logistic_p", math.nan, why))
    terms = result.coefficients.set_index("term")
    if column not in terms.index:
        why = note(CONSTANT)
        return (estimate_columns("logistic_or", None, why)
                | value_columns("logistic_p", math.nan, why))
    term = terms.loc[column]
    return {"logistic_or": term["odds_ratio"], "logistic_or_ci_low": term["odds_ratio_ci_low"],
            "logistic_or_ci_high": term["odds_ratio_ci_high"], "logistic_or_note": "",
            **value_columns("logistic_p", term["p_value"])}


def _reader_rows(rows: pd.DataFrame, features: list[str], alpha: float) -> list[dict]:
    # 0/1 floats: the statistics read True/False text otherwise, feature by feature.
    data = rows[["truth", *features]].dropna().astype("float64")
    if data.empty:
        why = note("no case has every feature recorded")
        return [{"feature": f.removeprefix(PREFIX), "n": 0}
                | estimate_columns("fisher_or", None, why) | value_columns("fisher_p", np.nan, why)
                | _logistic_columns(None, why, f) for f in features]
    fisher = fisher_per_feature(data, features=features, truth="truth", alpha=alpha)
    with np.errstate(all="ignore"):
        logistic, why = attempt(logistic_regression, data, features=features, truth="truth",
                                alpha=alpha)
    method = {} if logistic is None else {
        "logistic_method": logistic.method, "logistic_separation": logistic.separation,
        "logistic_n": logistic.n, "logistic_events": logistic.n_events,
        "logistic_remark": logistic.note,
    }
    return [{"feature": rec.feature.removeprefix(PREFIX)} | _fisher_columns(rec)
            | _logistic_columns(logistic, why, rec.feature) | method
            for rec in fisher.itertuples(index=False)]


def feature_table(reads: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Table 6: Fisher's exact test per feature and the logistic regression combining them.

    Parameters
    ----------
    reads : pandas.DataFrame
        The long reads frame of one test set or subgroup (``feature_<key>`` columns when
        the study asks for the feature checklist).
    alpha : float, default 0.05

    Returns
    -------
    pandas.DataFrame
        One row per condition, human reader who scored features, and feature: the counts
        (``present_malignant`` of ``n_malignant``, ``present_benign`` of ``n_benign``),
        ``fisher_or`` with its interval, ``fisher_p``, ``fisher_p_holm``, and the
        feature's ``logistic_or`` with its interval and ``logistic_p`` in the combined
        model (``logistic_method``: maximum likelihood or Firth; ``logistic_remark``: why
        Firth was used, or which features were left out). Estimates the data do not allow
        (one class only, a feature present in every case, fewer cases than parameters) are
        NaN with ``"not estimable: <reason>"`` in their ``_note`` column. Empty when no
        reader scored features.
    """
    features = [c for c in reads.columns if c.startswith(PREFIX)]
    if not features:
        return pd.DataFrame()
    records = []
    for condition in conditions(reads):
        first = first_reads(reads, condition)
        for reader in reader_order(first):
            rows = first.loc[first["reader"] == reader]
            if (rows["reader_kind"] != HUMAN).any() or not rows[features].notna().any().any():
                continue  # the model, or a reader who scored no feature
            base = {"condition": condition, "reader": reader, "role": rows["role"].iloc[0]}
            records += [base | row for row in _reader_rows(rows, features, alpha)]
    return pd.DataFrame.from_records(records)
