"""Power and sample size of a future MRMC study against RJafroc's figures for Van Dyke's data.

Source of the expected figures: RJafroc's test suite, github.com/dpc10ster/RJafroc,
``tests/testthat/test-SsSampleSizeRoc.R`` (commit 0b362c1ceb39da2c2b6797017f79f30a9212cf9c,
the tests "added after updating Ss routines from Hillis 2011 and 2018 papers"), which run
the Hillis, Obuchowski & Berbaum (2011) method on the Van Dyke data (RJafroc's dataset02,
``fixtures/refdata/vandyke.csv``):

- ``SsPowerGivenJK(dataset02, FOM = "Wilcoxon", method = "OR", effectSize = -0.043800322,
  J = 10, K = 165)$powerRRRC`` = 0.80541995; with ``K = 131, analysisOption = "FRRC"``
  ``$powerFRRC`` = 0.80091813; with ``K = 53, analysisOption = "RRFC"`` ``$powerRRFC`` =
  0.80496663;
- ``SsPowerGivenJK(dataset02, FOM = "Wilcoxon", J = 6, K = 111, method = "OR")$powerRRRC``
  = 0.5526116 (the observed effect);
- ``SsSampleSizeKGivenJ(dataset02, J = 6, FOM = "Wilcoxon", method = "OR")$KRRRC`` = 251,
  and ``SsPowerTable(dataset02, FOM = "Wilcoxon")``: 6 readers, 251 cases, power 0.801.

The pilot's variance components are RJafroc's ``SsPowerGivenJK`` help page, example 4A
(``R/SsPowerGivenJK.R``): VarTR 0.00020040252, Cov1 0.00034661371, Cov2 0.00034407483,
Cov3 0.00023902837, Var 0.00080228827, KStar 114.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from readerstudy.stats import mrmc
from readerstudy.stats.estimable import NotEstimableError
from readerstudy.stats.sample_size import (
    ORPilot,
    or_cases_needed,
    or_pilot,
    or_power,
)
from tests.stats.refdata import refdata

OBSERVED = -0.043800322  # RJafroc's printed Van Dyke effect, treatment 1 minus treatment 2


@pytest.fixture(scope="module")
def vandyke_result() -> mrmc.MRMCResult:
    reads = refdata("vandyke.csv").rename(columns={"rating": "score", "treatment": "condition"})
    return mrmc.or_hillis(reads)


@pytest.fixture(scope="module")
def pilot(vandyke_result) -> ORPilot:
    return or_pilot(vandyke_result, cases=114)


def test_vandyke_pilot_components_are_rjafrocs(pilot):
    assert (pilot.var_tr, pilot.cov1, pilot.cov2, pilot.cov3, pilot.var_error) == pytest.approx(
        (0.00020040252, 0.00034661371, 0.00034407483, 0.00023902837, 0.00080228827), rel=1e-7
    )
    assert (pilot.cases, pilot.readers) == (114, 5)
    assert pilot.effect == pytest.approx(OBSERVED, rel=1e-7)


@pytest.mark.parametrize(
    ("analysis", "cases", "expected"),
    [("RRRC", 165, 0.80541995), ("FRRC", 131, 0.80091813), ("RRFC", 53, 0.80496663)],
)
def test_vandyke_power_of_ten_readers_matches_rjafroc(pilot, analysis, cases, expected):
    found = or_power(pilot, readers=10, cases=cases, effect=OBSERVED, analysis=analysis)
    assert found.power == pytest.approx(expected, abs=1e-8)
    assert (found.readers, found.cases, found.analysis) == (10, cases, analysis)


def test_vandyke_power_defaults_to_the_observed_effect_as_rjafroc(pilot):
    found = or_power(pilot, readers=6, cases=111)
    assert found.effect == pytest.approx(OBSERVED, rel=1e-7)
    assert found.power == pytest.approx(0.5526116, abs=5e-8)


def test_vandyke_cases_for_80_percent_power_with_six_readers_is_rjafrocs_251(pilot):
    needed = or_cases_needed(pilot, readers=6, power=0.8)
    assert needed.cases == 251
    assert round(needed.power, 3) == 0.801  # SsPowerTable's printed power
    assert needed.not_estimable == ""
    assert or_power(pilot, readers=6, cases=250).power < 0.8


@pytest.mark.parametrize("analysis", ["RRRC", "FRRC", "RRFC"])
def test_cases_needed_is_the_first_number_of_cases_that_reaches_the_target(pilot, analysis):
    needed = or_cases_needed(pilot, readers=10, power=0.8, analysis=analysis)
    assert needed.cases is not None
    below = or_power(pilot, readers=10, cases=needed.cases - 1, analysis=analysis).power
    assert below < 0.8 <= needed.power
    assert needed.power == or_power(pilot, readers=10, cases=needed.cases, analysis=analysis).power


def test_the_pilots_own_design_reproduces_the_pilots_own_test(pilot, vandyke_result):
    # At J*, K* and the observed effect the non-centrality is the pilot's t squared and the
    # ddf the pilot's Hillis ddf (Hillis et al. 2011, eq. 9 makes var_TR so).
    comparison = vandyke_result.comparisons.query("analysis == 'RRRC'").iloc[0]
    found = or_power(pilot, readers=5, cases=114)
    assert found.ncp == pytest.approx(comparison.statistic**2, rel=1e-10)
    assert found.df_den == pytest.approx(comparison.df, rel=1e-10)
    frrc = vandyke_result.comparisons.query("analysis == 'FRRC'").iloc[0]
    assert or_power(pilot, readers=5, cases=114, analysis="FRRC").ncp == pytest.approx(
        frrc.statistic**2, rel=1e-10
    )


def test_power_agrees_with_a_simulated_non_central_f(pilot):
    # The non-central F by its definition, F = (Z + sqrt(ncp))^2 / (chi2_ddf / ddf), drawn
    # 400,000 times: an independent check of scipy's ncf and of the critical value.
    found = or_power(pilot, readers=4, cases=200, effect=0.05)
    rng = np.random.default_rng(20110201)
    draws = 400_000
    numerator = (rng.standard_normal(draws) + math.sqrt(found.ncp)) ** 2
    statistic = numerator / (rng.chisquare(found.df_den, draws) / found.df_den)
    simulated = float(np.mean(statistic > found.critical))
    se = math.sqrt(found.power * (1 - found.power) / draws)
    assert abs(simulated - found.power) < 4 * se


def test_power_grows_with_readers_and_cases_and_is_alpha_without_an_effect(pilot):
    powers = [
        or_power(pilot, readers=j, cases=k, effect=0.05).power
        for j, k in ((3, 100), (6, 100), (6, 300), (12, 300))
    ]
    assert powers == sorted(powers)
    assert or_power(pilot, readers=6, cases=100, effect=0.0).power == 0.05
    assert (
        or_power(pilot, readers=6, cases=100, effect=0.05).power
        == or_power(pilot, readers=6, cases=100, effect=-0.05).power
    )


def test_a_negative_treatment_by_reader_variance_counts_as_zero(pilot):
    negative = replace(pilot, var_tr=-1e-4)
    zero = replace(pilot, var_tr=0.0)
    assert (
        or_power(negative, readers=5, cases=80).power == or_power(zero, readers=5, cases=80).power
    )


def test_zanca_pair_with_a_negative_var_tr_still_gives_a_power():
    reads = refdata("zanca_dataset04_inferred_roc.csv")
    pair = reads[reads["treatment"].isin([4, 5])]
    result = mrmc.or_hillis(pair, treatment="treatment", rating="rating")
    pilot = or_pilot(result, cases=reads["case"].nunique())
    found = or_power(pilot, readers=4, cases=200)
    assert 0.05 < found.power < 1


def test_random_readers_cannot_reach_a_target_their_variance_caps(pilot):
    needed = or_cases_needed(pilot, readers=3, effect=0.01)
    assert needed.cases is None and math.isnan(needed.power)
    assert "3 readers cannot reach 0.8 power" in needed.not_estimable
    assert "more readers are needed" in needed.not_estimable
    # Fixed readers have no reader variance to cap them.
    assert or_cases_needed(pilot, readers=3, effect=0.03, analysis="FRRC").cases is not None


def test_an_effect_of_zero_needs_no_number_of_cases(pilot):
    needed = or_cases_needed(pilot, readers=5, effect=0.0)
    assert needed.cases is None
    assert "an effect of 0" in needed.not_estimable


def test_a_pilot_without_two_conditions_or_two_readers_is_not_estimable(vandyke_result):
    reads = refdata("vandyke.csv").rename(columns={"rating": "score", "treatment": "condition"})
    one_condition = mrmc.or_hillis(reads[reads["condition"] == 1])
    with pytest.raises(NotEstimableError, match="exactly 2 conditions, got 1"):
        or_pilot(one_condition, cases=114)
    one_reader = mrmc.or_hillis(reads[reads["reader"] == 1])
    with pytest.raises(NotEstimableError, match="at least 2 readers, got 1"):
        or_pilot(one_reader, cases=114)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"cov1": math.nan}, "cov1 is nan"), ({"var_error": 0.0}, "error variance is 0")],
)
def test_components_that_allow_no_power_are_not_estimable(pilot, changes, message):
    with pytest.raises(NotEstimableError, match=message):
        replace(pilot, **changes)


def test_a_zero_denominator_is_not_estimable(pilot):
    flat = replace(pilot, var_tr=0.0, cov1=pilot.var_error)
    with pytest.raises(NotEstimableError, match="no positive denominator"):
        or_power(flat, readers=5, cases=100, analysis="RRFC")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"readers": 1}, "readers must be a whole number >= 2 for RRRC"),
        ({"readers": 2.5}, "readers must be a whole number"),
        ({"cases": 0}, "cases must be a whole number >= 1"),
        ({"effect": 1.5}, "effect must be a difference of AUCs"),
        ({"effect": math.nan}, "effect must be a difference of AUCs"),
        ({"alpha": 0.0}, "alpha"),
        ({"analysis": "RRR"}, "analysis must be one of RRRC, FRRC, RRFC"),
    ],
)
def test_impossible_designs_are_refused(pilot, kwargs, message):
    arguments = {"readers": 5, "cases": 100} | kwargs
    with pytest.raises(ValueError, match=message):
        or_power(pilot, **arguments)


def test_one_fixed_reader_is_a_design(pilot):
    assert 0.05 < or_power(pilot, readers=1, cases=500, analysis="FRRC").power < 1


@pytest.mark.parametrize("target", [0.05, 1.0, 0.01, math.nan])
def test_a_target_power_outside_alpha_to_1_is_refused(pilot, target):
    with pytest.raises(ValueError, match="power must be between alpha"):
        or_cases_needed(pilot, readers=5, power=target)


def test_components_without_an_observed_effect_need_one(pilot):
    bare = replace(pilot, effect=math.nan)
    with pytest.raises(ValueError, match="effect is required"):
        or_power(bare, readers=5, cases=100)
    assert or_power(bare, readers=5, cases=100, effect=0.05).effect == 0.05
