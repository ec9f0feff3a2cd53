"""Proportions and diagnostic metrics: statsmodels' intervals and the studies' published counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from readerstudy.stats import proportions
from readerstudy.stats.proportions import (
    as_binary_calls,
    diagnostic_metrics,
    diagnostic_metrics_from_counts,
    proportion,
)

GRID = [(0, 1), (0, 12), (1, 12), (6, 12), (11, 12), (12, 12), (33, 49), (139, 140), (1, 1000)]


@pytest.mark.parametrize(("successes", "total"), GRID)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_wilson_interval_matches_statsmodels(successes, total, alpha):
    # statsmodels.stats.proportion.proportion_confint(method="wilson") is the reference.
    low, high = proportions.wilson_interval(successes, total, alpha=alpha)
    expected = proportion_confint(successes, total, alpha=alpha, method="wilson")
    np.testing.assert_allclose([low, high], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("successes", "total"), GRID)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_clopper_pearson_interval_matches_statsmodels(successes, total, alpha):
    # proportion_confint(method="beta") is the Clopper-Pearson interval.
    low, high = proportions.clopper_pearson_interval(successes, total, alpha=alpha)
    expected = proportion_confint(successes, total, alpha=alpha, method="beta")
    np.testing.assert_allclose([low, high], expected, rtol=1e-10, atol=1e-14)


def test_clopper_pearson_interval_is_wider_than_wilson_for_a_typical_reader():
    p = proportion(33, 49)
    assert p.exact_ci_low < p.ci_low < p.estimate < p.ci_high < p.exact_ci_high


def test_proportion_keeps_its_counts_and_is_nan_without_cases():
    p = proportion(0, 0)
    assert (p.successes, p.total, p.n) == (0, 0, 0)
    assert np.isnan([p.estimate, p.ci_low, p.ci_high, p.exact_ci_low, p.exact_ci_high]).all()


@pytest.mark.parametrize(("successes", "total"), [(5, 4), (-1, 4), (1.5, 4)])
def test_impossible_counts_are_refused(successes, total):
    with pytest.raises(ValueError, match="successes"):
        proportion(successes, total)


# STUDY-PROTOCOL.md, MRI study: 190 patients, 50 malignant / 140 benign; (TP, TN, FN, FP)
MRI_READERS = {
    "MSK attending": (47, 139, 3, 1),
    "4th-year resident": (47, 135, 3, 5),
    "1st-year resident": (39, 86, 11, 54),
    "ResNet50": (47, 128, 3, 12),
}


@pytest.mark.parametrize("reader", list(MRI_READERS))
def test_published_mri_counts_give_the_published_denominators(reader):
    tp, tn, fn, fp = MRI_READERS[reader]
    m = diagnostic_metrics_from_counts(tp=tp, fn=fn, tn=tn, fp=fp)
    assert (m.sensitivity.total, m.specificity.total, m.n) == (50, 140, 190)


def test_published_mri_sensitivities_and_specificities_are_reproduced_exactly():
    # "The model improved on the 1st-year resident's sensitivity (78% to 94%) and
    # specificity (61% to 91%)" (STUDY-PROTOCOL.md).
    resident = diagnostic_metrics_from_counts(tp=39, fn=11, tn=86, fp=54)
    model = diagnostic_metrics_from_counts(tp=47, fn=3, tn=128, fp=12)
    assert resident.sensitivity.estimate == 39 / 50 == 0.78
    assert model.sensitivity.estimate == 47 / 50 == 0.94
    assert round(100 * resident.specificity.estimate) == 61
    assert round(100 * model.specificity.estimate) == 91


# STUDY-PROTOCOL.md, CT study internal test set: TP/P, TN/N, accuracy (n/N)
CT_READERS = [
    ((33, 49), (26, 37), (59, 86), 69),
    ((34, 49), (27, 37), (61, 86), 71),
    ((46, 49), (29, 37), (75, 86), 87),
]


@pytest.mark.parametrize(("sens", "spec", "acc", "percent"), CT_READERS)
def test_published_ct_accuracies_follow_from_calls(sens, spec, acc, percent):
    (tp, p), (tn, n) = sens, spec
    truth = np.r_[np.ones(p), np.zeros(n)]
    calls = np.r_[np.ones(tp), np.zeros(p - tp), np.zeros(tn), np.ones(n - tn)]
    m = diagnostic_metrics(pd.DataFrame({"truth": truth, "call": calls}))
    assert (m.sensitivity.successes, m.sensitivity.total) == sens
    assert (m.specificity.successes, m.specificity.total) == spec
    assert (m.accuracy.successes, m.accuracy.total) == acc
    assert round(100 * m.accuracy.estimate) == percent


def test_predictive_values_are_computed_on_the_calls():
    m = diagnostic_metrics_from_counts(tp=47, fn=3, tn=139, fp=1)
    assert (m.ppv.successes, m.ppv.total) == (47, 48)
    assert (m.npv.successes, m.npv.total) == (139, 142)


def test_calls_may_be_words_in_any_case():
    truth = [1, 1, 0, 0]
    calls = pd.DataFrame({"truth": truth,
                          "call": [" Malignant", "benign", "BENIGN", "malignant"]})
    m = diagnostic_metrics(calls)
    assert (m.tp, m.fn, m.tn, m.fp) == (1, 1, 1, 1)


def test_unknown_call_words_are_named_in_the_error():
    with pytest.raises(ValueError, match="probably"):
        as_binary_calls(["benign", "probably malignant"])


def test_missing_calls_raise_unless_dropped():
    calls = pd.DataFrame({"truth": [1, 1, 0, 0], "call": ["malignant", None, "benign", "benign"]})
    with pytest.raises(ValueError, match="missing"):
        diagnostic_metrics(calls)
    m = diagnostic_metrics(calls, missing="drop")
    assert (m.tp, m.fn, m.tn, m.fp, m.n) == (1, 0, 2, 0, 3)


def test_columns_are_named_by_the_caller_and_a_missing_one_is_refused():
    reads = pd.DataFrame({"reference": [1, 0, 1], "reader_1": ["malignant", "benign", "benign"]})
    m = diagnostic_metrics(reads, truth="reference", call="reader_1")
    assert (m.tp, m.fn, m.tn, m.fp) == (1, 1, 1, 0)
    assert proportions.confusion_counts(reads, truth="reference", call="reader_1") == (1, 1, 1, 0)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['call'\]"):
        diagnostic_metrics(reads, truth="reference")
