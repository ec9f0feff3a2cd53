"""Tables 7 (definite cases), 8 (aided reading) and table 5's global F test lay out the
results' rows, and print them. The statistics themselves are checked against statsmodels,
DeLong via pROC and Hillis's published Van Dyke result in
tests/stats/test_definite_and_aided.py; here: the tables agree with results.csv."""

from __future__ import annotations

import pandas as pd
import pytest

from readerstudy.analysis.comparison_tables import ALL_READERS, aided_table, definite_table
from readerstudy.analysis.display import aided_display, definite_display, mrmc_display
from readerstudy.analysis.mrmc_table import mrmc_table
from readerstudy.stats.analysis import analyse
from tests.stats.refdata import refdata
from tests.stats.test_definite_and_aided import _aided_study, _one


@pytest.fixture(scope="module")
def vandyke_results() -> pd.DataFrame:
    reads = refdata("vandyke.csv").rename(columns={"rating": "score", "treatment": "condition"})
    reads = reads.assign(condition=reads["condition"].map({1: "CT", 2: "CT + AI"}))
    return analyse(reads, n_boot=0)


def test_table_5_prints_the_global_f_test_with_both_degrees_of_freedom(vandyke_results):
    table = mrmc_table(vandyke_results)
    test = _one(table, rating="scores", analysis="RRRC", comparison="equality")
    assert (test["statistic"], test["df_num"], test["df"]) == pytest.approx(
        (4.4563187, 1, 15.259675), rel=1e-7)
    shown = mrmc_display(table)
    row = shown.loc[(shown["Comparison"] == "all conditions equal")
                    & shown["Analysis"].str.startswith("RRRC")].iloc[0]
    assert row["Test"] == "F = 4.46, df 1 and 15.3" and row["p"] == "0.052"


def test_table_8_lays_out_each_reader_and_the_readers_together():
    reads, _ = _aided_study()
    results = analyse(reads, n_boot=0)
    table = aided_table(results)
    assert list(table["reader"]) == ["r1", "r2", "r3", ALL_READERS]
    r2 = table.loc[table["reader"] == "r2"].iloc[0]
    auc = _one(results, analysis="aided", reader="r2", metric="auc_difference")
    assert (r2["auc_difference"], r2["p_auc"]) == (auc["estimate"], auc["p_value"])
    assert r2["changed"] == _one(results, analysis="aided", reader="r2",
                                 metric="calls_changed_successes")["estimate"]
    orh = table.loc[table["reader"] == ALL_READERS].iloc[0]
    test = _one(results, analysis="aided", reader="", metric="auc_equality_rrrc")
    assert (orh["statistic"], orh["df_num"], orh["df"]) == (test["statistic"], 1.0, test["df"])
    shown = aided_display(table)
    assert shown.loc[3, "F test (ORH)"].startswith("F = ") and ", df 1 and " in shown.loc[
        3, "F test (ORH)"]
    assert shown.loc[1, "Calls changed, % (n/N)"].endswith(f"/{int(r2['cases'])})")


def test_tables_5_and_8_name_the_readers_left_out_of_the_orh_analysis():
    reads, _ = _aided_study()
    partial = reads.loc[(reads["reader"] != "r3") | (reads["condition"] == "CT")
                        | reads["case"].isin([f"c{i}" for i in range(10)])]
    results = analyse(partial, n_boot=0)
    why = "left out (not fully crossed): r3 (CT + AI: 10 of 80 cases)"
    assert _one(results, analysis="aided", reader="", metric="readers")["note"] == why
    aided = aided_table(results)
    assert list(aided.loc[aided["reader"] == ALL_READERS, "left_out"]) == [why]
    assert aided_display(aided).iloc[-1]["Reader"] == f"{ALL_READERS} ({why})"
    table = mrmc_table(results)
    assert (table["readers"] == 2).all() and (table["left_out"] == why).all()
    assert (mrmc_display(table)["Readers"] == f"2 ({why})").all()


def test_table_7_lays_out_the_definite_case_comparison():
    from tests.stats.test_definite_and_aided import N

    rows = []
    for i in range(N):
        t = i % 2
        rows += [{"reader": "r1", "case": f"c{i}", "truth": t,
                  "call": "malignant" if (t + (i % 7 == 0)) % 2 else "benign"},
                 {"reader": "model", "case": f"c{i}", "truth": t, "reader_kind": "model",
                  "call": "uncertain" if i % 5 == 0 else ("malignant" if t else "benign")}]
    results = analyse(pd.DataFrame(rows), n_boot=0)
    table = definite_table(results)
    row = table.iloc[0]
    assert (row["reader"], row["versus"]) == ("r1", "model")
    share = _one(results, analysis="definite_cases", metric="definite_share_successes")
    assert (row["definite"], row["cases"]) == (share["estimate"], share["n"])
    shown = definite_display(table).iloc[0]
    assert shown["Definite cases, % (n/N)"] == f"{round(100 * row['definite'] / N)}% " \
        f"({int(row['definite'])}/{N})"


