"""Features: R's fisher.test example, statsmodels' Holm and Logit, Firth's known 2 x 2 solution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from readerstudy.stats.features import (
    detect_separation,
    fisher_per_feature,
    holm,
    logistic_regression,
)


def cases_from_table(a: int, b: int, c: int, d: int, feature: str = "f") -> pd.DataFrame:
    """Cases from a 2 x 2 table: rows malignant / benign, columns present / absent."""
    rows = [(1, 1)] * a + [(1, 0)] * b + [(0, 1)] * c + [(0, 0)] * d
    return pd.DataFrame(rows, columns=["truth", feature])


def test_fisher_matches_r_tea_tasting_example():
    # R documentation of fisher.test, "TeaTasting" (Agresti 1990): p-value = 0.4857,
    # conditional MLE odds ratio 6.408309, 95% CI 0.2117329 to 621.9337505. R finds the
    # upper bound with uniroot's default tolerance; scipy solves it more precisely
    # (626.2), so the upper bound is compared loosely.
    data = cases_from_table(3, 1, 1, 3, feature="milk_first")
    row = fisher_per_feature(data, features=["milk_first"], truth="truth").iloc[0]
    assert row["p_value"] == pytest.approx(0.4857, abs=5e-5)
    assert row["estimate"] == pytest.approx(6.408309, rel=1e-5)
    assert row["ci_low"] == pytest.approx(0.2117329, rel=1e-4)
    assert row["ci_high"] == pytest.approx(621.9337505, rel=0.01)


def test_fisher_counts_and_p_values_per_feature():
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, 60)
    data = pd.DataFrame(
        {
            "truth": truth,
            "mass": (rng.random(60) < np.where(truth == 1, 0.7, 0.2)).astype(int),
            "cleft": (rng.random(60) < 0.3).astype(int),
        }
    )
    out = fisher_per_feature(data, features=["mass", "cleft"], truth="truth")
    for _, row in out.iterrows():
        present = data[row["feature"]] == 1
        malignant = data["truth"] == 1
        table = [
            [(present & malignant).sum(), (~present & malignant).sum()],
            [(present & ~malignant).sum(), (~present & ~malignant).sum()],
        ]
        assert row["present_malignant"] == table[0][0]
        assert row["n_malignant"] + row["n_benign"] == row["n"] == 60
        assert row["p_value"] == pytest.approx(stats.fisher_exact(table).pvalue)
    np.testing.assert_allclose(out["p_holm"], multipletests(out["p_value"], method="holm")[1])


def test_a_feature_seen_in_one_group_only_has_an_undefined_odds_ratio_but_a_p_value():
    data = cases_from_table(0, 10, 0, 12)  # never present
    row = fisher_per_feature(data, features=["f"], truth="truth").iloc[0]
    assert np.isnan(row["estimate"]) and row["p_value"] == 1.0


def test_yes_no_features_are_accepted_and_bad_values_named():
    data = pd.DataFrame({"truth": [1, 0, 1, 0], "f": ["yes", "no", "Yes", "no"]})
    assert fisher_per_feature(data, features=["f"], truth="truth")["present_malignant"][0] == 2
    data.loc[0, "f"] = "maybe"
    with pytest.raises(ValueError, match="maybe"):
        fisher_per_feature(data, features=["f"], truth="truth")


def test_holm_matches_statsmodels_and_leaves_nan_alone():
    rng = np.random.default_rng(0)
    p = rng.random(15) ** 3
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-14)
    with_nan = np.r_[p[:3], np.nan, p[3:6]]
    adjusted = holm(with_nan)
    assert np.isnan(adjusted[3])
    expected = multipletests(np.r_[p[:3], p[3:6]], method="holm")[1]
    np.testing.assert_allclose(np.delete(adjusted, 3), expected)


def test_holm_refuses_values_outside_zero_one():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.2, 1.3])


def test_maximum_likelihood_fit_is_statsmodels_logit():
    rng = np.random.default_rng(8)
    x = rng.integers(0, 2, (120, 3))
    y = (rng.random(120) < 1 / (1 + np.exp(-(x @ [1.2, -0.8, 0.3] - 0.2)))).astype(int)
    data = pd.DataFrame(x, columns=["a", "b", "c"]).assign(truth=y)
    r = logistic_regression(data, features=["a", "b", "c"], truth="truth")
    fit = sm.Logit(y, sm.add_constant(x.astype(float))).fit(disp=False)
    assert r.method == "maximum likelihood" and not r.separation and r.converged
    np.testing.assert_allclose(r.coefficients["estimate"], fit.params, rtol=1e-6)
    np.testing.assert_allclose(r.coefficients["se"], fit.bse, rtol=1e-6)
    np.testing.assert_allclose(r.coefficients["p_value"], fit.pvalues, rtol=1e-5)
    np.testing.assert_allclose(r.coefficients["odds_ratio"], np.exp(fit.params), rtol=1e-6)


@pytest.mark.parametrize(("a", "b", "c", "d"), [(7, 3, 0, 5), (12, 0, 4, 9), (5, 5, 2, 8)])
def test_firth_on_a_2x2_table_is_the_log_odds_ratio_with_half_added(a, b, c, d):
    # Firth (1993); Heinze & Schemper (2002), Stat Med 21:2409: with one binary
    # covariate the penalised estimate is log((a+.5)(d+.5) / ((b+.5)(c+.5))).
    data = cases_from_table(a, b, c, d)
    r = logistic_regression(data, features=["f"], truth="truth", method="firth")
    expected = np.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
    assert r.coefficients.set_index("term").loc["f", "estimate"] == pytest.approx(
        expected, abs=1e-8
    )
    assert r.converged


def test_separated_data_switch_to_firth_and_say_why():
    data = cases_from_table(9, 3, 0, 10, feature="epidural_mass")
    r = logistic_regression(data, features=["epidural_mass"], truth="truth")
    assert r.separation and r.method == "firth"
    assert "epidural_mass" in r.note and "Firth" in r.note
    assert np.isfinite(r.coefficients["estimate"]).all()


def test_separated_data_are_refused_by_plain_maximum_likelihood():
    data = cases_from_table(9, 3, 0, 10, feature="epidural_mass")
    with pytest.raises(ValueError, match=r"epidural_mass.*method='firth'"):
        logistic_regression(data, features=["epidural_mass"], truth="truth", method="mle")


def test_separation_check_finds_complete_and_quasi_complete_separation():
    x = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    assert detect_separation(x, np.array([0, 0, 0, 1, 1, 1]))
    assert detect_separation(x, np.array([0, 0, 1, 1, 1, 1]))  # quasi-complete
    assert not detect_separation(x, np.array([0, 1, 0, 1, 1, 0]))


def test_firth_shrinks_maximum_likelihood_estimates_towards_zero():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 2, (80, 2))
    y = (rng.random(80) < 1 / (1 + np.exp(-(x @ [1.5, -1.0])))).astype(int)
    data = pd.DataFrame(x, columns=["a", "b"]).assign(truth=y)
    mle = logistic_regression(data, features=["a", "b"], truth="truth", method="mle")
    firth = logistic_regression(data, features=["a", "b"], truth="truth", method="firth")
    assert (
        np.abs(firth.coefficients["estimate"][1:]) < np.abs(mle.coefficients["estimate"][1:])
    ).all()


def test_constant_features_are_left_out_with_a_note():
    data = cases_from_table(6, 4, 3, 7).assign(absent_everywhere=0)
    r = logistic_regression(data, features=["f", "absent_everywhere"], truth="truth")
    assert r.dropped == ("absent_everywhere",)
    assert list(r.coefficients["term"]) == ["intercept", "f"]
    assert "absent_everywhere" in r.note


def test_bad_input_is_refused_with_a_reason():
    data = cases_from_table(6, 4, 3, 7)
    with pytest.raises(ValueError, match="both benign and malignant"):
        logistic_regression(data[data["truth"] == 1], features=["f"], truth="truth")
    with pytest.raises(ValueError, match="lacks column"):
        logistic_regression(data, features=["g"], truth="truth")
    with pytest.raises(ValueError, match="collinear"):
        logistic_regression(data.assign(g=data["f"]), features=["f", "g"], truth="truth")
    with pytest.raises(ValueError, match="method"):
        logistic_regression(data, features=["f"], truth="truth", method="ridge")


def test_the_regression_accuracy_matches_statsmodels_fitted_classification():
    # Yeh et al. 2022 report the logistic model's accuracy with its CI: here the share of
    # cases statsmodels' Logit fit classifies correctly at 0.5, with statsmodels' Wilson
    # interval (proportion_confint(method="wilson")).
    from statsmodels.stats.proportion import proportion_confint

    from readerstudy.stats.analysis import analyse

    rng = np.random.default_rng(11)
    n = 150
    truth = rng.integers(0, 2, n)
    a = (rng.random(n) < np.where(truth == 1, 0.7, 0.3)).astype(int)
    b = (rng.random(n) < np.where(truth == 1, 0.6, 0.35)).astype(int)
    reads = pd.DataFrame({"reader": "r1", "case": [f"c{i}" for i in range(n)], "truth": truth,
                          "feature_a": a, "feature_b": b})
    results = analyse(reads, n_boot=0)
    accuracy = results.loc[results["metric"] == "logistic_accuracy"].iloc[0]
    fit = sm.Logit(truth, sm.add_constant(np.column_stack([a, b]))).fit(disp=False)
    correct = int(((fit.predict() >= 0.5) == (truth == 1)).sum())
    assert accuracy["estimate"] == pytest.approx(correct / n, rel=1e-12) and accuracy["n"] == n
    low, high = proportion_confint(correct, n, alpha=0.05, method="wilson")
    assert (accuracy["ci_low"], accuracy["ci_high"]) == pytest.approx((low, high), rel=1e-9)
