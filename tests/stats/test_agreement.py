"""Cohen's and Fleiss' kappa: SAS PROC FREQ printouts, R's irr package, Fleiss (1971)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from readerstudy.stats.agreement import (
    agreement_table,
    cohen_kappa,
    cohen_kappa_from_table,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    kappa_weights,
    landis_koch,
)
from tests.stats.refdata import refdata


def sas_table(name: str) -> np.ndarray:
    rows = refdata("kappa_tables.csv").query("table == @name")
    return rows.pivot_table(index="rater1_cat", columns="rater2_cat", values="count").to_numpy()


def pair(a, b) -> pd.DataFrame:
    """Two raters' ratings, one row per subject: columns ``a`` and ``b``."""
    return pd.DataFrame({"a": a, "b": b})


def kappa(a, b, **options):
    return cohen_kappa(pair(a, b), x="a", y="b", **options)


def long(wide: pd.DataFrame) -> pd.DataFrame:
    """A subjects x raters table as long ratings: ``case``, ``reader``, ``call``."""
    return (wide.rename_axis(index="case").reset_index()
            .melt(id_vars="case", var_name="reader", value_name="call").dropna())


def printout(r) -> list[float]:
    return [r.estimate, r.se, r.ci_low, r.ci_high, r.se_null, r.statistic, r.p_value]


def test_simple_kappa_matches_sas_printout():
    # SAS PROC FREQ, AGREE and TEST KAPPA, as recorded in statsmodels'
    # test_inter_rater.py: Kappa, ASE, 95% limits, ASE under H0, Z, two-sided p.
    r = cohen_kappa_from_table(sas_table("sas_table10"))
    expected = [0.4842, 0.1380, 0.2137, 0.7547, 0.1484, 3.2626, 0.0011]
    np.testing.assert_allclose(printout(r), expected, atol=0.00005)


def test_weighted_kappa_with_cicchetti_allison_weights_matches_sas_printout():
    r = cohen_kappa_from_table(sas_table("sas_table10"), weights="linear")
    expected = [0.4701, 0.1457, 0.1845, 0.7558, 0.1426, 3.2971, 0.0010]
    np.testing.assert_allclose(printout(r), expected, atol=0.00005)


def test_skin_condition_agreement_study_matches_sas_documentation():
    # SAS/STAT User's Guide, PROC FREQ "Agreement Study" (Getting Started): simple
    # kappa 0.3449, ASE 0.0724, limits 0.2030-0.4868; weighted kappa 0.5082, ASE
    # 0.0655, limits 0.3798-0.6366.
    table = sas_table("sas_skin_condition")
    simple = cohen_kappa_from_table(table)
    weighted = cohen_kappa_from_table(table, weights="linear")
    np.testing.assert_allclose(
        [simple.estimate, simple.se, simple.ci_low, simple.ci_high],
        [0.3449, 0.0724, 0.2030, 0.4868],
        atol=0.00005,
    )
    np.testing.assert_allclose(
        [weighted.estimate, weighted.se, weighted.ci_low, weighted.ci_high],
        [0.5082, 0.0655, 0.3798, 0.6366],
        atol=0.00005,
    )


@pytest.mark.parametrize(
    ("weights", "kappa", "z", "p"),
    [
        # R: irr::kappa2(anxiety[, 2:3], weight), recorded in statsmodels' test_inter_rater.py.
        (None, -0.006289308, -0.0604067, 0.9518317),
        ("linear", 0.1459075, 1.282472, 0.1996772),
        ("quadratic", 0.2520325, 1.437451, 0.1505898),
    ],
)
def test_kappa_matches_r_irr_on_the_anxiety_ratings(weights, kappa, z, p):
    anxiety = refdata("irr_anxiety.csv")
    r = cohen_kappa(anxiety, x="rater2", y="rater3", weights=weights)
    assert r.estimate == pytest.approx(kappa, abs=1e-7)
    assert r.statistic == pytest.approx(z, abs=1e-6)
    assert r.p_value == pytest.approx(p, abs=1e-7)
    # irr (like this module) weights category positions: 4 and 6 are adjacent here.
    assert r.categories == (1, 2, 3, 4, 6)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_matches_scikit_learn(weights):
    rng = np.random.default_rng(7)
    a = rng.integers(1, 6, 300)
    b = np.where(rng.random(300) < 0.6, a, rng.integers(1, 6, 300))
    r = kappa(a, b, weights=weights)
    assert r.estimate == pytest.approx(cohen_kappa_score(a, b, weights=weights), rel=1e-12)


