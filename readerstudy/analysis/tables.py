"""The publication tables of the study protocol, as numbers (never rounded here).

Every number is a row of the study's results, ``analyse()`` of the same reads
(:mod:`readerstudy.analysis.results`; ``results.csv`` of the export): the tables lay those
rows out and compute nothing, so they agree with ``results.csv`` by construction. The reads
give the layout only: which readers, in which order, with which role and experience.

1. performance per reader and the model: role, experience, TP/P, TN/N, sensitivity and
   specificity with n/N and Wilson 95% CI, accuracy with n/N, AUC from calls
   ((sensitivity + specificity) / 2, DeLong CI - as the published tables) and from scores
   when present, p-values against the model (exact McNemar for sensitivity on the
   malignant cases and specificity on the benign ones, DeLong for the AUC); when a patient
   has several cases (fractures), the AUCs' intervals and p-values are Obuchowski's (1997),
   clustered by patient (``p_auc_method`` says which);
2. the 2 x 2 counts per reader;
3. agreement: inter-reader, reader vs model and intra-reader (first vs repeat read, with
   the actual intervals) Cohen's kappa, Fleiss' kappa of all readers; ICC and Bland-Altman
   for continuous measurements (:mod:`readerstudy.analysis.agreement_table`);
4. three-tier: metrics on the definite cases and the share sent to MRI;
5. the MRMC analysis (:mod:`readerstudy.analysis.mrmc_table`);
6. the MRI features (:mod:`readerstudy.analysis.feature_table`);
7. readers against the three-tier model on its definite cases, and
8. unaided against aided reading (:mod:`readerstudy.analysis.comparison_tables`);
9. sample size for a future study, this one its pilot (:mod:`readerstudy.analysis.power_table`).

An estimate the data do not allow is NaN with ``"not estimable: <reason>"`` in its
``<estimate>_note`` column (``note`` in the one-estimate-per-row tables), never a missing
row or an error. A cell that does not apply (the AUC from scores of a reader who gave none,
a p-value of the model against itself) is empty without a note. Rounding and layout for
print live in :mod:`readerstudy.analysis.display`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from readerstudy.analysis.agreement_table import agreement_table, measurement_table
from readerstudy.analysis.comparison_tables import aided_table, definite_table
from readerstudy.analysis.feature_table import (
    feature_table,
    logistic_accuracy_notes,
    logistic_notes,
)
from readerstudy.analysis.frames import HUMAN, MODEL
from readerstudy.analysis.mrmc_table import mrmc_table
from readerstudy.analysis.power_table import power_table
from readerstudy.analysis.results import (
    CLUSTERED,
    Results,
    analyse_reads,
    estimate_columns,
    p_value_columns,
    total,
    whole,
)
from readerstudy.analysis.table_parts import conditions, first_reads, reader_order


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
    definite: pd.DataFrame = field(default_factory=pd.DataFrame)
    aided: pd.DataFrame = field(default_factory=pd.DataFrame)
    power: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, notes: list[str] | None = None) -> PublicationTables:
        return cls(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                   pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                   pd.DataFrame(), pd.DataFrame(), notes=list(notes or []))

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {
            "performance": self.performance,
            "counts": self.counts,
            "agreement": self.agreement,
            "measurements": self.measurements,
            "three_tier": self.three_tier,
            "mrmc": self.mrmc,
            "features": self.features,
            "definite": self.definite,
            "aided": self.aided,
            "power": self.power,
        }


def default_reference_model(reads: pd.DataFrame) -> str | None:
    """The model the readers are compared with: the model reader with the most cases
    (the last name, as sorted, among equals)."""
    models = reads.loc[reads["reader_kind"] == MODEL]
    if models.empty:
        return None
    counts = models.groupby("reader")["case"].nunique().sort_index()
    return str(counts[counts == counts.max()].index[-1])


def _counts(results: Results, analysis: str, condition: str, reader: str) -> dict[str, object]:
    """TP, P, TN, N (benign), FP, FN and all cases, from the proportions' ``_successes`` rows."""
    sensitivity = results.get(analysis, condition, reader, "sensitivity_successes")
    specificity = results.get(analysis, condition, reader, "specificity_successes")
    accuracy = results.get(analysis, condition, reader, "accuracy_successes")
    tp, p = whole(sensitivity), total(sensitivity)
    tn, n_benign = whole(specificity), total(specificity)
    return {"n": total(accuracy), "tp": tp, "p": p, "tn": tn, "n_benign": n_benign,
            "fp": n_benign - tn, "fn": p - tp, "correct": whole(accuracy)}



def _auc(results: Results, analysis: str, condition: str, reader: str, metric: str,
         clustered: str, other: str = ""):
    """The results row of an AUC (or AUC difference): the one clustered by patient
    (``clustered``, Obuchowski 1997) when the results have it - some patient has several
    cases - else ``metric`` (DeLong)."""
    row = results.get(analysis, condition, reader, clustered, other=other)
    return row if row is not None else results.get(analysis, condition, reader, metric,
                                                   other=other)


