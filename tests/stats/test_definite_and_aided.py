"""Readers against the three-tier model on its definite cases, unaided against aided reading,
and the Obuchowski-Rockette-Hillis global F test as rows of the results.

Independent references:

- McNemar's tests: statsmodels ``statsmodels.stats.contingency_tables.mcnemar`` (exact
  binomial, and chi-square with continuity correction) on the 2 x 2 table of right/wrong
  calls, built here with pandas;
- DeLong's paired test: :func:`readerstudy.stats.roc.delong_paired`, itself checked against
  pROC's ``roc.test(method = "delong", paired = TRUE)`` on aSAH in ``test_roc.py``; the
  clustered one: :func:`readerstudy.stats.clustered.clustered_paired`, checked against
  Obuchowski's (1997) formulas in ``test_clustered.py``;
- the ORH global F test: Hillis's published Van Dyke result, F = 4.4563187 with 1 and
  15.259675 df, p = 0.051665686 (RJafroc ``StSignificanceTesting(dataset02, FOM =
  "Wilcoxon", method = "OR")``; MRMCaov's README), with treatments 1 and 2 renamed
  "CT" and "CT + AI" (fixtures/refdata/vandyke.csv).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from readerstudy.stats import clustered, roc
from readerstudy.stats.analysis import analyse
from tests.stats.refdata import refdata

N = 80


def _one(results: pd.DataFrame, **where) -> pd.Series:
    mask = np.logical_and.reduce([results[k] == v for k, v in where.items()])
    assert mask.sum() == 1, where
    return results.loc[mask].iloc[0]


def _statsmodels_p(right_a: np.ndarray, right_b: np.ndarray, exact: bool) -> float:
    table = pd.crosstab(pd.Categorical(right_a, [True, False]),
                        pd.Categorical(right_b, [True, False]), dropna=False).to_numpy()
    return float(sm_mcnemar(table, exact=exact, correction=True).pvalue)


@pytest.fixture(scope="module")
def three_tier_study() -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    truth = (np.arange(N) % 2).astype(int)
    calls: dict[str, np.ndarray] = {}
    rows = []
    for reader in ["r1", "r2"]:
        value = truth + rng.normal(scale=0.8, size=N)
        calls[reader] = np.where(value > 0.5, "malignant", "benign")
    model = truth * 1.6 + rng.normal(size=N)
    calls["model"] = np.where(model > 1.3, "malignant", np.where(model < 0.3, "benign",
                                                                   "uncertain"))
    for reader, called in calls.items():
        kind = "model" if reader == "model" else "human"
        rows += [{"reader": reader, "case": f"c{i}", "truth": truth[i], "call": called[i],
                  "reader_kind": kind} for i in range(N)]
    return pd.DataFrame(rows), truth, calls


def test_readers_are_compared_with_the_three_tier_model_on_its_definite_cases(three_tier_study):
    reads, truth, calls = three_tier_study
    results = analyse(reads, n_boot=0)
    here = results.loc[results["analysis"] == "definite_cases"]
    assert set(zip(here["reader"], here["other"], strict=True)) == {("r1", "model"), ("r2", "model")}
    definite = calls["model"] != "uncertain"
    share = _one(here, reader="r1", metric="definite_share")
    assert share["estimate"] == pytest.approx(definite.mean()) and share["n"] == N
    t = truth[definite]
    right_r = (calls["r1"][definite] == "malignant") == t.astype(bool)
    right_m = (calls["model"][definite] == "malignant") == t.astype(bool)
    for name, subset in (("sensitivity", t == 1), ("specificity", t == 0), ("accuracy", t == t)):
        exact = _one(here, reader="r1", metric=f"definite_{name}_exact")
        chi2 = _one(here, reader="r1", metric=f"definite_{name}_chi2")
        assert exact["n"] == subset.sum()
        assert exact["estimate"] == pytest.approx(right_r[subset].mean() - right_m[subset].mean())
        assert exact["p_value"] == pytest.approx(
            _statsmodels_p(right_r[subset], right_m[subset], exact=True), rel=1e-9)
        assert chi2["p_value"] == pytest.approx(
            _statsmodels_p(right_r[subset], right_m[subset], exact=False), rel=1e-9)
    auc = _one(here, reader="r1", metric="definite_auc_calls_difference")
    wide = pd.DataFrame({"truth": t, "x": (calls["r1"][definite] == "malignant").astype(float),
                         "y": (calls["model"][definite] == "malignant").astype(float)})
    expected = roc.delong_paired(wide, x="x", y="y")
    assert (auc["estimate"], auc["p_value"]) == pytest.approx(
        (expected.estimate, expected.p_value), rel=1e-9)


def test_the_all_case_comparison_counts_an_uncertain_call_as_wrong(three_tier_study):
    reads, truth, calls = three_tier_study
    here = analyse(reads, n_boot=0).query("analysis == 'definite_cases' and reader == 'r2'")
    right_r = (calls["r2"] == "malignant") == truth.astype(bool)
    right_m = np.where(calls["model"] == "uncertain", False,
                       (calls["model"] == "malignant") == truth.astype(bool))
    row = _one(here, metric="all_accuracy_exact")
    assert row["n"] == N
    assert row["estimate"] == pytest.approx(right_r.mean() - right_m.mean())
    assert row["p_value"] == pytest.approx(_statsmodels_p(right_r, right_m, exact=True), rel=1e-9)


def test_a_model_that_calls_every_case_uncertain_is_reported_with_reasons(three_tier_study):
    reads, _, _ = three_tier_study
    reads = reads.assign(call=reads["call"].where(reads["reader"] != "model", "uncertain"))
    here = analyse(reads, n_boot=0).query("analysis == 'definite_cases'")
    assert _one(here, reader="r1", metric="definite_share")["estimate"] == 0.0
    missing = here.loc[here["metric"].str.startswith("definite_") & here["estimate"].isna()]
    assert not missing.empty and missing["note"].str.startswith("not estimable: ").all()


def _aided_study() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    truth = (np.arange(N) % 2).astype(int)
    rows = []
    for reader in ["r1", "r2", "r3"]:
        base = rng.normal(size=N)
        for condition, shift in (("CT", 0.8), ("CT + AI", 1.6)):
            score = truth * shift + base + rng.normal(scale=0.5, size=N)
            rows += [{"reader": reader, "case": f"c{i}", "truth": truth[i], "score": score[i],
                      "call": "malignant" if score[i] > shift / 2 else "benign",
                      "condition": condition} for i in range(N)]
    return pd.DataFrame(rows), truth


def test_unaided_and_aided_reads_of_each_reader_are_compared():
    reads, truth = _aided_study()
    results = analyse(reads, n_boot=0)
    here = results.loc[(results["analysis"] == "aided") & (results["reader"] == "r2")]
    assert set(here["condition"]) == {"CT"} and set(here["other"]) == {"CT + AI"}
    mine = reads.loc[reads["reader"] == "r2"]
    unaided = mine.loc[mine["condition"] == "CT"].set_index("case")
    aided = mine.loc[mine["condition"] == "CT + AI"].set_index("case").loc[unaided.index]
    wide = pd.DataFrame({"truth": unaided["truth"], "x": unaided["score"], "y": aided["score"]})
    expected = roc.delong_paired(wide, x="x", y="y")
    auc = _one(here, metric="auc_difference")
    assert (auc["estimate"], auc["ci_low"], auc["ci_high"], auc["p_value"]) == pytest.approx(
        (expected.estimate, expected.ci_low, expected.ci_high, expected.p_value), rel=1e-9)
    right_u = (unaided["call"] == "malignant").to_numpy() == truth.astype(bool)
    right_a = (aided["call"] == "malignant").to_numpy() == truth.astype(bool)
    accuracy = _one(here, metric="accuracy_exact")
    assert accuracy["p_value"] == pytest.approx(_statsmodels_p(right_u, right_a, exact=True),
                                                rel=1e-9)
    changed = (unaided["call"] != aided["call"]).to_numpy()
    assert _one(here, metric="calls_changed_successes")["estimate"] == changed.sum()
    assert _one(here, metric="calls_changed_to_right")["estimate"] == (changed & right_a).sum()
    assert _one(here, metric="calls_changed_to_wrong")["estimate"] == (changed & right_u).sum()


@pytest.fixture(scope="module")
def vandyke_as_aided() -> pd.DataFrame:
    reads = refdata("vandyke.csv").rename(columns={"rating": "score", "treatment": "condition"})
    return reads.assign(condition=reads["condition"].map({1: "CT", 2: "CT + AI"}),
                        reader=reads["reader"].map("r{}".format),
                        case=reads["case"].map("c{}".format))


def test_the_global_f_test_of_two_conditions_matches_hillis_published_van_dyke_result(
    vandyke_as_aided,
):
    results = analyse(vandyke_as_aided, n_boot=0)
    for analysis in ("mrmc", "aided"):
        here = results.loc[results["analysis"] == analysis]
        test = _one(here, metric="auc_equality_rrrc")
        assert (test["statistic"], test["df"], test["p_value"]) == pytest.approx(
            (4.4563187, 15.259675, 0.051665686), rel=1e-7)
        assert _one(here, metric="auc_equality_rrrc_df_numerator")["estimate"] == 1.0
        difference = _one(here, metric="auc_difference_rrrc")
        assert (difference["estimate"], difference["ci_low"], difference["ci_high"]) == (
            pytest.approx((-0.043800322, -0.087959499, 0.00035885444), rel=1e-7))


def test_the_model_is_compared_with_the_mean_of_two_readers_measurements():
    # Bland & Altman 1986 (doi:10.1016/S0140-6736(86)90837-8): bias = mean difference,
    # limits = bias -/+ 1.96 SD; computed here with numpy on model minus the readers' mean.
    rng = np.random.default_rng(5)
    height = rng.normal(25, 3, N)
    rows = []
    for reader, noise, kind in (("r1", 0.5, "human"), ("r2", 0.6, "human"),
                                ("model", 0.8, "model")):
        measured = height + rng.normal(scale=noise, size=N) + (0.4 if kind == "model" else 0)
        rows += [{"reader": reader, "case": f"c{i}", "reader_kind": kind,
                  "measurement_anterior_height": measured[i]} for i in range(N)]
    reads = pd.DataFrame(rows)
    results = analyse(reads, n_boot=0)
    wide = reads.pivot_table(index="case", columns="reader",
                              values="measurement_anterior_height", aggfunc="first")
    difference = wide["model"] - (wide["r1"] + wide["r2"]) / 2
    here = results.loc[(results["reader"] == "model") & (results["other"] == "mean of r1 and r2")]
    bias = _one(here, metric="measurement_anterior_height_bias")
    assert bias["estimate"] == pytest.approx(difference.mean(), rel=1e-12) and bias["n"] == N
    lower = _one(here, metric="measurement_anterior_height_loa_lower")
    z = 1.959963984540054
    assert lower["estimate"] == pytest.approx(difference.mean() - z * difference.std(ddof=1),
                                              rel=1e-9)
    # and the ICC of each reader with the model is a pair of its own
    assert not results.query("reader == 'r1' and other == 'model' and "
                             "metric == 'measurement_anterior_height_icc_2_1'").empty


def test_a_reader_with_a_partial_aided_read_is_left_out_of_the_orh_rows_not_the_cases(
    vandyke_as_aided,
):
    # Reader r5 read only 3 of the 114 cases with the model's output. Taking the cases
    # every reader read left 3 cases, too few for the analysis ("not estimable"); the
    # fully crossed design instead keeps the other four readers on every case, as the
    # MRMC programs' files do (readerstudy/analysis/mrmc_files.py), and names r5.
    partial = vandyke_as_aided.loc[
        (vandyke_as_aided["reader"] != "r5") | (vandyke_as_aided["condition"] == "CT")
        | vandyke_as_aided["case"].isin(["c1", "c2", "c3"])
    ]
    without_r5 = vandyke_as_aided.loc[vandyke_as_aided["reader"] != "r5"]
    results = analyse(partial, n_boot=0)
    # The reference: the same analysis of the four readers alone, whose ORH code is checked
    # against Hillis's published Van Dyke results above.
    expected = analyse(without_r5, n_boot=0)
    for analysis in ("mrmc", "aided"):
        here = results.loc[(results["analysis"] == analysis) & (results["reader"] == "")]
        there = expected.loc[(expected["analysis"] == analysis) & (expected["reader"] == "")]
        for metric, where in (("auc_rrrc", {"condition": "CT"}),
                              ("auc_rrrc", {"condition": "CT + AI"}),
                              ("auc_difference_rrrc", {}), ("auc_equality_rrrc", {})):
            got, want = _one(here, metric=metric, **where), _one(there, metric=metric, **where)
            assert got["note"] == "" and got["n"] == 114
            assert (got["estimate"], got["ci_low"], got["p_value"]) == pytest.approx(
                (want["estimate"], want["ci_low"], want["p_value"]), rel=1e-12, nan_ok=True)
        readers = _one(here, metric="readers")
        assert readers["estimate"] == 4
        assert readers["note"] == "left out (not fully crossed): r5 (CT + AI: 3 of 114 cases)"
    assert _one(expected.query("analysis == 'mrmc'"), metric="readers")["note"] == ""


def test_scores_and_calls_that_leave_out_different_readers_count_their_own_readers(
    vandyke_as_aided,
):
    """Every reader scored every case, but r5 gave calls for 3 cases only with the model's
    output: the scores' analysis has 5 readers, the calls' 4 (r5 named), each in its own
    row, and table 5 prints each rating's count; the calls' ORH equals that of the four
    readers' calls alone."""
    from readerstudy.analysis.mrmc_table import mrmc_table

    reads = vandyke_as_aided.assign(
        call=np.where(vandyke_as_aided["score"] >= 3, "malignant", "benign"))
    gap = ((reads["reader"] == "r5") & (reads["condition"] == "CT + AI")
           & ~reads["case"].isin(["c1", "c2", "c3"]))
    reads["call"] = reads["call"].where(~gap, None)
    results = analyse(reads, n_boot=0, missing="drop").query("analysis == 'mrmc'")
    assert _one(results, metric="readers")[["estimate", "note"]].tolist() == [5, ""]
    calls = _one(results, metric="readers_calls")
    assert calls["estimate"] == 4
    assert calls["note"] == "left out (not fully crossed): r5 (CT + AI: 3 of 114 cases)"
    four = analyse(reads.loc[reads["reader"] != "r5"], n_boot=0).query("analysis == 'mrmc'")
    got = _one(results, metric="auc_calls_difference_rrrc")
    want = _one(four, metric="auc_calls_difference_rrrc")
    assert (got["estimate"], got["p_value"]) == pytest.approx(
        (want["estimate"], want["p_value"]), rel=1e-12)
    table = mrmc_table(results)
    assert set(table.loc[table["rating"] == "scores", "readers"]) == {5}
    assert set(table.loc[table["rating"] == "calls", "readers"]) == {4}
    assert set(table.loc[table["rating"] == "calls", "left_out"]) == {calls["note"]}


