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


def frame(truth: np.ndarray, scores: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
    """One row per case: ``truth`` and one column per score vector; and those columns."""
    scores = np.atleast_2d(scores)
    names = [f"s{k}" for k in range(scores.shape[0])]
    return pd.DataFrame(scores.T, columns=names).assign(truth=truth), names


def boot(truth, scores, **options) -> pd.DataFrame:
    data, names = frame(truth, scores)
    return bootstrap.bootstrap_auc(data, score=names, **options)


def replicates(truth, scores, **options) -> np.ndarray:
    data, names = frame(truth, scores)
    return bootstrap.bootstrap_auc_replicates(data, score=names, **options)


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
    fast = replicates(truth, scores, n_boot=30, seed=11, stratified=stratified)
    np.testing.assert_allclose(fast, sklearn_loop(truth, scores, indices), rtol=0, atol=1e-12)


def test_small_unstratified_resamples_without_a_class_have_no_auc():
    truth = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1])
    score = np.arange(9.0)
    indices = bootstrap.bootstrap_indices(9, n_boot=120, seed=2)
    fast = replicates(truth, score, n_boot=120, seed=2, stratified=False)
    reference = sklearn_loop(truth, score[np.newaxis], indices)
    assert np.isnan(fast).any()
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(reference))
    np.testing.assert_allclose(fast[~np.isnan(fast)], reference[~np.isnan(reference)], atol=1e-12)
    table = boot(truth, score, n_boot=120, seed=2, stratified=False)
    assert table["n_boot"].iloc[0] == int((~np.isnan(fast)).sum())


def test_stratified_resamples_keep_the_number_of_positives_and_negatives(study):
    truth, _ = study
    indices = bootstrap.bootstrap_indices(truth.size, n_boot=50, seed=3, strata=truth)
    assert (truth[indices].sum(axis=1) == truth.sum()).all()
    # column j always draws from case j's own stratum
    assert (truth[indices] == truth[np.newaxis, :]).all()


def test_chunking_does_not_change_the_replicates(study):
    truth, scores = study
    whole = replicates(truth, scores, n_boot=64, seed=5)
    chunked = replicates(truth, scores, n_boot=64, seed=5, chunk_size=7)
    np.testing.assert_array_equal(whole, chunked)


def test_percentile_interval_and_se_summarise_the_replicates(study):
    truth, scores = study
    table = boot(truth, scores, n_boot=400, seed=9, alpha=0.1)
    reps = replicates(truth, scores, n_boot=400, seed=9)
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
    first = boot(truth, scores[0], n_boot=200, seed=1)
    again = boot(truth, scores[0], n_boot=200, seed=1)
    other = boot(truth, scores[0], n_boot=200, seed=2)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_the_score_columns_label_the_rows(study):
    truth, scores = study
    readers = ["model", "resident", "calls", "noise"]
    data = pd.DataFrame(scores.T, columns=readers).assign(truth=truth)
    table = bootstrap.bootstrap_auc(data, score=readers, n_boot=50, seed=0)
    assert list(table.index) == readers
    assert table.index.name == "score"
    one = bootstrap.bootstrap_auc(data.rename(columns={"resident": "score"}), n_boot=50, seed=0)
    assert list(one.index) == ["score"]


def test_bootstrap_se_agrees_with_delong_on_procs_asah_example():
    # Both estimate the same sampling SD of the AUC; on pROC's aSAH s100b (n = 113) the
    # stratified bootstrap SE lands within 10% of DeLong's (0.0517, pROC docs).
    from tests.stats.refdata import refdata

    data = refdata("aSAH.csv")
    poor = (data["outcome"] == "Poor").astype(int)
    data = data.assign(poor=poor)
    delong = roc.auc_delong(data, truth="poor", score="s100b")
    table = bootstrap.bootstrap_auc(data, truth="poor", score="s100b", n_boot=2000, seed=0)
    assert table["se"].iloc[0] == pytest.approx(delong.se, rel=0.1)
    assert table["estimate"].iloc[0] == pytest.approx(delong.estimate)


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
    table = boot(truth, calls, n_boot=2000, seed=0)
    assert table["ci_low"].iloc[0] == pytest.approx(published_ci[0], abs=0.0075)
    assert table["ci_high"].iloc[0] == pytest.approx(published_ci[1], abs=0.0075)


def test_missing_scores_are_refused_or_dropped_for_every_vector(study):
    truth, scores = study
    holed = scores.copy()
    holed[2, 4] = np.nan
    with pytest.raises(ValueError, match="scores has missing values in 1 of 60 cases"):
        boot(truth, holed, n_boot=10)
    dropped = boot(truth, holed, n_boot=10, missing="drop")
    keep = np.arange(60) != 4
    assert dropped.equals(boot(truth[keep], scores[:, keep], n_boot=10))


def test_zero_resamples_are_refused(study):
    truth, scores = study
    with pytest.raises(ValueError, match="n_boot must be a positive integer"):
        boot(truth, scores, n_boot=0)


# -- bootstrap_statistic --------------------------------------------------------------


def test_bootstrap_statistic_applies_the_function_to_each_row_of_the_index_matrix():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=30), rng.normal(size=30)
    data = pd.DataFrame({"a": a, "b": b})
    reps = bootstrap.bootstrap_statistic(lambda d: np.mean(d["a"] - d["b"]), data, n_boot=100,
                                         seed=8)  # fmt: skip
    indices = bootstrap.bootstrap_indices(30, n_boot=100, seed=8)
    np.testing.assert_allclose(reps, [np.mean(a[i] - b[i]) for i in indices])


def test_bootstrap_statistic_resamples_rows_and_keeps_strata():
    data = pd.DataFrame({"x": np.arange(0.0, 40.0, 2), "y": np.arange(1.0, 41.0, 2),
                         "group": np.r_[np.zeros(5), np.ones(15)]})
    reps = bootstrap.bootstrap_statistic(
        lambda d: np.array([len(d), d["group"].sum(), (d["y"] - d["x"]).mean()]),
        data,
        n_boot=40,
        seed=3,
        strata="group",
    )
    assert reps.shape == (40, 3)
    assert (reps[:, 0] == 20).all() and (reps[:, 1] == 15).all() and (reps[:, 2] == 1).all()


def test_bootstrap_statistic_refuses_an_unknown_strata_column():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['truth'\]"):
        bootstrap.bootstrap_statistic(len, pd.DataFrame({"x": [1, 2, 3]}), n_boot=5, seed=0,
                                      strata="truth")
