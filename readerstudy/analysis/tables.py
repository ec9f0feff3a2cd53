"""The publication tables of STUDY-PROTOCOL.md, as numbers (never rounded here).

Every table is computed from the long reads frame (:mod:`readerstudy.analysis.frames`) with
the statistics package's functions, so the figures are the ones ``results.csv`` reports:

1. performance per reader and the model: role, experience, TP/P, TN/N, sensitivity and
   specificity with n/N and Wilson 95% CI, accuracy with n/N, AUC from calls
   ((sensitivity + specificity) / 2, DeLong CI - as the published tables) and from scores
   when present, p-values against the model (exact McNemar for sensitivity on the
   malignant cases and specificity on the benign ones, DeLong for the AUC);
2. the 2 x 2 counts per reader;
3. agreement: inter-reader, reader vs model and intra-reader (first vs repeat read, with
   the actual intervals) Cohen's kappa, Fleiss' kappa of all readers; ICC and Bland-Altman
   for continuous measurements;
4. three-tier: metrics on the definite cases and the share sent to MRI;
5. the MRMC analysis (:mod:`readerstudy.analysis.mrmc_table`);
6. the MRI features (:mod:`readerstudy.analysis.feature_table`).

An estimate the data do not allow is NaN with ``"not estimable: <reason>"`` in its
``<estimate>_note`` column (``note`` in the one-estimate-per-row tables), never a missing
row or an error (:mod:`readerstudy.analysis.table_parts`). A cell that does not apply (the
AUC from scores of a reader who gave none, a p-value of the model against itself) is empty
without a note. Rounding and layout for print live in :mod:`readerstudy.analysis.display`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from readerstudy.analysis.feature_table import feature_table
from readerstudy.analysis.frames import HUMAN, MODEL, measurement_column
from readerstudy.analysis.mrmc_table import mrmc_table
from readerstudy.analysis.table_parts import (
    FIRST,
    REPEAT,
    conditions,
    estimate_columns,
    first_reads,
    reader_order,
    value_columns,
)
from readerstudy.stats import agreement, bland_altman, icc, mcnemar, proportions, roc, three_tier
from readerstudy.stats.estimable import attempt, note

TIERS = ("benign", "uncertain", "malignant")


@dataclass(frozen=True)
class PublicationTables:
    """The tables of one analysis (a test set, or a subgroup of it)."""

    performance: pd.DataFrame
    counts: pd.DataFrame
    agreement: pd.DataFrame
    measurements: pd.DataFrame
    three_tier: pd.DataFrame
    mrmc: pd.DataFrame = field(default_factory=pd.DataFrame)
    features: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, notes: list[str] | None = None) -> PublicationTables:
        return cls(*(pd.DataFrame() for _ in range(7)), notes=list(notes or []))

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {
            "performance": self.performance,
            "counts": self.counts,
            "agreement": self.agreement,
            "measurements": self.measurements,
            "three_tier": self.three_tier,
            "mrmc": self.mrmc,
            "features": self.features,
        }


def default_reference_model(reads: pd.DataFrame) -> str | None:
    """The model the readers are compared with: the model reader with the most cases
    (the last name, as sorted, among equals)."""
    models = reads.loc[reads["reader_kind"] == MODEL]
    if models.empty:
        return None
    counts = models.groupby("reader")["case"].nunique().sort_index()
    return str(counts[counts == counts.max()].index[-1])


def _binary_call(calls: pd.Series) -> np.ndarray:
    return proportions.as_binary_calls(calls, "call")


def _paired(a: pd.DataFrame, b: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``a`` and ``b`` aligned on the cases both read, columns suffixed ``_a`` / ``_b``."""
    left = a[["case", "truth", *columns]]
    right = b[["case", *columns]]
    return left.merge(right, on="case", suffixes=("_a", "_b"), validate="one_to_one")