def test_tables_7_and_8_take_the_clustered_test_when_a_patient_has_several_fractures():
    reads, _ = _aided_study()
    reads = reads.assign(patient=reads["case"].str[1:].astype(int) // 2)
    model = reads.loc[reads["reader"] == "r1"].assign(
        reader="model", reader_kind="model",
        call=lambda d: ["uncertain" if i % 5 == 0 else c for i, c in enumerate(d["call"])])
    results = analyse(pd.concat([reads, model]), n_boot=0)
    table = aided_table(results)
    r2 = table.loc[table["reader"] == "r2"].iloc[0]
    auc = _one(results, analysis="aided", reader="r2", metric="auc_difference_clustered")
    assert (r2["auc_difference"], r2["p_auc"], r2["p_auc_method"]) == (
        auc["estimate"], auc["p_value"], "clustered by patient, Obuchowski 1997")
    assert table.loc[table["reader"] == ALL_READERS, "p_auc_method"].tolist() == ["ORH RRRC"]
    definite = definite_table(results)
    row = definite.loc[(definite["reader"] == "r2") & (definite["condition"] == "CT")].iloc[0]
    auc = _one(results, analysis="definite_cases", condition="CT", reader="r2",
               metric="definite_auc_calls_difference_clustered")
    assert (row["p_auc"], row["p_auc_method"]) == (auc["p_value"],
                                                   "clustered by patient, Obuchowski 1997")
    assert "p AUC (Obuchowski, clustered)" in definite_display(definite).columns
    # One case per patient: DeLong's, and the table says so.
    plain = definite_table(analyse(pd.concat([reads, model]).drop(columns="patient"), n_boot=0))
    assert set(plain["p_auc_method"]) == {"DeLong"}
    assert "p AUC (DeLong)" in definite_display(plain).columns


def test_table_3b_shows_the_model_against_the_readers_mean():
    import numpy as np

    from readerstudy.analysis.agreement_table import measurement_table

    rng = np.random.default_rng(2)
    height = rng.normal(25, 3, 30)
    rows = []
    for reader, kind, role in (("r1", "human", "resident"), ("r2", "human", "attending"),
                               ("model", "model", "")):
        measured = height + rng.normal(scale=0.5, size=30)
        rows += [{"reader": reader, "case": f"c{i}", "reader_kind": kind, "role": role,
                  "years": 3, "condition": "MRI", "round": "first",
                  "measurement_anterior_height": measured[i]} for i in range(30)]
    reads = pd.DataFrame(rows)
    results = analyse(reads.drop(columns=["role", "years"]), n_boot=0)
    table = measurement_table(reads, results)
    mean = table.loc[table["analysis"] == "model vs readers' mean"].iloc[0]
    bias = _one(results, reader="model", other="mean of r1 and r2",
                metric="measurement_anterior_height_bias")
    assert (mean["bias"], mean["n"]) == (bias["estimate"], 30)
    assert mean["icc_note"].startswith("not estimable: Bland-Altman only")


def test_the_tables_notes_give_each_regressions_accuracy_with_n_and_ci():
    import numpy as np

    from readerstudy.analysis.feature_table import logistic_accuracy_notes

    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, 60)
    feature = (rng.random(60) < np.where(truth == 1, 0.8, 0.2)).astype(int)
    other = rng.integers(0, 2, 60)
    reads = pd.DataFrame({"reader": "r1", "case": [f"c{i}" for i in range(60)],
                          "condition": "MRI", "truth": truth, "feature_a": feature,
                          "feature_b": other})
    results = analyse(reads, n_boot=0)
    correct = int(_one(results, metric="logistic_accuracy_successes")["estimate"])
    (text,) = logistic_accuracy_notes(results)
    assert text.startswith("Table 6, logistic regression of r1 (MRI): accuracy ")
    assert f"({correct}/60)" in text and "95% CI" in text and "Wilson" in text


def test_a_number_that_rounds_to_zero_is_printed_without_a_sign():
    from readerstudy.analysis.display import fmt_estimate_ci, fmt_number

    assert fmt_number(-0.001) == "0.00" and fmt_number(-0.005) == "-0.01"
    assert fmt_estimate_ci(0.14, -0.0004, 0.28) == "0.14 (0.00, 0.28)"
