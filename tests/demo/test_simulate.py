"""The simulation alone: pure, seeded, and faithful to the readers it is given."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from readerstudy.demo.simulate import (
    CT_READERS,
    FEATURE_PREVALENCE,
    MRI_READERS,
    TRAINEES,
    CaseFacts,
    Form,
    SimulatedReader,
    drawn_case_facts,
    simulate_reader,
)
from readerstudy.studies.answer_form import FEATURES, MEASUREMENTS

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FULL_FORM = Form(confidence=True, three_tier=True, features=True, measurements=tuple(MEASUREMENTS))
ATTENDING = CT_READERS[2]


def cases(n: int = 200, *, seed: int = 1) -> list[CaseFacts]:
    """``n`` cases, malignant and benign in turn, with drawn difficulty, features, measurements."""
    return [drawn_case_facts(code=f"C{i:04d}", malignant=i % 2 == 0, seed=seed) for i in range(n)]


def simulate(reader: SimulatedReader = ATTENDING, *, n: int = 200, repeats: int = 20,
             form: Form = FULL_FORM, washout_days: int = 30, seed: int = 7, facts=None):
    facts = facts if facts is not None else cases(n)
    return simulate_reader(reader=reader, first_order=facts,
                           repeat_order=[c.code for c in facts[:repeats]], form=form,
                           washout_days=washout_days, now=NOW, seed=seed)


def first_round(reads):
    return [r for r in reads if r.round == "first"]


def auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC by counting pairs (ties count one half)."""
    pos, neg = score[truth == 1], score[truth == 0]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def test_the_same_seed_gives_the_same_reads_and_another_seed_other_reads():
    assert simulate(seed=7) == simulate(seed=7)
    assert simulate(seed=7) != simulate(seed=8)


@pytest.mark.parametrize("reader", CT_READERS + MRI_READERS + TRAINEES, ids=lambda r: r.username)
def test_first_calls_hit_the_readers_sensitivity_and_specificity(reader):
    facts = cases(200)
    reads = first_round(simulate(reader, facts=facts))
    malignant = {c.code for c in facts if c.malignant}
    true_positives = sum(r.case in malignant and r.answers["call"] == "malignant" for r in reads)
    true_negatives = sum(r.case not in malignant and r.answers["call"] == "benign" for r in reads)
    assert true_positives == round(reader.sensitivity * 100)
    assert true_negatives == round(reader.specificity * 100)


def test_readers_tend_to_miss_the_hard_cases():
    facts = cases(400)
    reads = first_round(simulate(CT_READERS[0], facts=facts))
    difficulty = {c.code: c.difficulty for c in facts}
    truth = {c.code: c.malignant for c in facts}
    missed = [difficulty[r.case] for r in reads if (r.answers["call"] == "malignant") != truth[r.case]]
    right = [difficulty[r.case] for r in reads if (r.answers["call"] == "malignant") == truth[r.case]]
    assert np.mean(missed) > np.mean(right) + 0.05


def test_confidence_sides_with_the_call_and_ranks_cases_better_than_the_call_alone():
    facts = cases(200)
    reads = first_round(simulate(CT_READERS[1], facts=facts))
    for read in reads:
        confidence = read.answers["confidence"]
        assert isinstance(confidence, int) and 0 <= confidence <= 100
        assert confidence >= 50 if read.answers["call"] == "malignant" else confidence <= 50
    truth = {c.code: int(c.malignant) for c in facts}
    y = np.array([truth[r.case] for r in reads])
    score_auc = auc(y, np.array([r.answers["confidence"] for r in reads], float))
    call_auc = auc(y, np.array([r.answers["call"] == "malignant" for r in reads], float))
    assert score_auc > call_auc + 0.03


def test_the_three_tier_call_is_definite_only_with_a_confident_score():
    reads = simulate()
    tiers = {r.answers["three_tier"] for r in reads}
    assert tiers == {"benign", "uncertain", "malignant"}
    for read in reads:
        tier, confidence = read.answers["three_tier"], read.answers["confidence"]
        if tier == "uncertain":
            assert 30 < confidence < 70
        else:
            assert tier == read.answers["call"] and (confidence >= 70 or confidence <= 30)


def test_measurements_are_the_true_values_plus_the_readers_bias_and_noise():
    facts = cases(300)
    reader = replace(ATTENDING, measurement_bias=1.0, measurement_sd=0.5)
    reads = first_round(simulate(reader, facts=facts))
    truth = {c.code: c.measurements["posterior_height"] for c in facts}
    errors = np.array([r.answers["measurements"]["posterior_height"] - truth[r.case] for r in reads])
    assert errors.mean() == pytest.approx(1.0, abs=0.1)
    assert errors.std() == pytest.approx(0.5, abs=0.1)
    for read in reads:
        for key, value in read.answers["measurements"].items():
            assert MEASUREMENTS[key].minimum <= value <= MEASUREMENTS[key].maximum
            assert value == round(value, 1)


def test_features_are_ticked_with_the_readers_sensitivity_and_false_positive_rate():
    facts = cases(300)
    reader = replace(ATTENDING, feature_sensitivity=0.9, feature_false_positive=0.1)
    reads = first_round(simulate(reader, facts=facts))
    present = {c.code: c.features for c in facts}
    hits = [r.answers["features"][k] for r in reads for k in FEATURES if k in present[r.case]]
    false_alarms = [r.answers["features"][k] for r in reads for k in FEATURES
                    if k not in present[r.case]]
    assert np.mean(hits) == pytest.approx(0.9, abs=0.03)
    assert np.mean(false_alarms) == pytest.approx(0.1, abs=0.03)
    assert all(list(r.answers["features"]) == list(FEATURES) for r in reads)


