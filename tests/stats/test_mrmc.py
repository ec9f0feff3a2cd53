"""Obuchowski-Rockette-Hillis MRMC analysis against the published Van Dyke and Zanca results.

Sources of the expected figures:

- RJafrocBook, chapter "Obuchowski Rockette Applications"
  (github.com/dpc10ster/RJafrocBook, docs/10C-OR-AnalysisApplications.md): the hand
  calculation and ``StSignificanceTesting(dataset02, FOM = "Wilcoxon", method = "OR")`` on
  Van Dyke, and ``StSignificanceTesting(DfFroc2Roc(dataset04), ...)`` on Zanca's data;
- MRMCaov README (github.com/brian-j-smith/MRMCaov):
  ``summary(mrmc(empirical_auc(truth, rating), treatment, reader, case, data = VanDyke))``;
- pROC's test suite (xrobin/pROC, tests/testthat/test-roc.test.R) for the one-reader DeLong case.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from readerstudy.stats import mrmc, roc
from tests.stats.refdata import refdata


@pytest.fixture(scope="module")
def vandyke() -> pd.DataFrame:
    # The reads table's column names, which are or_hillis's defaults.
    return refdata("vandyke.csv").rename(columns={"rating": "score", "treatment": "condition"})


@pytest.fixture(scope="module")
def vandyke_result(vandyke) -> mrmc.MRMCResult:
    return mrmc.or_hillis(vandyke)


@pytest.fixture(scope="module")
def zanca_result() -> mrmc.MRMCResult:
    return mrmc.or_hillis(refdata("zanca_dataset04_inferred_roc.csv"), treatment="treatment",
                          rating="rating")


def row(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.logical_and.reduce([frame[k] == v for k, v in where.items()])
    assert mask.sum() == 1, f"expected one row for {where}"
    return frame.loc[mask].iloc[0]


def components(result: mrmc.MRMCResult) -> dict[str, float]:
    return dict(
        zip(result.variance_components["name"], result.variance_components["estimate"], strict=True)
    )


# -- Van Dyke (RJafroc dataset02, MRMCaov VanDyke) ------------------------------------


def test_vandyke_reader_aucs_match_rjafrocs_wilcoxon_figures_of_merit(vandyke_result):
    aucs = vandyke_result.reader_aucs.pivot_table(index="treatment", columns="reader", values="auc")
    np.testing.assert_allclose(
        aucs.to_numpy(),
        [
            [0.91964573, 0.85877617, 0.90386473, 0.97310789, 0.82979066],
            [0.94782609, 0.90531401, 0.92173913, 0.99935588, 0.92995169],
        ],
        atol=5e-9,
    )


def test_vandyke_variance_components_match_rjafroc_and_mrmcaov(vandyke_result):
    published = {
        "var_R": 0.00153499935,
        "var_TR": 0.00020040252,
        "cov1": 0.00034661371,
        "cov2": 0.00034407483,
        "cov3": 0.00023902837,
        "var_error": 0.00080228827,
        "corr1": 0.43203138,
        "corr2": 0.42886683,
        "corr3": 0.29793328,
        "msT": 0.0047961705,
        "msR": 0.0038362000,
        "msTR": 0.00055103062,
    }
    found = components(vandyke_result)
    for name, value in published.items():
        assert found[name] == pytest.approx(value, rel=1e-7), name


def test_vandyke_random_reader_random_case_test_matches_hillis_published_result(vandyke_result):
    # F = 4.4563187, ddf = 15.259675, p = 0.051665686; difference -0.043800322
    # with 95% CI (-0.087959499, 0.00035885444); MRMCaov: StdErr 0.02074862, t -2.110999.
    test = row(vandyke_result.global_tests, analysis="RRRC")
    assert (test.statistic, test.df_num, test.df_den, test.p_value) == pytest.approx(
        (4.4563187, 1, 15.259675, 0.051665686), rel=1e-7
    )
    pair = row(vandyke_result.comparisons, analysis="RRRC")
    assert (pair.treatment_a, pair.treatment_b) == (1, 2)
    assert (pair.estimate, pair.ci_low, pair.ci_high) == pytest.approx(
        (-0.043800322, -0.087959499, 0.00035885444), rel=1e-7
    )
    assert (pair.se, pair.statistic, pair.df, pair.p_value) == pytest.approx(
        (0.02074862, -2.110999, 15.259675, 0.051665686), rel=1e-6
    )
    assert pair.statistic_name == "t"


def test_vandyke_fixed_reader_test_matches_rjafrocs_chi_square(vandyke_result):
    # Chisq 5.4759532 (1 df), p 0.019279843; z -2.3400755, CI (-0.080485914, -0.0071147303).
    test = row(vandyke_result.global_tests, analysis="FRRC")
    assert test.statistic_name == "chi2"
    assert (test.statistic, test.p_value) == pytest.approx((5.4759532, 0.019279843), rel=1e-7)
    pair = row(vandyke_result.comparisons, analysis="FRRC")
    assert (pair.se, pair.statistic, pair.ci_low, pair.ci_high) == pytest.approx(
        (0.018717483, -2.3400755, -0.080485914, -0.0071147303), rel=1e-7
    )
    assert pair.df == np.inf and pair.statistic_name == "z"


def test_vandyke_random_reader_fixed_case_test_matches_rjafroc(vandyke_result):
    # F 8.704 on (1, 4) df, p 0.041958752; CI (-0.085020224, -0.0025804202).
    test = row(vandyke_result.global_tests, analysis="RRFC")
    assert (test.statistic, test.df_den, test.p_value) == pytest.approx(
        (8.704, 4, 0.041958752), rel=1e-7
    )
    pair = row(vandyke_result.comparisons, analysis="RRFC")
    assert (pair.se, pair.ci_low, pair.ci_high) == pytest.approx(
        (0.014846287, -0.085020224, -0.0025804202), rel=1e-7
    )


@pytest.mark.parametrize(
    ("analysis", "treatment", "expected"),
    [
        # (estimate, se, df, ci_low, ci_high) from RJafroc's ciAvgRdrEachTrt tables
        ("RRRC", 1, (0.89703704, 0.033173597, 12.744648, 0.82522360, 0.96885048)),
        ("RRRC", 2, (0.94083736, 0.021566368, 12.710190, 0.89413783, 0.98753689)),
        ("FRRC", 1, (0.89703704, 0.024289710, np.inf, 0.84943008, 0.94464399)),
        ("FRRC", 2, (0.94083736, 0.016776324, np.inf, 0.90795637, 0.97371835)),
        ("RRFC", 1, (0.89703704, 0.024829936, 4, 0.82809808, 0.96597599)),
        ("RRFC", 2, (0.94083736, 0.016153030, 4, 0.89598936, 0.98568536)),
    ],
)
def test_vandyke_single_treatment_intervals_match_rjafroc(
    vandyke_result, analysis, treatment, expected
):
    found = row(vandyke_result.treatment_aucs, analysis=analysis, treatment=treatment)
    assert tuple(found[["estimate", "se", "df", "ci_low", "ci_high"]]) == pytest.approx(
        expected, rel=1e-7
    )


def test_one_treatment_alone_gives_the_same_intervals_and_no_comparison(vandyke, vandyke_result):
    alone = mrmc.or_hillis(vandyke[vandyke["condition"] == 1])
    pd.testing.assert_frame_equal(
        alone.treatment_aucs.reset_index(drop=True),
        vandyke_result.treatment_aucs.query("treatment == 1").reset_index(drop=True),
    )
    assert alone.comparisons.empty and alone.global_tests.empty
    found = components(alone)
    # RJafroc IndividualTrt for trt0: msR 0.0030826287, var 0.00101410277, cov2 0.00048396180
    assert (found["msR"], found["var_error"], found["cov2"]) == pytest.approx(
        (0.0030826287, 0.00101410277, 0.00048396180), rel=1e-7
    )
    assert np.isnan(found["cov1"]) and np.isnan(found["msTR"])


def test_one_reader_alone_gives_only_the_fixed_reader_analysis(vandyke):
    # RJafroc FRRC ciDiffTrtEachRdr, rdr0::trt0-trt1: -0.028180354, StdErr 0.025512133,
    # z -1.10458638, p 0.269338854.
    alone = mrmc.or_hillis(vandyke[vandyke["reader"] == 1])
    assert set(alone.comparisons["analysis"]) == {"FRRC"}
    pair = alone.comparisons.iloc[0]
    assert (pair.estimate, pair.se, pair.statistic, pair.p_value) == pytest.approx(
        (-0.028180354, 0.025512133, -1.10458638, 0.269338854), rel=1e-7
    )


# -- Zanca (RJafroc dataset04 reduced to ROC): five treatments, negative var_TR --------


def test_zanca_negative_treatment_by_reader_variance_is_reported_unconstrained(zanca_result):
    found = components(zanca_result)
    assert found["var_TR"] == pytest.approx(-1.0925227e-05, rel=1e-6)
    assert (found["var_R"], found["cov1"], found["cov2"], found["cov3"], found["var_error"]) == (
        pytest.approx(
            (1.2837211e-03, 2.9480096e-04, 2.3331406e-04, 2.1212789e-04, 7.8911924e-04), rel=1e-7
        )
    )


def test_zanca_treatment_means_and_global_tests_match_rjafroc(zanca_result):
    means = zanca_result.treatment_aucs.query("analysis == 'RRRC'")["estimate"]
    assert means.to_numpy() == pytest.approx(
        [0.8451625, 0.8502625, 0.8098375, 0.8505750, 0.8083875]
    )
    tests = zanca_result.global_tests.set_index("analysis")
    assert tuple(tests.loc["RRRC", ["statistic", "df_num", "df_den", "p_value"]]) == pytest.approx(
        (3.4682364, 4, 16.803749, 0.030544556), rel=1e-7
    )
    assert tuple(tests.loc["FRRC", ["statistic", "p_value"]]) == pytest.approx(
        (13.601264, 0.0086826618), rel=1e-7
    )
    assert tuple(tests.loc["RRFC", ["statistic", "df_den", "p_value"]]) == pytest.approx(
        (4.1041306, 12, 0.025328308), rel=1e-7
    )


def test_zanca_has_all_ten_pairwise_comparisons_with_rjafrocs_intervals(zanca_result):
    rrrc = zanca_result.comparisons.query("analysis == 'RRRC'")
    assert len(rrrc) == 10
    assert rrrc["se"].to_numpy() == pytest.approx([0.016537103] * 10, rel=1e-7)
    pair = row(zanca_result.comparisons, analysis="RRRC", treatment_a=4, treatment_b=5)
    assert (pair.estimate, pair.ci_low, pair.ci_high, pair.p_value) == pytest.approx(
        (0.0421875, 0.00726619549, 0.0771088045, 0.020792673), rel=1e-7
    )
    frrc = row(zanca_result.comparisons, analysis="FRRC", treatment_a=1, treatment_b=3)
    assert (frrc.ci_low, frrc.ci_high) == pytest.approx((0.0025907614, 0.0680592386), rel=1e-7)
    rrfc = row(zanca_result.comparisons, analysis="RRFC", treatment_a=3, treatment_b=4)
    assert (rrfc.ci_low, rrfc.ci_high) == pytest.approx((-0.0738600014, -0.0076149986), rel=1e-7)


def test_negative_cov2_minus_cov3_is_set_to_zero_in_the_denominators():
    # Hillis (2007): den = MS(TR) + r * max(Cov2 - Cov3, 0).
    vc = {"msTR": 0.002, "var_error": 0.001, "cov1": 0.0004, "cov2": 0.0002, "cov3": 0.0003}
    den = mrmc._denominators(vc, t=2, r=4)
    # Nothing is added to MS(TR), so Hillis' ddf falls back to (t-1)(r-1) = 3.
    assert den["RRRC"] == (0.002, 3.0)
    assert den["FRRC"] == (pytest.approx(0.001 - 0.0004), np.inf)
    assert den["RRFC"] == (0.002, 3.0)


# -- DeLong covariance and the jackknife -----------------------------------------------


def test_one_reader_with_delong_covariance_is_procs_paired_delong_test():
    # pROC test-roc.test.R: roc.test(r.wfns, r.s100b): Z = 2.20898359144091,
    # p = 0.0271757822291882. Treatments sort as s100b, wfns, so z changes sign.
    data = refdata("aSAH.csv")
    poor = (data["outcome"] == "Poor").astype(int)
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "reader": "r1",
                    "condition": marker,
                    "case": data.index,
                    "truth": poor,
                    "score": data[marker],
                }
            )
            for marker in ("wfns", "s100b")
        ]
    )
    result = mrmc.or_hillis(long, covariance="delong")
    pair = result.comparisons.iloc[0]
    assert (pair.treatment_a, pair.treatment_b) == ("s100b", "wfns")
    assert pair.statistic == pytest.approx(-2.20898359144091, rel=1e-12)
    assert pair.p_value == pytest.approx(0.0271757822291882, rel=1e-12)


def test_delong_error_variance_is_the_mean_squared_delong_se(vandyke):
    result = mrmc.or_hillis(vandyke, covariance="delong")
    squared_se = [
        roc.auc_delong(group).se ** 2
        for _, group in vandyke.sort_values("case").groupby(["condition", "reader"])
    ]
    assert components(result)["var_error"] == pytest.approx(np.mean(squared_se), rel=1e-12)
    # jackknife and DeLong estimate the same covariance: close on 114 cases
    assert components(result)["var_error"] == pytest.approx(0.00080228827, rel=0.05)


def test_closed_form_jackknife_equals_recomputing_every_leave_one_out_auc():
    rng = np.random.default_rng(3)
    n, readers = 24, ["a", "b", "c"]
    truth = np.r_[np.ones(10), np.zeros(14)].astype(int)
    rows = []
    for treatment in ("CT", "MRI"):
        for reader in readers:
            rating = np.clip(np.round(rng.normal(size=n) + 1.5 * truth + 3), 1, 5)
            rows.append(
                pd.DataFrame(
                    {
                        "reader": reader,
                        "condition": treatment,
                        "case": np.arange(n),
                        "truth": truth,
                        "score": rating,
                    }
                )
            )
    long = pd.concat(rows)
    scores = long.sort_values(["condition", "reader", "case"])["score"].to_numpy().reshape(6, n)
    loo = np.array(
        [
            [metrics.roc_auc_score(np.delete(truth, k), np.delete(s, k)) for s in scores]
            for k in range(n)
        ]
    )
    dev = loo - loo.mean(axis=0)
    aucs = np.array([metrics.roc_auc_score(truth, s) for s in scores]).reshape(2, 3)
    expected = mrmc.or_variance_components(aucs, (n - 1) / n * dev.T @ dev)
    result = mrmc.or_hillis(long)
    found = components(result)
    for name in ("var_error", "cov1", "cov2", "cov3", "msT", "msTR"):
        assert found[name] == pytest.approx(expected[name], rel=1e-10), name
    ct = row(result.treatment_aucs, analysis="RRRC", treatment="CT")
    assert ct.estimate == pytest.approx(aucs[0].mean())


# -- input checks and the missing-data policy -----------------------------------------


def test_a_missing_score_is_refused_naming_the_column(vandyke):
    holed = vandyke.copy()
    holed.loc[holed.index[10], "score"] = np.nan
    with pytest.raises(ValueError, match=r"missing values in 'score': 1 row\(s\) of 1140"):
        mrmc.or_hillis(holed)


def test_missing_drop_drops_the_case_for_every_reader_and_treatment(vandyke):
    holed = vandyke.copy()
    holed.loc[
        (holed["case"] == 7) & (holed["reader"] == 3) & (holed["condition"] == 2), "score"
    ] = np.nan
    dropped = mrmc.or_hillis(holed, missing="drop")
    reference = mrmc.or_hillis(vandyke[vandyke["case"] != 7])
    pd.testing.assert_frame_equal(dropped.comparisons, reference.comparisons)
    pd.testing.assert_frame_equal(dropped.variance_components, reference.variance_components)


def test_an_unread_combination_is_refused_or_its_case_dropped(vandyke):
    unread = vandyke.drop(vandyke.index[(vandyke["case"] == 9) & (vandyke["reader"] == 2)])
    with pytest.raises(ValueError, match="not fully crossed: 2 reader x treatment x case"):
        mrmc.or_hillis(unread)
    dropped = mrmc.or_hillis(unread, missing="drop")
    reference = mrmc.or_hillis(vandyke[vandyke["case"] != 9])
    pd.testing.assert_frame_equal(dropped.treatment_aucs, reference.treatment_aucs)


def test_a_read_given_twice_is_refused(vandyke):
    with pytest.raises(ValueError, match="appear more than once"):
        mrmc.or_hillis(pd.concat([vandyke, vandyke.iloc[[0]]]))


def test_truth_that_differs_within_a_case_is_refused(vandyke):
    bad = vandyke.copy()
    bad.loc[bad.index[0], "truth"] = 1 - bad.loc[bad.index[0], "truth"]
    with pytest.raises(ValueError, match="truth is a property of the case"):
        mrmc.or_hillis(bad)


def test_a_missing_column_is_refused_listing_the_columns(vandyke):
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['rating'\]"):
        mrmc.or_hillis(vandyke, rating="rating")


def test_an_unknown_covariance_method_is_refused(vandyke):
    with pytest.raises(ValueError, match="covariance must be 'jackknife' or 'delong'"):
        mrmc.or_hillis(vandyke, covariance="bootstrap")


def test_reader_averaged_auc_intervals_are_truncated_to_the_auc_range_and_say_how():
    # Three readers who separate 6 malignant from 6 benign cases almost perfectly: the t
    # interval of the reader-averaged AUC passes 1 (RJafroc and iMRMC print it as it is).
    rng = np.random.default_rng(1)
    truth = np.r_[np.ones(6), np.zeros(6)]
    data = pd.DataFrame([
        {"condition": t, "reader": r, "case": f"c{i}", "truth": truth[i], "score": s}
        for t in ("A", "B") for r in ("r1", "r2", "r3")
        for i, s in enumerate(truth * 2 + rng.normal(0, 0.6, 12))
    ])
    result = mrmc.or_hillis(data, rating="score")
    aucs = result.treatment_aucs
    assert ((aucs["ci_low"] >= 0) & (aucs["ci_high"] <= 1)).all()
    a = aucs.set_index(["analysis", "treatment"]).loc[("RRRC", "A")]
    assert a["ci_high"] == 1.0 and a["estimate"] + a["se"] * 4.302652729749464 > 1.0  # t(2)
    assert a["ci_method"] == "t (df 2), truncated to [0, 1]"
    assert (result.comparisons["ci_method"].str.endswith("truncated to [-1, 1]")).all()
