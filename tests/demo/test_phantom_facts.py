"""The demo dataset's phantoms tell the simulation what they truly show."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np

from fixtures.phantoms import MANIFEST_COLUMNS, MRI_FEATURES, sample_case
from fixtures.phantoms.dataset import demo_plans
from fixtures.phantoms.morphometry import body_measurements
from readerstudy.demo.management.commands.demo import DATASET_SEED
from readerstudy.demo.phantom_facts import PHANTOM_FEATURES, phantom_truths
from readerstudy.studies.answer_form import FEATURES


def write_manifest(path, plans, *, change=None):
    """A manifest of ``plans`` as build_demo_dataset writes it, without drawing any image."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        for plan in plans:
            row = dict.fromkeys(MANIFEST_COLUMNS, "")
            row |= {"patient_id": plan.patient.patient_id, "case_id": plan.case_id,
                    "label": plan.label, "test_set": plan.test_set, "vertebra_level": plan.level,
                    "modality": plan.modality}
            row |= (change or {}).get(plan.case_id, {})
            writer.writerow(row)
    return path


def test_the_phantoms_feature_names_map_one_to_one_onto_the_answer_forms_features():
    assert sorted(PHANTOM_FEATURES) == sorted(MRI_FEATURES)
    assert sorted(PHANTOM_FEATURES.values()) == sorted(FEATURES)


def test_the_demo_dataset_holds_the_20_patient_repeat_sample_for_each_modality():
    plans = demo_plans(seed=DATASET_SEED, n_training=0)
    per_modality = Counter(plan.modality for plan in plans)
    assert per_modality == {"CT": 20, "MR": 20}
    assert len({plan.patient.patient_id for plan in plans}) == 40
    for modality in ("CT", "MR"):
        assert {p.label for p in plans if p.modality == modality} == {"benign", "malignant"}


def test_truths_are_redrawn_from_the_plan_of_each_case(tmp_path):
    plans = demo_plans(seed=3, n_training=0)
    truths = phantom_truths(manifest=write_manifest(tmp_path / "manifest.csv", plans), dataset_seed=3)
    assert set(truths) == {plan.case_id for plan in plans}
    for plan in plans[:6]:
        anatomy = sample_case(label=plan.label, level=plan.level, seed=plan.seed, sex=plan.patient.sex)
        truth = truths[plan.case_id]
        assert truth.label == plan.label
        assert truth.difficulty == anatomy.difficulty
        assert truth.measurements == body_measurements(anatomy)
        assert truth.features == {PHANTOM_FEATURES[f] for f in anatomy.fracture.findings("MR")}


def test_a_case_that_does_not_match_the_plan_gets_no_truth(tmp_path):
    plans = demo_plans(seed=3, n_training=0)
    first, second = plans[0].case_id, plans[1].case_id
    manifest = write_manifest(tmp_path / "manifest.csv", plans, change={
        first: {"patient_id": "X0000000"}, second: {"vertebra_level": "T1"}})
    truths = phantom_truths(manifest=manifest, dataset_seed=3)
    assert first not in truths and second not in truths
    assert len(truths) == len(plans) - 2
    assert phantom_truths(manifest=manifest, dataset_seed=4) == {}


def test_malignant_phantoms_show_the_malignant_features_more_often(tmp_path):
    truths = []
    for seed in (DATASET_SEED, 11):
        manifest = write_manifest(tmp_path / f"{seed}.csv", demo_plans(seed=seed, n_training=0))
        truths += phantom_truths(manifest=manifest, dataset_seed=seed).values()
    assert len(truths) == 80

    def share(feature: str, label: str) -> float:
        return float(np.mean([feature in t.features for t in truths if t.label == label]))

    for feature in ("mass_like_lesion", "soft_tissue_mass", "posterior_element_involvement"):
        assert share(feature, "malignant") > share(feature, "benign") + 0.2, feature
    for feature in ("dark_line_band", "anterior_wedge"):
        assert share(feature, "benign") > share(feature, "malignant") + 0.2, feature