def _comparison_scores(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, str]:
    """Like with like: both readers' scores when both gave one on every paired case, else
    both readers' calls (the AUCs from calls of the published tables)."""
    score_a = pd.to_numeric(pairs["score_a"], errors="coerce")
    score_b = pd.to_numeric(pairs["score_b"], errors="coerce")
    if score_a.notna().all() and score_b.notna().all():
        return score_a.to_numpy(dtype=float), score_b.to_numpy(dtype=float), "scores"
    calls_a = _binary_call(pairs["call_a"]).astype(float)
    return calls_a, _binary_call(pairs["call_b"]).astype(float), "calls"


def _versus_model(reader: pd.DataFrame, model: pd.DataFrame, alpha: float) -> dict[str, object]:
    pairs = _paired(reader, model, ["call", "score"])
    out: dict[str, object] = {"paired_cases": len(pairs)}
    if pairs.empty:
        why = note("no case read by both the reader and the model")
        for metric in ("p_sensitivity", "p_specificity", "p_auc"):
            out |= value_columns(metric, np.nan, why)
        return out | {"p_auc_method": ""}
    truth = pairs["truth"].to_numpy()
    calls_a, calls_b = _binary_call(pairs["call_a"]), _binary_call(pairs["call_b"])
    for metric, test in (("sensitivity", mcnemar.mcnemar_sensitivity),
                         ("specificity", mcnemar.mcnemar_specificity)):
        result, why = attempt(test, truth, calls_a, calls_b, method="exact", alpha=alpha)
        out |= value_columns(f"p_{metric}", result.p_value if result else np.nan, why)
    score_a, score_b, kind = _comparison_scores(pairs)
    result, why = attempt(roc.delong_paired, truth, score_a, score_b, alpha=alpha)
    out |= value_columns("p_auc", result.p_value if result else np.nan, why)
    out["p_auc_method"] = f"DeLong, AUC from {kind}" if result else ""
    return out


def _performance_row(rows: pd.DataFrame, *, alpha: float, nothing: str = "no cases"
                     ) -> dict[str, object]:
    """Counts, proportions and AUCs of one reader's rows (``nothing``: why an empty subset
    has no AUC)."""
    truth = rows["truth"].to_numpy()
    counts = (proportions.confusion_counts(truth, rows["call"]) if len(rows) else (0, 0, 0, 0))
    tp, fn, tn, fp = counts
    metrics = proportions.diagnostic_metrics_from_counts(tp=tp, fn=fn, tn=tn, fp=fp, alpha=alpha)
    row: dict[str, object] = {
        "n": metrics.n, "tp": metrics.tp, "p": metrics.tp + metrics.fn,
        "tn": metrics.tn, "n_benign": metrics.tn + metrics.fp, "fp": metrics.fp, "fn": metrics.fn,
        **estimate_columns("sensitivity", metrics.sensitivity),
        **estimate_columns("specificity", metrics.specificity),
        **estimate_columns("accuracy", metrics.accuracy),
        "accuracy_correct": metrics.accuracy.successes,
    }
    if len(rows):
        result, why = attempt(roc.auc_from_calls, truth, _binary_call(rows["call"]), alpha=alpha)
    else:
        result, why = None, note(nothing)
    row |= estimate_columns("auc_calls", result, why)
    score = pd.to_numeric(rows["score"], errors="coerce")
    if score.notna().any():  # the reader gave scores: the AUC from scores, of the scored cases
        scored = score.notna().to_numpy()
        result, why = attempt(roc.auc_delong, truth[scored], score.to_numpy()[scored],
                              alpha=alpha)
        row |= estimate_columns("auc_scores", result, why) | {"auc_scores_n": int(scored.sum())}
    return row


def _three_tier_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with a three-tier call (none when the reader gave none)."""
    return rows.loc[rows["three_tier"].isin(TIERS)]


def _definite(rows: pd.DataFrame) -> pd.DataFrame:
    """The three-tier calls' definite cases, with the definite call as the call."""
    tiered = _three_tier_rows(rows)
    definite = tiered.loc[tiered["three_tier"] != "uncertain"].copy()
    definite["call"] = definite["three_tier"]
    definite["score"] = np.nan
    return definite


