"""ROC curve, AUC and DeLong: checked against pROC's published results, scikit-learn,
a slow reference DeLong written from its definition, and the CT study's published table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics

from readerstudy.stats import roc
from readerstudy.stats.estimable import NotEstimableError
from tests.stats.refdata import refdata


@pytest.fixture(scope="module")
def asah() -> pd.DataFrame:
    data = refdata("aSAH.csv")
    return data.assign(poor=(data["outcome"] == "Poor").astype(int))


def slow_delong(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) by definition: the m x n kernel matrix, O(m n) per score."""
    x, y = scores[:, truth == 1], scores[:, truth == 0]
    psi = (x[:, :, None] > y[:, None, :]) + 0.5 * (x[:, :, None] == y[:, None, :])
    v10 = psi.mean(axis=2)  # per positive
    v01 = psi.mean(axis=1)  # per negative
    cov = np.atleast_2d(np.cov(v10)) / x.shape[1] + np.atleast_2d(np.cov(v01)) / y.shape[1]
    return psi.mean(axis=(1, 2)), cov


def reader_calls(tp: int, positives: int, tn: int, negatives: int) -> pd.DataFrame:
    """One row per case: ``truth`` and the reader's 0/1 ``call``."""
    truth = np.r_[np.ones(positives), np.zeros(negatives)]
    calls = np.r_[np.ones(tp), np.zeros(positives - tp), np.zeros(tn), np.ones(negatives - tn)]
    return pd.DataFrame({"truth": truth, "call": calls})


def cases(truth, score) -> pd.DataFrame:
    return pd.DataFrame({"truth": truth, "score": score})


# -- pROC's published aSAH results --------------------------------------------------


def test_s100b_auc_and_delong_interval_match_procs_documented_example(asah):
    # pROC docs (Robin et al. 2011): roc(aSAH$outcome, aSAH$s100b, ci = TRUE) prints
    # "Area under the curve: 0.7314" and "95% CI: 0.6301-0.8326 (DeLong)".
    result = roc.auc_delong(asah, truth="poor", score="s100b")
    assert round(result.estimate, 4) == 0.7314
    assert (round(result.ci_low, 4), round(result.ci_high, 4)) == (0.6301, 0.8326)
    assert (result.n_pos, result.n_neg) == (41, 72)
    assert result.method == "DeLong, Wald"


def test_ndka_delong_interval_matches_procs_test_suite(asah):
    # pROC tests/testthat/test-ci.auc.R: ci.auc(r.ndka) ==
    # c(0.501244999271703, 0.611957994579946, 0.722670989888189).
    result = roc.auc_delong(asah, truth="poor", score="ndka")
    assert [result.ci_low, result.estimate, result.ci_high] == pytest.approx(
        [0.501244999271703, 0.611957994579946, 0.722670989888189], abs=1e-12
    )


@pytest.mark.parametrize(
    ("a", "b", "z", "p", "ci"),
    [
        # pROC tests/testthat/test-roc.test.R, roc.test(r.wfns, r.s100b) etc.
        (
            "wfns",
            "s100b",
            2.20898359144091,
            0.0271757822291882,
            (0.0104061769564846, 0.174214419249478),
        ),
        (
            "wfns",
            "ndka",
            2.79777591868904,
            0.00514557970691098,
            (0.0634011709339876, 0.3600405634833566),
        ),
        (
            "ndka",
            "s100b",
            -1.39077002573558,
            0.164295175223054,
            (-0.2876917446341914, 0.0488706064228094),
        ),
    ],
)
def test_paired_delong_test_matches_procs_roc_test(asah, a, b, z, p, ci):
    result = roc.delong_paired(asah, x=a, y=b, truth="poor")
    assert result.statistic == pytest.approx(z, abs=1e-10)
    assert result.p_value == pytest.approx(p, abs=1e-12)
    assert (result.ci_low, result.ci_high) == pytest.approx(ci, abs=1e-12)
    assert result.estimate == pytest.approx(result.auc_a - result.auc_b)
    assert result.n == 113


