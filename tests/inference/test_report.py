"""ROC area and curve of the training report, and the report files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from inference.report import roc_auc, roc_curve, write_training_report
from inference.train import FoldHistory


def test_roc_area_reproduces_hanley_and_mcneil_table_1():
    # Hanley & McNeil, Radiology 1982;143:29-36, Table I: 5-point ratings of 58 normal and
    # 51 abnormal CT images; the area under the empirical ROC curve is 0.893.
    normal = np.repeat(np.arange(1, 6), [33, 6, 6, 11, 2])
    abnormal = np.repeat(np.arange(1, 6), [3, 2, 2, 11, 33])
    scores = np.concatenate([normal, abnormal])
    labels = np.r_[np.zeros(58), np.ones(51)]

    assert roc_auc(scores, labels) == pytest.approx(0.893, abs=5e-4)


def test_roc_area_and_curve_agree_with_scikit_learn_on_tied_scores():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.normal(labels * 0.8, 1.0), 1)  # rounding makes ties

    fpr, tpr, thresholds = roc_curve(scores, labels)
    sk_fpr, sk_tpr, sk_thresholds = sk_roc_curve(labels, scores, drop_intermediate=False)

    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thresholds[1:], sk_thresholds[1:])
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(scores, labels))


def test_roc_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([0.1, 0.2], [1, 1])


def test_the_training_report_holds_loss_curves_roc_and_a_json_summary(tmp_path):
    folds = [
        FoldHistory(0, [0.9, 0.6, 0.5], [0.8, 0.55, 0.6], 1, 20, 10, 0.9),
        FoldHistory(1, [0.8, 0.5], [0.7, 0.65], 1, 20, 10, None),
    ]
    probabilities = np.linspace(0.05, 0.95, 20)
    labels = (probabilities > 0.4).astype(int)

    out = write_training_report(
        tmp_path / "report",
        folds=folds,
        probabilities=probabilities,
        labels=labels,
        thresholds=(0.3, 0.6),
        summary={"best_fold": 0},
    )

    for figure in ("loss_curves.png", "roc.png"):
        assert (out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((out / "report.json").read_text())
    assert report["best_fold"] == 0
    assert report["auc_out_of_fold"] == 1.0
    assert report["thresholds"] == {"lower": 0.3, "upper": 0.6}
    assert [f["best_epoch"] for f in report["folds"]] == [2, 2]
    assert report["folds"][0]["val_loss"] == [0.8, 0.55, 0.6]