def performance_table(reads: pd.DataFrame, *, alpha: float = 0.05,
                      reference_model: str | None = None) -> pd.DataFrame:
    """Table 1: per condition, reader and the model, on the first reads.

    Parameters
    ----------
    reads : pandas.DataFrame
        The long reads frame (:func:`readerstudy.analysis.frames.reads_frame`).
    alpha : float, default 0.05
    reference_model : str, optional
        The model reader the p-values compare against (default:
        :func:`default_reference_model`).

    Returns
    -------
    pandas.DataFrame
        One row per condition, reader and subset ("all cases"; and "definite cases" for a
        model whose three-tier output left some cases uncertain). Proportions carry Wilson intervals
        (Wilson 1927, doi:10.1080/01621459.1927.10502953); AUC from calls is
        (sensitivity + specificity) / 2 with DeLong's interval (DeLong et al. 1988,
        doi:10.2307/2531595); p-values: exact McNemar (McNemar 1947,
        doi:10.1007/BF02295996) and DeLong's paired test, reader against the model, of the
        AUCs from scores when both gave scores, else of the AUCs from calls. Each estimate
        has a ``<estimate>_note`` column: ``"not estimable: <reason>"`` where it is NaN
        because the data do not allow it.
    """
    reference_model = reference_model or default_reference_model(reads)
    records = []
    for condition in conditions(reads):
        first = first_reads(reads, condition)
        model_rows = first.loc[first["reader"] == reference_model]
        for reader in reader_order(first):
            rows = first.loc[first["reader"] == reader]
            head = rows.iloc[0]
            base = {
                "condition": condition, "reader": reader, "reader_kind": head["reader_kind"],
                "role": head["role"], "years": head["years"],
            }
            record = base | {"subset": "all cases"} | _performance_row(rows, alpha=alpha)
            if head["reader_kind"] == HUMAN and not model_rows.empty:
                record |= {"versus": reference_model} | _versus_model(rows, model_rows, alpha)
            records.append(record)
            tiered = _three_tier_rows(rows)
            if head["reader_kind"] == MODEL and (tiered["three_tier"] == "uncertain").any():
                records.append(base | {"subset": "definite cases"} | _performance_row(
                    _definite(rows), alpha=alpha,
                    nothing="no case has a definite call (all are 'uncertain')"))
    return pd.DataFrame.from_records(records)


def counts_table(reads: pd.DataFrame) -> pd.DataFrame:
    """Table 2: the 2 x 2 counts (TP, FN, TN, FP) per condition and reader, first reads."""
    records = []
    for condition in conditions(reads):
        first = first_reads(reads, condition)
        for reader in reader_order(first):
            rows = first.loc[first["reader"] == reader]
            tp, fn, tn, fp = proportions.confusion_counts(rows["truth"].to_numpy(), rows["call"])
            records.append({
                "condition": condition, "reader": reader, "role": rows["role"].iloc[0],
                "tp": tp, "fn": fn, "tn": tn, "fp": fp, "malignant": tp + fn,
                "benign": tn + fp, "n": tp + fn + tn + fp,
            })
    return pd.DataFrame.from_records(records)


def _kappa_record(a: pd.Series, b: pd.Series, alpha: float, *,
                  nothing: str) -> dict[str, object]:
    """Cohen's kappa of two series of calls; ``nothing`` is the reason when they are empty."""
    if len(a) == 0:
        return {"n": 0, "band": ""} | _row_estimate(None, note(nothing))
    result = agreement.cohen_kappa(a.to_numpy(), b.to_numpy(), alpha=alpha)
    return {
        **_row_estimate(result), "p_value": result.p_value, "n": result.n,
        "observed_agreement": result.observed_agreement,
        "band": agreement.landis_koch(result.estimate),
    }


