"""McNemar's test: R's mcnemar.test and exact results, Agresti's worked example, the MRI study."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from readerstudy.stats.mcnemar import (
    mcnemar,
    mcnemar_accuracy,
    mcnemar_from_counts,
    mcnemar_sensitivity,
    mcnemar_specificity,
)
from tests.stats.refdata import refdata


@pytest.fixture(scope="module")
def tables() -> pd.DataFrame:
    return refdata("mcnemar_tables.csv").set_index("name")


# R: mcnemar.test(matrix(c(n11, n21, n12, n22), 2)), as recorded in statsmodels'
# test_nonparametric.py: (chi-square with continuity correction, p-value).
R_CORRECTED = {
    "sm_r_1": (20.67222, 5.450095e-06),
    "sm_r_2": (0.7751938, 0.3786151),
    "sm_r_3": (2.87769784, 0.08981434),
}
# Same source, correct=FALSE.
R_UNCORRECTED = {
    "sm_r_1": (21.35556, 3.815136e-06),
    "sm_r_2": (0.9379845, 0.3327967),
    "sm_r_3": (3.17266187, 0.07488031),
}
# Exact (binomial) p-values from the Vassar College calculator, same source.
EXACT_P = {
    "sm_r_1": 0.000004,
    "sm_r_2": 0.378688,
    "sm_r_3": 0.089452,
    "sm_r_4": 0.00206,
    "sm_r_5": 0.002221,
    "sm_r_6": 1.0,
}


def _counts(tables: pd.DataFrame, name: str) -> tuple[int, int, int]:
    row = tables.loc[name]
    return int(row.n12), int(row.n21), int(row[["n11", "n12", "n21", "n22"]].sum())


@pytest.mark.parametrize("name", list(R_CORRECTED))
def test_chi_square_with_continuity_correction_matches_r(tables, name):
    r = mcnemar_from_counts(*_counts(tables, name), method="chi2")
    np.testing.assert_allclose([r.statistic, r.p_value], R_CORRECTED[name], rtol=1e-6)
    assert r.df == 1


@pytest.mark.parametrize("name", list(R_UNCORRECTED))
def test_uncorrected_chi_square_matches_r(tables, name):
    r = mcnemar_from_counts(*_counts(tables, name), method="chi2_uncorrected")
    np.testing.assert_allclose([r.statistic, r.p_value], R_UNCORRECTED[name], rtol=1e-6)


@pytest.mark.parametrize("name", list(EXACT_P))
def test_exact_p_value_matches_the_published_binomial_values(tables, name):
    r = mcnemar_from_counts(*_counts(tables, name), method="exact")
    assert r.p_value == pytest.approx(EXACT_P[name], abs=1e-6)
    assert np.isnan(r.df)


@pytest.mark.parametrize("name", ["coin_exact2x2_1", "agresti_presidential_approval"])
@pytest.mark.parametrize("exact", [True, False])
def test_agrees_with_statsmodels_mcnemar(tables, name, exact):
    row = tables.loc[name]
    table = np.array([[row.n11, row.n12], [row.n21, row.n22]])
    expected = sm_mcnemar(table, exact=exact, correction=True)
    r = mcnemar_from_counts(*_counts(tables, name), method="exact" if exact else "chi2")
    np.testing.assert_allclose([r.statistic, r.p_value], [expected.statistic, expected.pvalue])


def test_agresti_presidential_approval_worked_example(tables):
    # Agresti (2013), Categorical Data Analysis, sec. 11.1: approval 944/1600 = 0.59 at
    # the first survey, 880/1600 = 0.55 at the second; z = 4.17; the difference 0.04
    # has estimated standard error 0.0095 and 95% interval (0.02, 0.06).
    r = mcnemar_from_counts(
        *_counts(tables, "agresti_presidential_approval"), method="chi2_uncorrected"
    )
    assert np.sqrt(r.statistic) == pytest.approx(4.17, abs=0.005)
    assert r.estimate == pytest.approx(0.04)
    se = (r.ci_high - r.estimate) / 1.959963984540054
    assert se == pytest.approx(0.0095, abs=0.00005)
    assert (round(r.ci_low, 2), round(r.ci_high, 2)) == (0.02, 0.06)


def test_no_discordant_pair_gives_p_one():
    for method in ("exact", "chi2"):
        r = mcnemar_from_counts(0, 0, 20, method=method)
        assert (r.statistic, r.p_value, r.estimate) == (0.0, 1.0, 0.0)


def test_outcome_vectors_give_the_same_test_as_counts():
    a = np.array([1, 1, 1, 0, 0, 1, 0, 1, 1, 1])
    b = np.array([1, 0, 0, 0, 1, 1, 0, 0, 0, 1])
    r = mcnemar(pd.DataFrame({"a": a, "b": b}), x="a", y="b")
    assert (r.a_only, r.b_only, r.n) == (4, 1, 10)
    expected = mcnemar_from_counts(4, 1, 10)
    assert (r.estimate, r.statistic, r.p_value) == (
        expected.estimate,
        expected.statistic,
        expected.p_value,
    )


def test_reader_helpers_restrict_to_the_right_cases():
    truth = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    a = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    b = np.array([1, 0, 0, 0, 0, 1, 1, 1])
    calls = pd.DataFrame({"truth": truth, "a": a, "b": b})
    sens = mcnemar_sensitivity(calls, x="a", y="b")
    spec = mcnemar_specificity(calls, x="a", y="b")
    acc = mcnemar_accuracy(calls, x="a", y="b")
    assert (sens.n, sens.a_only, sens.b_only, sens.estimate) == (4, 2, 0, 0.5)
    assert (spec.n, spec.a_only, spec.b_only, spec.estimate) == (4, 2, 0, 0.5)
    assert (acc.n, acc.a_only, acc.b_only, acc.estimate) == (8, 4, 0, 0.5)


def test_calls_may_be_words():
    truth = [1, 1, 0, 0]
    a = ["malignant", "malignant", "benign", "benign"]
    b = ["benign", "malignant", "benign", "malignant"]
    calls = pd.DataFrame({"truth": truth, "a": a, "b": b})
    assert mcnemar_accuracy(calls, x="a", y="b").a_only == 2


def _mri_pairings(a_correct: int, b_correct: int, total: int):
    """Every paired table consistent with two readers' published marginal counts."""
    for both in range(max(0, a_correct + b_correct - total), min(a_correct, b_correct) + 1):
        yield a_correct - both, b_correct - both


