"""The publication tables laid out and rounded for print, and their files.

Rounding happens here and only here (STYLE.md 8): percentages to whole numbers with n/N,
e.g. "67% (33/49)"; AUC, kappa and ICC to two decimals with the interval, e.g.
"0.69 (0.59, 0.78)"; p-values to three decimals, "<0.001" below that. Halves round up, as
published tables do (0.685 -> "0.69"), not to even.

An estimate the data do not allow is printed as its note, "not estimable: <reason>", in the
cell where the number would be (:mod:`readerstudy.analysis.table_parts`).
"""

from __future__ import annotations

import html
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from readerstudy.analysis.table_parts import NOTE
from readerstudy.analysis.tables import PublicationTables
from readerstudy.core.spreadsheet import csv_safe, xlsx_safe
from readerstudy.stats.estimable import is_no_interval, note
from readerstudy.stats.provenance import versions_text
from readerstudy.studies.answer_form import FEATURES, MEASUREMENTS

TITLES = {
    "performance": "Table 1. Diagnostic performance of the readers and the model",
    "counts": "Table 2. 2 x 2 counts per reader",
    "agreement": "Table 3. Agreement of benign/malignant calls",
    "measurements": "Table 3b. Agreement of measurements",
    "three_tier": "Table 4. Three-tier calls: definite cases and cases sent to MRI",
    "mrmc": "Table 5. Multi-reader multi-case analysis (Obuchowski-Rockette-Hillis) of the "
            "human readers' AUC",
    "features": "Table 6. MRI features in malignant and benign fractures: Fisher's exact test "
                "and logistic regression",
    "definite": "Table 7. Readers against the three-tier model on its definite cases",
    "aided": "Table 8. Reading without and with the model's output (AI-aided reading)",
    "power": "Table 9. Sample size for a future study, this one its pilot",
}
FILE_NAMES = {
    "performance": "table1_performance.csv",
    "counts": "table2_counts.csv",
    "agreement": "table3_agreement.csv",
    "measurements": "table3b_measurements.csv",
    "three_tier": "table4_three_tier.csv",
    "mrmc": "table5_mrmc.csv",
    "features": "table6_features.csv",
    "definite": "table7_definite_cases.csv",
    "aided": "table8_aided.csv",
    "power": "table9_power.csv",
}
SHEET_NAMES = {
    "performance": "1 Performance",
    "counts": "2 Counts",
    "agreement": "3 Agreement",
    "measurements": "3b Measurements",
    "three_tier": "4 Three-tier",
    "mrmc": "5 MRMC",
    "features": "6 Features",
    "definite": "7 Definite cases",
    "aided": "8 Aided reading",
    "power": "9 Sample size",
}


