"""Bootstrap: the vectorised AUC bootstrap against a per-resample scikit-learn loop on
the same resamples, percentile intervals against numpy's quantiles, and the generic helper.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from readerstudy.stats import bootstrap, roc


@pytest.fixture(scope="module")
def study() -> tuple[np.ndarray, np.ndarray]:
    """60 cases, 4 score vectors: continuous, 5-point ratings (ties), binary calls, noise."""
    rng = np.random.default_rng(7)
    truth = (rng.random(60) < 0.4).astype(int)
    scores = rng.normal(size=(4, 60)) + 1.2 * truth
    scores[1] = np.clip(np.round(scores[1] + 3), 1, 5)
    scores[2] = (scores[2] > 0.6).astype(float)
    scores[3] = rng.normal(size=60)
    return truth, scores


def sklearn_loop(truth: np.ndarray, scores: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The slow reference: scikit-learn's roc_auc_score on each resample, one by one."""
    out = np.full((indices.shape[0], scores.shape[0]), np.nan)
    for b, rows in enumerate(indices):
        if 0 < truth[rows].sum() < rows.size:
            out[b] = [metrics.roc_auc_score(truth[rows], s[rows]) for s in scores]
    return out


@pytest.mark.parametrize("stratified", [True, False])
def test_vectorised_replicates_equal_a_per_resample_scikit_learn_loop(study, stratified):
    truth, scores = study
    indices = bootstrap.bootstrap_indices(
        truth.size, n_boot=30, seed=11, strata=truth if stratified else None
    )
    fast = bootstrap.bootstrap_auc_replicates(
        truth, scores, n_boot=30, seed=11, stratified=stratified
    )
    np.testing.assert_allclose(fast, sklearn_loop(truth, scores, indices), rtol=0, atol=1e-12)


def test_small_unstratified_resamples_without_a_class_have_no_auc():
    truth = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1])
    score = np.arange(9.0)
    indices = bootstrap.bootstrap_indices(9, n_boot=120, seed=2)
    fast = bootstrap.bootstrap_auc_replicates(truth, score, n_boot=120, seed=2, stratified=False)
    reference = sklearn_loop(truth, score[np.newaxis], indices)
    assert np.isnan(fast).any()
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(reference))
    np.testing.assert_allclose(fast[~np.isnan(fast)], reference[~np.isnan(reference)], atol=1e-12)
    table = bootstrap.bootstrap_auc(truth, score, n_boot=120, seed=2, stratified=False)
    assert table["n_boot"].iloc[0] == int((~np.isnan(fast)).sum())


def test_stratified_resamples_keep_the_number_of_positives_and_negatives(study):
    truth, _ = study
    indices = bootstrap.bootstrap_indices(truth.size, n_boot=50, seed=3, strata=truth)
    assert (truth[indices].sum(axis=1) == truth.sum()).all()
    # column j always draws from case j's own stratum
    assert (truth[indices] == truth[np.newaxis, :]).all()


def test_chunking_does_not_change_the_replicates(study):
    truth, scores = study
    whole = bootstrap.bootstrap_auc_replicates(truth, scores, n_boot=64, seed=5)
    chunked = bootstrap.bootstrap_auc_replicates(truth, scores, n_boot=64, seed=5, chunk_size=7)
    np.testing.assert_array_equal(whole, chunked)


def test_percentile_interval_and_se_summarise_the_replicates(study):
    truth, scores = study
    table = bootstrap.bootstrap_auc(truth, scores, n_boot=400, seed=9, alpha=0.1)
    reps = bootstrap.bootstrap_auc_replicates(truth, scores, n_boot=400, seed=9)
    np.testing.assert_allclose(table["ci_low"], np.quantile(reps, 0.05, axis=0))
    np.testing.assert_allclose(table["ci_high"], np.quantile(reps, 0.95, axis=0))
    np.testing.assert_allclose(table["se"], reps.std(axis=0, ddof=1))
    assert table["estimate"].to_numpy() == pytest.approx(
        [metrics.roc_auc_score(truth, s) for s in scores], abs=1e-14
    )
    assert list(table.columns) == ["estimate", "ci_low", "ci_high", "se", "n_boot"]
    assert (table["n_boot"] == 400).all()


