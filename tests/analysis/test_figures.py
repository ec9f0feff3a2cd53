"""The export's Bland-Altman figures of measurements: one figure per measurement and condition,
a panel per pair of readers who measured it (not a file per pair)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from readerstudy.analysis import figures
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