#: The methods footnote under each table: the test, the interval, exact or asymptotic.
METHODS_FOOTNOTES = {
    "performance": "Sensitivity, specificity, accuracy: Wilson score 95% CI (asymptotic). AUC "
                   "from calls = (sensitivity + specificity) / 2, AUC from scores: empirical "
                   "(Mann-Whitney); both with DeLong's SE, Wald CI truncated to [0, 1]. p vs "
                   "model: exact McNemar (binomial test of the discordant pairs); DeLong's "
                   "paired z test (asymptotic). Where a patient has more than one fracture, "
                   "the AUC CIs and the AUC p-values are clustered by patient, Obuchowski "
                   "1997 (the method column of table1_performance.csv says which).",
    "counts": "First-round reads against the reference standard (1 malignant, 0 benign).",
    "agreement": "Cohen's kappa: Fleiss-Cohen-Everitt large-sample SE, Wald CI truncated to "
                 "[-1, 1], z test with the SE under kappa = 0 (asymptotic); Fleiss' kappa: "
                 "jackknife SE over cases; bands: Landis & Koch 1977.",
    "measurements": "ICC(2,1): two-way random effects, absolute agreement, single rater "
                    "(Shrout & Fleiss 1979), F-based CI (McGraw & Wong 1996); bands: Koo & "
                    "Li 2016. Bland-Altman: bias = mean of reader - other with t CI; 95% "
                    "limits of agreement with exact CIs (Carkeet 2015).",
    "three_tier": "Definite cases only; Wilson score 95% CI; AUC from calls with DeLong's "
                  "CI; sent to MRI: the share of 'uncertain' calls, Wilson CI.",
    "mrmc": "Obuchowski-Rockette analysis with Hillis (2007) denominator df of the empirical "
            "AUCs, jackknife covariance; t CIs (z for FRRC), truncated to the AUC's range; "
            "global test of equal AUCs: F with numerator and denominator df (chi-square for "
            "FRRC).",
    "features": "Fisher's exact test (two-sided), conditional maximum-likelihood odds ratio "
                "with exact CI, Holm's adjustment over the features; logistic regression by "
                "maximum likelihood (Firth's penalised likelihood when separated), Wald CI "
                "and z test (asymptotic).",
    "definite": "On the cases both called definitely: exact McNemar (binomial test of the "
                "discordant pairs), difference with Wald CI; DeLong's paired z test of the "
                "AUCs from calls (clustered by patient, Obuchowski 1997, where a patient has "
                "more than one fracture; the p_auc_method column of table7_definite_cases.csv "
                "says which). All cases: an 'uncertain' call counted as wrong. "
                "Definite share: Wilson CI.",
    "aided": "Unaided minus aided, per reader on the cases read in both: DeLong's paired z "
             "test of the AUCs from scores (clustered by patient, Obuchowski 1997, where a "
             "patient has more than one fracture; the p_auc_method column of "
             "table8_aided.csv says which); exact McNemar of the calls (p changes: accuracy). "
             "All readers: Obuchowski-Rockette-Hillis RRRC difference (t CI) and F test with "
             "its numerator and denominator df.",
    "power": "Hillis, Obuchowski & Berbaum (2011) power of the Obuchowski-Rockette-Hillis "
             "test (random readers and cases, two-sided, alpha as for the intervals) from this "
             "study's variance components (jackknife covariance) of the pair of conditions, "
             "with as many cases as this study: non-central F with Hillis' denominator df; "
             "negative reader-by-condition variance set to 0. Cases needed: the fewest for "
             "the target power (as RJafroc's SsSampleSizeKGivenJ).",
}


def methods_footnote(name: str) -> str:
    """The footnote under table ``name``: its methods and the software that computed it."""
    return f"Methods: {METHODS_FOOTNOTES[name]} Software: {versions_text()}."


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _number(value: float | None) -> float | None:
    """``value`` as a float, ``None`` when missing (``None``, NaN, ``pd.NA``)."""
    return None if value is None or _missing(value) else float(value)


def round_half_up(value: float, digits: int = 0) -> Decimal:
    """``value`` rounded half away from zero to ``digits`` decimals (0.685 -> 0.69)."""
    quantum = Decimal(1).scaleb(-digits)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def fmt_number(value: float | None, digits: int = 2) -> str:
    """``value`` rounded half up; ``""`` when missing, ``"∞"`` / ``"-∞"`` when infinite (an
    odds ratio of a feature seen in one group only)."""
    number = _number(value)
    if number is None:
        return ""
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    rounded = round_half_up(number, digits)
    # A small negative number rounds to "-0.00": print it as "0.00" (it is zero to print).
    return str(abs(rounded) if rounded.is_zero() else rounded)


def fmt_estimate_ci(estimate: float | None, low: float | None, high: float | None,
                    digits: int = 2) -> str:
    """``"0.69 (0.59, 0.78)"``; ``""`` when the estimate is missing."""
    if _missing(estimate):
        return ""
    if _missing(low) or _missing(high):
        return fmt_number(estimate, digits)
    return f"{fmt_number(estimate, digits)} ({fmt_number(low, digits)}, {fmt_number(high, digits)})"


def fmt_percent(value: float | None) -> str:
    number = _number(value)
    if number is None:
        return ""
    return f"{round_half_up(100.0 * number, 0)}%"


