"""manage.py demo on a small phantom dataset: every study holds a finished simulated study."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from fixtures.phantoms import build_dataset
from readerstudy.demo.management.commands.demo import DEMO_READERS, DEMO_STUDIES, SIMULATED_NOTE
from readerstudy.studies.models import Read, Round, Study
from tests.fixtures.phantom_helpers import SMALL_CT


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    """Eight small test cases, CT and MRI, internal and external (no training cases)."""
    root = tmp_path_factory.mktemp("demo-data")
    build_dataset(root, n_cases=8, seed=5, test_sets=("internal", "external"),
                  ct_kwargs={"shape": SMALL_CT}, mr_kwargs={"shape": (96, 96)})
    return root


def run_demo(data_dir) -> str:
    out = StringIO()
    call_command("demo", data_dir=str(data_dir), skip_model=True, stdout=out)
    return out.getvalue()


def test_every_demo_study_is_a_finished_simulated_study_and_a_second_run_adds_nothing(
        db, small_dataset):
    printed = run_demo(small_dataset)
    for slug, *_, simulated in DEMO_STUDIES:
        study = Study.objects.get(slug=slug)
        n_cases = study.cases.count()
        assert SIMULATED_NOTE in study.description
        for spec in simulated:
            reads = Read.objects.filter(study=study, reader__username=spec.username)
            assert reads.filter(round=Round.FIRST).count() == n_cases
            repeats = n_cases if study.repeat_sample_size else 0
            assert reads.filter(round=Round.REPEAT).count() == repeats
    assert "SIMULATED reads made by sim-resident-2y, sim-resident-4y, sim-attending-7y" in printed
    assert "finished SIMULATED reader study" in printed
    live = [username for username, _role, _years in DEMO_READERS]
    assert not Read.objects.filter(reader__username__in=live).exists()
    assert set(Study.objects.get(slug="demo-ct").assignments.values_list(
        "reader__username", flat=True)) >= {"resident1", "resident2", "attending"}

    reads_before = Read.objects.count()
    printed_again = run_demo(small_dataset)
    assert Read.objects.count() == reads_before
    assert "already made" in printed_again