def test_unobserved_categories_change_the_weights_only_when_declared():
    a, b = [1, 2, 3, 1, 2], [1, 2, 2, 1, 3]
    assert kappa(a, b, categories=[1, 2, 3, 4]).estimate == kappa(a, b).estimate
    assert (
        kappa(a, b, weights="linear", categories=[1, 2, 3, 4]).estimate
        != kappa(a, b, weights="linear").estimate
    )


def test_weights_are_one_on_the_diagonal_and_zero_at_the_corners():
    for kind in ("linear", "quadratic"):
        w = kappa_weights(4, kind)
        assert np.all(np.diag(w) == 1) and w[0, 3] == 0 and w[3, 0] == 0
    assert kappa_weights(3, "linear")[0, 1] == 0.5
    assert kappa_weights(3, "quadratic")[0, 1] == 0.75


def test_text_calls_work_unweighted_but_weighted_kappa_needs_an_order():
    a = ["benign", "malignant", "uncertain", "benign"]
    b = ["benign", "uncertain", "uncertain", "malignant"]
    assert np.isfinite(kappa(a, b).estimate)
    with pytest.raises(ValueError, match="ordered"):
        kappa(a, b, weights="linear")
    order = ["benign", "uncertain", "malignant"]
    assert np.isfinite(kappa(a, b, weights="linear", categories=order).estimate)


def test_agreement_table_counts_pairs_and_names_unknown_categories():
    table, cats = agreement_table(pair(["b", "m", "m"], ["b", "m", "b"]), x="a", y="b")
    assert cats == ["b", "m"]
    np.testing.assert_array_equal(table, [[1, 0], [1, 1]])
    with pytest.raises(ValueError, match="not among categories"):
        agreement_table(pair(["b", "x"], ["b", "b"]), x="a", y="b", categories=["b", "m"])


def test_missing_ratings_raise_unless_dropped():
    a, b = [1, 2, None, 2], [1, 2, 1, 1]
    with pytest.raises(ValueError, match="lack a rating"):
        kappa(a, b)
    assert kappa(a, b, missing="drop").n == 3


def test_a_single_used_category_gives_nan_not_an_error():
    r = kappa(["benign"] * 5, ["benign"] * 5)
    assert np.isnan(r.estimate) and r.n == 5


@pytest.fixture(scope="module")
def diagnoses() -> pd.DataFrame:
    return refdata("fleiss1971_diagnoses.csv").set_index("subject")


def test_fleiss_kappa_reproduces_fleiss_1971(diagnoses):
    # Fleiss (1971), Psychol Bull 76:378: 30 patients, 6 psychiatrists, 5 diagnoses;
    # overall kappa 0.430; per category 0.245, 0.245, 0.520, 0.471, 0.566.
    r = fleiss_kappa(long(diagnoses))
    assert round(r.estimate, 3) == 0.430
    np.testing.assert_array_equal(
        r.category_kappas["estimate"].round(3), [0.245, 0.245, 0.520, 0.471, 0.566]
    )
    assert (r.n, r.n_raters) == (30, 6)


def test_fleiss_kappa_z_test_matches_r_irr(diagnoses):
    # R: irr::kappam.fleiss(diagnoses): Kappa = 0.4302445, z = 17.65183 (statsmodels'
    # test_inter_rater.py records the output).
    r = fleiss_kappa(long(diagnoses))
    assert r.estimate == pytest.approx(0.4302445, abs=1e-7)
    assert r.statistic == pytest.approx(17.65183, abs=1e-5)
    assert r.p_value < 1e-60


def test_fleiss_kappa_matches_statsmodels_on_the_anxiety_ratings():
    ratings = refdata("irr_anxiety.csv").set_index("subject")
    expected = sm_fleiss_kappa(aggregate_raters(ratings.to_numpy())[0])
    assert fleiss_kappa(long(ratings)).estimate == pytest.approx(expected, rel=1e-12)