def fmt_proportion(successes: float | None, total: float | None) -> str:
    """``"67% (33/49)"``; ``"- (0/0)"`` when nothing was counted."""
    if successes is None or total is None or _missing(successes) or _missing(total):
        return ""
    successes, total = int(successes), int(total)
    if total == 0:
        return "- (0/0)"
    return f"{fmt_percent(successes / total)} ({successes}/{total})"


def fmt_percent_ci(low: float | None, high: float | None) -> str:
    """``"54%, 78%"``."""
    if _missing(low) or _missing(high):
        return ""
    return f"{fmt_percent(low)}, {fmt_percent(high)}"


def fmt_ratio(successes: float | None, total: float | None) -> str:
    if successes is None or total is None or _missing(successes) or _missing(total):
        return ""
    return f"{int(successes)}/{int(total)}"


def fmt_p(value: float | None) -> str:
    """``"<0.001"``, ``"0.008"``, ``"1.000"``; ``""`` when missing."""
    number = _number(value)
    if number is None:
        return ""
    if number < 0.001:
        return "<0.001"
    return str(round_half_up(number, 3))


def fmt_reader_role(role: object, years: float | None) -> str:
    """``"Resident, 2 years"``; ``"Model"``."""
    label = str(role).capitalize() if not _missing(role) and role else ""
    if years is None or _missing(years):
        return label
    years = int(years) if float(years).is_integer() else float(years)
    unit = "year" if years == 1 else "years"
    return f"{label}, {years} {unit}" if label else f"{years} {unit}"


def noted(row, prefix: str, text: str) -> str:
    """The cell of estimate ``prefix``: ``text``, or the estimate's note ("not estimable:
    <reason>") when it has one."""
    return with_note(_text(getattr(row, f"{prefix}{NOTE}", "")), text)


def with_note(note_text: str, text: str) -> str:
    """The cell of an estimate with a note: a "not estimable" note replaces the missing
    estimate; a "no interval" note follows the estimate, which exists ("0.50 (no interval:
    ...)") - never a zero-width interval printed as if it were real."""
    if not note_text:
        return text
    if is_no_interval(note_text) and text:
        return f"{text} ({note_text})"
    return note_text


def _with_condition(frame: pd.DataFrame, out: dict[str, object], row) -> dict[str, object]:
    if frame["condition"].nunique() > 1:  # noqa: PD101 - a column, not a hot loop
        return {"Condition": row.condition} | out
    return out


def _auc_method(table: pd.DataFrame) -> str:
    """How a table's AUC p-values were computed: clustered by patient (Obuchowski 1997) when
    a patient has several fractures, else DeLong's (the ``p_auc_method`` column)."""
    clustered = "p_auc_method" in table and table["p_auc_method"].astype(str).str.startswith(
        "clustered").any()
    return "Obuchowski, clustered" if clustered else "DeLong"


