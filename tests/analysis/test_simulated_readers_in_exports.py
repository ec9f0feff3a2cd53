"""An export's README says which readers are the demo's simulated readers, when any are."""

from __future__ import annotations

import pandas as pd
import pytest

from readerstudy.accounts.services import reader_create
from readerstudy.analysis import bundle, services
from readerstudy.studies.models import Study
from tests.analysis.conftest import Counts, add_reads, calls_for, make_cases

pytestmark = pytest.mark.django_db

FAST = services.ExportParameters(n_boot=20)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path, monkeypatch):
    settings.STORAGES = settings.STORAGES | {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": tmp_path / "media"}},
    }
    monkeypatch.setattr(bundle.figures, "write_figures", lambda *args, **kwargs: [])


@pytest.fixture
def study(db) -> Study:
    return Study.objects.create(slug="ct-export", title="CT export", modality="CT",
                                ask_confidence=False, status=Study.Status.OPEN, seed=1)


def exported(study: Study, out) -> tuple[str, pd.DataFrame]:
    export, _ = services.export_request(study=study, parameters=FAST, enqueue=False)
    export = services.export_run(export_pk=export.pk)
    assert export.status == "done", export.error
    services.export_extract(export=export, out=out)
    return (out / "README.md").read_text(), pd.read_csv(out / "reads.csv")


def test_the_readme_names_the_simulated_readers_and_counts_them_among_the_readers(
        study, make_reader, tmp_path):
    cases = make_cases(study, malignant=4, benign=4)
    counts = Counts(tp=3, fn=1, tn=3, fp=1)
    add_reads(study, make_reader("resident_a"), cases, calls_for(counts))
    for name in ("sim-resident-2y", "sim-attending-7y"):
        simulated = reader_create(username=name, password=None, role="resident",
                                  years_experience=2, simulated=True)
        add_reads(study, simulated, cases, calls_for(counts))

    readme, reads = exported(study, tmp_path / "out")

    assert "- Readers: 3 human (2 of them simulated), 0 model version(s); cases: 8" in readme
    assert "- Simulated readers: `sim-attending-7y`, `sim-resident-2y`. Their reads were" in readme
    assert "not made by people" in readme
    flagged = reads.groupby("reader")["simulated"].agg(["min", "max"])
    assert flagged.loc["resident_a"].tolist() == [False, False]
    assert flagged.loc[["sim-attending-7y", "sim-resident-2y"]].all(axis=None)


def test_the_readme_of_a_study_read_by_people_mentions_no_simulated_readers(
        study, make_reader, tmp_path):
    cases = make_cases(study, malignant=4, benign=4)
    add_reads(study, make_reader("resident_a"), cases, calls_for(Counts(tp=3, fn=1, tn=3, fp=1)))

    readme, _ = exported(study, tmp_path / "out")

    assert "- Readers: 1 human, 0 model version(s); cases: 8" in readme
    assert "imulated" not in readme