def test_published_mri_specificity_gain_is_significant_whatever_the_pairing():
    # STUDY-PROTOCOL.md: on the 140 benign cases the 1st-year resident was right 86
    # times, the model 128 times; the paired table is unpublished, so test every table
    # with those margins: McNemar's p < 0.001 in all of them.
    p_values = [
        mcnemar_from_counts(res_only, model_only, 140, method=m).p_value
        for res_only, model_only in _mri_pairings(86, 128, 140)
        for m in ("exact", "chi2")
    ]
    assert max(p_values) < 0.001


def test_published_mri_sensitivity_gain_cannot_reach_p_below_0001_by_mcnemar():
    # On the 50 malignant cases: resident 39, model 47 right. At least 8 discordant
    # pairs favour the model; the smallest attainable exact p-value is 2 / 2^8 = 0.0078
    # (all discordant pairs favour the model), so the published "p < 0.001" for
    # sensitivity cannot come from McNemar's test on the malignant cases alone.
    p_values = [
        mcnemar_from_counts(res_only, model_only, 50, method="exact").p_value
        for res_only, model_only in _mri_pairings(39, 47, 50)
    ]
    assert min(p_values) == pytest.approx(2 / 2**8)
    assert min(p_values) > 0.001


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="method"):
        mcnemar_from_counts(1, 2, 10, method="mid-p")
    with pytest.raises(ValueError, match="exceed"):
        mcnemar_from_counts(8, 5, 10)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['b'\]"):
        mcnemar(pd.DataFrame({"a": [1, 0, 1]}), x="a", y="b")


@pytest.mark.parametrize(("b", "c"), list(itertools.product([0, 3, 17], [0, 5, 40])))
def test_estimate_is_the_difference_of_paired_proportions(b, c):
    n = 100
    r = mcnemar_from_counts(b, c, n)
    assert r.estimate == pytest.approx((b - c) / n)
    assert r.ci_low <= r.estimate <= r.ci_high