def test_paired_test_of_a_curve_with_itself_gives_z_zero_and_p_one(asah):
    # pROC test-roc.test.R: "DeLong roc.test works when curves are identical".
    result = roc.delong_paired(asah, x="wfns", y="wfns", truth="poor")
    assert (result.statistic, result.p_value, result.se) == (0.0, 1.0, 0.0)


def test_swapping_the_curves_flips_the_sign_and_keeps_the_p_value(asah):
    forward = roc.delong_paired(asah, x="wfns", y="s100b", truth="poor")
    backward = roc.delong_paired(asah, x="s100b", y="wfns", truth="poor")
    assert backward.statistic == pytest.approx(-forward.statistic)
    assert backward.p_value == pytest.approx(forward.p_value)


# -- scikit-learn and the slow reference DeLong --------------------------------------


@pytest.fixture(scope="module")
def tied_scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240501)
    truth = (rng.random(150) < 0.4).astype(int)
    scores = rng.normal(size=(3, 150)) + truth
    scores[1] = np.round(scores[1])  # heavy ties, like a 5-point rating
    scores[2] = np.round(scores[2] * 4) / 4
    return truth, scores


def test_auc_equals_scikit_learns_roc_auc_score_with_ties(tied_scores):
    truth, scores = tied_scores
    aucs, _ = roc.delong_covariance(truth, scores)
    assert aucs == pytest.approx([metrics.roc_auc_score(truth, s) for s in scores], abs=1e-14)


def test_fast_delong_covariance_equals_the_structural_components_definition(tied_scores):
    truth, scores = tied_scores
    aucs, cov = roc.delong_covariance(truth, scores)
    slow_aucs, slow_cov = slow_delong(truth, scores)
    assert aucs == pytest.approx(slow_aucs, abs=1e-14)
    np.testing.assert_allclose(cov, slow_cov, rtol=1e-12, atol=1e-16)


def test_midranks_equal_scipys_average_ranks(tied_scores):
    _, scores = tied_scores
    np.testing.assert_array_equal(roc.midranks(scores), stats.rankdata(scores, axis=-1))


def test_a_single_score_vector_gives_a_one_by_one_covariance(tied_scores):
    truth, scores = tied_scores
    aucs, cov = roc.delong_covariance(truth, scores[0])
    assert aucs.shape == (1,) and cov.shape == (1, 1)
    assert roc.auc_delong(cases(truth, scores[0])).se == pytest.approx(np.sqrt(cov[0, 0]))


def test_logit_interval_is_symmetric_on_the_logit_scale_and_inside_zero_one(asah):
    wald = roc.auc_delong(asah, truth="poor", score="wfns")
    logit = roc.auc_delong(asah, truth="poor", score="wfns", ci="logit")
    lo, hi = stats.logistic.ppf([logit.ci_low, logit.ci_high])
    centre = stats.logistic.ppf(logit.estimate)
    assert centre - lo == pytest.approx(hi - centre)
    assert (hi - centre) == pytest.approx(
        1.959963984540054 * wald.se / (wald.estimate * (1 - wald.estimate))
    )
    assert 0 < logit.ci_low < logit.estimate < logit.ci_high < 1
    assert logit.method == "DeLong, logit"


def test_a_perfect_score_has_zero_se_and_a_degenerate_interval():
    truth = np.array([0, 0, 0, 1, 1, 1])
    for ci in ("wald", "logit"):
        result = roc.auc_delong(cases(truth, [1, 2, 3, 4, 5, 6]), ci=ci)
        assert (result.estimate, result.se, result.ci_low, result.ci_high) == (1.0, 0.0, 1.0, 1.0)


# -- reader AUC from calls: the CT study's published table ----------------------------

CT_TABLE = [
    # STUDY-PROTOCOL.md, internal test set of the CT study: TP/P, TN/N, published AUC (95% CI)
    ((33, 49, 26, 37), 0.69, (0.59, 0.78)),
    ((34, 49, 27, 37), 0.71, (0.61, 0.80)),
    ((46, 49, 29, 37), 0.86, (0.78, 0.93)),
    ((34, 36, 26, 30), 0.91, (0.83, 0.97)),
]