def _performance_row(results: Results, analysis: str, auc_analysis: str, condition: str,
                     reader: str) -> dict[str, object]:
    """Counts, proportions and AUCs of one reader (``analysis``: ``diagnostic``, or
    ``three_tier`` for the definite cases)."""
    counts = _counts(results, analysis, condition, reader)
    correct = counts.pop("correct")
    row = counts | {
        **estimate_columns("sensitivity", results.get(analysis, condition, reader,
                                                      "sensitivity")),
        **estimate_columns("specificity", results.get(analysis, condition, reader,
                                                      "specificity")),
        **estimate_columns("accuracy", results.get(analysis, condition, reader, "accuracy")),
        "accuracy_correct": correct,
        **estimate_columns("auc_calls", _auc(results, auc_analysis, condition, reader,
                                             "auc_calls", "auc_calls_clustered")),
    }
    scores = _auc(results, "auc", condition, reader, "auc_delong", "auc_clustered")
    if auc_analysis == "auc" and scores is not None:  # the AUC from scores, of the scored cases
        row |= estimate_columns("auc_scores", scores) | {"auc_scores_n": scores.n}
    return row


def _versus_model(results: Results, condition: str, reader: str, model: str
                  ) -> dict[str, object]:
    """p-values of the reader against the model: exact McNemar of sensitivity and
    specificity, DeLong's paired test of the AUCs from scores when both scored every case
    both read, else of the AUCs from calls."""
    def pair(analysis: str, metric: str):
        return results.get(analysis, condition, reader, metric, other=model)

    paired = total(pair("mcnemar", "accuracy_exact"))
    scores = pair("delong_paired", "auc_difference")
    kind = "scores" if scores is not None and scores.n == paired else "calls"
    metric = "auc_difference" if kind == "scores" else "auc_calls_difference"
    clustered = pair("delong_paired", f"{metric}_clustered")
    auc = clustered if clustered is not None else pair("delong_paired", metric)
    out = {"paired_cases": paired,
           **p_value_columns("p_sensitivity", pair("mcnemar", "sensitivity_exact")),
           **p_value_columns("p_specificity", pair("mcnemar", "specificity_exact")),
           **p_value_columns("p_auc", auc)}
    method = CLUSTERED if clustered is not None else "DeLong"
    return out | {"p_auc_method": "" if out["p_auc_note"] else f"{method}, AUC from {kind}"}


def _has_uncertain(results: Results, condition: str, reader: str) -> bool:
    uncertain = results.get("three_tier", condition, reader, "uncertain_share_successes")
    return uncertain is not None and uncertain.estimate > 0


def performance_table(reads: pd.DataFrame, results: pd.DataFrame, *,
                      reference_model: str | None = None) -> pd.DataFrame:
    """Table 1: per condition, reader and the model, on the first reads.

    Parameters
    ----------
    reads : pandas.DataFrame
        The long reads frame (:func:`readerstudy.analysis.frames.reads_frame`).
    results : pandas.DataFrame
        ``analyse()`` of the same reads (:func:`readerstudy.analysis.results.analyse_reads`).
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
        AUCs from scores when both gave scores, else of the AUCs from calls; when a patient
        has several cases, the AUC intervals and p-values are clustered by patient
        (Obuchowski 1997, doi:10.2307/2533958; ``p_auc_method`` says so). Each estimate
        has a ``<estimate>_note`` column: ``"not estimable: <reason>"`` where it is NaN
        because the data do not allow it.
    """
    index = Results(results)
    reference_model = reference_model or default_reference_model(reads)
    records = []
    for condition in conditions(reads):
        first = first_reads(reads, condition)
        has_model = (first["reader"] == reference_model).any()
        for reader in reader_order(first):
            head = first.loc[first["reader"] == reader].iloc[0]
            base = {
                "condition": condition, "reader": reader, "reader_kind": head["reader_kind"],
                "role": head["role"], "years": head["years"],
            }
            record = base | {"subset": "all cases"} | _performance_row(
                index, "diagnostic", "auc", condition, reader)
            # has_model is False when there is no reference model (no reader equals None).
            if head["reader_kind"] == HUMAN and has_model and reference_model is not None:
                record |= {"versus": reference_model} | _versus_model(
                    index, condition, reader, reference_model)
            records.append(record)
            if head["reader_kind"] == MODEL and _has_uncertain(index, condition, reader):
                records.append(base | {"subset": "definite cases"} | _performance_row(
                    index, "three_tier", "three_tier", condition, reader))
    return pd.DataFrame.from_records(records)


