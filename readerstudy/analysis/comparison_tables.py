"""Table 7, readers against the three-tier model on its definite cases, and table 8,
unaided against aided reading, as numbers (the ``definite_cases`` and ``aided`` rows of the
study's results; nothing is computed here).

Table 7 (the dissertation's comparison, STUDY-PROTOCOL.md "Three-tier output"): per
condition and pair of a reader and a three-tier reader (the model), the share of the cases
both called that both called definitely, and on those definite cases exact McNemar p-values
for sensitivity, specificity and accuracy and DeLong's paired test of the AUCs from calls;
beside it, the all-case accuracy comparison with an uncertain call counted as wrong.

Table 8: per unaided condition, its aided counterpart ("CT + AI") and reader, DeLong's
paired test of the AUCs from scores (unaided minus aided), exact McNemar p-values of the
calls, the calls changed after the model's output was shown and how many of those went to
the right call or to a wrong one; and the Obuchowski-Rockette-Hillis RRRC comparison across
the readers (difference with interval, and the F test with its numerator and denominator df;
``left_out`` names the readers who did not read every case in both conditions).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from readerstudy.analysis.results import (
    CLUSTERED,
    Results,
    estimate_columns,
    p_value_columns,
    total,
    whole,
)


def _auc_difference(get: Callable[[str], Any], metric: str) -> dict[str, Any]:
    """The columns of an AUC difference: the test clustered by patient (Obuchowski 1997)
    when the results have it - some patient has several cases - else DeLong's; the
    ``p_auc_method`` column says which."""
    clustered = get(f"{metric}_clustered")
    row = clustered if clustered is not None else get(metric)
    return {**estimate_columns("auc_difference", row), **p_value_columns("p_auc", row),
            "p_auc_method": CLUSTERED if clustered is not None else "DeLong"}


def definite_table(results: pd.DataFrame) -> pd.DataFrame:
    """Table 7: readers against the three-tier model (or reader) on its definite cases."""
    index = Results(results)
    rows = index.rows("definite_cases")
    records = []
    keys = rows[["condition", "reader", "other"]].drop_duplicates()
    for condition, reader, other in keys.itertuples(index=False):
        def get(metric: str, condition: str = condition, reader: str = reader,
                other: str = other):
            return index.get("definite_cases", condition, reader, metric, other=other)

        share = get("definite_share_successes")
        records.append({
            "condition": condition, "reader": reader, "versus": other,
            "cases": total(share), "definite": whole(share),
            **estimate_columns("definite_share", get("definite_share")),
            **p_value_columns("p_sensitivity", get("definite_sensitivity_exact")),
            **p_value_columns("p_specificity", get("definite_specificity_exact")),
            **p_value_columns("p_accuracy", get("definite_accuracy_exact")),
            **estimate_columns("accuracy_difference", get("definite_accuracy_exact")),
            **_auc_difference(get, "definite_auc_calls_difference"),
            **estimate_columns("all_accuracy_difference", get("all_accuracy_exact")),
            **p_value_columns("p_all_accuracy", get("all_accuracy_exact")),
        })
    return pd.DataFrame.from_records(records)


ALL_READERS = "all readers (ORH, RRRC)"


def aided_table(results: pd.DataFrame) -> pd.DataFrame:
    """Table 8: each reader unaided against aided, and all readers (ORH RRRC)."""
    index = Results(results)
    rows = index.rows("aided")
    pairs = rows.loc[rows["reader"] != "", ["condition", "other", "reader"]].drop_duplicates()
    records = []
    for condition, other, reader in pairs.itertuples(index=False):
        def get(metric: str, condition: str = condition, reader: str = reader,
                other: str = other):
            return index.get("aided", condition, reader, metric, other=other)

        changed = get("calls_changed_successes")
        records.append({
            "condition": condition, "other": other, "reader": reader,
            **_auc_difference(get, "auc_difference"),
            **p_value_columns("p_sensitivity", get("sensitivity_exact")),
            **p_value_columns("p_specificity", get("specificity_exact")),
            **p_value_columns("p_accuracy", get("accuracy_exact")),
            **estimate_columns("calls_changed", get("calls_changed")),
            "cases": total(changed), "changed": whole(changed),
            "changed_to_right": whole(get("calls_changed_to_right")),
            "changed_to_wrong": whole(get("calls_changed_to_wrong")),
            "statistic": math.nan, "df_num": math.nan, "df": math.nan, "left_out": "",
        })
    for condition, other in rows[["condition", "other"]].drop_duplicates().itertuples(
            index=False):
        difference = index.get("aided", condition, "", "auc_difference_rrrc", other=other)
        if difference is None:
            continue
        test = index.get("aided", condition, "", "auc_equality_rrrc", other=other)
        df_num = index.get("aided", condition, "", "auc_equality_rrrc_df_numerator",
                           other=other)
        readers = index.get("aided", condition, "", "readers", other=other)
        records.append({
            "condition": condition, "other": other, "reader": ALL_READERS,
            **estimate_columns("auc_difference", difference),
            **p_value_columns("p_auc", difference), "p_auc_method": "ORH RRRC",
            "statistic": math.nan if test is None else test.statistic,
            "df_num": math.nan if df_num is None else df_num.estimate,
            "df": math.nan if test is None else test.df,
            "left_out": "" if readers is None else readers.note,
        })
    return pd.DataFrame.from_records(records)
