"""The coordinator runs the model and an export in the browser and follows both live.

The test plays the worker: the page's start buttons queue the jobs (nothing is enqueued),
then the test runs them step by step and the page, polled by its script, shows each step
without being reloaded.
"""

from __future__ import annotations

import uuid

import pytest

from readerstudy.analysis import bundle
from readerstudy.analysis import services as export_services
from readerstudy.analysis.models import AnalysisExport
from readerstudy.predictions import registry
from readerstudy.predictions import services as model_services
from readerstudy.predictions.models import InferenceJob
from readerstudy.predictions.tasks import predict_cases, run_inference_job
from readerstudy.studies import services
from readerstudy.studies.selectors import worklist_for
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.predictions.helpers import save_tiny_model

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def read_every_case(study, reader) -> None:
    while (nxt := worklist_for(study=study, reader=reader)["next"]) and nxt["round"] == "first":
        services.case_open(study=study, reader=reader, code=nxt["code"])
        services.read_submit(study=study, reader=reader, data={
            "case": nxt["code"], "round": "first", "submission_id": str(uuid.uuid4()),
            "call": "malignant", "confidence": 70,
        })


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"coordinator_jobs_{name}.png"), full_page=True)


@pytest.fixture
def tiny_model(settings, tmp_path, ct_study):
    settings.READERSTUDY_MODEL_DIR = tmp_path / "models"
    return registry.model_version_register(path=save_tiny_model(tmp_path / "tiny-ct"))


@pytest.fixture
def queued_only(monkeypatch):
    """Starting a job queues it and enqueues nothing: the test is the worker."""
    monkeypatch.setattr(model_services, "enqueue", lambda name, **kwargs: None)
    monkeypatch.setattr(export_services, "_enqueue", lambda export_pk: None)
    monkeypatch.setattr(bundle.figures, "write_figures", lambda *args, **kwargs: [])


def test_a_coordinator_runs_the_model_and_an_export_and_follows_them_live(
        page, live_server, ct_study, reader, coordinator, tiny_model, queued_only):
    read_every_case(ct_study, reader)
    sign_in(page, live_server, coordinator)

    # The model: its card, a start, and the run's progress as the worker goes.
    page.goto(f"{live_server.url}/coordinator/{ct_study.slug}/model/")
    assert "tests of the plumbing only" in page.text_content(".model-card")
    page.click("#run-model")
    job = InferenceJob.objects.get()
    row = page.locator(f"#run-{job.pk}")
    assert page.text_content(".banner[data-kind=success]").strip() == (
        f"Run #{job.pk} of {tiny_model.name} version 1 started.")
    assert "0 of 2 predicted" in row.text_content() and "waiting for a worker" in row.text_content()
    page.evaluate("window.notReloaded = true")

    cases = model_services.inference_job_claim(job_pk=job.pk)
    predict_cases.apply(kwargs={"case_pks": cases[:1], "model_version_pk": tiny_model.pk,
                                "job_pk": job.pk})
    page.wait_for_selector(f"#run-{job.pk} progress[value='1'][max='2']")
    assert "1 of 2 predicted" in row.text_content() and row.get_attribute("data-status") == "running"
    shot(page, "1_model_running")
    predict_cases.apply(kwargs={"case_pks": cases[1:], "model_version_pk": tiny_model.pk,
                                "job_pk": job.pk})
    page.wait_for_selector(f"#run-{job.pk}[data-status=done]")
    assert "2 of 2 predicted" in row.text_content() and row.locator("form").count() == 0
    assert page.evaluate("window.notReloaded") is True
    shot(page, "2_model_done")

    # The export: parameters, its progress step by step, then the files.
    page.click("text=Statistics and exports")
    page.fill("#id_n_boot", "50")
    page.click("#run-export")
    export = AnalysisExport.objects.get()
    assert page.text_content(".banner[data-kind=success]").strip() == f"Export #{export.pk} started."
    item = page.locator(f"#export-{export.pk}")
    assert "waiting for a worker" in item.text_content()
    page.evaluate("window.notReloaded = true")
    shown = []

    def report_and_watch(export_pk, progress, step):
        report(export_pk, progress, step)
        if not shown and progress > 0:  # the first step: the page must show it
            page.wait_for_selector(f"#export-{export.pk}[data-status=running] "
                                   f"progress[value='{max(0, min(99, progress))}']")
            shown.append(item.text_content())
            shot(page, "3_export_running")

    report = export_services._report
    export_services._report = report_and_watch
    try:
        assert export_services.export_run(export_pk=export.pk).status == "done", \
            AnalysisExport.objects.get().error
    finally:
        export_services._report = report
    assert shown and "%" in shown[0]
    page.wait_for_selector(f"#export-{export.pk}[data-status=done] .file-list[open]")
    assert page.evaluate("window.notReloaded") is True
    links = item.locator(".file-list a")
    export.refresh_from_db()
    assert links.count() == len(export.files)
    readme = item.locator(".file-list a", has_text="README.md").first.get_attribute("href")
    download = page.request.get(f"{live_server.url}{readme}")
    assert download.status == 200 and b"50" in download.body()
    assert item.locator("a.button", has_text="Download everything").count() == 1
    shot(page, "4_export_done")
    assert page.problems.serious() == []


def test_a_coordinator_cancels_a_run_and_retries_it(page, live_server, ct_study, coordinator,
                                                    tiny_model, queued_only):
    sign_in(page, live_server, coordinator)
    page.goto(f"{live_server.url}/coordinator/{ct_study.slug}/model/")
    page.click("#run-model")
    job = InferenceJob.objects.get()

    page.click(f"#run-{job.pk} button:has-text('Cancel')")
    assert page.get_attribute(f"#run-{job.pk}", "data-status") == "cancelled"
    assert run_inference_job.apply(kwargs={"job_pk": job.pk}).get() == 0
    page.click(f"#run-{job.pk} button:has-text('Retry the 2 cases without a prediction')")
    retry = InferenceJob.objects.get(retry_of=job)
    assert f"retries #{job.pk}" in page.text_content(f"#run-{retry.pk}")
    shot(page, "5_cancel_and_retry")
    assert page.problems.serious() == []