def performance_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 1 laid out as STUDY-PROTOCOL.md's published table, with sensitivity and
    specificity, the AUC from scores and the p-values against the model added."""
    if table.empty:
        return pd.DataFrame()
    p_auc = f"p AUC vs model ({_auc_method(table)})"
    rows = []
    for row in table.itertuples(index=False):
        reader = row.reader if row.subset == "all cases" else f"{row.reader}, {row.subset}"
        out = {
            "Reader": reader,
            "Role, experience": fmt_reader_role(row.role, row.years),
            "TP/P": fmt_ratio(row.tp, row.p),
            "TN/N": fmt_ratio(row.tn, row.n_benign),
            "Sensitivity, % (n/N)": noted(row, "sensitivity", fmt_proportion(row.tp, row.p)),
            "Sensitivity 95% CI": fmt_percent_ci(row.sensitivity_ci_low, row.sensitivity_ci_high),
            "Specificity, % (n/N)": noted(row, "specificity",
                                          fmt_proportion(row.tn, row.n_benign)),
            "Specificity 95% CI": fmt_percent_ci(row.specificity_ci_low, row.specificity_ci_high),
            "Accuracy, % (n/N)": noted(row, "accuracy",
                                       fmt_proportion(row.accuracy_correct, row.n)),
            "Accuracy 95% CI": fmt_percent_ci(row.accuracy_ci_low, row.accuracy_ci_high),
            "AUC from calls (95% CI)": noted(row, "auc_calls", fmt_estimate_ci(
                row.auc_calls, row.auc_calls_ci_low, row.auc_calls_ci_high)),
        }
        if "auc_scores" in table:
            out["AUC from scores (95% CI)"] = noted(row, "auc_scores", fmt_estimate_ci(
                row.auc_scores, row.auc_scores_ci_low, row.auc_scores_ci_high))
        if "p_sensitivity" in table:
            out |= {
                "p sensitivity vs model (McNemar)": noted(row, "p_sensitivity",
                                                          fmt_p(row.p_sensitivity)),
                "p specificity vs model (McNemar)": noted(row, "p_specificity",
                                                          fmt_p(row.p_specificity)),
                p_auc: noted(row, "p_auc", fmt_p(row.p_auc)),
            }
        rows.append(_with_condition(table, out, row))
    return pd.DataFrame(rows)


def counts_display(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame()
    rows = []
    for row in table.itertuples(index=False):
        out = {"Reader": row.reader, "TP": row.tp, "FN": row.fn, "TN": row.tn, "FP": row.fp,
               "Malignant": row.malignant, "Benign": row.benign, "Total": row.n}
        rows.append(_with_condition(table, out, row))
    return pd.DataFrame(rows)


def _interval_text(row) -> str:
    median = getattr(row, "interval_days_median", float("nan"))
    if _missing(median):
        return ""
    low, high = row.interval_days_min, row.interval_days_max
    return f"{fmt_number(median, 0)} ({fmt_number(low, 0)}-{fmt_number(high, 0)})"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _row_note(row) -> str:
    return _text(getattr(row, "note", ""))


def agreement_display(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame()
    rows = []
    for row in table.itertuples(index=False):
        out = {
            "Comparison": row.analysis, "Reader": row.reader, "Other": row.other,
            "Statistic": row.measure,
            "Estimate (95% CI)": with_note(
                _row_note(row), fmt_estimate_ci(row.estimate, row.ci_low, row.ci_high)),
            "Agreement (Landis & Koch)": row.band, "Cases": row.n,
            "Interval, days: median (range)": _interval_text(row),
        }
        rows.append(_with_condition(table, out, row))
    return pd.DataFrame(rows)


def measurement_label(key: str) -> str:
    """``"anterior_height"`` -> ``"Anterior height (mm)"``: the protocol's label and unit
    (a key the protocol does not know is shown as it is)."""
    question = MEASUREMENTS.get(key)
    if question is None:
        return key
    return f"{question.label} ({question.unit})" if question.unit else question.label


def measurements_display(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame()
    rows = []
    for row in table.itertuples(index=False):
        out = {
            "Measurement": measurement_label(row.measurement), "Comparison": row.analysis,
            "Reader": row.reader,
            "Other": row.other,
            "ICC(2,1) (95% CI)": noted(row, "icc", fmt_estimate_ci(
                row.icc, row.icc_ci_low, row.icc_ci_high, 3)),
            "Reliability (Koo & Li)": row.icc_band,
            "Bias, reader - other (95% CI)": noted(row, "bias", fmt_estimate_ci(
                row.bias, row.bias_ci_low, row.bias_ci_high)),
            "Limits of agreement": (f"{fmt_number(row.loa_low)}, {fmt_number(row.loa_high)}"
                                    if not _missing(row.loa_low) else ""),
            "Cases": row.n,
        }
        rows.append(_with_condition(table, out, row))
    return pd.DataFrame(rows)


def three_tier_display(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame()
    rows = []
    for row in table.itertuples(index=False):
        out = {
            "Reader": row.reader,
            "TP/P (definite)": fmt_ratio(row.tp, row.p),
            "TN/N (definite)": fmt_ratio(row.tn, row.n_benign),
            "Sensitivity, % (n/N)": noted(row, "sensitivity", fmt_proportion(row.tp, row.p)),
            "Specificity, % (n/N)": noted(row, "specificity",
                                          fmt_proportion(row.tn, row.n_benign)),
            "Accuracy, % (n/N)": noted(row, "accuracy",
                                       fmt_proportion(row.accuracy_correct, row.n_definite)),
            "Accuracy 95% CI": fmt_percent_ci(row.accuracy_ci_low, row.accuracy_ci_high),
            "AUC from calls (95% CI)": noted(row, "auc_calls", fmt_estimate_ci(
                row.auc_calls, row.auc_calls_ci_low, row.auc_calls_ci_high)),
            "Sent to MRI, % (n/N)": noted(row, "uncertain_share",
                                          fmt_proportion(row.uncertain, row.n)),
        }
        rows.append(_with_condition(table, out, row))
    return pd.DataFrame(rows)


MRMC_ANALYSES = {
    "RRRC": "random readers and cases",
    "FRRC": "fixed readers, random cases",
    "RRFC": "random readers, fixed cases",
}


def _mrmc_comparison(row) -> str:
    if row.comparison == "difference":
        return f"{row.condition} - {row.other}"
    if row.comparison == "equality":
        return "all conditions equal"
    return f"AUC, {row.condition}" if row.condition else "AUC"


def _mrmc_test(row) -> str:
    if _missing(row.statistic) or row.comparison == "reader-averaged AUC":
        return ""
    if row.comparison == "equality":
        name = "chi2" if row.analysis == "FRRC" else "F"
    else:
        name = "z" if row.analysis == "FRRC" else "t"
    df = f", df {fmt_number(row.df, 1)}" if not _missing(row.df) else ""
    if row.comparison == "equality" and not _missing(getattr(row, "df_num", None)):
        df = (f", df {fmt_number(row.df_num, 0)} and {fmt_number(row.df, 1)}"
              if not _missing(row.df) else f", df {fmt_number(row.df_num, 0)}")
    return f"{name} = {fmt_number(row.statistic)}{df}"


def mrmc_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 5: reader-averaged AUCs, their differences and the equality test per analysis."""
    if table.empty:
        return pd.DataFrame()
    rows = []
    for row in table.itertuples(index=False):
        estimate = "" if row.comparison == "equality" else fmt_estimate_ci(
            row.estimate, row.ci_low, row.ci_high)
        rows.append({
            "Rating": row.rating,
            "Analysis": f"{row.analysis} ({MRMC_ANALYSES[row.analysis]})",
            "Comparison": _mrmc_comparison(row),
            "Estimate (95% CI)": with_note(_row_note(row), estimate),
            "Test": _mrmc_test(row),
            "p": fmt_p(row.p_value),
            "Readers": f"{row.readers} ({row.left_out})" if row.left_out else row.readers,
            "Cases": row.n,
        })
    return pd.DataFrame(rows)