def _row_estimate(result, why: str = "") -> dict[str, object]:
    """``estimate, ci_low, ci_high, note`` of a table with one estimate per row."""
    columns = estimate_columns("estimate", result, why)
    return {"estimate": columns["estimate"], "ci_low": columns["estimate_ci_low"],
            "ci_high": columns["estimate_ci_high"], "note": columns["estimate_note"]}


def _repeat_pairs(reads: pd.DataFrame, condition: str, reader: str) -> pd.DataFrame:
    own = reads.loc[(reads["condition"] == condition) & (reads["reader"] == reader)]
    first = own.loc[own["round"] == FIRST, ["case", "call", "score", *_measure_columns(reads)]]
    repeat = own.loc[own["round"] == REPEAT,
                     ["case", "call", "score", "interval_days", *_measure_columns(reads)]]
    return first.merge(repeat, on="case", suffixes=("_first", "_repeat"), validate="one_to_one")


def _measure_columns(reads: pd.DataFrame) -> list[str]:
    return [c for c in reads.columns if c.startswith(measurement_column(""))]


def _fleiss_record(first: pd.DataFrame, humans: list[str], alpha: float) -> dict[str, object]:
    wide = first.loc[first["reader"].isin(humans)].pivot_table(
        index="case", columns="reader", values="call", aggfunc="first").dropna()
    if len(wide) < 2:
        why = note(f"needs at least 2 cases that every human reader called, got {len(wide)}")
        return {"n": len(wide), "band": ""} | _row_estimate(None, why)
    result = agreement.fleiss_kappa(wide.to_numpy(), alpha=alpha)
    return {**_row_estimate(result), "p_value": result.p_value, "n": result.n,
            "band": agreement.landis_koch(result.estimate)}


def agreement_table(reads: pd.DataFrame, *, alpha: float = 0.05,
                    reference_model: str | None = None) -> pd.DataFrame:
    """Table 3: agreement of benign/malignant calls.

    Cohen's kappa with the large-sample SE of Fleiss, Cohen & Everitt (1969,
    doi:10.1037/h0028106) for every pair of human readers, each reader against the model,
    and each reader's first against repeat read of the same cases (with the actual
    intervals: median, minimum, maximum days); Fleiss' kappa (Fleiss 1971,
    doi:10.1037/h0031619) of all human readers (three or more) on the cases all of them
    read. Bands after Landis & Koch (1977, doi:10.2307/2529310). A kappa the calls do not
    allow (no case read by both; one category used by both readers) is NaN with the reason
    in ``note``.
    """
    reference_model = reference_model or default_reference_model(reads)
    records = []
    for condition in conditions(reads):
        first = first_reads(reads, condition)
        humans = [r for r in reader_order(first)
                  if (first.loc[first["reader"] == r, "reader_kind"] == HUMAN).all()]
        by_reader = {r: first.loc[first["reader"] == r] for r in reader_order(first)}
        pairs = [("inter-reader", a, b) for a, b in combinations(humans, 2)]
        if reference_model in by_reader:
            pairs += [("reader vs model", r, reference_model) for r in humans]
        for analysis, a, b in pairs:
            paired = _paired(by_reader[a], by_reader[b], ["call"])
            records.append({"analysis": analysis, "condition": condition, "reader": a, "other": b,
                            "measure": "Cohen's kappa"}
                           | _kappa_record(paired["call_a"], paired["call_b"], alpha,
                                           nothing="no case read by both"))
        if len(humans) >= 3:
            records.append({"analysis": "all readers", "condition": condition,
                            "reader": "all readers", "other": "", "measure": "Fleiss' kappa"}
                           | _fleiss_record(first, humans, alpha))
        for reader in humans:
            repeats = _repeat_pairs(reads, condition, reader)
            if repeats.empty:
                continue  # no repeat read: nothing to compare
            interval = pd.to_numeric(repeats["interval_days"], errors="coerce")
            records.append({
                "analysis": "intra-reader", "condition": condition, "reader": reader,
                "other": "repeat read", "measure": "Cohen's kappa",
                **_kappa_record(repeats["call_first"], repeats["call_repeat"], alpha,
                                nothing="no case read twice"),
                "interval_days_median": interval.median(), "interval_days_min": interval.min(),
                "interval_days_max": interval.max(),
            })
    return pd.DataFrame.from_records(records)


