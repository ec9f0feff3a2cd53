"""The training report's files: loss curves, the validation ROC (computed by
readerstudy.stats.roc, tested in tests/stats/test_roc.py) and the JSON summary."""

from __future__ import annotations

import json

import numpy as np

from inference.report import write_training_report
from inference.train import FoldHistory


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
