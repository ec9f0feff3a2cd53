"""Every number of the publication tables equals the matching row of the export's
results.csv: the tables are laid out from analyse()'s results, never computed again."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from readerstudy.analysis import bundle
from readerstudy.analysis.frames import BASE_COLUMNS
from readerstudy.analysis.services import ExportParameters
from readerstudy.analysis.tables import publication_tables

MODEL = "model:net@1.0"
FEATURES = ["feature_fluid_cleft", "feature_band_edema", "feature_soft_tissue_mass"]
READERS = [("res1", "resident", 1), ("res4", "resident", 4), ("att9", "attending", 9),
           ("att12", "attending", 12)]
# Numbers of the tables that describe the layout, not an estimate.
LAYOUT = {"years"}


def _tier(score: float) -> str:
    return "benign" if score < 30 else ("malignant" if score >= 70 else "uncertain")


def study_reads(n: int = 36, seed: int = 4) -> pd.DataFrame:
    """Four readers and the model in two conditions, with scores, three-tier calls, repeat
    reads, a measurement and features, on two test sets and two scanner vendors; two
    fractures (cases) per patient, so that the AUCs are clustered by patient."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.45).astype(int)
    cases = [{"case": f"C{i:02d}", "truth": int(truth[i]), "patient": f"P{i // 2:02d}",
              "test_set": "internal" if i % 3 else "external", "institution": "Hospital A",
              "scanner_vendor": ["VendorX", "VendorY"][(i // 2) % 2], "field_strength": 1.5}
             for i in range(n)]
    rows = []
    for k, (name, role, years) in enumerate(READERS):
        for condition in ("MRI", "MRI + AI"):
            for rnd in ("first", "repeat") if k < 3 else ("first",):
                for case in cases if rnd == "first" else cases[::2]:
                    score = float(np.clip(round(50 + 35 * (2 * case["truth"] - 1)
                                                + rng.normal(0, 25)), 0, 100))
                    rows.append({"reader": name, "reader_kind": "human", "role": role,
                                 "years": years} | case | {
                        "condition": condition, "round": rnd, "score": score,
                        "call": "malignant" if score >= 50 else "benign",
                        "three_tier": _tier(score),
                        "interval_days": 30.0 + k if rnd == "repeat" else np.nan,
                        "measurement_anterior_height": round(20 + 4 * case["truth"]
                                                             + rng.normal(0, 1.5), 1),
                    } | {f: bool(rng.random() < 0.3 + 0.4 * case["truth"] * (j < 2))
                         for j, f in enumerate(FEATURES)})
    for condition in ("MRI", "MRI + AI"):
        rows += [{"reader": MODEL, "reader_kind": "model", "role": "model", "years": np.nan}
                 | case | {"condition": condition, "round": "first", "score": score,
                           "call": "malignant" if score >= 50 else "benign",
                           "three_tier": _tier(score)}
                 for case, score in zip(cases, np.clip(50 + 30 * (2 * truth - 1)
                                                       + rng.normal(0, 20, n), 0, 100),
                                        strict=True)]
    return pd.DataFrame(rows).reindex(
        columns=[*BASE_COLUMNS, *FEATURES, "measurement_anterior_height"])


class Lookup:
    """results.csv rows by (analysis, condition, reader, other, metric)."""

    def __init__(self, path: Path) -> None:
        results = pd.read_csv(path, keep_default_na=False, na_values=[""],
                              dtype={c: str for c in ("condition", "reader", "other", "note")})
        results[["condition", "reader", "other"]] = results[
            ["condition", "reader", "other"]].fillna("")
        self.rows = {tuple(key): row for key, row in zip(
            results[["analysis", "condition", "reader", "other", "metric"]].itertuples(
                index=False, name=None), results.itertuples(index=False), strict=True)}

    def __call__(self, analysis: str, condition: str, reader: str, metric: str,
                 other: str = ""):
        key = (analysis, condition, reader, other, metric)
        assert key in self.rows, f"results.csv has no row {key}"
        return self.rows[key]

    def pair(self, analysis: str, condition: str, a: str, b: str, metric: str):
        key = (analysis, condition, a, b, metric)
        return self.rows[key] if key in self.rows else self(analysis, condition, b, metric, a)


def estimate(prefix: str, row) -> dict[str, object]:
    """The estimate, its interval and its note ("" or "not estimable: <reason>")."""
    return {prefix: row.estimate, f"{prefix}_ci_low": row.ci_low,
            f"{prefix}_ci_high": row.ci_high, f"{prefix}_note": row.note}


def counts(get: Callable[[str], object]) -> dict[str, float]:
    sensitivity, specificity = get("sensitivity_successes"), get("specificity_successes")
    return {"tp": sensitivity.estimate, "p": sensitivity.n, "tn": specificity.estimate,
            "n_benign": specificity.n, "fp": specificity.n - specificity.estimate,
            "fn": sensitivity.n - sensitivity.estimate, "n": get("accuracy_successes").n,
            "accuracy_correct": get("accuracy_successes").estimate,
            **estimate("sensitivity", get("sensitivity")),
            **estimate("specificity", get("specificity")),
            **estimate("accuracy", get("accuracy")), **estimate("auc_calls", get("auc_calls"))}


def expected_performance(results: Lookup, row) -> dict[str, float]:
    analysis = "diagnostic" if row.subset == "all cases" else "three_tier"
    auc = "auc" if row.subset == "all cases" else "three_tier"

    def get(metric: str):
        if metric == "auc_calls" and auc == "auc":  # clustered by patient when there is one
            clustered = results.rows.get((auc, row.condition, row.reader, "",
                                          "auc_calls_clustered"))
            if clustered is not None:
                return clustered
        return results(auc if metric == "auc_calls" else analysis, row.condition, row.reader,
                       metric)

    out = counts(get)
    if not math.isnan(row.auc_scores_n):
        # Clustered by patient (Obuchowski 1997) when the results have it.
        scores = (results.rows.get(("auc", row.condition, row.reader, "", "auc_clustered"))
                  or results("auc", row.condition, row.reader, "auc_delong"))
        out |= estimate("auc_scores", scores) | {"auc_scores_n": scores.n}
    if isinstance(row.versus, str):
        def versus(analysis: str, metric: str):
            return results(analysis, row.condition, row.reader, metric, row.versus)

        paired = versus("mcnemar", "accuracy_exact").n
        method = row.p_auc_method if isinstance(row.p_auc_method, str) else ""
        if not method:  # not estimable: the comparison the scores allow, else the calls'
            key = ("delong_paired", row.condition, row.reader, row.versus, "auc_difference")
            scores = results.rows.get(key)
            method = "scores" if scores is not None and scores.n == paired else "calls"
        difference = "auc_difference" if "scores" in method else "auc_calls_difference"
        if "Obuchowski" in method:
            difference += "_clustered"
        auc = versus("delong_paired", difference)
        out |= {"paired_cases": paired,
                "p_sensitivity": versus("mcnemar", "sensitivity_exact").p_value,
                "p_specificity": versus("mcnemar", "specificity_exact").p_value,
                "p_auc": auc.p_value,
                "p_auc_note": auc.note if pd.isna(auc.p_value) else ""}
    return out


def expected_counts(results: Lookup, row) -> dict[str, float]:
    out = counts(lambda m: results("diagnostic" if m != "auc_calls" else "auc", row.condition,
                                   row.reader, m))
    return {"tp": out["tp"], "fn": out["fn"], "tn": out["tn"], "fp": out["fp"],
            "malignant": out["p"], "benign": out["n_benign"], "n": out["n"]}


def expected_agreement(results: Lookup, row) -> dict[str, float]:
    def kappa(kappa_row, observed=None) -> dict[str, float]:
        out = {"estimate": kappa_row.estimate, "ci_low": kappa_row.ci_low,
               "ci_high": kappa_row.ci_high, "p_value": kappa_row.p_value, "n": kappa_row.n}
        return out | ({"observed_agreement": observed.estimate} if observed else {})

    if row.analysis == "all readers":
        return kappa(results("fleiss_kappa", row.condition, "", "fleiss_kappa"))
    if row.analysis == "intra-reader":
        def get(metric: str):
            return results("intra_reader", row.condition, row.reader, metric)

        return kappa(get("cohen_kappa"), get("observed_agreement")) | {
            f"interval_days_{s}": get(f"interval_days_{s}").estimate
            for s in ("median", "min", "max")}
    return kappa(*(results.pair("kappa", row.condition, row.reader, row.other, metric)
                   for metric in ("cohen_kappa", "observed_agreement")))


def expected_measurement(results: Lookup, row) -> dict[str, float]:
    analysis, reader, other = (("intra_reader", row.reader, "") if row.analysis == "intra-reader"
                               else ("measurement", row.reader, row.other))
    icc_key = (analysis, row.condition, reader, other, f"measurement_{row.measurement}_icc_2_1")
    # The table lists the pair in its reader order; results.csv may name it the other way
    # round, with the bias (reader - other) negated and the interval's ends swapped.
    swapped = icc_key not in results.rows
    if swapped:
        reader, other = other, reader

    def get(metric: str):
        return results(analysis, row.condition, reader,
                       f"measurement_{row.measurement}_{metric}", other)

    bias, lower, upper = get("bias"), get("loa_lower"), get("loa_upper")
    shown_bias = estimate("bias", bias)
    loa = {"loa_low": lower.estimate, "loa_high": upper.estimate}
    if swapped:
        shown_bias |= {"bias": -bias.estimate, "bias_ci_low": -bias.ci_high,
                       "bias_ci_high": -bias.ci_low}
        loa = {"loa_low": -upper.estimate, "loa_high": -lower.estimate}
    return {**estimate("icc", get("icc_2_1")), **shown_bias, **loa, "n": get("icc_2_1").n}


def expected_three_tier(results: Lookup, row) -> dict[str, float]:
    def get(metric: str):
        return results("three_tier", row.condition, row.reader, metric)

    out = counts(get)
    del out["fp"], out["fn"]  # table 4 shows TP/P and TN/N only
    return out | {"n": get("uncertain_share").n, "n_definite": out["n"],
                  "uncertain": get("uncertain_share_successes").estimate,
                  **estimate("uncertain_share", get("uncertain_share")),
                  "uncertain_malignant": get("uncertain_malignant").estimate,
                  "uncertain_benign": get("uncertain_benign").estimate}


def expected_mrmc(results: Lookup, row) -> dict[str, float]:
    rating = {"scores": "auc", "calls": "auc_calls"}[row.rating]
    kind = {"reader-averaged AUC": "", "difference": "_difference",
            "equality": "_equality"}[row.comparison]
    other = row.other if isinstance(row.other, str) else ""
    condition = row.condition if isinstance(row.condition, str) else ""
    metric = f"{rating}{kind}_{row.analysis.lower()}"
    found = results("mrmc", condition, "", metric, other)
    # The calls' analysis has its own readers row when scores were analysed too.
    counted = (results.rows.get(("mrmc", "", "", "", "readers_calls"))
               if rating == "auc_calls" else None) or results("mrmc", "", "", "readers")
    expected = {"estimate": found.estimate, "ci_low": found.ci_low, "ci_high": found.ci_high,
                "statistic": found.statistic, "df": found.df, "p_value": found.p_value,
                "n": found.n, "readers": counted.estimate}
    if kind == "_equality":  # the global test's numerator df is a row of its own
        expected["df_num"] = results("mrmc", "", "", f"{metric}_df_numerator").estimate
    return expected


def expected_features(results: Lookup, row) -> dict[str, float]:
    def get(metric: str):
        return results("features", row.condition, row.reader, f"feature_{row.feature}_{metric}")

    def model(metric: str):
        return results("features", row.condition, row.reader, metric)

    fisher, logistic = get("fisher_or"), get("logistic_or")
    return {"present_malignant": get("present_malignant").estimate,
            "n_malignant": get("present_malignant").n,
            "present_benign": get("present_benign").estimate,
            "n_benign": get("present_benign").n, **estimate("fisher_or", fisher),
            "fisher_p": fisher.p_value, "fisher_p_holm": get("fisher_or_holm").p_value,
            "n": fisher.n, **estimate("logistic_or", logistic), "logistic_p": logistic.p_value,
            "logistic_separation": model("logistic_separation").estimate,
            "logistic_n": model("logistic_events").n,
            "logistic_events": model("logistic_events").estimate}


def expected_power(results: Lookup, row) -> dict[str, float]:
    rating = {"scores": "auc", "calls": "auc_calls"}[row.rating]

    def get(metric: str):
        return results("power", row.condition, "", f"{rating}_{metric}", row.other)

    if pd.isna(row.readers):  # the pair's MRMC analysis is not estimable: the reason
        reason = get("power_rrrc")
        assert pd.isna(reason.estimate)
        return {"cases": reason.n, "note": reason.note} | {
            f"{name}_note": reason.note for name in (
                "power_observed", "cases_needed_observed", "power_chosen",
                "cases_needed_chosen")}
    observed = get("power_effect_observed")
    out = {"pilot_readers": get("power_pilot_readers").estimate, "cases": observed.n,
           "target_power": results("power", "", "", "power_target").estimate,
           "effect_observed": observed.estimate,
           "effect_chosen": get("power_effect_chosen").estimate,
           "readers": row.readers}  # the row's J is the J its results rows are named for
    for kind in ("observed", "chosen"):
        power = get(f"power_rrrc_{kind}_readers_{int(row.readers)}")
        cases = get(f"cases_needed_rrrc_{kind}_readers_{int(row.readers)}")
        out |= {f"power_{kind}": power.estimate, f"power_{kind}_note": power.note,
                f"cases_needed_{kind}": cases.estimate,
                f"cases_needed_{kind}_note": cases.note}
    return out


EXPECTED = {
    "table1_performance.csv": expected_performance,
    "table2_counts.csv": expected_counts,
    "table3_agreement.csv": expected_agreement,
    "table3b_measurements.csv": expected_measurement,
    "table4_three_tier.csv": expected_three_tier,
    "table5_mrmc.csv": expected_mrmc,
    "table6_features.csv": expected_features,
    "table9_power.csv": expected_power,
}


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("export")
    with pytest.MonkeyPatch.context() as patch:
        # The figures are drawn from the reads, not the tables; they take seconds each.
        patch.setattr(bundle.figures, "write_figures", lambda *args, **kwargs: [])
        bundle.build_export(study_reads(), directory, parameters=ExportParameters(n_boot=20),
                            title="Study", slug="study", fingerprint="0" * 64, data_state={})
    return directory


def _equal(shown: object, expected: object) -> bool:
    if isinstance(expected, str) or (isinstance(shown, str) and pd.isna(expected)):
        return ("" if pd.isna(shown) else shown) == ("" if pd.isna(expected) else expected)
    if pd.isna(shown) and pd.isna(expected):
        return True
    return float(shown) == pytest.approx(float(expected), rel=1e-12, abs=1e-12)


def test_every_number_of_every_table_equals_its_row_of_results_csv(export):
    checked = set()
    for folder in sorted({p.parent for p in export.rglob("results.csv")}):
        results = Lookup(folder / "results.csv")
        for name, expected_of in EXPECTED.items():
            table = pd.read_csv(folder / name)
            if list(table.columns) == ["note"]:
                continue  # the table does not apply to these reads
            numbers = [c for c in table.columns if not c.endswith("note")
                       and (pd.api.types.is_numeric_dtype(table[c])
                            or pd.api.types.is_bool_dtype(table[c]))]
            for row in table.itertuples(index=False):
                expected = expected_of(results, row)
                shown = {c for c in numbers if not pd.isna(getattr(row, c))}
                unmatched = shown - set(expected) - LAYOUT
                assert not unmatched, f"{name}: numbers {unmatched} match no results row"
                for column, value in expected.items():
                    shown = getattr(row, column)
                    assert _equal(shown, value), (folder.name, name, row, column, shown, value)
                checked.add(name)
    # The study has every table, in the test sets and in the subgroups.
    assert checked == set(EXPECTED)
    # Its patients have two fractures each: the AUC p-values are the clustered ones.
    table1 = pd.read_csv(export / "all" / "table1_performance.csv")
    assert table1["p_auc_method"].dropna().str.startswith(
        "clustered by patient, Obuchowski 1997").all()
    assert table1["p_auc_method"].notna().any()
    printed = (export / "all" / "tables.md").read_text(encoding="utf-8")
    assert "p AUC vs model (Obuchowski, clustered)" in printed
    assert "clustered by patient, Obuchowski 1997" in printed  # the methods footnote
    assert (export / "all" / "subgroups").is_dir()


def test_a_kappa_interval_cut_at_its_range_is_named_in_the_notes():
    # 9 of 10 cases called alike: kappa 0.8, Wald bound 1.16 (SAS's ASE) shown as 1.
    calls = {"r1": [1, 1, 1, 1, 0, 0, 0, 0, 1, 0], "r2": [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]}
    reads = pd.DataFrame([
        {"reader": r, "reader_kind": "human", "role": "resident", "years": 1, "case": f"C{i}",
         "truth": calls["r1"][i], "condition": "CT", "round": "first",
         "call": "malignant" if c else "benign"}
        for r, cs in calls.items() for i, c in enumerate(cs)
    ]).reindex(columns=BASE_COLUMNS)
    tables = publication_tables(reads)
    kappa = tables.agreement.iloc[0]
    assert kappa["estimate"] == pytest.approx(0.8) and kappa["ci_high"] == 1.0
    assert any(n.startswith("Table 3: kappa intervals are Wald intervals") for n in tables.notes)
    # The MRMC interval of these two readers' calls (AUCs 1 and 0.9) passes 1 too.
    assert tables.mrmc["ci_high"].max() == 1.0
    assert any(n.startswith("Table 5: intervals are t intervals") for n in tables.notes)