def test_drawn_features_differ_between_benign_and_malignant_cases():
    facts = cases(600)
    for key, (benign, malignant) in FEATURE_PREVALENCE.items():
        seen = {flag: np.mean([key in c.features for c in facts if c.malignant == flag])
                for flag in (False, True)}
        assert seen[False] == pytest.approx(benign, abs=0.08), key
        assert seen[True] == pytest.approx(malignant, abs=0.08), key
    assert set(FEATURE_PREVALENCE) == set(FEATURES)


def test_a_steadier_reader_repeats_more_of_their_first_calls():
    def agreement(consistency: float) -> float:
        reads = simulate(replace(CT_READERS[0], consistency=consistency), n=600, repeats=600)
        first = {r.case: r.answers["call"] for r in first_round(reads)}
        repeats = [r for r in reads if r.round == "repeat"]
        return np.mean([first[r.case] == r.answers["call"] for r in repeats])

    # A fresh call agrees by chance with a 67% (malignant) / 70% (benign) accurate first
    # call: (0.673^2 + 0.327^2 + 0.703^2 + 0.297^2) / 2 = 0.57, so agreement is about
    # 0.95 + 0.05 * 0.57 = 0.98 and 0.5 + 0.5 * 0.57 = 0.79 (binomial sd over 600: 0.017).
    steady, unsteady = agreement(0.95), agreement(0.5)
    assert steady == pytest.approx(0.98, abs=0.02)
    assert unsteady == pytest.approx(0.79, abs=0.05)


def test_first_reads_fall_between_90_and_50_days_ago_and_repeats_after_the_washout():
    reads = simulate(n=40, repeats=20)
    first = {r.case: r for r in first_round(reads)}
    for read in first.values():
        assert NOW - timedelta(days=91) < read.opened_at < read.submitted_at < NOW - timedelta(days=49)
    repeats = [r for r in reads if r.round == "repeat"]
    assert len(repeats) == 20
    for read in repeats:
        assert read.opened_at >= first[read.case].submitted_at + timedelta(days=30)
        assert read.opened_at < read.submitted_at < NOW


def test_no_two_reads_of_a_reader_overlap():
    reads = simulate(n=120, repeats=20)
    ordered = sorted(reads, key=lambda r: r.opened_at)
    for before, after in itertools.pairwise(ordered):
        assert before.submitted_at <= after.opened_at


def test_a_long_washout_moves_the_first_round_earlier():
    reads = simulate(n=40, repeats=20, washout_days=90)
    first = {r.case: r for r in first_round(reads)}
    for read in (r for r in reads if r.round == "repeat"):
        assert read.opened_at >= first[read.case].submitted_at + timedelta(days=90)
        assert read.submitted_at < NOW


def test_a_study_without_a_repeat_round_gets_first_reads_only():
    reads = simulate(n=20, repeats=0, form=Form(confidence=True))
    assert [r.round for r in reads] == ["first"] * 20
    assert all(set(r.answers) == {"call", "confidence"} for r in reads)


def test_a_repeat_case_outside_the_first_round_is_refused_by_code():
    with pytest.raises(ValueError, match="C9999"):
        simulate_reader(reader=ATTENDING, first_order=cases(4), repeat_order=["C9999"],
                        form=FULL_FORM, washout_days=30, now=NOW, seed=1)


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        simulate_reader(reader=ATTENDING, first_order=cases(4), repeat_order=[], form=FULL_FORM,
                        washout_days=30, now=NOW.replace(tzinfo=None), seed=1)


def test_a_measurement_without_a_true_value_is_refused_by_case_and_name():
    facts = [CaseFacts(code="K1", malignant=True)]
    with pytest.raises(ValueError, match="K1: no true anterior_height"):
        simulate(facts=facts, repeats=0, form=Form(measurements=("anterior_height",)))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("sensitivity", 1.2, "sensitivity must lie in"),
    ("consistency", -0.1, "consistency must lie in"),
    ("measurement_sd", -1.0, "measurement_sd must not be negative"),
    ("median_seconds", 0.0, "median_seconds must be positive"),
])
def test_a_reader_with_impossible_parameters_is_refused_by_name(field, value, message):
    with pytest.raises(ValueError, match=f"'sim-attending-7y': {message}"):
        replace(ATTENDING, **{field: value})


def test_case_facts_refuse_unknown_features_and_measurements():
    with pytest.raises(ValueError, match="K1: unknown features halo_sign"):
        CaseFacts(code="K1", malignant=True, features=frozenset({"halo_sign"}))
    with pytest.raises(ValueError, match="K1: unknown measurements width"):
        CaseFacts(code="K1", malignant=True, measurements={"width": 3.0})
    with pytest.raises(ValueError, match="K1: difficulty must lie in"):
        CaseFacts(code="K1", malignant=True, difficulty=1.5)


def test_the_published_readers_are_ranked_by_experience():
    by_name = {r.username: r for r in CT_READERS}
    assert (by_name["sim-resident-2y"].sensitivity, by_name["sim-resident-2y"].specificity) == (33 / 49, 26 / 37)
    assert (by_name["sim-attending-7y"].sensitivity, by_name["sim-attending-7y"].specificity) == (46 / 49, 29 / 37)
    for readers in (CT_READERS, MRI_READERS):
        assert len({(r.role, r.years) for r in readers}) == 3
        assert all(r.username.startswith("sim-") for r in readers)
    assert all(r.role == "trainee" and r.username.startswith("sim-") for r in TRAINEES)
