"""Degenerate data: a correct value or a stated reason, never a crash or a zero-width
interval reported as if it were real.

The values at the edges follow from the definitions: identical first and repeat scores have
no residual variance, so ICC(2,1) = ICC(3,1) = 1 exactly (Shrout & Fleiss 1979,
doi:10.1037/0033-2909.86.2.420: (MSR - MSE) / (MSR + ...) with MSE = 0) and the F statistic
MSR / MSE is infinite (p = 0); a constant score has AUC 0.5 and perfect separation AUC 1
(the Mann-Whitney statistic), each with DeLong variance 0 (DeLong et al. 1988,
doi:10.2307/2531595), so no interval exists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from readerstudy.stats.__main__ import main
from readerstudy.stats.analysis import analyse
from readerstudy.stats.icc import icc_wide


def _one(results: pd.DataFrame, **where) -> pd.Series:
    mask = np.logical_and.reduce([results[k] == v for k, v in where.items()])
    assert mask.sum() == 1, where
    return results.loc[mask].iloc[0]


def test_identical_ratings_give_icc_one_with_an_infinite_f_and_no_interval():
    rng = np.random.default_rng(0)
    scores = rng.integers(1, 6, 20).astype(float) + 0.1  # 0.1: rounding noise in the sums
    for result in icc_wide(np.column_stack([scores, scores])):
        assert result.estimate == 1.0, result.form
        assert np.isinf(result.statistic) and result.p_value == 0.0
        assert np.isnan(result.ci_low) and np.isnan(result.ci_high)
        assert "agree exactly" in result.no_interval


def test_identical_first_and_repeat_scores_are_reported_as_such():
    rng = np.random.default_rng(1)
    rows = []
    for reader in ("r1", "r2"):
        scores = rng.integers(1, 6, 20) / 3.0
        rows += [{"reader": reader, "case": f"c{i}", "truth": i % 2, "score": s, "round": rnd}
                 for rnd in ("first", "repeat") for i, s in enumerate(scores)]
    results = analyse(pd.DataFrame(rows), n_boot=0).query("analysis == 'intra_reader'")
    assert len(results) == 4
    assert (results["estimate"] == 1.0).all()
    assert np.isinf(results["statistic"]).all() and (results["p_value"] == 0.0).all()
    assert results["ci_low"].isna().all()
    assert results["note"].str.startswith("no interval: the ratings agree exactly").all()


def test_a_constant_score_and_perfect_separation_have_no_interval():
    rows = []
    for i in range(20):
        t = i % 2
        rows += [{"reader": "r1", "case": f"c{i}", "truth": t, "score": 3.0},
                 {"reader": "r2", "case": f"c{i}", "truth": t, "score": 5.0 * t}]
    results = analyse(pd.DataFrame(rows), n_boot=50)
    for reader, expected in (("r1", 0.5), ("r2", 1.0)):
        for metric in ("auc_delong", "auc_bootstrap"):
            row = _one(results, analysis="auc", reader=reader, metric=metric)
            assert row["estimate"] == expected
            assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
            assert row["note"].startswith("no interval: the AUC's variance is 0")
    difference = _one(results, analysis="delong_paired", metric="auc_difference")
    assert difference["estimate"] == -0.5
    assert np.isnan(difference["statistic"]) and np.isnan(difference["p_value"])
    assert difference["note"].startswith("no interval: the variance of the AUC difference")


def test_one_reader_calling_every_case_uncertain_does_not_stop_the_others():
    rows = []
    for i in range(20):
        t = i % 2
        rows += [{"reader": "r1", "case": f"c{i}", "truth": t, "call": "uncertain"},
                 {"reader": "r2", "case": f"c{i}", "truth": t,
                  "call": "malignant" if t else "benign"}]
    results = analyse(pd.DataFrame(rows), n_boot=0)
    assert _one(results, analysis="diagnostic", reader="r2", metric="accuracy")["estimate"] == 1
    tier = _one(results, analysis="three_tier", reader="r1", metric="auc_calls")
    assert tier["note"].startswith("not estimable: no case has a definite call")
    share = _one(results, analysis="definite_cases", reader="r1", metric="definite_share")
    assert share["estimate"] == 0.0 and share["n"] == 20


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"\xff\xfe\x00r", "not UTF-8"),
])
def test_an_empty_or_unreadable_file_is_refused_with_a_clear_message(tmp_path, capsys, content,
                                                                     message):
    path = tmp_path / "reads.csv"
    path.write_bytes(content)
    assert main([str(path), "--out", str(tmp_path / "out"), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert message in err and "No columns to parse" not in err


def test_two_identical_roc_curves_are_a_difference_of_0_with_the_reason_not_z_0_p_1():
    # Identical ratings give identical DeLong components, so the variance of the difference,
    # Var(a) + Var(b) - 2 Cov(a, b), is 0 (DeLong et al. 1988): no interval and no z test.
    # roc.delong_paired follows pROC (z = 0, p = 1); the results and tables say why instead.
    from readerstudy.analysis.comparison_tables import aided_table
    from readerstudy.analysis.display import aided_display

    rng = np.random.default_rng(4)
    truth = np.arange(30) % 2
    score = truth + rng.normal(size=30)
    rows = []
    for reader, condition in (("r1", "CT"), ("r2", "CT"), ("r1", "CT + AI")):
        rows += [{"reader": reader, "case": f"c{i}", "truth": truth[i], "score": score[i],
                  "call": "malignant" if score[i] > 0.5 else "benign", "condition": condition}
                 for i in range(30)]  # fmt: skip
    results = analyse(pd.DataFrame(rows), n_boot=0)
    for analysis, metric, what in (("delong_paired", "auc_difference", "scores"),
                                   ("delong_paired", "auc_calls_difference", "calls"),
                                   ("aided", "auc_difference", "scores"),
                                   ("aided", "auc_calls_difference", "calls")):
        row = _one(results, analysis=analysis, condition="CT", metric=metric)
        assert row["estimate"] == 0.0 and row["n"] == 30
        assert row[["ci_low", "ci_high", "statistic", "p_value"]].isna().all()
        assert row["note"] == f"no interval: identical {what}: difference 0, no variance"
    shown = aided_display(aided_table(results)).iloc[0]
    reason = "no interval: identical scores: difference 0, no variance"
    assert shown["AUC difference (95% CI)"] == f"0.00 ({reason})"
    assert shown["p AUC"] == reason


def test_identical_roc_curves_from_different_scores_say_so():
    # A monotone transformation keeps the ranks, so the ROC curve and DeLong's components.
    truth = np.arange(20) % 2
    score = np.linspace(0, 1, 20) + truth
    rows = [{"reader": r, "case": f"c{i}", "truth": truth[i], "score": s}
            for r, scores in (("r1", score), ("r2", 10 * score + 3)) for i, s in enumerate(scores)]
    results = analyse(pd.DataFrame(rows), n_boot=0)
    row = _one(results, analysis="delong_paired", metric="auc_difference")
    assert row["estimate"] == 0.0 and np.isnan(row["p_value"])
    assert row["note"] == "no interval: identical ROC curves: difference 0, no variance"