def definite_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 7: reader against the three-tier model on the cases both called definitely."""
    if table.empty:
        return pd.DataFrame()
    p_auc = f"p AUC ({_auc_method(table)})"
    rows = []
    for row in table.itertuples(index=False):
        out = {
            "Reader": row.reader, "Versus": row.versus,
            "Definite cases, % (n/N)": noted(row, "definite_share",
                                             fmt_proportion(row.definite, row.cases)),
            "Accuracy difference, definite (95% CI)": noted(row, "accuracy_difference",
                fmt_estimate_ci(row.accuracy_difference, row.accuracy_difference_ci_low,
                                row.accuracy_difference_ci_high)),
            "p sensitivity (McNemar)": noted(row, "p_sensitivity", fmt_p(row.p_sensitivity)),
            "p specificity (McNemar)": noted(row, "p_specificity", fmt_p(row.p_specificity)),
            "p accuracy (McNemar)": noted(row, "p_accuracy", fmt_p(row.p_accuracy)),
            "AUC difference, definite (95% CI)": noted(row, "auc_difference", fmt_estimate_ci(
                row.auc_difference, row.auc_difference_ci_low, row.auc_difference_ci_high)),
            p_auc: noted(row, "p_auc", fmt_p(row.p_auc)),
            "Accuracy difference, all cases, uncertain = wrong (95% CI)": noted(
                row, "all_accuracy_difference", fmt_estimate_ci(
                    row.all_accuracy_difference, row.all_accuracy_difference_ci_low,
                    row.all_accuracy_difference_ci_high)),
            "p all cases (McNemar)": noted(row, "p_all_accuracy", fmt_p(row.p_all_accuracy)),
        }
        rows.append(_with_condition(table, out, row))
    return pd.DataFrame(rows)


def _aided_test(row) -> str:
    if _missing(row.statistic):
        return ""
    df = f", df {fmt_number(row.df_num, 0)} and {fmt_number(row.df, 1)}"
    return f"F = {fmt_number(row.statistic)}{df}"


def aided_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 8: unaided minus aided, per reader and across readers (ORH RRRC)."""
    if table.empty:
        return pd.DataFrame()
    rows = []
    for row in table.itertuples(index=False):
        rows.append({
            "Comparison": f"{row.condition} - {row.other}",
            "Reader": f"{row.reader} ({row.left_out})" if row.left_out else row.reader,
            "AUC difference (95% CI)": noted(row, "auc_difference", fmt_estimate_ci(
                row.auc_difference, row.auc_difference_ci_low, row.auc_difference_ci_high)),
            "p AUC": noted(row, "p_auc", fmt_p(row.p_auc)),
            "F test (ORH)": _aided_test(row),
            "p sensitivity (McNemar)": noted(row, "p_sensitivity", fmt_p(row.p_sensitivity)),
            "p specificity (McNemar)": noted(row, "p_specificity", fmt_p(row.p_specificity)),
            "Calls changed, % (n/N)": noted(row, "calls_changed",
                                            fmt_proportion(row.changed, row.cases)),
            "Changed to the right call": fmt_number(row.changed_to_right, 0),
            "Changed to a wrong call": fmt_number(row.changed_to_wrong, 0),
            "p changes (McNemar, accuracy)": noted(row, "p_accuracy", fmt_p(row.p_accuracy)),
        })
    return pd.DataFrame(rows)