@pytest.mark.parametrize(("counts", "published", "published_ci"), CT_TABLE)
def test_auc_from_calls_reproduces_the_ct_studys_published_reader_aucs(
    counts, published, published_ci
):
    result = roc.auc_from_calls(reader_calls(*counts))
    tp, positives, tn, negatives = counts
    assert result.estimate == pytest.approx((tp / positives + tn / negatives) / 2, abs=1e-15)
    assert round(result.estimate, 2) == published
    # The default (Wald) interval is within 0.01 of every published bound.
    assert result.ci_low == pytest.approx(published_ci[0], abs=0.01)
    assert result.ci_high == pytest.approx(published_ci[1], abs=0.01)
    assert result.method == "DeLong (binary calls), Wald"


def test_auc_from_calls_is_the_delong_auc_of_the_zero_one_score():
    reader = reader_calls(33, 49, 26, 37)
    from_calls = roc.auc_from_calls(reader)
    as_score = roc.auc_delong(reader, score="call")
    assert (from_calls.estimate, from_calls.se) == (as_score.estimate, as_score.se)
    assert from_calls.estimate == pytest.approx(
        metrics.roc_auc_score(reader["truth"], reader["call"]))
    # The calls as the reads table holds them, in words, give the same AUC.
    words = reader.assign(call=reader["call"].map({1.0: "malignant", 0.0: "benign"}))
    assert roc.auc_from_calls(words) == from_calls


def test_calls_other_than_zero_or_one_are_refused():
    with pytest.raises(ValueError, match="call must be 0/1 or 'benign'/'malignant'"):
        roc.auc_from_calls(pd.DataFrame({"truth": [0, 1, 1, 0], "call": [0, 1, 2, 0]}))
    with pytest.raises(ValueError, match="call must be 0/1 or 'benign'/'malignant'"):
        roc.auc_from_calls(pd.DataFrame({"truth": [0, 1], "call": ["benign", "uncertain"]}))


# -- roc_curve ------------------------------------------------------------------------


def test_roc_curve_runs_from_origin_to_one_one_and_its_area_is_the_auc(tied_scores):
    truth, scores = tied_scores
    curve = roc.roc_curve(cases(truth, scores[1]))
    assert list(curve.columns) == ["fpr", "tpr", "threshold"]
    assert tuple(curve.iloc[0][["fpr", "tpr"]]) == (0.0, 0.0)
    assert curve["threshold"].iloc[0] == np.inf
    assert tuple(curve.iloc[-1][["fpr", "tpr"]]) == (1.0, 1.0)
    assert curve["threshold"].is_monotonic_decreasing
    area = np.trapezoid(curve["tpr"], curve["fpr"])
    assert area == pytest.approx(metrics.roc_auc_score(truth, scores[1]), abs=1e-14)


def test_roc_curve_matches_scikit_learn_without_dropped_points(tied_scores):
    truth, scores = tied_scores
    fpr, tpr, thresholds = metrics.roc_curve(truth, scores[2], drop_intermediate=False)
    curve = roc.roc_curve(cases(truth, scores[2]))
    np.testing.assert_allclose(curve["fpr"], fpr)
    np.testing.assert_allclose(curve["tpr"], tpr)
    np.testing.assert_array_equal(curve["threshold"].to_numpy()[1:], thresholds[1:])


# -- input checks and the missing-data policy -----------------------------------------


def test_missing_scores_are_refused_by_default_naming_the_input():
    with pytest.raises(
        ValueError, match=r"score has missing values in 1 of 6 cases.*missing='drop'"
    ):
        roc.auc_delong(cases([0, 0, 0, 1, 1, 1], [0.1, np.nan, 0.3, 0.6, 0.7, 0.8]))