def test_orh_with_one_fully_crossed_reader_says_which_readers_were_left_out(
    vandyke_as_aided,
):
    crossed = vandyke_as_aided["reader"].isin(["r1"]) | vandyke_as_aided["case"].isin(
        [f"c{i}" for i in range(1, 60)]) | (vandyke_as_aided["condition"] == "CT")
    results = analyse(vandyke_as_aided.loc[crossed], n_boot=0)
    here = results.query("analysis == 'aided' and reader == '' and metric == 'auc_rrrc'")
    assert here["estimate"].isna().all()
    assert here["note"].str.startswith(
        "not estimable: needs at least 2 human readers who read in every condition, got 1 "
        "who read every case (left out (not fully crossed): r2 (CT + AI: 59 of 114 cases), "
    ).all()


# -- several fractures per patient: the AUC differences clustered by patient ------------


def test_with_several_fractures_per_patient_tables_7_and_8_tests_are_clustered_too(
        three_tier_study):
    """Two cases per patient: beside each DeLong row of ``definite_cases`` and ``aided``, the
    same difference with Obuchowski's clustered covariance, as ``clustered.clustered_paired``
    computes it on the same cases (itself checked against the paper's formulas written out
    and a patient-level bootstrap in ``test_clustered.py``)."""
    reads, truth, calls = three_tier_study
    patient_of = {f"c{i}": f"p{i // 2}" for i in range(N)}
    results = analyse(reads.assign(patient=reads["case"].map(patient_of)), n_boot=0)
    definite = (calls["model"] != "uncertain") & (calls["r1"] != "uncertain")
    wide = pd.DataFrame({
        "truth": truth, "patient": [patient_of[f"c{i}"] for i in range(N)],
        "x": (calls["r1"] == "malignant").astype(float),
        "y": (calls["model"] == "malignant").astype(float),
    })[definite]
    want = clustered.clustered_paired(wide, x="x", y="y")
    here = results.query("analysis == 'definite_cases' and reader == 'r1'")
    got = _one(here, metric="definite_auc_calls_difference_clustered")
    delong = _one(here, metric="definite_auc_calls_difference")
    assert got["estimate"] == pytest.approx(delong["estimate"], abs=1e-12)
    assert (got["estimate"], got["ci_low"], got["ci_high"], got["p_value"]) == pytest.approx(
        (want.estimate, want.ci_low, want.ci_high, want.p_value), rel=1e-9)

    aided_reads, _ = _aided_study()
    with_patients = aided_reads.assign(patient=aided_reads["case"].map(patient_of))
    results = analyse(with_patients, n_boot=0)
    mine = with_patients.loc[with_patients["reader"] == "r2"]
    unaided = mine.loc[mine["condition"] == "CT"].set_index("case")
    aided = mine.loc[mine["condition"] == "CT + AI"].set_index("case").loc[unaided.index]
    wide = pd.DataFrame({"truth": unaided["truth"], "patient": unaided["patient"],
                         "x": unaided["score"], "y": aided["score"]})
    want = clustered.clustered_paired(wide, x="x", y="y")
    got = _one(results.query("analysis == 'aided' and reader == 'r2'"),
               metric="auc_difference_clustered")
    assert (got["estimate"], got["ci_low"], got["ci_high"], got["p_value"]) == pytest.approx(
        (want.estimate, want.ci_low, want.ci_high, want.p_value), rel=1e-9)


def test_with_one_fracture_per_patient_there_are_no_clustered_rows(three_tier_study):
    reads, _, _ = three_tier_study
    results = analyse(reads.assign(patient=reads["case"]), n_boot=0)
    assert not results["metric"].str.endswith("_clustered").any()