def _measurement_records(a: pd.Series, b: pd.Series, *, alpha: float) -> dict[str, object]:
    """ICC(2,1) and Bland-Altman of two readers' measurements of the same cases, each NaN
    with its reason when the measurements do not allow it."""
    complete = pd.DataFrame({"a": pd.to_numeric(a, errors="coerce"),
                             "b": pd.to_numeric(b, errors="coerce")}).dropna()
    if complete.empty:
        why = note("no case measured in both")
        return {**estimate_columns("icc", None, why), "icc_band": "",
                **estimate_columns("bias", None, why), "loa_low": np.nan, "loa_high": np.nan,
                "n": 0}
    long = complete.reset_index(names="target").melt(
        id_vars="target", value_vars=["a", "b"], var_name="rater", value_name="rating")
    with np.errstate(all="ignore"):
        forms, why = attempt(icc.icc, long, target="target", rater="rater", rating="rating",
                             alpha=alpha)
    icc21 = {r.form: r for r in forms}["ICC(2,1)"] if forms else None
    icc_columns = estimate_columns("icc", icc21, why)
    ba, why = attempt(bland_altman.bland_altman, complete["a"].to_numpy(),
                      complete["b"].to_numpy(), alpha=alpha)
    return {
        **icc_columns, "icc_band": icc.koo_li(icc_columns["icc"]),
        **estimate_columns("bias", ba, why),
        "loa_low": ba.loa_low if ba else np.nan, "loa_high": ba.loa_high if ba else np.nan,
        "n": len(complete),
    }