def test_the_same_seed_gives_the_same_interval_and_another_seed_does_not(study):
    truth, scores = study
    first = bootstrap.bootstrap_auc(truth, scores[0], n_boot=200, seed=1)
    again = bootstrap.bootstrap_auc(truth, scores[0], n_boot=200, seed=1)
    other = bootstrap.bootstrap_auc(truth, scores[0], n_boot=200, seed=2)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_a_dataframe_of_scores_labels_the_rows_by_column(study):
    truth, scores = study
    frame = pd.DataFrame(scores.T, columns=["model", "resident", "calls", "noise"])
    table = bootstrap.bootstrap_auc(truth, frame, n_boot=50, seed=0)
    assert list(table.index) == ["model", "resident", "calls", "noise"]
    assert table.index.name == "score"


def test_bootstrap_se_agrees_with_delong_on_procs_asah_example():
    # Both estimate the same sampling SD of the AUC; on pROC's aSAH s100b (n = 113) the
    # stratified bootstrap SE lands within 10% of DeLong's (0.0517, pROC docs).
    from tests.stats.refdata import refdata

    data = refdata("aSAH.csv")
    poor = (data["outcome"] == "Poor").astype(int)
    delong = roc.auc_delong(poor, data["s100b"])
    boot = bootstrap.bootstrap_auc(poor, data["s100b"], n_boot=2000, seed=0)
    assert boot["se"].iloc[0] == pytest.approx(delong.se, rel=0.1)
    assert boot["estimate"].iloc[0] == pytest.approx(delong.estimate)


@pytest.mark.parametrize(
    ("counts", "published_ci"),
    [
        # STUDY-PROTOCOL.md, CT study internal test set: TP/P, TN/N and the published 95% CI
        ((33, 49, 26, 37), (0.59, 0.78)),
        ((34, 49, 27, 37), (0.61, 0.80)),
        ((46, 49, 29, 37), (0.78, 0.93)),
        ((34, 36, 26, 30), (0.83, 0.97)),
    ],
)
def test_bootstrap_of_reader_calls_reproduces_the_ct_studys_published_intervals(
    counts, published_ci
):
    tp, positives, tn, negatives = counts
    truth = np.r_[np.ones(positives), np.zeros(negatives)]
    calls = np.r_[np.ones(tp), np.zeros(positives - tp), np.zeros(tn), np.ones(negatives - tn)]
    table = bootstrap.bootstrap_auc(truth, calls, n_boot=2000, seed=0)
    assert table["ci_low"].iloc[0] == pytest.approx(published_ci[0], abs=0.0075)
    assert table["ci_high"].iloc[0] == pytest.approx(published_ci[1], abs=0.0075)


def test_missing_scores_are_refused_or_dropped_for_every_vector(study):
    truth, scores = study
    holed = scores.copy()
    holed[2, 4] = np.nan
    with pytest.raises(ValueError, match="scores has missing values in 1 of 60 cases"):
        bootstrap.bootstrap_auc(truth, holed, n_boot=10)
    dropped = bootstrap.bootstrap_auc(truth, holed, n_boot=10, missing="drop")
    keep = np.arange(60) != 4
    assert dropped.equals(bootstrap.bootstrap_auc(truth[keep], scores[:, keep], n_boot=10))


def test_zero_resamples_are_refused(study):
    truth, scores = study
    with pytest.raises(ValueError, match="n_boot must be a positive integer"):
        bootstrap.bootstrap_auc(truth, scores, n_boot=0)


# -- bootstrap_statistic --------------------------------------------------------------


def test_bootstrap_statistic_applies_the_function_to_each_row_of_the_index_matrix():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=30), rng.normal(size=30)
    reps = bootstrap.bootstrap_statistic(lambda x, y: np.mean(x - y), a, b, n_boot=100, seed=8)
    indices = bootstrap.bootstrap_indices(30, n_boot=100, seed=8)
    np.testing.assert_allclose(reps, [np.mean(a[i] - b[i]) for i in indices])


def test_bootstrap_statistic_resamples_rows_of_tables_and_keeps_strata():
    table = np.arange(40.0).reshape(20, 2)
    groups = np.r_[np.zeros(5), np.ones(15)]
    reps = bootstrap.bootstrap_statistic(
        lambda t, g: np.array([t.shape[0], g.sum(), (t[:, 1] - t[:, 0]).mean()]),
        table,
        groups,
        n_boot=40,
        seed=3,
        stratified_by=groups,
    )
    assert reps.shape == (40, 3)
    assert (reps[:, 0] == 20).all() and (reps[:, 1] == 15).all() and (reps[:, 2] == 1).all()


def test_bootstrap_statistic_refuses_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="array 0: 3, array 1: 4"):
        bootstrap.bootstrap_statistic(np.mean, [1, 2, 3], [1, 2, 3, 4], n_boot=5, seed=0)