def counts_table(reads: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Table 2: the 2 x 2 counts (TP, FN, TN, FP) per condition and reader, first reads."""
    index = Results(results)
    records = []
    for condition in conditions(reads):
        first = first_reads(reads, condition)
        for reader in reader_order(first):
            counts = _counts(index, "diagnostic", condition, reader)
            records.append({
                "condition": condition, "reader": reader,
                "role": first.loc[first["reader"] == reader, "role"].iloc[0],
                "tp": counts["tp"], "fn": counts["fn"], "tn": counts["tn"], "fp": counts["fp"],
                "malignant": counts["p"], "benign": counts["n_benign"], "n": counts["n"],
            })
    return pd.DataFrame.from_records(records)


def three_tier_table(reads: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Table 4: three-tier calls - metrics on the definite cases and the share sent to MRI.

    Sensitivity, specificity and accuracy with n/N on the definite cases, the AUC from
    the definite calls with DeLong's interval, and the share of the cases with a three-tier
    call called "uncertain - recommend MRI" (the ``three_tier`` rows of the results;
    :func:`readerstudy.stats.three_tier.three_tier_metrics`). A reader who called every
    case uncertain has 100% sent to MRI and the definite-case metrics not estimable; a
    subgroup with fewer than 2 definite cases of a class has no AUC (``auc_calls_note``).
    """
    index = Results(results)
    records = []
    for condition in conditions(reads):
        first = first_reads(reads, condition)
        for reader in reader_order(first):
            def get(metric: str, reader: str = reader, condition: str = condition):
                return index.get("three_tier", condition, reader, metric)

            uncertain = get("uncertain_share_successes")
            if uncertain is None:
                continue  # no three-tier calls: the table does not apply
            counts = _counts(index, "three_tier", condition, reader)
            records.append({
                "condition": condition, "reader": reader,
                "role": first.loc[first["reader"] == reader, "role"].iloc[0],
                "n": total(uncertain), "n_definite": counts["n"],
                "tp": counts["tp"], "p": counts["p"], "tn": counts["tn"],
                "n_benign": counts["n_benign"],
                **estimate_columns("sensitivity", get("sensitivity")),
                **estimate_columns("specificity", get("specificity")),
                **estimate_columns("accuracy", get("accuracy")),
                "accuracy_correct": counts["correct"],
                **estimate_columns("auc_calls", get("auc_calls")),
                "uncertain": whole(uncertain),
                **estimate_columns("uncertain_share", get("uncertain_share")),
                "uncertain_malignant": whole(get("uncertain_malignant")),
                "uncertain_benign": whole(get("uncertain_benign")),
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
        1 - confidence level, when the results are computed here.
    reference_model : str, optional
        The model the readers are compared with (default: :func:`default_reference_model`).
    results : pandas.DataFrame, optional
        :func:`readerstudy.analysis.results.analyse_reads` of the same reads, when the
        caller has it (the export writes it as ``results.csv``); computed here (without
        the bootstrap, which no table shows) when not given.

    Returns
    -------
    PublicationTables
    """
    if reads.empty:
        return PublicationTables.empty(["No reads."])
    if results is None:
        results = analyse_reads(reads, n_boot=0, alpha=alpha)
    reference_model = reference_model or default_reference_model(reads)
    notes = []
    if reference_model is None:
        notes.append("No model predictions: no p-values against the model.")
    features = feature_table(reads, results)
    notes += logistic_notes(features) + logistic_accuracy_notes(results)
    agreement, mrmc = (agreement_table(reads, results, reference_model=reference_model),
                       mrmc_table(results))
    notes += _truncation_notes(agreement, mrmc)
    return PublicationTables(
        performance=performance_table(reads, results, reference_model=reference_model),
        counts=counts_table(reads, results),
        agreement=agreement,
        measurements=measurement_table(reads, results),
        three_tier=three_tier_table(reads, results),
        mrmc=mrmc,
        features=features,
        definite=definite_table(results),
        aided=aided_table(results),
        power=power_table(results),
        notes=notes,
    )


def _truncated(table: pd.DataFrame, lowest: float | pd.Series) -> bool:
    """Whether an interval of ``table`` was cut at its range (a bound on the range's end
    that its estimate is not on)."""
    if table.empty or "ci_low" not in table:
        return False
    low = (table["ci_low"] == lowest) & (table["estimate"] != lowest)
    high = (table["ci_high"] == 1.0) & (table["estimate"] != 1.0)
    return bool((low | high).any())


def _truncation_notes(agreement: pd.DataFrame, mrmc: pd.DataFrame) -> list[str]:
    """The notes that name the interval method where an interval reached its range's
    end (:data:`readerstudy.stats.agreement.KAPPA_CI_METHOD`, ``or_hillis``'s
    ``ci_method``)."""
    notes = []
    if _truncated(agreement, -1.0):
        notes.append("Table 3: kappa intervals are Wald intervals (Cohen's kappa: "
                     "Fleiss-Cohen-Everitt SE; Fleiss' kappa: jackknife SE) truncated to "
                     "kappa's range [-1, 1]; some reach its end.")
    if not mrmc.empty:
        lowest = (mrmc["comparison"] == "difference").map({True: -1.0, False: 0.0})
        if _truncated(mrmc, lowest):
            notes.append("Table 5: intervals are t intervals (z for FRRC) truncated to the "
                         "AUC's range [0, 1] (a difference's [-1, 1]); some reach its end.")
    return notes
