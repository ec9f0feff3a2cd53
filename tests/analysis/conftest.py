"""Studies whose reads reproduce the published counts of STUDY-PROTOCOL.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from readerstudy.predictions.models import ModelVersion, Prediction
from readerstudy.studies.models import Case, Read, ReferenceStandard, Round, Study

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL_CARD = {"thresholds": {"lower": 0.3, "upper": 0.7}, "decision_threshold": 0.5}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Readers are users with passwords; hashing them properly costs seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass(frozen=True)
class Counts:
    """A reader's published confusion counts."""

    tp: int
    fn: int
    tn: int
    fp: int


def make_cases(study: Study, *, malignant: int, benign: int, test_set: str = "internal",
               institutions: tuple[str, ...] = ("Hospital A",)) -> list[Case]:
    """Malignant cases first, then benign ones (the order the reads below rely on)."""
    start = study.cases.count()
    cases = Case.objects.bulk_create([
        Case(study=study, source_case_id=f"{study.slug}-{start + i:03d}",
             patient_pseudonym=f"P{start + i:03d}",
             test_set=test_set, vertebra_level="L1",
             institution=institutions[i % len(institutions)], scanner_vendor="VendorX",
             field_strength=1.5 if study.modality == "MR" else None)
        for i in range(malignant + benign)
    ])
    ReferenceStandard.objects.bulk_create([
        ReferenceStandard(case=case, label="malignant" if i < malignant else "benign",
                          source="histopathology")
        for i, case in enumerate(cases)
    ])
    return cases


def calls_for(counts: Counts) -> list[str]:
    """Calls in case order (malignant cases first): correct calls come first in each class, so
    that readers with more correct calls got right every case the others got right."""
    return (["malignant"] * counts.tp + ["benign"] * counts.fn
            + ["benign"] * counts.tn + ["malignant"] * counts.fp)


def add_reads(study: Study, reader, cases: list[Case], calls: list[str], *,
              round: str = Round.FIRST, start: datetime = T0, confidences=None,
              measurements=None, features=None, three_tiers=None,
              first_reads: dict[int, Read] | None = None) -> list[Read]:
    reads = []
    for position, (case, call) in enumerate(zip(cases, calls, strict=True), start=1):
        submitted = start + timedelta(minutes=2 * position)
        first = (first_reads or {}).get(case.pk)
        reads.append(Read(
            study=study, case=case, reader=reader, round=round, position=position, call=call,
            confidence=None if confidences is None else confidences[position - 1],
            measurements={} if measurements is None else measurements[position - 1],
            features={} if features is None else features[position - 1],
            three_tier="" if three_tiers is None else three_tiers[position - 1],
            opened_at=submitted - timedelta(minutes=1), submitted_at=submitted,
            first_read=first,
            repeat_interval=(submitted - first.submitted_at) if first is not None else None,
        ))
    return Read.objects.bulk_create(reads)


def add_model(study: Study, cases: list[Case], probabilities: list[float], *,
              name: str = "ct-unet", version: str = "1.0") -> ModelVersion:
    model, _ = ModelVersion.objects.get_or_create(
        name=name, version=version,
        defaults={"modality": study.modality, "architecture": "test", "sha256": "0" * 64,
                  "card": MODEL_CARD, "weights_path": f"{name}/{version}"},
    )
    lower, upper = MODEL_CARD["thresholds"]["lower"], MODEL_CARD["thresholds"]["upper"]
    Prediction.objects.bulk_create([
        Prediction(case=case, model_version=model, probability=p, runtime_s=0.1,
                   three_tier="benign" if p < lower else ("malignant" if p >= upper else "uncertain"))
        for case, p in zip(cases, probabilities, strict=True)
    ])
    return model


# STUDY-PROTOCOL.md, internal test set of the CT study: 86 patients, 49 malignant, 37 benign.
CT_READERS = {
    ("resident_2y", "resident", 2): Counts(tp=33, fn=16, tn=26, fp=11),
    ("resident_4y", "resident", 4): Counts(tp=34, fn=15, tn=27, fp=10),
    ("attending_7y", "attending", 7): Counts(tp=46, fn=3, tn=29, fp=8),
}
# The best model on its definite cases: 34/36 malignant and 26/30 benign correct; the other
# 13 malignant and 7 benign cases are "uncertain - recommend MRI".
CT_MODEL_MALIGNANT = [0.9] * 34 + [0.1] * 2 + [0.55] * 13
CT_MODEL_BENIGN = [0.1] * 26 + [0.9] * 4 + [0.45] * 7

# STUDY-PROTOCOL.md, MRI study: 190 patients, 50 malignant, 140 benign.
MRI_READERS = {
    ("msk_attending", "attending", 10): Counts(tp=47, fn=3, tn=139, fp=1),
    ("resident_4th_year", "resident", 4): Counts(tp=47, fn=3, tn=135, fp=5),
    ("resident_1st_year", "resident", 1): Counts(tp=39, fn=11, tn=86, fp=54),
}
MRI_MODEL = Counts(tp=47, fn=3, tn=128, fp=12)


@pytest.fixture
def published_ct_study(db, make_reader):
    """The CT study's internal test set with the three published readers and the model."""
    study = Study.objects.create(slug="ct-published", title="CT study", modality="CT",
                                 ask_confidence=False, status=Study.Status.OPEN, seed=1)
    cases = make_cases(study, malignant=49, benign=37, institutions=("Hospital A", "Hospital B"))
    for (name, role, years), counts in CT_READERS.items():
        add_reads(study, make_reader(name, role, years), cases, calls_for(counts))
    add_model(study, cases, CT_MODEL_MALIGNANT + CT_MODEL_BENIGN)
    return study


@pytest.fixture
def published_mri_study(db, make_reader):
    """The MRI study's 190 patients with the three published readers and ResNet50."""
    study = Study.objects.create(slug="mri-published", title="MRI study", modality="MR",
                                 ask_confidence=False, status=Study.Status.OPEN, seed=1)
    cases = make_cases(study, malignant=50, benign=140)
    for (name, role, years), counts in MRI_READERS.items():
        add_reads(study, make_reader(name, role, years), cases, calls_for(counts))
    probabilities = [0.9 if call == "malignant" else 0.1 for call in calls_for(MRI_MODEL)]
    add_model(study, cases, probabilities, name="mri-resnet50")
    return study