def measurement_table(reads: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Table 3b: agreement of continuous measurements.

    Per measurement, for every pair of readers who measured (the model included when it
    measures) and each reader's first against repeat read: ICC(2,1) - two-way random
    effects, absolute agreement, single rater (Shrout & Fleiss 1979,
    doi:10.1037/0033-2909.86.2.420; McGraw & Wong 1996 ICC(A,1)) with Koo & Li (2016)
    bands - and the Bland-Altman bias with its t interval and the 95% limits of agreement
    (Bland & Altman 1986, doi:10.1016/S0140-6736(86)90837-8) of ``reader - other``. Fewer
    than 2 cases measured by both: NaN with the reason in ``icc_note`` and ``bias_note``.
    """
    records = []
    for column in _measure_columns(reads):
        key = column.removeprefix(measurement_column(""))
        for condition in conditions(reads):
            first = first_reads(reads, condition)
            measured = [r for r in reader_order(first)
                        if first.loc[first["reader"] == r, column].notna().any()]
            by_reader = {r: first.loc[first["reader"] == r] for r in measured}
            for a, b in combinations(measured, 2):
                paired = _paired(by_reader[a], by_reader[b], [column])
                kind = ("reader vs model" if MODEL in (by_reader[a]["reader_kind"].iloc[0],
                                                      by_reader[b]["reader_kind"].iloc[0])
                        else "inter-reader")
                values = _measurement_records(paired[f"{column}_a"], paired[f"{column}_b"],
                                              alpha=alpha)
                records.append({"analysis": kind, "condition": condition, "measurement": key,
                                "reader": a, "other": b} | values)
            for reader in measured:
                repeats = _repeat_pairs(reads, condition, reader)
                if repeats.empty:
                    continue
                values = _measurement_records(repeats[f"{column}_first"],
                                              repeats[f"{column}_repeat"], alpha=alpha)
                records.append({"analysis": "intra-reader", "condition": condition,
                                "measurement": key, "reader": reader,
                                "other": "repeat read"} | values)
    return pd.DataFrame.from_records(records)


def three_tier_table(reads: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Table 4: three-tier calls - metrics on the definite cases and the share sent to MRI.

    Sensitivity, specificity and accuracy with n/N on the definite cases, the AUC from
    the definite calls with DeLong's interval, and the share of the cases with a three-tier
    call called "uncertain - recommend MRI"
    (:func:`readerstudy.stats.three_tier.three_tier_metrics`). A reader who called every
    case uncertain has 100% sent to MRI and the definite-case metrics not estimable; a
    subgroup with fewer than 2 definite cases of a class has no AUC (``auc_calls_note``).
    """
    records = []
    for condition in conditions(reads):
        first = first_reads(reads, condition)
        for reader in reader_order(first):
            rows = _three_tier_rows(first.loc[first["reader"] == reader])
            if rows.empty:
                continue  # no three-tier calls: the table does not apply
            result = three_tier.three_tier_metrics(rows["truth"].to_numpy(),
                                                   rows["three_tier"].to_numpy(), alpha=alpha)
            definite = result.definite
            auc_why = note(result.auc_not_estimable) if result.auc is None else ""
            records.append({
                "condition": condition, "reader": reader, "role": rows["role"].iloc[0],
                "n": result.n, "n_definite": result.n_definite,
                "tp": definite.tp, "p": definite.tp + definite.fn,
                "tn": definite.tn, "n_benign": definite.tn + definite.fp,
                **estimate_columns("sensitivity", definite.sensitivity),
                **estimate_columns("specificity", definite.specificity),
                **estimate_columns("accuracy", definite.accuracy),
                "accuracy_correct": definite.accuracy.successes,
                **estimate_columns("auc_calls", result.auc, auc_why),
                "uncertain": result.uncertain.successes,
                **estimate_columns("uncertain_share", result.uncertain),
                "uncertain_malignant": result.uncertain_malignant,
                "uncertain_benign": result.uncertain_benign,
            })
    return pd.DataFrame.from_records(records)


def publication_tables(reads: pd.DataFrame, *, alpha: float = 0.05,
                       reference_model: str | None = None,
                       results: pd.DataFrame | None = None) -> PublicationTables:
    """All publication tables of one analysis (a test set or a subgroup).

    Parameters
    ----------
    reads : pandas.DataFrame
        The long reads frame, already restricted to the test set or subgroup.
    alpha : float, default 0.05
    reference_model : str, optional
        The model the readers are compared with (default: :func:`default_reference_model`).
    results : pandas.DataFrame, optional
        ``readerstudy.stats.analysis.analyse`` of the same reads and alpha, when the caller
        has it: table 5 lays out its ``mrmc`` rows instead of computing them again.

    Returns
    -------
    PublicationTables
    """
    if reads.empty:
        return PublicationTables.empty(["No reads."])
    reference_model = reference_model or default_reference_model(reads)
    notes = []
    if reference_model is None:
        notes.append("No model predictions: no p-values against the model.")
    features = feature_table(reads, alpha=alpha)
    if "logistic_remark" in features:
        remarks = features.drop_duplicates(["condition", "reader"])
        notes += [f"Table 6, logistic regression of {r.reader} ({r.condition}): {r.logistic_remark}."
                  for r in remarks.itertuples(index=False)
                  if isinstance(r.logistic_remark, str) and r.logistic_remark]
    return PublicationTables(
        performance=performance_table(reads, alpha=alpha, reference_model=reference_model),
        counts=counts_table(reads),
        agreement=agreement_table(reads, alpha=alpha, reference_model=reference_model),
        measurements=measurement_table(reads, alpha=alpha),
        three_tier=three_tier_table(reads, alpha=alpha),
        mrmc=mrmc_table(reads, alpha=alpha, results=results),
        features=features,
        notes=notes,
    )
