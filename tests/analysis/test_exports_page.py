"""The coordinator's exports page: the parameters form, the started message as a success
(not an error), a running export's live progress, a finished export's files one by one,
and a failed export's reason with a button to run it again."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.test import Client

from readerstudy.analysis import bundle, services
from readerstudy.analysis.models import AnalysisExport
from readerstudy.analysis.views import _folder_label
from tests.analysis.conftest import add_reads

pytestmark = pytest.mark.django_db

FAST = {"n_boot": "50"}


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.STORAGES = settings.STORAGES | {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": tmp_path / "media"}},
    }


@pytest.fixture(autouse=True)
def no_figures(monkeypatch):
    """Drawing the figures takes seconds and is not what these tests look at."""
    monkeypatch.setattr(bundle.figures, "write_figures", lambda *args, **kwargs: [])


@pytest.fixture
def study(make_study, make_reader):
    """12 cases, two readers who call every case, a few of them wrongly."""
    study = make_study("small", n=12)
    cases = list(study.cases.order_by("source_case_id"))
    for name, years in (("res_a", 2), ("res_b", 4)):
        calls = [c.reference.label if (i + years) % 5 else
                 ("benign" if c.reference.label == "malignant" else "malignant")
                 for i, c in enumerate(cases)]
        add_reads(study, make_reader(name, "resident", years), cases, calls,
                  confidences=[80 if call == "malignant" else 20 for call in calls])
    return study


@pytest.fixture
def browser(coordinator) -> Client:
    client = Client()
    client.force_login(coordinator)
    return client


def page_url(study) -> str:
    return f"/coordinator/{study.slug}/exports/"


def banner(response) -> tuple[str, str]:
    match = re.search(rb'<div class="banner" data-kind="(\w+)" role="status"><p>(.*?)</p>',
                      response.content, re.S)
    assert match, "no message banner on the page"
    return match[1].decode(), match[2].decode()


def item(response, export) -> str:
    """The page's part about one export."""
    match = re.search(rf'<article class="job-item" id="export-{export.pk}".*?</article>',
                      response.content.decode(), re.S)
    assert match, f"export #{export.pk} is not on the page"
    return match[0]