METHODS = {"firth": "Firth", "maximum likelihood": "maximum likelihood"}


def _presence(present: float | None, total: float | None, of: str) -> str:
    if total is not None and not _missing(total) and int(total) == 0:
        return note(f"no {of}")
    return fmt_proportion(present, total)


def features_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 6: per feature, its presence by group, Fisher's test and the logistic model."""
    if table.empty:
        return pd.DataFrame()
    rows = []
    for row in table.itertuples(index=False):
        out = {
            "Reader": row.reader,
            "Feature": FEATURES.get(row.feature, row.feature),
            "Present, malignant % (n/N)": _presence(row.present_malignant, row.n_malignant,
                                                    "malignant cases"),
            "Present, benign % (n/N)": _presence(row.present_benign, row.n_benign,
                                                 "benign cases"),
            "Odds ratio (95% CI), Fisher": noted(row, "fisher_or", fmt_estimate_ci(
                row.fisher_or, row.fisher_or_ci_low, row.fisher_or_ci_high)),
            "p (Fisher)": noted(row, "fisher_p", fmt_p(row.fisher_p)),
            "p (Holm)": fmt_p(getattr(row, "fisher_p_holm", float("nan"))),
            "Odds ratio (95% CI), logistic regression": noted(row, "logistic_or", fmt_estimate_ci(
                row.logistic_or, row.logistic_or_ci_low, row.logistic_or_ci_high)),
            "p (logistic regression)": noted(row, "logistic_p", fmt_p(row.logistic_p)),
            "Regression": METHODS.get(_text(getattr(row, "logistic_method", "")), ""),
        }
        rows.append(_with_condition(table, out, row))
    return pd.DataFrame(rows)


