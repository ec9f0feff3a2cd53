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
4. three-tier: metrics on the definite cases and the share sent to MRI.

Rounding and layout for print live in :mod:`readerstudy.analysis.display`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from readerstudy.analysis.frames import HUMAN, MODEL, measurement_column
from readerstudy.stats import agreement, bland_altman, icc, mcnemar, proportions, roc, three_tier

ROLE_ORDER = {"trainee": 0, "resident": 1, "attending": 2, MODEL: 3}
FIRST = "first"
REPEAT = "repeat"


@dataclass(frozen=True)
class PublicationTables:
    """The tables of one analysis (a test set, or a subgroup of it)."""

    performance: pd.DataFrame
    counts: pd.DataFrame
    agreement: pd.DataFrame
    measurements: pd.DataFrame
    three_tier: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {
            "performance": self.performance,
            "counts": self.counts,
            "agreement": self.agreement,
            "measurements": self.measurements,
            "three_tier": self.three_tier,
        }


def _reader_order(reads: pd.DataFrame) -> list[str]:
    """Readers as the published tables list them: trainees, residents, attendings by
    experience, then the model versions."""
    readers = reads.drop_duplicates("reader").copy()
    readers["_role"] = readers["role"].map(ROLE_ORDER).fillna(len(ROLE_ORDER))
    readers["_years"] = pd.to_numeric(readers["years"], errors="coerce").fillna(np.inf)
    readers["_model"] = (readers["reader_kind"] == MODEL).astype(int)
    ordered = readers.sort_values(["_model", "_role", "_years", "reader"], kind="stable")
    return ordered["reader"].tolist()


def default_reference_model(reads: pd.DataFrame) -> str | None:
    """The model the readers are compared with: the model reader with the most cases
    (the last name, as sorted, among equals)."""
    models = reads.loc[reads["reader_kind"] == MODEL]
    if models.empty:
        return None
    counts = models.groupby("reader")["case"].nunique().sort_index()
    return str(counts[counts == counts.max()].index[-1])


def _first_reads(reads: pd.DataFrame, condition: str) -> pd.DataFrame:
    return reads.loc[(reads["condition"] == condition) & (reads["round"] == FIRST)]


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
    truth = pairs["truth"].to_numpy()
    calls_a, calls_b = _binary_call(pairs["call_a"]), _binary_call(pairs["call_b"])
    out: dict[str, object] = {"paired_cases": len(pairs)}
    for metric, test in (("sensitivity", mcnemar.mcnemar_sensitivity),
                         ("specificity", mcnemar.mcnemar_specificity)):
        try:
            result = test(truth, calls_a, calls_b, method="exact", alpha=alpha)
            out[f"p_{metric}"] = result.p_value
        except ValueError:
            out[f"p_{metric}"] = np.nan
    score_a, score_b, kind = _comparison_scores(pairs)
    try:
        out["p_auc"] = roc.delong_paired(truth, score_a, score_b, alpha=alpha).p_value
        out["p_auc_method"] = f"DeLong, AUC from {kind}"
    except ValueError:
        out["p_auc"], out["p_auc_method"] = np.nan, ""
    return out


def _metric_columns(prefix: str, result) -> dict[str, object]:
    return {prefix: result.estimate, f"{prefix}_ci_low": result.ci_low,
            f"{prefix}_ci_high": result.ci_high}


def _performance_row(rows: pd.DataFrame, *, alpha: float) -> dict[str, object]:
    truth = rows["truth"].to_numpy()
    metrics = proportions.diagnostic_metrics(truth, rows["call"], alpha=alpha)
    row: dict[str, object] = {
        "n": metrics.n, "tp": metrics.tp, "p": metrics.tp + metrics.fn,
        "tn": metrics.tn, "n_benign": metrics.tn + metrics.fp, "fp": metrics.fp, "fn": metrics.fn,
        **_metric_columns("sensitivity", metrics.sensitivity),
        **_metric_columns("specificity", metrics.specificity),
        **_metric_columns("accuracy", metrics.accuracy),
        "accuracy_correct": metrics.accuracy.successes,
    }
    try:
        row |= _metric_columns("auc_calls", roc.auc_from_calls(truth, _binary_call(rows["call"]),
                                                               alpha=alpha))
    except ValueError:
        row |= {"auc_calls": np.nan, "auc_calls_ci_low": np.nan, "auc_calls_ci_high": np.nan}
    score = pd.to_numeric(rows["score"], errors="coerce")
    if score.notna().all() and len(score):
        with contextlib.suppress(ValueError):  # one class only: no AUC
            row |= _metric_columns("auc_scores", roc.auc_delong(truth, score.to_numpy(),
                                                                alpha=alpha))
    return row


