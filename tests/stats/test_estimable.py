"""Estimates the data do not allow are reported as "not estimable" with the reason: never
dropped, never an error, in every analysis of analyse()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from readerstudy.stats import agreement, features, icc, mcnemar, proportions, roc
from readerstudy.stats.analysis import analyse, analyse_mrmc
from readerstudy.stats.estimable import (
    NotEstimableError,
    attempt,
    is_left_out,
    is_no_interval,
    is_not_estimable,
    note,
)
from readerstudy.stats.mrmc import or_hillis


def test_attempt_returns_the_result_or_the_reason():
    scored = pd.DataFrame({"truth": [0, 0, 1, 1], "score": [0.1, 0.4, 0.35, 0.8]})
    result, why = attempt(roc.auc_delong, scored)
    assert why == "" and result.estimate == pytest.approx(0.75)
    result, why = attempt(roc.auc_delong, scored.assign(truth=1))
    assert result is None and why.startswith("not estimable: truth needs both classes")


def test_attempt_explains_a_result_that_is_nan_by_definition():
    calls = pd.DataFrame({"a": ["benign"] * 4, "b": ["benign"] * 4})
    result, why = attempt(agreement.cohen_kappa, calls, x="a", y="b")
    assert np.isnan(result.estimate) and result.n == 4
    assert why == "not estimable: " + result.not_estimable
    assert "chance agreement is 1" in why


def test_attempt_lets_bad_input_through():
    with pytest.raises(ValueError, match="must be coded 0") as raised:
        attempt(roc.auc_delong, pd.DataFrame({"truth": [0, 1, 2], "score": [0.2, 0.5, 0.7]}))
    assert not isinstance(raised.value, NotEstimableError)


def test_a_note_always_names_a_reason():
    assert note("no benign cases") == "not estimable: no benign cases"
    assert note("") == "not estimable: the data do not allow it"
    assert is_not_estimable(note("x")) and not is_not_estimable("0.71 (0.61, 0.80)")


@pytest.mark.parametrize(("compute", "reason"), [
    (lambda: icc.icc_wide([[1.0, 2.0]]), "at least 2 targets"),
    (lambda: agreement.fleiss_kappa_from_counts([[2, 1]]), "at least 2 subjects"),
    (lambda: mcnemar.mcnemar_from_counts(0, 0, 0), "no paired cases"),
    (lambda: mcnemar.mcnemar_sensitivity(pd.DataFrame({"truth": [0, 0], "a": [1, 0], "b": [0, 0]}),
                                         x="a", y="b"), "no malignant cases"),
    (lambda: features.logistic_regression(
        pd.DataFrame({"a": [1, 0, 1], "truth": [1, 1, 1]}), features=["a"], truth="truth"),
     "both benign and malignant"),
])
def test_thin_data_raise_not_estimable_with_the_reason(compute, reason):
    with pytest.raises(NotEstimableError, match=reason):
        compute()


def test_a_proportion_of_nothing_says_what_was_missing():
    metrics = proportions.diagnostic_metrics(
        pd.DataFrame({"truth": [0, 0, 0], "call": ["benign", "benign", "malignant"]}))
    assert np.isnan(metrics.sensitivity.estimate)
    assert metrics.sensitivity.not_estimable == "no malignant cases"
    assert metrics.npv.not_estimable == "" and metrics.ppv.not_estimable == ""
    assert proportions.proportion(0, 0, of="cases called benign").not_estimable == (
        "no cases called benign")


def test_fisher_names_a_feature_present_in_every_case():
    data = pd.DataFrame({"a": [1, 1, 1, 1], "b": [1, 0, 1, 0], "truth": [1, 1, 0, 0]})
    table = features.fisher_per_feature(data, features=["a", "b"], truth="truth").set_index(
        "feature")
    assert np.isnan(table.loc["a", "estimate"]) and table.loc["a", "p_value"] == 1.0
    assert table.loc["a", "note"] == "not estimable: the feature is present in every case"
    assert table.loc["b", "note"] == "" and np.isfinite(table.loc["b", "estimate"])


def reads(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["reader", "case", "truth", "score", "call", "condition"])


def crossed(readers: dict[str, list[str]], truth: list[int], scores=None) -> pd.DataFrame:
    rows = []
    for name, calls in readers.items():
        for i, (t, call) in enumerate(zip(truth, calls, strict=True)):
            score = np.nan if scores is None else scores[name][i]
            rows.append((name, f"c{i}", t, score, call, "CT"))
    return reads(rows)


def by(results: pd.DataFrame, analysis: str, metric: str, **where: str) -> pd.DataFrame:
    rows = results[(results["analysis"] == analysis) & (results["metric"] == metric)]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return rows


def test_one_reader_has_no_between_reader_analyses_and_says_why():
    truth = [1, 1, 0, 0, 1]
    out = analyse(crossed({"r1": ["malignant", "benign", "benign", "benign", "malignant"]},
                          truth, {"r1": [90, 40, 10, 20, 70]}), n_boot=20)
    fleiss = by(out, "fleiss_kappa", "fleiss_kappa")
    assert fleiss["note"].tolist() == [
        "not estimable: needs at least 2 human readers who called, got 1"]
    assert by(out, "icc", "icc_2_1")["note"].str.contains("who scored, got 1").all()
    mrmc = out[out["analysis"] == "mrmc"]
    assert by(out, "mrmc", "readers")["estimate"].tolist() == [1.0]
    assert by(out, "mrmc", "readers_calls")["estimate"].tolist() == [1.0]
    mrmc = mrmc[~mrmc["metric"].isin(["readers", "readers_calls"])]
    assert set(mrmc["metric"]) == {"auc_rrrc", "auc_calls_rrrc"} and mrmc["estimate"].isna().all()
    assert mrmc["note"].str.startswith(
        "not estimable: needs at least 2 human readers who read in every condition").all()
    # What one reader allows is still there.
    assert by(out, "auc", "auc_delong", reader="r1")["estimate"].item() == pytest.approx(1.0)


def test_readers_who_call_everything_benign_have_a_kappa_that_is_not_estimable():
    truth = [1, 1, 0, 0]
    out = analyse(crossed({"r1": ["benign"] * 4, "r2": ["benign"] * 4}, truth), n_boot=20)
    kappa = by(out, "kappa", "cohen_kappa")
    assert np.isnan(kappa["estimate"].item())
    assert kappa["note"].item() == ("not estimable: every rating is the same category, so chance "
                                    "agreement is 1 and kappa is 0/0")
    # Their sensitivity is 0/2, a number; their PPV is a proportion of nothing.
    assert by(out, "diagnostic", "sensitivity", reader="r1")["estimate"].item() == 0.0
    assert by(out, "diagnostic", "ppv", reader="r1")["note"].item() == (
        "not estimable: no cases called malignant")


def test_a_reader_who_calls_every_case_uncertain_sends_all_to_mri():
    truth = [1, 1, 0, 0]
    out = analyse(crossed({"r1": ["uncertain"] * 4, "r2": ["malignant", "benign"] * 2}, truth),
                  n_boot=20)
    share = by(out, "three_tier", "uncertain_share", reader="r1")
    assert share["estimate"].item() == 1.0 and share["n"].item() == 4
    auc = by(out, "three_tier", "auc_calls", reader="r1")
    assert auc["note"].item() == "not estimable: no case has a definite call (all are 'uncertain')"
    assert by(out, "three_tier", "sensitivity", reader="r1")["note"].item() == (
        "not estimable: no malignant cases")


def test_a_subgroup_with_one_benign_case_reports_every_auc_as_not_estimable():
    truth = [1, 1, 1, 0]
    calls = {"r1": ["malignant", "malignant", "benign", "benign"],
             "r2": ["malignant", "benign", "benign", "malignant"]}
    out = analyse(crossed(calls, truth, {"r1": [90, 80, 30, 10], "r2": [70, 40, 20, 60]}),
                  n_boot=20)
    for analysis, metric in (("auc", "auc_delong"), ("auc", "auc_bootstrap"),
                             ("auc", "auc_calls"), ("delong_paired", "auc_difference"),
                             ("delong_paired", "auc_calls_difference")):
        rows = by(out, analysis, metric)
        assert len(rows) >= 1 and rows["estimate"].isna().all(), (analysis, metric)
        assert rows["note"].str.contains("got 3 positive and 1 negative").all(), (analysis, metric)
    # McNemar on the benign case alone: concordant, p = 1.
    assert by(out, "mcnemar", "specificity_exact")["p_value"].item() == 1.0


def test_mrmc_of_one_condition_is_the_reader_averaged_auc_of_or_hillis():
    rng = np.random.default_rng(4)
    truth = [1] * 8 + [0] * 8
    scores = {f"r{k}": list(np.round(rng.normal(size=16) + 1.2 * np.array(truth), 3))
              for k in range(3)}
    calls = {r: ["malignant" if s > 0.6 else "benign" for s in v] for r, v in scores.items()}
    data = crossed(calls, truth, scores)
    rows = analyse_mrmc(data)
    expected = or_hillis(data).treatment_aucs
    for record in expected.itertuples():
        row = by(rows, "mrmc", f"auc_{record.analysis.lower()}", condition="CT")
        assert (row["estimate"].item(), row["ci_low"].item(), row["ci_high"].item()) == (
            record.estimate, record.ci_low, record.ci_high)
        assert row["note"].item() == ""
    assert set(analyse(data, n_boot=20).query("analysis == 'mrmc'")["metric"]) == set(rows["metric"])


CALLS = st.sampled_from(["benign", "malignant", "uncertain"])


@st.composite
def small_studies(draw) -> pd.DataFrame:
    """1-8 cases, 1-3 readers with calls (some constant, some uncertain), scores or not,
    one or two conditions, a repeat round or not."""
    n = draw(st.integers(1, 8))
    truth = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    scored = draw(st.booleans())
    three_tier = draw(st.booleans())
    conditions = ["CT", "CT + AI"][: draw(st.integers(1, 2))]
    rows = []
    for k in range(draw(st.integers(1, 3))):
        constant = draw(st.sampled_from([None, "benign", "malignant", "uncertain"]))
        for condition in conditions:
            for rnd in ["first", "repeat"][: draw(st.integers(1, 2))]:
                read = draw(st.lists(st.booleans(), min_size=n, max_size=n))
                for i in range(n):
                    if not read[i]:
                        continue
                    call = constant or draw(CALLS)
                    if not three_tier and call == "uncertain":
                        call = "benign"
                    score = float(draw(st.integers(0, 100))) if scored else np.nan
                    rows.append({"reader": f"r{k}", "case": f"c{i}", "truth": truth[i],
                                 "score": score, "call": call, "condition": condition,
                                 "round": rnd, "interval_days": 30.0 if rnd == "repeat" else np.nan})
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_studies())
def test_analyse_completes_and_every_missing_estimate_has_its_reason(data):
    assume(not data.empty)  # no reads at all is an error of analyse(), tested in test_analysis
    out = analyse(data, n_boot=20, missing="drop")
    missing = out["estimate"].isna() & out["statistic"].isna()
    unexplained = out.loc[missing & ~out["note"].map(is_not_estimable).astype(bool)]
    assert unexplained.empty, unexplained[["analysis", "reader", "other", "metric"]]
    explained = out.loc[out["note"] != ""]
    no_interval = explained["note"].map(is_no_interval).astype(bool)
    # A count of readers may name those an analysis left out (the MRMC's fully crossed design).
    left_out = explained["note"].map(is_left_out).astype(bool) & explained["metric"].isin(
        ["readers", "readers_calls"])
    assert (explained["note"].map(is_not_estimable).astype(bool) | no_interval | left_out).all()
    assert explained["note"].str.len().gt(len("not estimable: ")).all()
    # An estimate without an interval says why; no interval is ever printed with no width.
    assert explained.loc[no_interval, "estimate"].notna().all()
    assert explained.loc[no_interval, ["ci_low", "ci_high"]].isna().all().all()
    width = out["ci_high"] - out["ci_low"]
    assert not (width.abs() <= 1e-12).any(), out.loc[width.abs() <= 1e-12]
