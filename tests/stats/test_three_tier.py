"""Three-tier reading: the CT study's best model on the definite cases (STUDY-PROTOCOL.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from readerstudy.stats.roc import auc_from_calls
from readerstudy.stats.three_tier import as_three_tier, three_tier_calls, three_tier_metrics


def best_ct_model() -> pd.DataFrame:
    """Internal test set, 49 malignant / 37 benign; definite calls 34/36 and 26/30 right."""
    truth = np.r_[np.ones(49, int), np.zeros(37, int)]
    calls = (
        ["malignant"] * 34 + ["benign"] * 2 + ["uncertain"] * 13
        + ["benign"] * 26 + ["malignant"] * 4 + ["uncertain"] * 7
    )  # fmt: skip
    return pd.DataFrame({"truth": truth, "three_tier": calls})


def reads(truth, calls) -> pd.DataFrame:
    return pd.DataFrame({"truth": truth, "three_tier": calls})


def test_published_best_model_on_definite_cases_is_reproduced():
    # STUDY-PROTOCOL.md: best model, definite cases: 34/36, 26/30, AUC 0.91, accuracy
    # 91% (60/66).
    result = three_tier_metrics(best_ct_model())
    d = result.definite
    assert (d.sensitivity.successes, d.sensitivity.total) == (34, 36)
    assert (d.specificity.successes, d.specificity.total) == (26, 30)
    assert (d.accuracy.successes, d.accuracy.total) == (60, 66)
    assert round(100 * d.accuracy.estimate) == 91
    assert round(result.auc.estimate, 2) == 0.91
    assert result.auc.estimate == pytest.approx((34 / 36 + 26 / 30) / 2)


def test_share_sent_to_mri_counts_every_uncertain_case():
    result = three_tier_metrics(best_ct_model())
    assert (result.uncertain.successes, result.uncertain.total) == (20, 86)
    assert (result.uncertain_malignant, result.uncertain_benign) == (13, 7)
    assert (result.n, result.n_definite) == (86, 66)


def test_auc_on_definite_cases_is_the_auc_from_calls():
    model = best_ct_model()
    definite = model[model["three_tier"] != "uncertain"]
    expected = auc_from_calls(definite, call="three_tier")
    assert three_tier_metrics(model).auc == expected


def test_thresholds_cut_probabilities_into_three_tiers():
    scores = pd.DataFrame({"score": [0.05, 0.2, 0.5, 0.79, 0.8, 0.99]})
    calls = three_tier_calls(scores, lower=0.2, upper=0.8)
    assert calls.index.equals(scores.index) and calls.name == "three_tier"
    assert list(calls) == [
        "benign",
        "uncertain",
        "uncertain",
        "uncertain",
        "malignant",
        "malignant",
    ]


def test_equal_thresholds_give_two_tiers():
    calls = three_tier_calls(pd.DataFrame({"p": [0.1, 0.5, 0.9]}), score="p", lower=0.5, upper=0.5)
    assert list(calls) == ["benign", "malignant", "malignant"]


def test_reversed_thresholds_are_refused():
    with pytest.raises(ValueError, match="lower <= upper"):
        three_tier_calls(pd.DataFrame({"score": [0.5]}), lower=0.8, upper=0.2)


def test_a_missing_call_is_not_uncertain():
    with pytest.raises(ValueError, match="not 'uncertain'"):
        as_three_tier(["benign", None, "uncertain"])


def test_unknown_tiers_are_named():
    with pytest.raises(ValueError, match="probably benign"):
        as_three_tier(["benign", "probably benign"])


def test_codes_accept_words_in_any_case_and_zero_one():
    np.testing.assert_array_equal(
        as_three_tier(["Benign", " MALIGNANT", "uncertain", 0, 1]), [0, 1, np.nan, 0, 1]
    )


def test_all_uncertain_calls_send_every_case_to_mri_and_leave_the_rest_not_estimable():
    result = three_tier_metrics(reads([0, 1, 1], ["uncertain"] * 3))
    assert (result.uncertain.successes, result.uncertain.total) == (3, 3)
    assert result.uncertain.estimate == 1.0 and result.n_definite == 0
    assert result.auc is None
    assert result.auc_not_estimable == "no case has a definite call (all are 'uncertain')"
    assert np.isnan(result.definite.sensitivity.estimate)
    assert result.definite.sensitivity.not_estimable == "no malignant cases"
    assert result.definite.specificity.not_estimable == "no benign cases"


def test_auc_is_left_out_when_one_class_has_fewer_than_two_definite_calls():
    truth = [1, 1, 1, 0, 0, 0]
    calls = ["malignant", "malignant", "benign", "benign", "uncertain", "uncertain"]
    result = three_tier_metrics(reads(truth, calls))
    assert result.auc is None
    assert result.auc_not_estimable == (
        "DeLong's variance needs at least 2 positive (malignant) and 2 negative (benign) "
        "cases; got 3 positive and 1 negative (definite cases)"
    )
    assert (result.definite.specificity.successes, result.definite.specificity.total) == (1, 1)