def _three_tier_subset(rows: pd.DataFrame) -> pd.DataFrame | None:
    tiers = rows["three_tier"]
    if tiers.isna().any() or not tiers.isin(["benign", "uncertain", "malignant"]).all():
        return None
    definite = rows.loc[tiers != "uncertain"].copy()
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
        AUCs from scores when both gave scores, else of the AUCs from calls.
    """
    reference_model = reference_model or default_reference_model(reads)
    records = []
    for condition in sorted(reads["condition"].dropna().unique()):
        first = _first_reads(reads, condition)
        model_rows = first.loc[first["reader"] == reference_model]
        for reader in _reader_order(first):
            rows = first.loc[first["reader"] == reader]
            head = rows.iloc[0]
            base = {
                "condition": condition, "reader": reader, "reader_kind": head["reader_kind"],
                "role": head["role"], "years": head["years"],
            }
            subsets = [("all cases", rows)]
            definite = _three_tier_subset(rows)
            if definite is not None and head["reader_kind"] == MODEL and len(definite) < len(rows):
                subsets.append(("definite cases", definite))
            for subset, data in subsets:
                record = base | {"subset": subset} | _performance_row(data, alpha=alpha)
                compare = (subset == "all cases" and head["reader_kind"] == HUMAN
                           and not model_rows.empty)
                if compare:
                    record |= {"versus": reference_model} | _versus_model(rows, model_rows, alpha)
                records.append(record)
    return pd.DataFrame.from_records(records)


def counts_table(reads: pd.DataFrame) -> pd.DataFrame:
    """Table 2: the 2 x 2 counts (TP, FN, TN, FP) per condition and reader, first reads."""
    records = []
    for condition in sorted(reads["condition"].dropna().unique()):
        first = _first_reads(reads, condition)
        for reader in _reader_order(first):
            rows = first.loc[first["reader"] == reader]
            tp, fn, tn, fp = proportions.confusion_counts(rows["truth"].to_numpy(), rows["call"])
            records.append({
                "condition": condition, "reader": reader, "role": rows["role"].iloc[0],
                "tp": tp, "fn": fn, "tn": tn, "fp": fp, "malignant": tp + fn,
                "benign": tn + fp, "n": tp + fn + tn + fp,
            })
    return pd.DataFrame.from_records(records)


def _kappa_record(a: pd.Series, b: pd.Series, alpha: float) -> dict[str, object]:
    result = agreement.cohen_kappa(a.to_numpy(), b.to_numpy(), alpha=alpha)
    return {
        "estimate": result.estimate, "ci_low": result.ci_low, "ci_high": result.ci_high,
        "p_value": result.p_value, "n": result.n, "observed_agreement": result.observed_agreement,
        "band": agreement.landis_koch(result.estimate),
    }


def _repeat_pairs(reads: pd.DataFrame, condition: str, reader: str) -> pd.DataFrame:
    own = reads.loc[(reads["condition"] == condition) & (reads["reader"] == reader)]
    first = own.loc[own["round"] == FIRST, ["case", "call", "score", *_measure_columns(reads)]]
    repeat = own.loc[own["round"] == REPEAT,
                     ["case", "call", "score", "interval_days", *_measure_columns(reads)]]
    return first.merge(repeat, on="case", suffixes=("_first", "_repeat"), validate="one_to_one")


def _measure_columns(reads: pd.DataFrame) -> list[str]:
    return [c for c in reads.columns if c.startswith(measurement_column(""))]


def agreement_table(reads: pd.DataFrame, *, alpha: float = 0.05,
                    reference_model: str | None = None) -> pd.DataFrame:
    """Table 3: agreement of benign/malignant calls.

    Cohen's kappa with the large-sample SE of Fleiss, Cohen & Everitt (1969,
    doi:10.1037/h0028106) for every pair of human readers, each reader against the model,
    and each reader's first against repeat read of the same cases (with the actual
    intervals: median, minimum, maximum days); Fleiss' kappa (Fleiss 1971,
    doi:10.1037/h0031619) of all human readers on the cases all of them read. Bands after
    Landis & Koch (1977, doi:10.2307/2529310).
    """
    reference_model = reference_model or default_reference_model(reads)
    records = []
    for condition in sorted(reads["condition"].dropna().unique()):
        first = _first_reads(reads, condition)
        humans = [r for r in _reader_order(first)
                  if (first.loc[first["reader"] == r, "reader_kind"] == HUMAN).all()]
        by_reader = {r: first.loc[first["reader"] == r] for r in _reader_order(first)}
        pairs = [("inter-reader", a, b) for a, b in combinations(humans, 2)]
        if reference_model in by_reader:
            pairs += [("reader vs model", r, reference_model) for r in humans]
        for analysis, a, b in pairs:
            paired = _paired(by_reader[a], by_reader[b], ["call"])
            if len(paired) < 2:
                continue
            records.append({"analysis": analysis, "condition": condition, "reader": a, "other": b,
                            "measure": "Cohen's kappa"}
                           | _kappa_record(paired["call_a"], paired["call_b"], alpha))
        if len(humans) >= 3:
            wide = first.loc[first["reader"].isin(humans)].pivot_table(
                index="case", columns="reader", values="call", aggfunc="first").dropna()
            if len(wide) >= 2:
                result = agreement.fleiss_kappa(wide.to_numpy(), alpha=alpha)
                records.append({
                    "analysis": "all readers", "condition": condition, "reader": "all readers",
                    "other": "", "measure": "Fleiss' kappa", "estimate": result.estimate,
                    "ci_low": result.ci_low, "ci_high": result.ci_high,
                    "p_value": result.p_value, "n": result.n,
                    "band": agreement.landis_koch(result.estimate),
                })
        for reader in humans:
            repeats = _repeat_pairs(reads, condition, reader)
            if len(repeats) < 2:
                continue
            interval = pd.to_numeric(repeats["interval_days"], errors="coerce")
            records.append({
                "analysis": "intra-reader", "condition": condition, "reader": reader,
                "other": "repeat read", "measure": "Cohen's kappa",
                **_kappa_record(repeats["call_first"], repeats["call_repeat"], alpha),
                "interval_days_median": interval.median(), "interval_days_min": interval.min(),
                "interval_days_max": interval.max(),
            })
    return pd.DataFrame.from_records(records)


def _measurement_records(a: pd.Series, b: pd.Series, *, alpha: float) -> dict[str, object]:
    complete = pd.DataFrame({"a": pd.to_numeric(a, errors="coerce"),
                             "b": pd.to_numeric(b, errors="coerce")}).dropna()
    long = complete.reset_index(names="target").melt(
        id_vars="target", value_vars=["a", "b"], var_name="rater", value_name="rating")
    forms = {r.form: r for r in icc.icc(long, target="target", rater="rater", rating="rating",
                                        alpha=alpha)}
    icc21 = forms["ICC(2,1)"]
    ba = bland_altman.bland_altman(complete["a"].to_numpy(), complete["b"].to_numpy(), alpha=alpha)
    return {
        "icc": icc21.estimate, "icc_ci_low": icc21.ci_low, "icc_ci_high": icc21.ci_high,
        "icc_band": icc.koo_li(icc21.estimate), "bias": ba.estimate, "bias_ci_low": ba.ci_low,
        "bias_ci_high": ba.ci_high, "loa_low": ba.loa_low, "loa_high": ba.loa_high,
        "n": ba.n,
    }


def measurement_table(reads: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Table 3b: agreement of continuous measurements.

    Per measurement, for every pair of readers (the model included when it measures) and
    each reader's first against repeat read: ICC(2,1) - two-way random effects, absolute
    agreement, single rater (Shrout & Fleiss 1979, doi:10.1037/0033-2909.86.2.420;
    McGraw & Wong 1996 ICC(A,1)) with Koo & Li (2016) bands - and the Bland-Altman bias
    with its t interval and the 95% limits of agreement (Bland & Altman 1986,
    doi:10.1016/S0140-6736(86)90837-8) of ``reader - other``.
    """
    records = []
    for column in _measure_columns(reads):
        key = column.removeprefix(measurement_column(""))
        for condition in sorted(reads["condition"].dropna().unique()):
            first = _first_reads(reads, condition)
            measured = [r for r in _reader_order(first)
                        if first.loc[first["reader"] == r, column].notna().sum() >= 2]
            by_reader = {r: first.loc[first["reader"] == r] for r in measured}
            for a, b in combinations(measured, 2):
                paired = _paired(by_reader[a], by_reader[b], [column])
                kind = ("reader vs model" if MODEL in (by_reader[a]["reader_kind"].iloc[0],
                                                      by_reader[b]["reader_kind"].iloc[0])
                        else "inter-reader")
                try:
                    values = _measurement_records(paired[f"{column}_a"], paired[f"{column}_b"],
                                                  alpha=alpha)
                except ValueError:
                    continue
                records.append({"analysis": kind, "condition": condition, "measurement": key,
                                "reader": a, "other": b} | values)
            for reader in measured:
                repeats = _repeat_pairs(reads, condition, reader)
                if len(repeats) < 2:
                    continue
                try:
                    values = _measurement_records(repeats[f"{column}_first"],
                                                  repeats[f"{column}_repeat"], alpha=alpha)
                except ValueError:
                    continue
                records.append({"analysis": "intra-reader", "condition": condition,
                                "measurement": key, "reader": reader,
                                "other": "repeat read"} | values)
    return pd.DataFrame.from_records(records)


