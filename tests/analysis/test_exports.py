"""Exports through the API, the Celery task, the page and the command: coordinators only,
cached until the reads change, one export however often the task runs."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pandas as pd
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from readerstudy.analysis import bundle, services
from readerstudy.analysis.models import AnalysisExport
from readerstudy.analysis.tasks import export_job
from readerstudy.core.models import AuditEvent
from readerstudy.studies.models import ReferenceStandard
from tests.analysis.conftest import T0, add_reads
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

FAST = {"n_boot": 50}


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.STORAGES = settings.STORAGES | {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": tmp_path / "media"}},
    }


@pytest.fixture(autouse=True)
def skip_figures(request, monkeypatch):
    """Drawing figures takes about a second each; only tests asking for ``with_figures``
    draw them."""
    if "with_figures" not in request.fixturenames:
        monkeypatch.setattr(bundle.figures, "write_figures", lambda *args, **kwargs: [])


@pytest.fixture
def with_figures():
    """Draw the figures in this test (see ``skip_figures``)."""


@pytest.fixture
def small_study(make_study, make_reader):
    """12 cases (internal and external), two readers with calls and confidences."""
    study = make_study("small", n=12)
    cases = list(study.cases.order_by("source_case_id"))
    for name, years in (("res_a", 2), ("res_b", 4)):
        reader = make_reader(name, "resident", years)
        calls = [c.reference.label if (i + years) % 5 else
                 ("benign" if c.reference.label == "malignant" else "malignant")
                 for i, c in enumerate(cases)]
        add_reads(study, reader, cases, calls,
                  confidences=[80 if call == "malignant" else 20 for call in calls])
    return study


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what a block enqueues on commit (the export job; Celery is eager here) at its end,
    as a real transaction commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _zip_names(response) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()


ENDPOINTS = [
    ("get", "/api/v1/studies/{slug}/exports/"),
    ("post", "/api/v1/studies/{slug}/exports/"),
    ("get", "/api/v1/studies/{slug}/exports/{pk}/"),
    ("get", "/api/v1/studies/{slug}/exports/{pk}/download/"),
    ("get", "/api/v1/studies/{slug}/exports/{pk}/download/?file=README.md"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_readers_are_refused_on_every_export_endpoint(client_for, reader, coordinator,
                                                      small_study, method, path):
    export, _ = services.export_request(study=small_study, by=coordinator,
                                        parameters=services.ExportParameters(**FAST))
    url = path.format(slug=small_study.slug, pk=export.pk)
    for user in (reader, None):
        response = getattr(client_for(user), method)(url)
        assert response.status_code in (403, 404), (user, url, response.status_code)
        assert b"malignant" not in response.content


def test_readers_are_refused_the_exports_page(reader, small_study):
    browser = Client()
    assert browser.get(f"/coordinator/{small_study.slug}/exports/").status_code == 302
    browser.login(username=reader.username, password=PASSWORD)
    assert browser.get(f"/coordinator/{small_study.slug}/exports/").status_code == 403
    assert browser.post(f"/coordinator/{small_study.slug}/exports/").status_code == 403
    assert not AnalysisExport.objects.exists()


def test_a_coordinator_runs_an_export_and_downloads_the_archive(client_for, coordinator,
                                                                small_study, committed):
    api = client_for(coordinator)
    with committed():
        response = api.post(f"/api/v1/studies/{small_study.slug}/exports/", FAST, format="json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    body = api.get(f"/api/v1/studies/{small_study.slug}/exports/{response.json()['id']}/").json()
    assert body["status"] == "done" and body["progress"] == 100
    assert body["download_url"].endswith(f"/exports/{body['id']}/download/")
    listed = api.get(f"/api/v1/studies/{small_study.slug}/exports/").json()
    assert [e["id"] for e in listed] == [body["id"]]

    archive = api.get(body["download_url"])
    assert archive.status_code == 200 and archive["Content-Type"] == "application/zip"
    names = _zip_names(archive)
    assert set(names) == set(body["files"])
    for expected in ("README.md", "reads.csv", "software.json", "all/results.csv",
                     "all/results.xlsx",
                     "all/results.json", "internal/tables.xlsx", "internal/tables.md",
                     "internal/tables.html", "internal/table1_performance.csv",
                     "external/table2_counts.csv", "all/mrmc/imrmc.imrmc",
                     "all/mrmc/rjafroc.xlsx"):
        assert expected in names

    one = api.get(body["download_url"], {"file": "reads.csv"})
    reads = pd.read_csv(io.BytesIO(b"".join(one.streaming_content)))
    assert len(reads) == 24 and set(reads["reader"]) == {"res_a", "res_b"}
    missing = api.get(body["download_url"], {"file": "../../settings.py"})
    assert missing.status_code == 404


def test_an_export_is_reused_until_a_new_read_arrives(client_for, coordinator, small_study,
                                                      make_reader):
    api = client_for(coordinator)
    url = f"/api/v1/studies/{small_study.slug}/exports/"
    first = api.post(url, FAST, format="json")
    again = api.post(url, FAST, format="json")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]

    other_parameters = api.post(url, FAST | {"seed": 7}, format="json")
    assert other_parameters.status_code == 202

    late = make_reader("late_reader", "attending", 12)
    case = small_study.cases.order_by("code").first()
    add_reads(small_study, late, [case], ["malignant"], start=T0 + timedelta(days=3))
    after_read = api.post(url, FAST, format="json")
    assert after_read.status_code == 202
    assert after_read.json()["id"] not in (first.json()["id"], other_parameters.json()["id"])
    assert after_read.json()["data_state"]["reads"]["count"] == 25


def test_a_changed_reference_standard_makes_a_new_export(coordinator, small_study):
    parameters = services.ExportParameters(**FAST)
    before, _ = services.export_request(study=small_study, by=coordinator, parameters=parameters)
    reference = ReferenceStandard.objects.filter(case__study=small_study).first()
    reference.label = "benign" if reference.label == "malignant" else "malignant"
    reference.save()
    after, created = services.export_request(study=small_study, by=coordinator,
                                             parameters=parameters)
    assert created and after.pk != before.pk


def test_the_export_task_run_twice_gives_one_export(coordinator, small_study):
    export, created = services.export_request(study=small_study, by=coordinator,
                                              parameters=services.ExportParameters(**FAST),
                                              enqueue=False)
    assert created and export.status == "queued"
    assert export_job.delay(export_pk=export.pk).get() == "done"
    export.refresh_from_db()
    archive_name, finished = export.archive.name, export.finished_at
    assert export_job.delay(export_pk=export.pk).get() == "done"
    export.refresh_from_db()
    assert AnalysisExport.objects.count() == 1
    assert (export.archive.name, export.finished_at) == (archive_name, finished)
    produced = AuditEvent.objects.filter(verb="exported", details__action="produced")
    assert produced.count() == 1


def test_a_task_that_lost_its_worker_is_claimed_again_but_a_live_one_is_not(coordinator,
                                                                          small_study):
    export, _ = services.export_request(study=small_study, by=coordinator,
                                        parameters=services.ExportParameters(**FAST),
                                        enqueue=False)
    AnalysisExport.objects.filter(pk=export.pk).update(status="running", started_at=T0)
    assert services.export_run(export_pk=export.pk).status == "done"

    fresh, _ = services.export_request(study=small_study, by=coordinator,
                                       parameters=services.ExportParameters(n_boot=60),
                                       enqueue=False)
    assert services._claim(fresh.pk)
    assert services.export_run(export_pk=fresh.pk).status == "running"  # another worker has it


def test_an_export_that_cannot_be_computed_is_marked_failed_with_the_reason(
        coordinator, small_study, monkeypatch, committed):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.bundle, "build_export", broken)
    with committed():
        export, _ = services.export_request(study=small_study, by=coordinator,
                                            parameters=services.ExportParameters(**FAST))
    export.refresh_from_db()
    assert export.status == "failed" and "disk full" in export.error
    retry, created = services.export_request(study=small_study, by=coordinator,
                                             parameters=services.ExportParameters(**FAST))
    assert created and retry.pk != export.pk


def test_every_export_request_and_download_is_audited(client_for, coordinator, small_study,
                                                      committed):
    api = client_for(coordinator)
    with committed():
        api.post(f"/api/v1/studies/{small_study.slug}/exports/", FAST, format="json")
    body = api.post(f"/api/v1/studies/{small_study.slug}/exports/", FAST, format="json").json()
    b"".join(api.get(body["download_url"]).streaming_content)
    events = AuditEvent.objects.filter(verb="exported", study_slug=small_study.slug,
                                       actor=coordinator)
    actions = [e.details["action"] for e in events]
    assert actions.count("requested") == 2 and actions.count("downloaded") == 1
    assert [e.details["reused"] for e in events if e.details["action"] == "requested"] == [
        False, True]


@pytest.mark.parametrize(("data", "field"), [
    ({"n_boot": 0}, "n_boot"), ({"n_boot": "many"}, "n_boot"), ({"alpha": 0.7}, "alpha"),
    ({"seed": -1}, "seed"), ({"bootstrap": 10}, "bootstrap"), ({"power_effect": 0}, "power_effect"),
    ({"power_effect": 1.5}, "power_effect"), ({"power_effect": "nan"}, "power_effect"),
])
def test_bad_parameters_are_refused_naming_the_field(client_for, coordinator, small_study,
                                                     data, field):
    response = client_for(coordinator).post(f"/api/v1/studies/{small_study.slug}/exports/",
                                            data, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not AnalysisExport.objects.exists()


def test_the_effect_for_a_future_study_is_a_parameter_of_the_export(coordinator, small_study):
    chosen = services.ExportParameters.from_data(FAST | {"power_effect": "0.1"})
    assert chosen.power_effect == 0.1
    default, _ = services.export_request(study=small_study, by=coordinator, enqueue=False,
                                         parameters=services.ExportParameters(**FAST))
    other, created = services.export_request(study=small_study, by=coordinator, enqueue=False,
                                             parameters=chosen)
    assert created and other.pk != default.pk  # another effect, another export
    assert other.parameters["power_effect"] == 0.1 and default.parameters["power_effect"] == 0.05


def test_an_unknown_study_or_export_is_404_for_coordinators(client_for, coordinator, small_study):
    api = client_for(coordinator)
    assert api.get("/api/v1/studies/nope/exports/").status_code == 404
    assert api.get(f"/api/v1/studies/{small_study.slug}/exports/999/").status_code == 404


def test_the_exports_page_lists_exports_and_runs_one(coordinator, small_study, committed):
    browser = Client()
    browser.login(username=coordinator.username, password=PASSWORD)
    page = browser.get(f"/coordinator/{small_study.slug}/exports/")
    assert page.status_code == 200 and b"No export yet" in page.content
    with committed():
        started = browser.post(f"/coordinator/{small_study.slug}/exports/")
    assert started.status_code == 302
    ran = browser.get(started["Location"])
    export = AnalysisExport.objects.get()
    assert ran.status_code == 200
    assert f"Export #{export.pk} started".encode() in ran.content
    assert f"/api/v1/studies/{small_study.slug}/exports/{export.pk}/download/".encode() in ran.content
    download = browser.get(f"/api/v1/studies/{small_study.slug}/exports/{export.pk}/download/")
    assert download.status_code == 200
    again = browser.post(f"/coordinator/{small_study.slug}/exports/", follow=True)
    assert b"is reused" in again.content and AnalysisExport.objects.count() == 1


def test_the_export_command_writes_the_files_and_reuses_them(small_study, tmp_path):
    out = tmp_path / "out"
    stdout = io.StringIO()
    call_command("export_results", study=small_study.slug, out=out, n_boot=50, stdout=stdout)
    assert "Computing export" in stdout.getvalue()
    assert (out / "README.md").is_file() and (out / "internal" / "tables.md").is_file()
    stdout = io.StringIO()
    call_command("export_results", study=small_study.slug, out=tmp_path / "again", n_boot=50,
                 stdout=stdout)
    assert "reused" in stdout.getvalue() and AnalysisExport.objects.count() == 1


@pytest.mark.slow
def test_the_published_ct_tables_and_figures_are_in_the_export(published_ct_study, coordinator,
                                                                tmp_path, with_figures):
    export, _ = services.export_request(study=published_ct_study, by=coordinator,
                                        parameters=services.ExportParameters(**FAST),
                                        enqueue=False)
    export = services.export_run(export_pk=export.pk)
    files = services.export_extract(export=export, out=tmp_path)
    assert files
    markdown = (tmp_path / "internal" / "tables.md").read_text()
    for text in ("0.69 (0.59, 0.79)", "69% (59/86)", "0.71 (0.61, 0.81)", "71% (61/86)",
                 "0.86 (0.79, 0.94)", "87% (75/86)", "91% (60/66)"):
        assert text in markdown
    # Two institutions in the test set: each is analysed as a subgroup.
    subgroups = sorted(p.name for p in (tmp_path / "internal" / "subgroups").iterdir())
    assert subgroups == ["institution-hospital-a", "institution-hospital-b"]
    for figure in ("roc_CT.png", "roc_CT.svg"):
        assert (tmp_path / "internal" / "figures" / figure).is_file()
    # The ROC curves' pointwise bands, one row per reader with scores and rate.
    bands = pd.read_csv(tmp_path / "internal" / "figures" / "roc_bands_CT.csv")
    assert list(bands.columns) == ["reader", "condition", "fpr", "sensitivity", "lower", "upper"]
    assert (bands["lower"] <= bands["upper"]).all() and set(bands["condition"]) == {"CT"}
    results = pd.read_csv(tmp_path / "internal" / "results.csv")
    assert {"auc", "diagnostic", "mcnemar", "kappa"} <= set(results["analysis"])


def test_the_sweep_sends_again_an_export_whose_task_was_lost_and_leaves_live_ones(
        coordinator, small_study, monkeypatch):
    sent = []
    monkeypatch.setattr(services, "enqueue", lambda name, **kwargs: sent.append(kwargs["export_pk"]))
    lost, _ = services.export_request(study=small_study, by=coordinator,
                                      parameters=services.ExportParameters(**FAST), enqueue=False)
    _just_queued, _ = services.export_request(study=small_study, by=coordinator,
                                              parameters=services.ExportParameters(n_boot=60),
                                              enqueue=False)
    running, _ = services.export_request(study=small_study, by=coordinator,
                                         parameters=services.ExportParameters(n_boot=70),
                                         enqueue=False)
    now = timezone.now()
    AnalysisExport.objects.filter(pk=lost.pk).update(
        created_at=now - services.QUEUED_STALE_AFTER - timedelta(seconds=1))
    AnalysisExport.objects.filter(pk=running.pk).update(status="running", started_at=now)

    assert services.exports_requeue_stale() == [lost.pk]
    assert sent == [lost.pk]  # the export queued a moment ago and the running one are left
