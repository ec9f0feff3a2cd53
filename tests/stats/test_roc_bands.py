"""ROC confidence bands (sensitivity at fixed false-positive rates, stratified bootstrap, as
pROC's ``ci.se``): the curve's sensitivity against its definition, the band's coverage by
simulation, and the band in the figure and its CSV.

pROC's documentation of ``ci.se`` (Robin et al. 2011, BMC Bioinformatics 12:77; the
package's manual) prints no numbers for the aSAH data, and no published figures were
found, so the band is checked by its coverage of a known (binormal) ROC curve instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from scipy import stats

from readerstudy.stats.io import validate_reads
from readerstudy.stats.plots import _condition_figures, roc_figure
from readerstudy.stats.roc import roc_curve
from readerstudy.stats.roc_bands import reader_bands, roc_band, sensitivity_at
from tests.stats.refdata import refdata


def sensitivity_by_definition(truth, score, fpr) -> np.ndarray:
    """From :func:`roc_curve`'s points: the highest sensitivity at a rate the curve reaches
    (the top of a vertical step), else linear between the points either side."""
    curve = roc_curve(pd.DataFrame({"truth": truth, "score": score}))
    x, y = np.round(curve["fpr"].to_numpy(), 12), curve["tpr"].to_numpy()
    out = []
    for f in np.round(fpr, 12):
        if (x == f).any():
            out.append(y[x == f].max())
            continue
        a, b = np.flatnonzero(x < f)[-1], np.flatnonzero(x > f)[0]
        out.append(y[a] + (y[b] - y[a]) * (f - x[a]) / (x[b] - x[a]))
    return np.array(out)


@pytest.mark.parametrize("ties", [False, True])
def test_sensitivity_at_fixed_rates_follows_the_empirical_curve(ties):
    rng = np.random.default_rng(2)
    fpr = np.r_[np.linspace(0, 1, 51), rng.uniform(size=7)]
    truth = np.vstack([rng.permutation(np.r_[np.ones(12), np.zeros(n - 12)]) for n in (30,) * 6])
    scores = (
        rng.integers(0, 5, truth.shape).astype(float)
        if ties
        else rng.normal(size=truth.shape) + truth
    )
    got = sensitivity_at(truth, scores, fpr)  # every row at once
    for row in range(truth.shape[0]):
        np.testing.assert_allclose(
            # 1e-10: the definition above interpolates between rates rounded to 12 decimals,
            # the implementation between exact counts of negatives.
            got[row], sensitivity_by_definition(truth[row], scores[row], fpr), rtol=0, atol=1e-10
        )


def test_asah_band_holds_the_curve_and_is_reproducible():
    data = refdata("aSAH.csv").assign(truth=lambda d: (d["outcome"] == "Poor").astype(int))
    band = roc_band(data, score="s100b", n_boot=2000, seed=3)
    assert list(band.columns) == ["fpr", "sensitivity", "lower", "upper"]
    assert ((band["lower"] <= band["upper"]) & (band["lower"] >= 0) & (band["upper"] <= 1)).all()
    # The observed curve lies inside its band except where the bootstrap distribution is
    # one-sided (at the ends), and the band is pinned at (1, 1).
    inside = (band["lower"] <= band["sensitivity"] + 1e-12) & (
        band["sensitivity"] <= band["upper"] + 1e-12
    )
    assert inside.mean() > 0.9
    assert band.iloc[-1][["sensitivity", "lower", "upper"]].tolist() == [1.0, 1.0, 1.0]
    pd.testing.assert_frame_equal(band, roc_band(data, score="s100b", n_boot=2000, seed=3))


@pytest.mark.slow
def test_pointwise_band_covers_a_known_binormal_curve_95_percent_of_the_time():
    # 50 malignant ~ N(1.2, 1), 70 benign ~ N(0, 1): the true sensitivity at rate f is
    # Phi(1.2 + Phi^-1(f)). 300 studies, 400 resamples each; the Monte-Carlo SD of a
    # coverage near 0.95 is about 0.013, so a band that covers 95% lies in [0.91, 0.99]
    # (3 SD).
    rng = np.random.default_rng(7)
    mu, fpr, studies = 1.2, np.array([0.1, 0.2, 0.3, 0.5]), 300
    true = stats.norm.cdf(mu + stats.norm.ppf(fpr))
    hits = np.zeros(fpr.size)
    truth = np.r_[np.ones(50), np.zeros(70)]
    for k in range(studies):
        data = pd.DataFrame(
            {"truth": truth, "score": np.r_[rng.normal(mu, 1, 50), rng.normal(0, 1, 70)]}
        )
        band = roc_band(data, fpr=fpr, n_boot=400, seed=k)
        hits += (band["lower"] <= true) & (true <= band["upper"])
    coverage = hits / studies
    assert ((coverage >= 0.91) & (coverage <= 0.99)).all(), coverage


def test_the_roc_figure_shades_each_scoring_readers_band_and_writes_it(tmp_path):
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, 40)
    reads = pd.concat(
        [
            pd.DataFrame(
                {
                    "reader": reader,
                    "case": [f"c{i}" for i in range(40)],
                    "truth": truth,
                    "score": truth + rng.normal(size=40),
                }
            )
            for reader in ("reader1", "model")
        ],
        ignore_index=True,
    )
    data = validate_reads(reads)
    bands = reader_bands(data, "", n_boot=200, seed=0)
    assert set(bands["reader"]) == {"reader1", "model"}
    assert list(bands.columns) == ["reader", "condition", "fpr", "sensitivity", "lower", "upper"]
    ax = roc_figure(data, "", bands).axes[0]
    shaded = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(shaded) == 2
    written = _condition_figures(data, "", tmp_path, 0.05, n_boot=200, seed=0)
    assert tmp_path / "roc_bands_all.csv" in written
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "roc_bands_all.csv", keep_default_na=False), bands, check_dtype=False
    )
    assert not [
        c for c in roc_figure(data, "").axes[0].collections if isinstance(c, PolyCollection)
    ]