def test_fleiss_jackknife_standard_error_matches_a_leave_one_out_loop(diagnoses):
    counts = aggregate_raters(diagnoses.to_numpy())[0]
    loo = np.array([sm_fleiss_kappa(np.delete(counts, i, axis=0)) for i in range(counts.shape[0])])
    n = loo.size
    expected = np.sqrt((n - 1) / n * ((loo - loo.mean()) ** 2).sum())
    r = fleiss_kappa_from_counts(counts)
    assert r.se == pytest.approx(expected, rel=1e-10)
    assert r.ci_low < r.estimate < r.ci_high


def test_fleiss_kappa_of_two_raters_is_close_to_cohens_kappa():
    # With two raters Fleiss' kappa is Scott's pi, which differs from Cohen's kappa
    # only through the marginals; with similar marginals they nearly agree.
    rng = np.random.default_rng(3)
    a = rng.integers(0, 3, 2000)
    b = np.where(rng.random(2000) < 0.7, a, rng.integers(0, 3, 2000))
    f = fleiss_kappa(long(pair(a, b))).estimate
    assert f == pytest.approx(kappa(a, b).estimate, abs=0.01)


def test_fleiss_kappa_refuses_unequal_numbers_of_ratings():
    with pytest.raises(ValueError, match="same number of ratings"):
        fleiss_kappa_from_counts([[2, 1], [1, 1]])


def test_fleiss_kappa_needs_every_subject_rated_by_every_rater_once():
    ratings = long(pair([1, 2, 1], [1, 2, 2]))
    with pytest.raises(ValueError, match="lack a rating"):
        fleiss_kappa(ratings.iloc[1:])
    assert fleiss_kappa(ratings.iloc[1:], missing="drop").n == 2
    with pytest.raises(ValueError, match=r"rate the same \(case, reader\) pair more than once"):
        fleiss_kappa(pd.concat([ratings, ratings.iloc[[0]]]))


@pytest.mark.parametrize(
    ("kappa", "band"),
    [
        (-0.1, "poor"),
        (0.0, "slight"),
        (0.20, "slight"),
        (0.21, "fair"),
        (0.40, "fair"),
        (0.41, "moderate"),
        (0.60, "moderate"),
        (0.61, "substantial"),
        (0.80, "substantial"),
        (0.81, "almost perfect"),
        (0.986, "almost perfect"),
        (float("nan"), ""),
    ],
)
def test_landis_koch_bands(kappa, band):
    # Landis & Koch (1977), Biometrics 33:159, p. 165.
    assert landis_koch(kappa) == band


def test_a_kappa_interval_is_truncated_to_kappas_range_and_says_so():
    # 9 of 10 cases called alike: kappa 0.8 with the Fleiss-Cohen-Everitt SE 0.186 (as SAS
    # PROC FREQ's ASE), whose Wald bound 0.8 + 1.96 x 0.186 = 1.164 passes kappa's maximum.
    data = pd.DataFrame({"x": [1, 1, 1, 1, 0, 0, 0, 0, 1, 0], "y": [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]})
    result = cohen_kappa(data, x="x", y="y")
    assert result.estimate == pytest.approx(0.8)
    assert result.estimate + 1.959963984540054 * result.se > 1.0
    assert result.ci_high == 1.0
    assert result.ci_low == pytest.approx(result.estimate - 1.959963984540054 * result.se)
    assert result.ci_method == "Wald, Fleiss-Cohen-Everitt large-sample SE, truncated to [-1, 1]"


def test_a_fleiss_kappa_interval_is_truncated_to_kappas_range():
    # Three raters agree on 7 of 8 subjects: the jackknife Wald bound passes 1.
    calls = [[1, 1, 1]] * 4 + [[0, 0, 0]] * 3 + [[1, 0, 0]]
    data = pd.DataFrame([{"case": i, "reader": f"r{j}", "call": c}
                         for i, row in enumerate(calls) for j, c in enumerate(row)])
    result = fleiss_kappa(data)
    assert result.estimate + 1.959963984540054 * result.se > 1.0
    assert result.ci_high == 1.0 and -1.0 <= result.ci_low < result.estimate
    assert result.ci_method.endswith("truncated to [-1, 1]")