def three_tier_table(reads: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Table 4: three-tier calls - metrics on the definite cases and the share sent to MRI.

    Sensitivity, specificity and accuracy with n/N on the definite cases, the AUC from
    the definite calls with DeLong's interval, and the share of all cases called
    "uncertain - recommend MRI" (:func:`readerstudy.stats.three_tier.three_tier_metrics`).
    """
    records = []
    for condition in sorted(reads["condition"].dropna().unique()):
        first = _first_reads(reads, condition)
        for reader in _reader_order(first):
            rows = first.loc[first["reader"] == reader]
            if _three_tier_subset(rows) is None:
                continue
            try:
                result = three_tier.three_tier_metrics(rows["truth"].to_numpy(),
                                                       rows["three_tier"].to_numpy(), alpha=alpha)
            except ValueError:
                continue
            definite = result.definite
            records.append({
                "condition": condition, "reader": reader, "role": rows["role"].iloc[0],
                "n": result.n, "n_definite": result.n_definite,
                "tp": definite.tp, "p": definite.tp + definite.fn,
                "tn": definite.tn, "n_benign": definite.tn + definite.fp,
                **_metric_columns("sensitivity", definite.sensitivity),
                **_metric_columns("specificity", definite.specificity),
                **_metric_columns("accuracy", definite.accuracy),
                "accuracy_correct": definite.accuracy.successes,
                **_metric_columns("auc_calls", result.auc),
                "uncertain": result.uncertain.successes,
                **_metric_columns("uncertain_share", result.uncertain),
                "uncertain_malignant": result.uncertain_malignant,
                "uncertain_benign": result.uncertain_benign,
            })
    return pd.DataFrame.from_records(records)


def publication_tables(reads: pd.DataFrame, *, alpha: float = 0.05,
                       reference_model: str | None = None) -> PublicationTables:
    """All publication tables of one analysis (a test set or a subgroup).

    Parameters
    ----------
    reads : pandas.DataFrame
        The long reads frame, already restricted to the test set or subgroup.
    alpha : float, default 0.05
    reference_model : str, optional
        The model the readers are compared with (default: :func:`default_reference_model`).

    Returns
    -------
    PublicationTables
    """
    if reads.empty:
        empty = pd.DataFrame()
        return PublicationTables(empty, empty, empty, empty, empty, ["No reads."])
    reference_model = reference_model or default_reference_model(reads)
    notes = []
    if reference_model is None:
        notes.append("No model predictions: no p-values against the model.")
    return PublicationTables(
        performance=performance_table(reads, alpha=alpha, reference_model=reference_model),
        counts=counts_table(reads),
        agreement=agreement_table(reads, alpha=alpha, reference_model=reference_model),
        measurements=measurement_table(reads, alpha=alpha),
        three_tier=three_tier_table(reads, alpha=alpha),
        notes=notes,
    )