def _readers_label(row) -> str:
    readers = int(row.readers)
    return f"{readers} (this study)" if readers == int(row.pilot_readers) else str(readers)


def _cases_text(value: float | None) -> str:
    number = _number(value)
    return "" if number is None else str(int(number))


def power_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 9: per pair of conditions and number of readers, the power with this study's
    cases at the observed and the chosen effect, and the cases for the target power."""
    if table.empty:
        return pd.DataFrame()
    rows = []
    for row in table.itertuples(index=False):
        comparison = f"{row.condition} - {row.other}"
        if _row_note(row):  # the pair's MRMC analysis is not estimable
            rows.append({"Rating": row.rating, "Comparison": comparison,
                         "Readers": _row_note(row)})
            continue
        target = fmt_percent(row.target_power)
        rows.append({
            "Rating": row.rating,
            "Comparison": comparison,
            "Readers": _readers_label(row),
            "Cases": _cases_text(row.cases),
            "Observed effect (AUC difference)": fmt_number(row.effect_observed, 3),
            "Power, observed effect": noted(row, "power_observed",
                                            fmt_percent(row.power_observed)),
            f"Cases for {target} power, observed effect": noted(
                row, "cases_needed_observed", _cases_text(row.cases_needed_observed)),
            "Chosen effect (AUC difference)": fmt_number(row.effect_chosen, 3),
            "Power, chosen effect": noted(row, "power_chosen", fmt_percent(row.power_chosen)),
            f"Cases for {target} power, chosen effect": noted(
                row, "cases_needed_chosen", _cases_text(row.cases_needed_chosen)),
        })
    return pd.DataFrame(rows)


DISPLAY = {
    "performance": performance_display,
    "counts": counts_display,
    "agreement": agreement_display,
    "measurements": measurements_display,
    "three_tier": three_tier_display,
    "mrmc": mrmc_display,
    "features": features_display,
    "definite": definite_display,
    "aided": aided_display,
    "power": power_display,
}


_MODEL_READER = re.compile(r"model:([^@\s,]+)@([^\s,]+)")
#: The display columns that name readers.
READER_COLUMNS = ("Reader", "Other", "Versus")


def reader_label(name: object) -> str:
    """A reader's name for print: a model reader ``"model:<name>@<version>"`` (the name the
    results and the CSV tables keep) becomes ``"<name> <version>"``, a long version cut to
    12 characters ("demo-phantom-ct phantom-3f2a…"); other names are kept."""
    def shown(match: re.Match[str]) -> str:
        model, version = match.group(1), match.group(2)
        return f"{model} {version[:12]}…" if len(version) > 12 else f"{model} {version}"

    return _MODEL_READER.sub(shown, str(name)) if isinstance(name, str) else ""


def display_tables(tables: PublicationTables) -> dict[str, pd.DataFrame]:
    """Every table laid out for print (strings), keyed like :meth:`PublicationTables.as_dict`;
    models by their display names (:func:`reader_label`)."""
    shown = {name: DISPLAY[name](frame) for name, frame in tables.as_dict().items()}
    for frame in shown.values():
        for column in READER_COLUMNS:
            if column in frame:
                frame[column] = frame[column].map(reader_label)
    return shown


#: What a table needs, said where it is empty ("Not applicable to these data: ..."), so that an
#: author knows whether the data lack it or the export failed.
NEEDS = {
    "performance": "it needs reads of cases with a reference standard",
    "counts": "it needs benign/malignant calls of cases with a reference standard",
    "agreement": "it needs at least two readers of the same cases, or repeat reads",
    "measurements": "it needs measurements by at least two readers, or repeat measurements",
    "three_tier": "it needs three-tier calls",
    "mrmc": "it needs at least two human readers who read the same cases in two conditions",
    "features": "it needs the MRI feature checklist",
    "definite": "it needs the three-tier model's calls beside the readers'",
    "aided": "it needs unaided and AI-aided reads (an assisted study)",
    "power": "it needs two conditions read by at least two human readers",
}


def not_applicable(name: str | None) -> str:
    need = NEEDS.get(name or "")
    return f"Not applicable to these data: {need}." if need else "Not applicable to these data."


def _markdown_cell(value: object) -> str:
    return "" if _missing(value) else str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame, name: str | None = None) -> str:
    """A GitHub-flavoured Markdown table of ``frame`` (no index); an empty one says what table
    ``name`` needs."""
    if frame.empty:
        return f"_{not_applicable(name)}_\n"
    header = "| " + " | ".join(_markdown_cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_markdown_cell(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def tables_markdown(tables: PublicationTables, *, title: str,
                    shown: dict[str, pd.DataFrame] | None = None) -> str:
    """The tables as Markdown (``shown``: :func:`display_tables` of them, if at hand)."""
    parts = [f"# {title}\n"]
    for name, frame in (shown or display_tables(tables)).items():
        parts.append(f"## {TITLES[name]}\n\n{markdown_table(frame, name)}")
        if not frame.empty:
            parts.append(f"_{methods_footnote(name)}_\n")
    if tables.notes:
        parts.append("## Notes\n\n" + "\n".join(f"- {note}" for note in tables.notes) + "\n")
    return "\n".join(parts)


def tables_html(tables: PublicationTables, *, title: str,
                shown: dict[str, pd.DataFrame] | None = None) -> str:
    """The tables as one HTML page (``shown``: :func:`display_tables` of them, if at hand)."""
    parts = [
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}"
        "table{border-collapse:collapse;margin-bottom:2rem}"
        "th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left}"
        "th{background:#f0f0f0}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for name, frame in (shown or display_tables(tables)).items():
        parts.append(f"<h2>{html.escape(TITLES[name])}</h2>")
        if frame.empty:
            parts.append(f"<p><em>{html.escape(not_applicable(name))}</em></p>")
        else:
            parts.append(frame.to_html(index=False, escape=True, na_rep="", border=0))
            parts.append(f"<p class=\"methods\"><small>{html.escape(methods_footnote(name))}"
                         "</small></p>")
    if tables.notes:
        items = "".join(f"<li>{html.escape(note)}</li>" for note in tables.notes)
        parts.append(f"<h2>Notes</h2><ul>{items}</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


NOT_APPLICABLE = "not applicable to these data"


def _finite_or_none(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None)


def write_tables(tables: PublicationTables, directory: Path, *, title: str) -> list[Path]:
    """Write the tables: numeric CSVs (full precision; a table that does not apply is one
    ``note`` column saying so), ``tables.xlsx`` (one formatted sheet per table),
    ``tables.md`` and ``tables.html``. Returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.as_dict().items():
        path = directory / FILE_NAMES[name]
        if frame.columns.empty:  # a table that does not apply still parses as a CSV
            frame = pd.DataFrame({"note": [NOT_APPLICABLE]})
        csv_safe(frame).to_csv(path, index=False)
        written.append(path)
    workbook = directory / "tables.xlsx"
    shown = display_tables(tables)
    with pd.ExcelWriter(workbook, engine="openpyxl") as writer:
        for name, frame in shown.items():
            sheet = frame if not frame.empty else pd.DataFrame({"": [not_applicable(name)]})
            xlsx_safe(_finite_or_none(sheet)).to_excel(writer, sheet_name=SHEET_NAMES[name], index=False)
            if not frame.empty:  # the methods footnote two rows under the table
                xlsx_safe(pd.DataFrame({0: [methods_footnote(name)]})).to_excel(
                    writer, sheet_name=SHEET_NAMES[name], index=False, header=False,
                    startrow=len(sheet) + 2)
        xlsx_safe(pd.DataFrame({"Notes": tables.notes or [""]})).to_excel(
            writer, sheet_name="Notes", index=False)
    written.append(workbook)
    for file_name, text in (("tables.md", tables_markdown(tables, title=title, shown=shown)),
                            ("tables.html", tables_html(tables, title=title, shown=shown))):
        path = directory / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written

