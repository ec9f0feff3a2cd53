"""analyse(): every row equals the library function it reports, on public and published data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from readerstudy.stats import agreement, bland_altman, icc, mcnemar, roc
from readerstudy.stats.analysis import ANALYSES, RESULT_COLUMNS, analyse
from readerstudy.stats.bootstrap import bootstrap_auc
from readerstudy.stats.mrmc import or_hillis
from readerstudy.stats.proportions import diagnostic_metrics
from readerstudy.stats.sample_size import or_cases_needed, or_pilot, or_power
from tests.stats.refdata import refdata


@pytest.fixture(scope="module")
def vandyke() -> pd.DataFrame:
    """Van Dyke et al. (1993): 5 readers x 2 modalities x 114 cases, ratings 1-5.

    Calls are ratings >= 3; a model reads modality 1 with a continuous score.
    """
    v = refdata("vandyke.csv")
    reads = pd.DataFrame(
        {
            "reader": "reader" + v["reader"].astype(str),
            "case": v["case"],
            "truth": v["truth"],
            "score": v["rating"].astype(float),
            "call": np.where(v["rating"] >= 3, "malignant", "benign"),
            "condition": "modality" + v["treatment"].astype(str),
        }
    )
    rng = np.random.default_rng(0)
    cases = v.drop_duplicates("case").sort_values("case")
    model_score = cases["truth"].to_numpy() * 1.2 + rng.normal(size=len(cases))
    model = pd.DataFrame(
        {
            "reader": "model-resnet",
            "case": cases["case"].to_numpy(),
            "truth": cases["truth"].to_numpy(),
            "score": model_score,
            "call": np.where(model_score > 0.6, "malignant", "benign"),
            "condition": "modality1",
        }
    )
    return pd.concat([reads, model], ignore_index=True)


@pytest.fixture(scope="module")
def results(vandyke) -> pd.DataFrame:
    return analyse(vandyke, n_boot=200, seed=3)


def pick(results: pd.DataFrame, analysis: str, metric: str, **where: str) -> pd.Series:
    rows = results[(results["analysis"] == analysis) & (results["metric"] == metric)]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, f"{len(rows)} rows for {analysis}/{metric}/{where}"
    return rows.iloc[0]


def one(vandyke: pd.DataFrame, reader: str, condition: str = "modality1") -> pd.DataFrame:
    rows = vandyke[(vandyke["reader"] == reader) & (vandyke["condition"] == condition)]
    return rows.sort_values("case").reset_index(drop=True)


def test_results_have_exactly_the_interface_columns(results):
    assert tuple(results.columns) == RESULT_COLUMNS
    assert str(results["n"].dtype) == "Int64"
    assert list(pd.unique(results["analysis"])) == [
        a for a in ANALYSES if a in set(results["analysis"])
    ]


def test_reader_auc_rows_are_delong_and_bootstrap_without_rounding(results, vandyke):
    r1 = one(vandyke, "reader1")
    expected = roc.auc_delong(r1)
    row = pick(results, "auc", "auc_delong", reader="reader1", condition="modality1")
    assert (row["estimate"], row["ci_low"], row["ci_high"], row["n"]) == (
        expected.estimate, expected.ci_low, expected.ci_high, 114,
    )  # fmt: skip
    readers = ["reader1", "reader2", "reader3", "reader4", "reader5", "model-resnet"]
    scores = pd.DataFrame({r: one(vandyke, r)["score"] for r in readers}).assign(
        truth=r1["truth"])
    boot = bootstrap_auc(scores, score=readers, n_boot=200, seed=3)
    row = pick(results, "auc", "auc_bootstrap", reader="reader1", condition="modality1")
    assert (row["ci_low"], row["ci_high"]) == (boot["ci_low"].iloc[0], boot["ci_high"].iloc[0])


def test_auc_from_calls_and_diagnostic_proportions_match_the_library(results, vandyke):
    r2 = one(vandyke, "reader2", "modality2")
    auc = roc.auc_from_calls(r2)
    assert (
        pick(results, "auc", "auc_calls", reader="reader2", condition="modality2")["estimate"]
        == auc.estimate
    )
    m = diagnostic_metrics(r2)
    sens = pick(results, "diagnostic", "sensitivity", reader="reader2", condition="modality2")
    assert (sens["estimate"], sens["ci_low"], sens["n"]) == (
        m.sensitivity.estimate, m.sensitivity.ci_low, m.sensitivity.total,
    )  # fmt: skip
    cp = pick(results, "diagnostic", "npv_clopper_pearson", reader="reader2", condition="modality2")
    assert (cp["ci_low"], cp["ci_high"]) == (m.npv.exact_ci_low, m.npv.exact_ci_high)
    count = pick(
        results, "diagnostic", "specificity_successes", reader="reader2", condition="modality2"
    )
    assert (count["estimate"], count["n"]) == (m.specificity.successes, m.specificity.total)


def test_paired_delong_rows_equal_delong_paired(results, vandyke):
    a, b = one(vandyke, "reader1"), one(vandyke, "model-resnet")
    expected = roc.delong_paired(a.assign(model=b["score"]), x="score", y="model")
    row = pick(results, "delong_paired", "auc_difference", reader="reader1", other="model-resnet")
    np.testing.assert_allclose(
        row[["estimate", "ci_low", "ci_high", "statistic", "p_value"]].astype(float),
        [
            expected.estimate,
            expected.ci_low,
            expected.ci_high,
            expected.statistic,
            expected.p_value,
        ],
        rtol=1e-12,
    )


def test_the_model_is_always_the_other_reader_of_a_pair(results):
    pairs = results[results["other"] != ""]
    assert not (pairs["reader"] == "model-resnet").any()
    assert (pairs["other"] == "model-resnet").any()


def test_mcnemar_rows_equal_the_reader_helpers(results, vandyke):
    a, b = one(vandyke, "reader3"), one(vandyke, "reader5")
    pair = a.assign(other=b["call"])
    for name, helper in (
        ("sensitivity", mcnemar.mcnemar_sensitivity),
        ("specificity", mcnemar.mcnemar_specificity),
        ("accuracy", mcnemar.mcnemar_accuracy),
    ):
        for method in ("exact", "chi2"):
            expected = helper(pair, x="call", y="other", method=method)
            row = pick(results, "mcnemar", f"{name}_{method}", reader="reader3", other="reader5",
                       condition="modality1")  # fmt: skip
            assert (row["estimate"], row["statistic"], row["p_value"], row["n"]) == (
                expected.estimate, expected.statistic, expected.p_value, expected.n,
            )  # fmt: skip


def test_kappa_and_bland_altman_rows_equal_the_library(results, vandyke):
    a, b = one(vandyke, "reader1", "modality2"), one(vandyke, "reader4", "modality2")
    pair = a.assign(other_call=b["call"], other_score=b["score"])
    k = agreement.cohen_kappa(pair, x="call", y="other_call")
    row = pick(
        results, "kappa", "cohen_kappa", reader="reader1", other="reader4", condition="modality2"
    )
    assert (row["estimate"], row["ci_low"], row["statistic"]) == (k.estimate, k.ci_low, k.statistic)
    observed = pick(results, "kappa", "observed_agreement", reader="reader1", other="reader4",
                    condition="modality2")  # fmt: skip
    assert (observed["estimate"], observed["n"]) == (np.mean(a["call"] == b["call"]), 114)
    ba = bland_altman.bland_altman(pair, x="score", y="other_score")
    key = {"reader": "reader1", "other": "reader4", "condition": "modality2"}
    assert pick(results, "bland_altman", "bias", **key)["estimate"] == ba.estimate
    assert pick(results, "bland_altman", "loa_upper", **key)["ci_high"] == ba.loa_high_ci_high
    assert pick(results, "bland_altman", "sd_difference", **key)["estimate"] == ba.sd


def test_all_reader_analyses_use_the_human_readers_only(results, vandyke):
    humans = vandyke[(vandyke["condition"] == "modality1") & (vandyke["reader"] != "model-resnet")]
    expected = agreement.fleiss_kappa(humans)
    row = pick(results, "fleiss_kappa", "fleiss_kappa", condition="modality1")
    assert (row["estimate"], row["statistic"], row["n"]) == (
        expected.estimate,
        expected.statistic,
        114,
    )
    forms = icc.icc(humans)
    row = pick(results, "icc", "icc_2_1", condition="modality1")
    by_form = {r.form: r for r in forms}
    # Same formulas; the readers' column order may differ, hence the last-bit tolerance.
    np.testing.assert_allclose(
        row[["estimate", "ci_low", "ci_high", "df"]].astype(float),
        [by_form["ICC(2,1)"].estimate, by_form["ICC(2,1)"].ci_low, by_form["ICC(2,1)"].ci_high,
         by_form["ICC(2,1)"].df2],
        rtol=1e-13,
    )  # fmt: skip
    assert set(results.loc[results["analysis"] == "icc", "metric"]) == {
        "icc_1_1", "icc_2_1", "icc_3_1", "icc_1_k", "icc_2_k", "icc_3_k",
    }  # fmt: skip


def test_mrmc_rows_equal_or_hillis_on_the_human_readers(results, vandyke):
    humans = vandyke[vandyke["reader"] != "model-resnet"]
    expected = or_hillis(humans)
    rrrc = expected.comparisons.set_index("analysis").loc["RRRC"]
    row = pick(results, "mrmc", "auc_difference_rrrc")
    assert (row["condition"], row["other"]) == ("modality1", "modality2")
    np.testing.assert_allclose(
        row[["estimate", "statistic", "df", "p_value"]].astype(float),
        [rrrc.estimate, rrrc.statistic, rrrc.df, rrrc.p_value],
    )
    # The normal-based (FRRC) analysis has no degrees of freedom: NaN, as for z tests.
    assert np.isnan(pick(results, "mrmc", "auc_difference_frrc")["df"])
    assert pick(results, "mrmc", "auc_calls_difference_rrrc")["n"] == 114
    assert pick(results, "mrmc", "readers")["estimate"] == 5  # the model is left out


def test_power_rows_equal_the_sample_size_functions_on_the_human_readers(results, vandyke):
    humans = vandyke[vandyke["reader"] != "model-resnet"]
    pilot = or_pilot(or_hillis(humans), cases=114)  # the model is left out: 5 readers
    assert pick(results, "power", "auc_power_pilot_readers")["estimate"] == 5
    observed = pick(results, "power", "auc_power_effect_observed")
    assert (observed["condition"], observed["other"], observed["n"]) == (
        "modality1", "modality2", 114)  # fmt: skip
    # Same formulas; the readers' order may differ, hence the last-bit tolerance.
    assert observed["estimate"] == pytest.approx(pilot.effect, rel=1e-12)
    for readers in (3, 5, 10, 20):
        for kind, effect in (("observed", None), ("chosen", 0.05)):
            row = pick(results, "power", f"auc_power_rrrc_{kind}_readers_{readers}")
            expected = or_power(pilot, readers=readers, cases=114, effect=effect)
            assert tuple(row[["estimate", "statistic", "df"]]) == pytest.approx(
                (expected.power, expected.ncp, expected.df_den), rel=1e-12)  # fmt: skip
            row = pick(results, "power", f"auc_cases_needed_rrrc_{kind}_readers_{readers}")
            needed = or_cases_needed(pilot, readers=readers, effect=effect)
            if needed.cases is None:
                assert np.isnan(row["estimate"]) and needed.not_estimable in row["note"]
            else:
                assert row["estimate"] == needed.cases and row["note"] == ""
    # The calls are rated too, on the same design.
    assert pick(results, "power", "auc_calls_power_effect_observed")["n"] == 114


def test_power_with_one_human_reader_is_a_stated_reason_and_with_one_condition_absent(vandyke):
    one_reader = vandyke[vandyke["reader"].isin(["reader1", "model-resnet"])]
    out = analyse(one_reader, n_boot=0)
    row = pick(out, "power", "auc_power_rrrc")
    assert np.isnan(row["estimate"])
    assert row["note"] == (
        "not estimable: needs at least 2 human readers who read in every condition, got 1")
    assert (row["condition"], row["other"]) == ("modality1", "modality2")
    alone = analyse(vandyke[vandyke["condition"] == "modality1"], n_boot=0)
    assert not (alone["analysis"] == "power").any()


def test_the_chosen_power_effect_is_validated(vandyke):
    with pytest.raises(ValueError, match="power_effect must be a difference"):
        analyse(vandyke, n_boot=0, power_effect=-0.05)


def test_without_truth_only_agreement_is_computed(vandyke):
    out = analyse(vandyke.drop(columns="truth"), n_boot=10)
    assert set(out["analysis"]) == {"kappa", "bland_altman", "fleiss_kappa", "icc"}


def test_three_tier_calls_give_three_tier_rows_and_weighted_kappa():
    # The CT study's best model (STUDY-PROTOCOL.md) against a reader with binary calls.
    truth = np.r_[np.ones(49, int), np.zeros(37, int)]
    model = (["malignant"] * 34 + ["benign"] * 2 + ["uncertain"] * 13
             + ["benign"] * 26 + ["malignant"] * 4 + ["uncertain"] * 7)  # fmt: skip
    resident = ["malignant"] * 33 + ["benign"] * 16 + ["benign"] * 26 + ["malignant"] * 11
    cases = [f"case{i:03d}" for i in range(86)]
    reads = pd.concat(
        [
            pd.DataFrame({"reader": "model", "case": cases, "truth": truth, "call": model}),
            pd.DataFrame({"reader": "resident", "case": cases, "truth": truth, "call": resident}),
        ]
    )
    out = analyse(reads, n_boot=10)
    acc = pick(out, "three_tier", "accuracy_successes", reader="model")
    assert (acc["estimate"], acc["n"]) == (60, 66)
    assert round(pick(out, "three_tier", "auc_calls", reader="model")["estimate"], 2) == 0.91
    share = pick(out, "three_tier", "uncertain_share_successes", reader="model")
    assert (share["estimate"], share["n"]) == (20, 86)
    assert pick(out, "auc", "auc_calls", reader="resident")["estimate"] == pytest.approx(
        (33 / 49 + 26 / 37) / 2
    )
    assert "cohen_kappa_linear" in set(out.loc[out["analysis"] == "kappa", "metric"])
    # McNemar needs definite benign/malignant calls from both readers.
    assert "mcnemar" not in set(out["analysis"])


def test_repeat_reads_give_intra_reader_agreement_and_the_interval():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 2, 20)
    first = truth + rng.normal(0, 0.5, 20)
    repeat = first + rng.normal(0, 0.2, 20)
    cases = [f"c{i}" for i in range(20)]
    reads = pd.concat(
        [
            pd.DataFrame({"reader": "r1", "case": cases, "truth": truth, "score": first,
                          "call": np.where(first > 0.5, 1, 0), "round": "first"}),
            pd.DataFrame({"reader": "r1", "case": cases, "truth": truth, "score": repeat,
                          "call": np.where(repeat > 0.5, 1, 0), "round": "repeat",
                          "interval_days": np.arange(30, 50)}),
        ]
    )  # fmt: skip
    out = analyse(reads, n_boot=10)
    intra = out[out["analysis"] == "intra_reader"].set_index("metric")
    calls = pd.DataFrame({"first": np.where(first > 0.5, 1, 0),
                          "repeat": np.where(repeat > 0.5, 1, 0)})
    kappa = agreement.cohen_kappa(calls, x="first", y="repeat")
    assert intra.loc["cohen_kappa", "estimate"] == pytest.approx(kappa.estimate)
    forms = {r.form: r for r in icc.icc_wide(np.column_stack([first, repeat]))}
    assert intra.loc["icc_2_1", "estimate"] == forms["ICC(2,1)"].estimate
    assert (
        intra.loc["interval_days_min", "estimate"],
        intra.loc["interval_days_max", "estimate"],
    ) == (30, 49)
    assert intra.loc["interval_days_median", "n"] == 20
    # Only the first round enters the reader's diagnostic rows.
    assert (
        pick(out, "auc", "auc_delong", reader="r1")["estimate"]
        == roc.auc_delong(pd.DataFrame({"truth": truth, "score": first})).estimate
    )


def base_reads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "reader": ["r1", "r1", "r1", "r1", "r2", "r2", "r2", "r2"],
            "case": ["a", "b", "c", "d"] * 2,
            "truth": ["1", "0", "1", "0"] * 2,
            "score": ["0.9", "0.2", "0.7", "0.4", "0.8", "0.1", "0.3", "0.6"],
        },
        index=pd.RangeIndex(2, 10, name="line"),
    )


def test_text_input_as_read_from_a_csv_is_converted():
    out = analyse(base_reads(), n_boot=10)
    assert pick(out, "auc", "auc_delong", reader="r1")["estimate"] == 1.0


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("truth", "2", r"'truth' must be 0 \(benign\) or 1 \(malignant\): line 4"),
        ("truth", "yes", r"'truth' must be numeric: line 4"),
        ("score", "high", r"'score' must be numeric: line 4"),
        ("reader", None, r"'reader' is empty at line 4"),
    ],
)
def test_bad_cells_are_reported_with_their_line_and_column(column, value, message):
    reads = base_reads()
    reads.loc[4, column] = value
    with pytest.raises(ValueError, match=message):
        analyse(reads, n_boot=10)


def test_conflicting_truth_for_one_case_is_refused():
    reads = base_reads()
    reads.loc[6, "truth"] = "0"  # r2's read of case "a"
    with pytest.raises(ValueError, match=r"differs between reads of the same case: lines 2, 6"):
        analyse(reads, n_boot=10)


def test_a_duplicated_read_is_refused():
    reads = pd.concat([base_reads(), base_reads().iloc[[0]].set_axis(pd.Index([10], name="line"))])
    with pytest.raises(ValueError, match=r"read the same case twice.*lines 2, 10"):
        analyse(reads, n_boot=10)


def test_a_partly_scored_reader_raises_unless_missing_is_drop():
    reads = base_reads()
    reads.loc[3, "score"] = None
    with pytest.raises(ValueError, match=r"'score' is empty at line 3"):
        analyse(reads, n_boot=10)
    out = analyse(reads, n_boot=10, missing="drop")
    assert pick(out, "auc", "auc_delong", reader="r2")["n"] == 4
    # r1 has 1 benign case left: its AUCs are reported as not estimable, with the reason.
    r1 = out.query("analysis == 'auc' and reader == 'r1'")
    assert set(r1["metric"]) == {"auc_delong", "auc_bootstrap"}
    assert r1["estimate"].isna().all()
    assert (r1["note"] == "not estimable: DeLong's variance needs at least 2 positive "
            "(malignant) and 2 negative (benign) cases; got 2 positive and 1 negative").all()


def test_required_columns_and_known_values_are_checked():
    with pytest.raises(ValueError, match=r"lack required column\(s\) \['case'\]"):
        analyse(base_reads().drop(columns="case"))
    with pytest.raises(ValueError, match="'round' must be 'first' or 'repeat'"):
        analyse(base_reads().assign(round="second"))
    with pytest.raises(ValueError, match="'reader_kind' must be 'human' or 'model'"):
        analyse(base_reads().assign(reader_kind="robot"))
    with pytest.raises(ValueError, match="n_boot"):
        analyse(base_reads(), n_boot=-1)


def test_no_bootstrap_resamples_leave_the_bootstrap_out_and_nothing_else():
    without = analyse(base_reads(), n_boot=0)
    assert "auc_bootstrap" not in set(without["metric"])
    with_boot = analyse(base_reads(), n_boot=10)
    pd.testing.assert_frame_equal(
        with_boot[with_boot["metric"] != "auc_bootstrap"].reset_index(drop=True), without)


def test_readers_who_read_different_cases_are_compared_on_the_cases_they_share(vandyke):
    reads = vandyke[vandyke["condition"] == "modality1"]
    reads = reads[~((reads["reader"] == "reader2") & (reads["case"] <= 30))]
    out = analyse(reads, n_boot=50)
    a, b = one(vandyke, "reader1"), one(vandyke, "reader2")
    shared = a["case"] > 30
    both = a.assign(other=b["score"])[shared]
    expected = roc.delong_paired(both, x="score", y="other")
    row = pick(out, "delong_paired", "auc_difference", reader="reader1", other="reader2")
    assert row["n"] == shared.sum() == 84
    np.testing.assert_allclose(
        row[["estimate", "statistic", "p_value"]].astype(float),
        [expected.estimate, expected.statistic, expected.p_value],
        rtol=1e-12,
    )
    boot = bootstrap_auc(b[shared], n_boot=50)
    row = pick(out, "auc", "auc_bootstrap", reader="reader2")
    assert (row["ci_low"], row["ci_high"], row["n"]) == (
        boot["ci_low"].iloc[0],
        boot["ci_high"].iloc[0],
        84,
    )
