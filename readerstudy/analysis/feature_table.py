"""Table 6: the 15 MRI features against the reference standard, as numbers: the
``features`` rows of the study's results (:mod:`readerstudy.analysis.results`;
:mod:`readerstudy.stats.analyses.features`).

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

import pandas as pd

from readerstudy.analysis.frames import feature_column
from readerstudy.analysis.results import Results, Row, estimate_columns, p_value_columns, whole
from readerstudy.analysis.table_parts import conditions, first_reads, reader_order

PREFIX = feature_column("")
METHODS = {1.0: "firth", 0.0: "maximum likelihood"}


def _feature_record(results: Results, condition: str, reader: str,
                    feature: str) -> dict[str, object]:
    """The feature's presence by group, Fisher's test and its odds ratio in the regression."""
    def get(metric: str) -> Row | None:
        return results.get("features", condition, reader, f"{feature}_{metric}")

    present_malignant, present_benign = get("present_malignant"), get("present_benign")
    fisher, holm, logistic = get("fisher_or"), get("fisher_or_holm"), get("logistic_or")
    record: dict[str, object] = {"feature": feature.removeprefix(PREFIX)}
    # The features analysis writes a ``fisher_or`` row for every feature of every reader it
    # covers (estimable or not), so a reader in the table has one.
    assert fisher is not None, f"no {feature}_fisher_or row for {reader}"
    if present_malignant is None or present_benign is None or holm is None:
        # No case with every feature recorded.
        record |= {"n": fisher.n, **estimate_columns("fisher_or", fisher),
                   **p_value_columns("fisher_p", fisher)}
    else:
        record |= {
            "present_malignant": whole(present_malignant), "n_malignant": present_malignant.n,
            "present_benign": whole(present_benign), "n_benign": present_benign.n,
            **estimate_columns("fisher_or", fisher), "fisher_p": fisher.p_value,
            "fisher_p_holm": holm.p_value, "n": fisher.n,
        }
    return record | estimate_columns("logistic_or", logistic) | p_value_columns("logistic_p",
                                                                                 logistic)


def _method_columns(results: Results, condition: str, reader: str) -> dict[str, object]:
    """The regression's method, separation, cases and events (none when it was not
    estimable)."""
    def get(metric: str) -> Row | None:
        return results.get("features", condition, reader, metric)

    firth, events = get("logistic_firth"), get("logistic_events")
    separation = get("logistic_separation")
    if firth is None or events is None:
        return {}
    # logistic_separation is written together with logistic_firth and logistic_events.
    assert separation is not None, f"no logistic_separation row for {reader}"
    return {"logistic_method": METHODS[firth.estimate],
            "logistic_separation": bool(separation.estimate),
            "logistic_n": events.n, "logistic_events": whole(events),
            "logistic_remark": firth.note}


def feature_table(reads: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Table 6: Fisher's exact test per feature and the logistic regression combining them.

    Parameters
    ----------
    reads : pandas.DataFrame
        The long reads frame of one test set or subgroup (``feature_<key>`` columns when
        the study asks for the feature checklist).
    results : pandas.DataFrame
        ``analyse()`` of the same reads (its ``features`` rows).

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
    index = Results(results)
    records = []
    for condition in conditions(reads) if features else []:
        first = first_reads(reads, condition)
        for reader in reader_order(first):
            if index.get("features", condition, reader, f"{features[0]}_fisher_or") is None:
                continue  # the model, or a reader who scored no feature
            base = {"condition": condition, "reader": reader,
                    "role": first.loc[first["reader"] == reader, "role"].iloc[0]}
            method = _method_columns(index, condition, reader)
            records += [base | _feature_record(index, condition, reader, feature) | method
                        for feature in features]
    return pd.DataFrame.from_records(records)


def logistic_notes(features: pd.DataFrame) -> list[str]:
    """The tables' notes on each reader's regression: why Firth's method was used, which
    features were left out."""
    if "logistic_remark" not in features:
        return []
    remarks = features.drop_duplicates(["condition", "reader"])
    return [f"Table 6, logistic regression of {r.reader} ({r.condition}): {r.logistic_remark}."
            for r in remarks.itertuples(index=False)
            if isinstance(r.logistic_remark, str) and r.logistic_remark]


def logistic_accuracy_notes(results: pd.DataFrame) -> list[str]:
    """The tables' notes on each reader's regression accuracy: the share of cases the fitted
    model classifies correctly at 0.5, n/N and Wilson 95% CI (the results'
    ``logistic_accuracy`` rows; apparent accuracy, as Yeh et al. 2022 report it)."""
    from readerstudy.analysis.display import fmt_percent_ci, fmt_proportion  # display imports us

    index = Results(results)
    rows = index.rows("features")
    notes = []
    for row in rows.loc[rows["metric"] == "logistic_accuracy"].itertuples(index=False):
        correct = index.get("features", row.condition, row.reader, "logistic_accuracy_successes")
        shown = fmt_proportion(whole(correct), row.n)
        interval = fmt_percent_ci(row.ci_low, row.ci_high)
        notes.append(f"Table 6, logistic regression of {row.reader} ({row.condition}): "
                     f"accuracy {shown}, 95% CI {interval} (Wilson; apparent accuracy of the "
                     "fitted model at a probability of 0.5, optimistic for new cases).")
    return notes