def test_missing_drop_drops_the_case_from_both_paired_scores(asah):
    a = asah["wfns"].astype(float).copy()
    b = asah["s100b"].copy()
    a.iloc[[3, 50]] = np.nan
    b.iloc[7] = np.nan
    holed = asah.assign(wfns=a, s100b=b)
    result = roc.delong_paired(holed, x="wfns", y="s100b", truth="poor", missing="drop")
    keep = a.notna() & b.notna()
    complete = roc.delong_paired(holed[keep], x="wfns", y="s100b", truth="poor")
    assert result == complete
    assert result.n == 110


def test_truth_coded_as_labels_is_refused_with_the_coding_rule(asah):
    with pytest.raises(ValueError, match="coded 0 = negative/benign, 1 = positive/malignant"):
        roc.auc_delong(asah, truth="outcome", score="s100b")


def test_a_single_class_is_not_estimable():
    with pytest.raises(NotEstimableError, match="needs both classes"):
        roc.auc_delong(cases([1, 1, 1], [0.2, 0.5, 0.9]))


def test_one_case_in_a_class_is_too_few_for_delongs_variance():
    reason = r"at least 2 positive \(malignant\) and 2 negative \(benign\)"
    with pytest.raises(NotEstimableError, match=reason):
        roc.auc_delong(cases([0, 0, 1], [0.2, 0.5, 0.9]))
    assert roc.delong_not_estimable([0, 0, 1]).startswith("DeLong's variance needs")
    assert roc.delong_not_estimable([0, 0, 1, 1]) == ""


def test_data_that_is_not_a_frame_or_lacks_a_column_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"data must be a pandas DataFrame"):
        roc.auc_delong([[0, 0.2], [1, 0.5]])
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['confidence'\]"):
        roc.auc_delong(cases([0, 0, 1, 1], [0.2, 0.5, 0.9, 0.1]), score="confidence")


def test_an_unknown_interval_method_or_alpha_is_refused():
    with pytest.raises(ValueError, match="ci must be"):
        roc.auc_delong(cases([0, 0, 1, 1], [1, 2, 3, 4]), ci="exact")
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        roc.auc_delong(cases([0, 0, 1, 1], [1, 2, 3, 4]), alpha=5)


# -- roc_auc: the area alone, which the model's training report uses ------------------


def test_roc_auc_reproduces_hanley_and_mcneil_table_1():
    # Hanley & McNeil, Radiology 1982;143:29-36, Table I: 5-point ratings of 58 normal and
    # 51 abnormal CT images; the area under the empirical ROC curve is 0.893.
    normal = np.repeat(np.arange(1, 6), [33, 6, 6, 11, 2])
    abnormal = np.repeat(np.arange(1, 6), [3, 2, 2, 11, 33])
    truth = np.r_[np.zeros(58), np.ones(51)]

    ratings = cases(truth, np.concatenate([normal, abnormal]))
    assert roc.roc_auc(ratings) == pytest.approx(0.893, abs=5e-4)


def test_roc_auc_and_curve_agree_with_scikit_learn_on_tied_scores():
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, 200)
    scores = np.round(rng.normal(truth * 0.8, 1.0), 1)  # rounding makes ties

    curve = roc.roc_curve(cases(truth, scores))
    sk_fpr, sk_tpr, sk_thresholds = metrics.roc_curve(truth, scores, drop_intermediate=False)

    assert roc.roc_auc(cases(truth, scores)) == pytest.approx(
        metrics.roc_auc_score(truth, scores), abs=1e-12)
    np.testing.assert_allclose(curve["fpr"], sk_fpr)
    np.testing.assert_allclose(curve["tpr"], sk_tpr)
    np.testing.assert_allclose(curve["threshold"][1:], sk_thresholds[1:])


def test_roc_auc_needs_one_case_of_each_class_only():
    assert roc.roc_auc(cases([0, 1], [0.2, 0.9])) == 1.0  # DeLong's needs two of each
    with pytest.raises(NotEstimableError, match="both classes"):
        roc.roc_auc(cases([1, 1], [0.1, 0.2]))
