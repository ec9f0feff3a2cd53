"""The export's Bland-Altman figures of measurements: one figure per measurement and condition,
a panel per pair of readers who measured it (not a file per pair)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from readerstudy.analysis import display, figures
from readerstudy.analysis.frames import measurement_column
from readerstudy.stats import plots
from readerstudy.stats.bland_altman import bland_altman


def _reads() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    height = rng.normal(25, 3, 30)
    rows = []
    for reader, role, years, kind in (("r1", "resident", 2, "human"),
                                      ("r2", "attending", 9, "human"),
                                      ("model", "", "", "model")):
        measured = height + rng.normal(scale=0.6, size=30)
        rows += [{"reader": reader, "case": f"c{i}", "condition": "CT", "round": "first",
                  "role": role, "years": years, "reader_kind": kind,
                  measurement_column("anterior_height"): measured[i]} for i in range(30)]
    return pd.DataFrame(rows)


def test_each_measurement_and_condition_is_one_figure_with_a_panel_per_pair(tmp_path, monkeypatch):
    drawn = []
    grid = plots.bland_altman_grid
    monkeypatch.setattr(plots, "bland_altman_grid",
                        lambda pairs, **kw: drawn.append(pairs) or grid(pairs, **kw))
    reads = _reads()
    written = figures._measurement_figures(reads, tmp_path, alpha=0.05)
    assert sorted(Path(p).name for p in written) == [
        "bland_altman_anterior_height_CT.png", "bland_altman_anterior_height_CT.svg"]
    (pairs,) = drawn
    assert [(a, b) for a, b, _ in pairs] == [("r1", "r2"), ("r1", "model"), ("r2", "model")]
    # Each panel is the pair's Bland-Altman analysis (tests/stats/test_bland_altman.py checks
    # it against Bland & Altman 1986), reader minus other in the tables' reader order.
    wide = reads.pivot_table(index="case", columns="reader",
                             values=measurement_column("anterior_height"))
    for reader, other, result in pairs:
        expected = bland_altman(wide[[reader, other]], x=reader, y=other)
        assert result.estimate == expected.estimate and result.loa_low == expected.loa_low


MODEL_ID = "model:demo-phantom-ct@phantom-898bf49224cb"


def test_the_export_draws_every_reader_it_can_with_display_names_and_names_those_left_out(
        tmp_path, monkeypatch):
    # The user trial: a reader with 3 reads (2 malignant, 1 benign) removed every ROC figure.
    reads = _reads().replace({"reader": {"model": MODEL_ID}})
    truth = np.arange(30) % 2
    reads["truth"] = np.tile(truth, 3)
    reads["score"] = np.tile(truth * 40.0, 3) + np.random.default_rng(5).uniform(0, 60, 90)
    reads["call"] = np.where(reads["score"] > 50, "malignant", "benign")
    late = reads.loc[(reads["reader"] == "r1") & reads["case"].isin(["c1", "c3", "c0"])].assign(
        reader="late", role="resident", years=1)
    late[measurement_column("anterior_height")] = [np.nan, np.nan, 24.0]  # one measurement
    drawn = []
    grid = plots.bland_altman_grid
    monkeypatch.setattr(plots, "bland_altman_grid",
                        lambda pairs, **kw: drawn.append(kw) or grid(pairs, **kw))
    notes = figures.write_figures(pd.concat([reads, late], ignore_index=True), tmp_path,
                                  title="t", n_boot=0)
    assert {"roc_CT.png", "bland_altman_CT.png", "bland_altman_CT_summary.png",
            "bland_altman_anterior_height_CT.png"} <= {p.name for p in tmp_path.iterdir()}
    # No note on the ROC figure: late's curve is drawn. Only the pairs of the reader who
    # measured one case are left out, in the tables' reader order and named as they name
    # readers.
    shown = display.reader_label(MODEL_ID)
    assert notes == [f"Bland-Altman figure of Anterior height (mm), CT: late - r1; late - r2; "
                     f"late - {shown} left out (fewer than 2 cases measured by both)"]
    # The scores' grid and the measurement's, each naming its quantity and unit on the axes.
    scores, measured = sorted(drawn, key=lambda kw: kw["title"].startswith("Anterior"))
    assert scores["title"] == "Bland-Altman, every pair, CT"
    assert scores["quantity"] == "Probability of malignancy (0-100)"
    assert measured["quantity"] == "Anterior height (mm)"
    for kw in (scores, measured):
        assert kw["labels"][MODEL_ID] == shown == "demo-phantom-ct phantom-898b…"
