"""Bland-Altman: the 1986 Lancet peak-flow example, scipy's paired t test, interval coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from readerstudy.stats.bland_altman import bland_altman
from tests.stats.refdata import refdata


@pytest.fixture(scope="module")
def pefr() -> pd.DataFrame:
    return refdata("bland_altman_1986_pefr.csv")


def pairs(a, b, **options):
    """Bland-Altman of two aligned measurement series, as columns ``a`` and ``b``."""
    return bland_altman(pd.DataFrame({"a": a, "b": b}), x="a", y="b", **options)


def test_lancet_1986_peak_flow_figures_are_reproduced(pefr):
    # Bland & Altman (1986), Lancet 327:307: Wright minus mini Wright, first readings:
    # mean difference -2.1 l/min, SD 38.8, limits of agreement (mean +/- 2 SD)
    # -79.7 to 75.5 - the paper computed the limits from the rounded mean and SD, so
    # the unrounded limits lie within 0.1 of the printed ones.
    r = bland_altman(pefr, x="wright_first", y="mini_first", multiplier=2.0)
    assert round(r.estimate, 1) == -2.1
    assert round(r.sd, 1) == 38.8
    assert r.loa_low == pytest.approx(-79.7, abs=0.1)
    assert r.loa_high == pytest.approx(75.5, abs=0.1)
    assert r.n == 17


def test_bias_interval_and_test_are_the_paired_t_test(pefr):
    # scipy.stats.ttest_rel is the reference for the t statistic, p and the interval;
    # the 1986 paper's interval for the bias is -22.0 to 17.8 l/min.
    r = bland_altman(pefr, x="wright_first", y="mini_first")
    t = stats.ttest_rel(pefr["wright_first"], pefr["mini_first"])
    ci = t.confidence_interval(0.95)
    np.testing.assert_allclose(
        [r.statistic, r.p_value, r.ci_low, r.ci_high], [t.statistic, t.pvalue, ci.low, ci.high]
    )
    assert (round(r.ci_low, 1), round(r.ci_high, 1)) == (-22.0, 17.8)
    assert r.df == 16


def test_default_multiplier_is_the_normal_quantile(pefr):
    r = bland_altman(pefr, x="wright_first", y="mini_first")
    assert r.multiplier == pytest.approx(1.959963984540054)
    assert r.loa_high - r.estimate == pytest.approx(r.multiplier * r.sd)


def test_approximate_limit_interval_uses_the_1999_standard_error(pefr):
    # Bland & Altman (1999), Stat Methods Med Res 8:135, sec. 2.3:
    # SE(limit) = s sqrt(1/n + z^2 / (2 (n - 1))), interval limit +/- t_{n-1} SE.
    r = bland_altman(pefr, x="wright_first", y="mini_first", limits_ci="approximate")
    n, s, z = 17, r.sd, r.multiplier
    half = stats.t.ppf(0.975, n - 1) * s * np.sqrt(1 / n + z**2 / (2 * (n - 1)))
    assert r.loa_high_ci_high - r.loa_high == pytest.approx(half)
    assert r.loa_low - r.loa_low_ci_low == pytest.approx(half)


def test_exact_limit_interval_covers_the_true_limit_95_percent_of_the_time():
    # Carkeet (2015), Optom Vis Sci 92:e71: the noncentral-t interval is exact under
    # normality. Simulate 3000 studies of 15 pairs and count how often each interval
    # holds the true upper limit of agreement mu + 1.96 sigma.
    rng = np.random.default_rng(2015)
    true_upper = 1.0 + 1.959963984540054 * 2.0
    hits = 0
    for _ in range(3000):
        d = rng.normal(1.0, 2.0, 15)
        r = pairs(d, np.zeros(15))
        hits += r.loa_high_ci_low <= true_upper <= r.loa_high_ci_high
    assert hits / 3000 == pytest.approx(0.95, abs=0.012)


def test_exact_and_approximate_intervals_agree_in_large_samples():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=5000), rng.normal(size=5000)
    exact = pairs(a, b)
    approx = pairs(a, b, limits_ci="approximate")
    assert exact.loa_low_ci_low == pytest.approx(approx.loa_low_ci_low, abs=0.01 * exact.sd)
    assert exact.loa_high_ci_high == pytest.approx(approx.loa_high_ci_high, abs=0.01 * exact.sd)


def test_identical_measurements_have_zero_bias_and_no_spread():
    r = pairs([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (r.estimate, r.sd, r.loa_low, r.loa_high, r.p_value) == (0.0, 0.0, 0.0, 0.0, 1.0)


def test_missing_pairs_raise_unless_dropped():
    a, b = [1.0, 2.0, np.nan, 4.0], [1.5, 2.5, 3.0, 4.5]
    with pytest.raises(ValueError, match="missing"):
        pairs(a, b)
    assert pairs(a, b, missing="drop").n == 3


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        pairs([1.0], [2.0])
    with pytest.raises(ValueError, match="limits_ci"):
        pairs([1.0, 2.0], [2.0, 3.0], limits_ci="bootstrap")
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['second'\]"):
        bland_altman(pd.DataFrame({"a": [1.0, 2.0]}), x="a", y="second")
