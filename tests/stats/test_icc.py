"""The six ICC forms: Shrout & Fleiss (1979) Table 4, and pingouin's estimates and intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from readerstudy.stats.icc import FORMS, icc, icc_wide, koo_li
from tests.stats.refdata import refdata


@pytest.fixture(scope="module")
def shrout_fleiss() -> pd.DataFrame:
    return refdata("shrout_fleiss_1979.csv").set_index("target")


def test_shrout_fleiss_table_4_is_reproduced(shrout_fleiss):
    # Shrout & Fleiss (1979), Psychol Bull 86:420, Table 4: ICC(1,1) .17, ICC(2,1) .29,
    # ICC(3,1) .71, ICC(1,4) .44, ICC(2,4) .62, ICC(3,4) .91.
    results = icc_wide(shrout_fleiss)
    assert [r.form for r in results] == list(FORMS)
    assert [round(r.estimate, 2) for r in results] == [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
    assert all((r.n, r.k) == (6, 4) for r in results)


def _pingouin(wide: pd.DataFrame) -> pd.DataFrame:
    long = wide.reset_index().melt(id_vars=wide.index.name, var_name="rater", value_name="y")
    return pg.intraclass_corr(long, targets=wide.index.name, raters="rater", ratings="y")


def _datasets() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(11)
    target = rng.normal(size=(40, 1))
    simulated = pd.DataFrame(
        target + rng.normal(0.3, 0.5, size=(40, 5)) + np.array([0.0, 0.2, -0.1, 0.4, 0.0]),
        index=pd.Index(range(40), name="target"),
    )
    return {
        "shrout_fleiss": refdata("shrout_fleiss_1979.csv").set_index("target"),
        "anxiety": refdata("irr_anxiety.csv").set_index("subject"),
        "simulated": simulated,
    }


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside pingouin, pandas 3
@pytest.mark.parametrize("name", ["shrout_fleiss", "anxiety", "simulated"])
def test_estimates_tests_and_intervals_match_pingouin(name, monkeypatch):
    # pingouin.intraclass_corr (validated against R's psych::ICC); its CI95 column is
    # rounded to 2 decimals unless the rounding option is switched off.
    monkeypatch.setitem(pg.options, "round.column.CI95", None)
    wide = _datasets()[name]
    expected = _pingouin(wide)
    ours = icc_wide(wide)
    np.testing.assert_allclose([r.estimate for r in ours], expected["ICC"], rtol=1e-10)
    np.testing.assert_allclose([r.statistic for r in ours], expected["F"], rtol=1e-10)
    np.testing.assert_allclose([r.df2 for r in ours], expected["df2"])
    np.testing.assert_allclose([r.p_value for r in ours], expected["pval"], rtol=1e-8)
    bounds = np.vstack(expected["CI95"].to_numpy())
    np.testing.assert_allclose([[r.ci_low, r.ci_high] for r in ours], bounds, rtol=1e-8)


def test_mcgraw_wong_names_follow_the_definitions(shrout_fleiss):
    by_form = {r.form: r for r in icc_wide(shrout_fleiss)}
    assert by_form["ICC(2,1)"].mcgraw_wong == "ICC(A,1)"
    assert by_form["ICC(3,k)"].definition == "consistency"
    assert by_form["ICC(1,1)"].model == "one-way random"


def test_a_wider_confidence_level_widens_every_interval(shrout_fleiss):
    narrow, wide = icc_wide(shrout_fleiss, alpha=0.1), icc_wide(shrout_fleiss, alpha=0.01)
    for a, b in zip(narrow, wide, strict=True):
        assert b.ci_low < a.ci_low < a.estimate < a.ci_high < b.ci_high


def test_long_data_gives_the_same_result_as_the_wide_table(shrout_fleiss):
    long = shrout_fleiss.reset_index().melt(id_vars="target", var_name="judge", value_name="y")
    long = long.sample(frac=1.0, random_state=1)
    from_long = icc(long, subject="target", rater="judge", rating="y")
    assert [r.estimate for r in from_long] == pytest.approx(
        [r.estimate for r in icc_wide(shrout_fleiss)]
    )


def test_a_target_rated_twice_by_one_rater_is_refused():
    long = pd.DataFrame(
        {"case": [1, 1, 2, 2, 2], "reader": ["a", "b", "a", "b", "b"], "y": [1.0] * 5}
    )
    with pytest.raises(ValueError, match="more than once"):
        icc(long, rating="y")


def test_an_incomplete_target_raises_or_is_dropped(shrout_fleiss):
    holed = shrout_fleiss.astype(float)
    holed.iloc[0, 1] = np.nan
    with pytest.raises(ValueError, match="lack a rating"):
        icc_wide(holed)
    dropped = icc_wide(holed, missing="drop")
    assert dropped[0].n == 5
    assert dropped[0].estimate == pytest.approx(icc_wide(shrout_fleiss.iloc[1:])[0].estimate)


def test_too_few_targets_or_raters_are_refused():
    with pytest.raises(ValueError, match="at least 2 targets and 2 raters"):
        icc_wide(np.ones((5, 1)))


@pytest.mark.parametrize(
    ("value", "band"),
    [(0.3, "poor"), (0.5, "moderate"), (0.74, "moderate"), (0.75, "good"), (0.9, "good"),
     (0.976, "excellent"), (float("nan"), "")],
)  # fmt: skip
def test_koo_li_bands(value, band):
    # Koo & Li (2016), J Chiropr Med 15:155: < 0.5 poor, 0.5-0.75 moderate,
    # 0.75-0.9 good, > 0.9 excellent.
    assert koo_li(value) == band