def test_a_started_export_is_announced_as_a_success_not_an_error(study, browser,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(page_url(study), FAST, follow=True)

    export = AnalysisExport.objects.get()
    assert banner(response) == ("success", f"Export #{export.pk} started.")
    again = browser.post(page_url(study), FAST, follow=True)
    kind, text = banner(again)
    assert kind == "info" and f"since export #{export.pk}: it is reused" in text


def test_the_parameters_entered_are_the_exports_parameters(study, browser):
    browser.post(page_url(study), {"n_boot": "300", "seed": "7", "alpha": "0.1"})

    export = AnalysisExport.objects.get()
    assert export.parameters == {"n_boot": 300, "seed": 7, "alpha": 0.1, "power_effect": 0.05}
    page = browser.get(page_url(study))
    assert "300 bootstrap resamples, seed 7, 90% confidence intervals" in item(page, export)


def test_empty_parameters_take_the_defaults(study, browser):
    browser.post(page_url(study), {"n_boot": "", "seed": "", "alpha": ""})

    assert AnalysisExport.objects.get().parameters == services.ExportParameters().as_dict()


def test_bad_parameters_are_refused_on_the_page_naming_each_field(study, browser):
    response = browser.post(page_url(study), {"n_boot": "0", "seed": "-1", "alpha": "lots",
                                              "power_effect": "2"})

    assert response.status_code == 400 and not AnalysisExport.objects.exists()
    text = response.content.decode()
    for field, message in (("n_boot", "Must be a whole number from 1 to 100000 (got &#x27;0&#x27;)"),
                           ("seed", "Must be a whole number from 0 to 2^32 - 1 (got &#x27;-1&#x27;)"),
                           ("alpha", "Must be a number between 0 and 0.5"),
                           ("power_effect", "Must be a difference of AUCs above 0 and at most 1")):
        assert re.search(rf'id="id_{field}-error">{re.escape(message)}', text), field
    assert 'value="lots"' in text  # what was typed stays in the form


def test_a_queued_export_shows_its_progress_and_is_polled_without_a_page_refresh(study, browser):
    export, _ = services.export_request(study=study, enqueue=False)

    page = browser.get(page_url(study))
    part = item(page, export)
    assert b'http-equiv="refresh"' not in page.content
    fragment_url = f"/coordinator/{study.slug}/exports/{export.pk}/"
    assert f'data-poll-url="{fragment_url}"' in part
    assert '<progress value="0" max="100"' in part and "waiting for a worker" in part

    AnalysisExport.objects.filter(pk=export.pk).update(status="running", progress=40,
                                                       step="internal: tables")
    fragment = browser.get(fragment_url)
    assert fragment.status_code == 200
    assert '<progress value="40" max="100"' in item(fragment, export)
    assert "40% · internal: tables" in item(fragment, export)


def test_a_finished_export_offers_the_archive_and_each_file(study, browser,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(page_url(study), FAST)
    export = AnalysisExport.objects.get()
    assert export.status == "done"

    part = item(browser.get(page_url(study)), export)
    archive = f"/api/v1/studies/{study.slug}/exports/{export.pk}/download/"
    assert f'href="{archive}"' in part and "data-poll-url" not in part
    links = re.findall(r'href="([^"]+\?file=[^"]+)"', part)
    assert len(export.files) > 5
    assert sorted(links) == sorted(f"{archive}?file={quote(name)}" for name in export.files)
    for link in (links[0], links[-1]):
        download = browser.get(link)
        assert download.status_code == 200 and b"".join(download.streaming_content)
    assert "<h4>Internal test set <code>internal/</code></h4>" in part
    assert "<h4>The whole study</h4>" in part and ">reads.csv</a>" in part


def test_a_failed_export_shows_its_reason_and_runs_again_with_the_same_parameters(
        study, browser, monkeypatch, django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):
        raise RuntimeError("the ROC table needs two classes <in every subgroup>")

    monkeypatch.setattr(services.bundle, "build_export", broken)
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(page_url(study), {"n_boot": "60", "seed": "3"})
    failed = AnalysisExport.objects.get()
    assert failed.status == "failed"

    part = item(browser.get(page_url(study)), failed)
    assert 'data-kind="error" role="alert"' in part
    assert ("RuntimeError: the ROC table needs two classes &lt;in every subgroup&gt;"
            in part)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', part))
    assert hidden.pop("csrfmiddlewaretoken")
    assert hidden == {"n_boot": "60", "seed": "3", "alpha": "0.05", "power_effect": "0.05"}

    browser.post(page_url(study), hidden)
    again = AnalysisExport.objects.exclude(pk=failed.pk).get()
    assert again.parameters == failed.parameters


def test_readers_are_refused_an_exports_progress(study, coordinator, reader):
    export, _ = services.export_request(study=study, enqueue=False)
    url = f"/coordinator/{study.slug}/exports/{export.pk}/"
    client = Client()
    assert client.get(url).status_code == 302
    client.force_login(reader)
    assert client.get(url).status_code == 403


def test_an_export_of_another_study_is_not_found(study, browser, make_study):
    export, _ = services.export_request(study=study, enqueue=False)
    other = make_study("other", n=2)

    assert browser.get(f"/coordinator/{other.slug}/exports/{export.pk}/").status_code == 404


@pytest.mark.parametrize(("folder", "label"), [
    ("", "The whole study"),
    ("all", "All test sets"),
    ("external/mrmc", "External test set · MRMC input files (iMRMC, RJafroc)"),
    ("internal/subgroups/institution-hospital-a/figures",
     "Internal test set · subgroup institution-hospital-a · figures"),
])
def test_each_folder_of_files_is_named_for_a_coordinator(folder, label):
    assert _folder_label(folder) == label
