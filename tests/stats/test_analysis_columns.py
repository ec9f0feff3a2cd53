"""analyse() of the optional inputs: three-tier calls, measurements and features; each row
equals the library function it reports, or the published figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from readerstudy.stats import three_tier
from readerstudy.stats.analysis import analyse
from readerstudy.stats.features import logistic_regression
from tests.stats.refdata import refdata
from tests.stats.test_analysis import pick


@pytest.fixture(scope="module")
def peak_flow() -> pd.DataFrame:
    """Bland & Altman (1986): 17 subjects' peak flow measured twice with each meter; each
    meter is a reader, the second measurement its repeat read."""
    pefr = refdata("bland_altman_1986_pefr.csv")
    parts = []
    for reader, meter in (("a_wright", "wright"), ("b_mini", "mini")):
        for rnd, which in (("first", "first"), ("repeat", "second")):
            parts.append(pd.DataFrame({
                "reader": reader, "case": pefr["subject"].astype(str), "round": rnd,
                "measurement_pefr": pefr[f"{meter}_{which}"].astype(float),
            }))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def test_measurements_of_two_readers_give_icc_and_bland_altman(peak_flow):
    out = analyse(peak_flow, n_boot=0)
    key = {"reader": "a_wright", "other": "b_mini"}
    # Lancet 1986: Wright minus mini Wright, first readings: bias -2.1, SD 38.8 l/min.
    bias = pick(out, "measurement", "measurement_pefr_bias", **key)
    assert round(bias["estimate"], 1) == -2.1
    assert round(pick(out, "measurement", "measurement_pefr_sd_difference", **key)["estimate"],
                 1) == 38.8  # fmt: skip
    first = peak_flow[peak_flow["round"] == "first"]
    t = stats.ttest_rel(*(first.loc[first["reader"] == r, "measurement_pefr"] for r in
                          ("a_wright", "b_mini")))  # fmt: skip
    assert (bias["statistic"], bias["p_value"]) == pytest.approx((t.statistic, t.pvalue))
    # pingouin's ICC(A,1) is Shrout & Fleiss's ICC(2,1).
    reference = pingouin.intraclass_corr(first, targets="case", raters="reader",
                                         ratings="measurement_pefr").set_index("Type")
    row = pick(out, "measurement", "measurement_pefr_icc_2_1", **key)
    assert row["estimate"] == pytest.approx(reference.loc["ICC(A,1)", "ICC"])
    assert [row["ci_low"], row["ci_high"]] == pytest.approx(
        list(reference.loc["ICC(A,1)", "CI95"]), abs=0.005)  # pingouin rounds to 0.01
    assert row["n"] == 17


def test_a_readers_repeat_measurements_are_intra_reader_rows(peak_flow):
    out = analyse(peak_flow, n_boot=0)
    wright = peak_flow[peak_flow["reader"] == "a_wright"]
    reference = pingouin.intraclass_corr(wright, targets="case", raters="round",
                                         ratings="measurement_pefr").set_index("Type")
    row = pick(out, "intra_reader", "measurement_pefr_icc_2_1", reader="a_wright")
    assert row["estimate"] == pytest.approx(reference.loc["ICC(A,1)", "ICC"])
    differences = (wright.loc[wright["round"] == "first", "measurement_pefr"].to_numpy()
                   - wright.loc[wright["round"] == "repeat", "measurement_pefr"].to_numpy())
    bias = pick(out, "intra_reader", "measurement_pefr_bias", reader="a_wright")
    assert bias["estimate"] == pytest.approx(differences.mean())


def test_a_measurement_no_case_has_from_both_readers_is_not_estimable(peak_flow):
    reads = peak_flow[peak_flow["round"] == "first"].copy()
    reads.loc[reads["reader"] == "b_mini", "measurement_pefr"] = np.r_[np.nan, [400.0] * 16]
    reads.loc[(reads["reader"] == "a_wright") & (reads["case"] != "1"), "measurement_pefr"] = None
    out = analyse(reads, n_boot=0, missing="drop")
    rows = out[out["analysis"] == "measurement"]
    assert len(rows) == 5 and rows["estimate"].isna().all()
    assert (rows["note"] == "not estimable: no case measured in both").all()


def test_a_three_tier_column_gives_the_three_tier_rows_beside_the_binary_calls():
    # The CT study's best model (docs/study-protocol.md): 34/36 malignant and 26/30 benign
    # definite cases right, 13 malignant and 7 benign cases uncertain.
    truth = np.r_[np.ones(49, int), np.zeros(37, int)]
    tiers = (["malignant"] * 34 + ["benign"] * 2 + ["uncertain"] * 13
             + ["benign"] * 26 + ["malignant"] * 4 + ["uncertain"] * 7)  # fmt: skip
    calls = [t if t != "uncertain" else ("malignant" if y else "benign")
             for t, y in zip(tiers, truth, strict=True)]
    reads = pd.DataFrame({"reader": "model", "case": [f"c{i:03d}" for i in range(86)],
                          "truth": truth, "call": calls, "three_tier": tiers})
    out = analyse(reads, n_boot=0)
    expected = three_tier.three_tier_metrics(pd.DataFrame({"truth": truth, "three_tier": tiers}))
    assert pick(out, "three_tier", "auc_calls")["estimate"] == expected.auc.estimate
    accuracy = pick(out, "three_tier", "accuracy_successes")
    assert (accuracy["estimate"], accuracy["n"]) == (60, 66)
    share = pick(out, "three_tier", "uncertain_share")
    assert (share["estimate"], share["ci_low"]) == (expected.uncertain.estimate,
                                                    expected.uncertain.ci_low)
    malignant, benign = (pick(out, "three_tier", f"uncertain_{c}") for c in ("malignant", "benign"))
    assert (malignant["estimate"], malignant["n"], benign["estimate"], benign["n"]) == (
        13, 49, 7, 37)
    # The binary calls are analysed as such.
    assert pick(out, "diagnostic", "accuracy_successes")["estimate"] == 80


def test_a_reader_whose_three_tier_calls_are_all_definite_still_has_three_tier_rows():
    reads = pd.DataFrame({"reader": "r1", "case": list("abcd"), "truth": [1, 1, 0, 0],
                          "call": ["malignant", "malignant", "benign", "benign"],
                          "three_tier": ["malignant", "malignant", "benign", None]})
    out = analyse(reads, n_boot=0, missing="drop")
    share = pick(out, "three_tier", "uncertain_share_successes")
    assert (share["estimate"], share["n"]) == (0, 3)


def test_three_tier_and_feature_values_are_checked():
    reads = pd.DataFrame({"reader": "r1", "case": ["a", "b"], "three_tier": ["benign", "maybe"]})
    with pytest.raises(ValueError, match="'three_tier' must be 'benign', 'uncertain'"):
        analyse(reads)
    reads = pd.DataFrame({"reader": "r1", "case": ["a", "b"], "feature_cleft": ["yes", "often"]})
    with pytest.raises(ValueError, match="'feature_cleft' must be 0/1"):
        analyse(reads)


@pytest.fixture(scope="module")
def feature_reads() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    truth = np.r_[np.ones(20, int), np.zeros(20, int)]
    features = {f"feature_f{i}": rng.random(40) < np.where(truth == 1, 0.7 - 0.2 * i, 0.3)
                for i in range(3)}  # fmt: skip
    reads = pd.DataFrame({"reader": "expert", "case": [f"c{i:02d}" for i in range(40)],
                          "truth": truth, **features})
    # A second reader records the features as text, as a CSV holds them; the model none.
    text = reads.assign(reader="resident", **{k: np.where(v, "yes", "no")
                                              for k, v in features.items()})
    model = reads[["case", "truth"]].assign(reader="model", reader_kind="model", score=0.5)
    return pd.concat([reads, text, model], ignore_index=True)


def test_features_are_fishers_test_with_holm_and_one_logistic_regression(feature_reads):
    out = analyse(feature_reads, n_boot=0)
    assert set(out.loc[out["analysis"] == "features", "reader"]) == {"expert", "resident"}
    expert = feature_reads[feature_reads["reader"] == "expert"]
    p_values = []
    for i in range(3):
        column = f"feature_f{i}"
        present, malignant = expert[column].to_numpy(), expert["truth"].to_numpy() == 1
        table = [[(present & malignant).sum(), (~present & malignant).sum()],
                 [(present & ~malignant).sum(), (~present & ~malignant).sum()]]
        # scipy's Fisher test and conditional odds ratio, as R's fisher.test.
        fisher = pick(out, "features", f"{column}_fisher_or", reader="expert")
        assert fisher["p_value"] == pytest.approx(stats.fisher_exact(table).pvalue)
        odds = stats.contingency.odds_ratio(table, kind="conditional")
        interval = odds.confidence_interval(0.95)
        assert [fisher["estimate"], fisher["ci_low"], fisher["ci_high"]] == pytest.approx(
            [odds.statistic, interval.low, interval.high])
        present_malignant = pick(out, "features", f"{column}_present_malignant", reader="expert")
        assert (present_malignant["estimate"], present_malignant["n"]) == (table[0][0], 20)
        p_values.append(fisher["p_value"])
    holm = [pick(out, "features", f"feature_f{i}_fisher_or_holm", reader="expert")["p_value"]
            for i in range(3)]  # fmt: skip
    assert holm == pytest.approx(multipletests(p_values, method="holm")[1])
    regression = logistic_regression(expert.astype({f"feature_f{i}": float for i in range(3)}),
                                     features=[f"feature_f{i}" for i in range(3)], truth="truth")
    terms = regression.coefficients.set_index("term")
    row = pick(out, "features", "feature_f0_logistic_or", reader="resident")
    assert (row["estimate"], row["p_value"]) == pytest.approx(
        (terms.loc["feature_f0", "odds_ratio"], terms.loc["feature_f0", "p_value"]))
    firth = pick(out, "features", "logistic_firth", reader="expert")
    assert firth["estimate"] == float(regression.method == "firth")
    assert pick(out, "features", "logistic_events", reader="expert")["estimate"] == 20


def test_features_one_class_cannot_separate_are_not_estimable(feature_reads):
    benign = feature_reads[feature_reads["truth"] == 0]
    out = analyse(benign, n_boot=0)
    logistic = out[out["metric"].str.endswith("_logistic_or")]
    assert logistic["note"].str.startswith(
        "not estimable: 'truth' needs both benign and malignant cases").all()
    assert not out["metric"].isin(["logistic_firth", "logistic_events"]).any()
