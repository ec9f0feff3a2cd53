"""What the demo dataset's phantoms truly show, for the simulated readers.

A phantom of the demo dataset is drawn from its plan (label, level, seed, sex:
:func:`fixtures.phantoms.dataset.demo_plans`), so the plan redraws its anatomy in a few
milliseconds without touching the images: the case's difficulty, the MRI features drawn
into it (:meth:`FractureSpec.findings`) and the true measurements of its vertebral body
(:func:`fixtures.phantoms.morphometry.body_measurements`). This is ground truth: it feeds
the simulation only, never a reader.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["PHANTOM_FEATURES", "PhantomTruth", "phantom_truths"]

#: The phantom generator's names of the 15 MRI features -> the answer form's keys.
PHANTOM_FEATURES: Mapping[str, str] = {
    "absence_of_collapse": "no_collapse",
    "anterior_wedge_deformity": "anterior_wedge",
    "compression_of_entire_body": "entire_body_compression",
    "central_concave_deformity": "central_concave",
    "homogeneous_marrow_signal": "homogeneous_marrow",
    "dark_line_or_band": "dark_line_band",
    "band_pattern_edema": "band_edema",
    "dark_patch": "dark_patch",
    "fluid_or_necrotic_cleft": "fluid_cleft",
    "diffuse_signal_change_over_three_quarters": "diffuse_signal_change",
    "mass_like_or_nodular_lesion": "mass_like_lesion",
    "protrusion_of_body": "body_protrusion",
    "soft_tissue_mass": "soft_tissue_mass",
    "pedicle_involvement": "posterior_element_involvement",
    "skipped_lesions": "skipped_lesions",
}


@dataclass(frozen=True)
class PhantomTruth:
    """A phantom's label, difficulty, MRI features (answer-form keys) and measurements."""

    label: str
    difficulty: float
    features: frozenset[str]
    measurements: Mapping[str, float]


def phantom_truths(*, manifest: Path, dataset_seed: int) -> dict[str, PhantomTruth]:
    """Per manifest ``case_id``, the truth of the demo dataset's test cases.

    Only cases whose manifest row matches the plan of
    ``build_demo_dataset(seed=dataset_seed)`` (patient id, label, level, modality) are
    returned: a dataset built with another seed, or by hand, yields fewer or none, and the
    simulation draws the facts of the others (:func:`readerstudy.demo.simulate.drawn_case_facts`).
    """
    from fixtures.phantoms import read_manifest, sample_case  # demo-only dependency
    from fixtures.phantoms.dataset import demo_plans
    from fixtures.phantoms.morphometry import body_measurements

    rows = {row["case_id"]: row for row in read_manifest(manifest)}
    truths = {}
    for plan in demo_plans(seed=dataset_seed, n_training=0):
        row = rows.get(plan.case_id)
        planned = (plan.patient.patient_id, plan.label, plan.level, plan.modality)
        if row is None or (row["patient_id"], row["label"], row["vertebra_level"], row["modality"]) != planned:
            continue
        anatomy = sample_case(label=plan.label, level=plan.level, seed=plan.seed, sex=plan.patient.sex)
        truths[plan.case_id] = PhantomTruth(
            label=plan.label, difficulty=anatomy.difficulty,
            features=frozenset(PHANTOM_FEATURES[name] for name in anatomy.fracture.findings("MR")),
            measurements=body_measurements(anatomy),
        )
    test_rows = sum(1 for row in rows.values() if row["test_set"] != "training")
    if len(truths) < test_rows:
        logger.info("%d of %d test cases in %s match the demo dataset's plan (seed %d); the "
                    "others get drawn facts", len(truths), test_rows, manifest, dataset_seed)
    return truths
