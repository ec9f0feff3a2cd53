"""The coordinator's model page: the registered models, starting, cancelling and retrying a
run through the services, and the row the page polls for live progress."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils.html import escape

from readerstudy.core.models import AuditEvent
from readerstudy.core.tasks import BROKER_UNAVAILABLE_MESSAGE, QUEUE_UNREACHABLE_ERROR
from readerstudy.predictions import registry, services
from readerstudy.predictions.models import InferenceJob, Prediction
from readerstudy.predictions.tasks import predict_cases, run_inference_job
from tests.conftest import PASSWORD
from tests.predictions.helpers import save_tiny_model

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    browser = Client()
    if user is not None:
        assert browser.login(username=user.username, password=PASSWORD)
    return browser


def page_url(study) -> str:
    return f"/coordinator/{study.slug}/model/"


def run_url(study, job, action: str = "") -> str:
    return f"/coordinator/{study.slug}/model/runs/{job.pk}/" + (f"{action}/" if action else "")


def banner(response) -> tuple[str, str]:
    """The (kind, text) of the page's one message banner."""
    match = re.search(rb'<div class="banner" data-kind="(\w+)" role="status"><p>(.*?)</p>',
                      response.content, re.S)
    assert match, "no message banner on the page"
    return match[1].decode(), match[2].decode()


@pytest.fixture
def study(ct_cases):
    return ct_cases[0].study


@pytest.fixture
def queued_job(study, ct_model):
    job, _ = services.inference_job_start(study=study, model_version=ct_model, dispatch=False)
    return job


def test_anonymous_visitors_are_sent_to_sign_in_and_readers_refused(study, ct_model, queued_job,
                                                                     reader):
    urls = [("get", page_url(study)), ("post", page_url(study)),
            ("get", run_url(study, queued_job)), ("post", run_url(study, queued_job, "cancel")),
            ("post", run_url(study, queued_job, "retry"))]
    for method, url in urls:
        anonymous = getattr(signed_in(None), method)(url, {"model_version": ct_model.pk})
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/"), url
        refused = getattr(signed_in(reader), method)(url, {"model_version": ct_model.pk})
        assert refused.status_code == 403, url
    queued_job.refresh_from_db()
    assert queued_job.status == "queued" and InferenceJob.objects.count() == 1


def test_the_page_shows_each_registered_models_card_essentials(study, ct_model, coordinator):
    page = signed_in(coordinator).get(page_url(study))

    assert page.status_code == 200
    text = page.content.decode()
    card = re.search(rf'<article class="model-card" data-model="{re.escape(ct_model.reader_name)}">'
                     r"(.*?)</article>", text, re.S)[1]
    for fact in (ct_model.name, f"version {ct_model.version}", "CT", "below 30.0%", "from 70.0%",
                 "malignant from 50.0%", "tests of the plumbing only"):
        assert fact in card, fact
    assert "The model has not been run on this study yet" in text


def test_the_page_is_served_under_the_strict_csp_without_inline_script(study, ct_model, coordinator):
    page = signed_in(coordinator).get(page_url(study))

    assert "script-src 'self'" in page["Content-Security-Policy"]
    scripts = re.findall(rb"<script\b[^>]*>", page.content)
    assert scripts and all(b" src=" in tag for tag in scripts)


def test_without_a_registered_model_the_page_says_how_to_register_one(study, coordinator,
                                                                      storage_root):
    page = signed_in(coordinator).get(page_url(study))

    assert b"No model that reads CT is registered yet" in page.content
    assert f"run_inference --study {study.slug} --model PATH".encode() in page.content
    assert b'id="run-model"' not in page.content


def test_a_coordinator_runs_the_model_from_the_page(study, ct_model, coordinator,
                                                    django_capture_on_commit_callbacks):
    browser = signed_in(coordinator)
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: the run happens here
        started = browser.post(page_url(study), {"model_version": ct_model.pk})

    assert started.status_code == 302 and started["Location"] == page_url(study)
    job = InferenceJob.objects.get()
    assert (job.status, job.done, job.total, job.created_by) == ("done", 4, 4, coordinator)
    assert Prediction.objects.count() == 4
    page = browser.get(started["Location"])
    assert banner(page) == ("success", f"Run #{job.pk} of {ct_model.name} version 1 started.")
    row = re.search(rf'<tr id="run-{job.pk}".*?</tr>', page.content.decode(), re.S)[0]
    assert 'data-status="done"' in row and "4 of 4 predicted" in row
    assert "data-poll-url" not in row and "Cancel" not in row and "Retry" not in row


def test_a_second_start_while_a_run_is_queued_joins_it(study, ct_model, queued_job, coordinator):
    browser = signed_in(coordinator)
    response = browser.post(page_url(study), {"model_version": ct_model.pk}, follow=True)

    assert InferenceJob.objects.get() == queued_job
    assert banner(response) == ("info", f"Run #{queued_job.pk} of {ct_model.name} version 1 is "
                                        "already under way: follow it below.")


def test_a_model_that_is_not_offered_is_refused_on_the_page(study, ct_model, coordinator, tmp_path):
    mri = registry.model_version_register(path=save_tiny_model(tmp_path / "mri", modality="MR"))

    for choice in (mri.pk, 999_999, "tiny"):
        response = signed_in(coordinator).post(page_url(study), {"model_version": choice})
        assert response.status_code == 400
        assert b"Choose one of the registered models listed." in response.content
    assert not InferenceJob.objects.exists()


def test_an_active_run_polls_its_row_and_offers_cancel(study, queued_job, coordinator):
    browser = signed_in(coordinator)
    page = browser.get(page_url(study)).content.decode()
    row = browser.get(run_url(study, queued_job))

    assert row.status_code == 200 and row["Content-Security-Policy"]
    fragment = row.content.decode()
    assert fragment.lstrip().startswith(f'<tr id="run-{queued_job.pk}"')
    assert f'data-poll-url="{run_url(study, queued_job)}"' in fragment
    assert f'action="{run_url(study, queued_job, "cancel")}"' in fragment
    assert "0 of 4 predicted" in fragment and "waiting for a worker" in fragment
    assert f'data-poll-url="{run_url(study, queued_job)}"' in page


def test_a_coordinator_cancels_a_run_from_the_page_once(study, queued_job, coordinator):
    browser = signed_in(coordinator)
    cancelled = browser.post(run_url(study, queued_job, "cancel"), follow=True)

    queued_job.refresh_from_db()
    assert queued_job.status == "cancelled"
    assert banner(cancelled) == ("success", f"Run #{queued_job.pk} cancelled after 0 of 4 cases; "
                                            "the predictions made are kept.")
    again = browser.post(run_url(study, queued_job, "cancel"), follow=True)
    assert banner(again) == ("info", f"Run #{queued_job.pk} had already ended (cancelled).")
    assert AuditEvent.objects.filter(verb="inference", actor=coordinator,
                                     details__action="cancelled").count() == 1


def test_a_cancelled_run_offers_a_retry_of_the_cases_without_a_prediction(
        study, ct_model, queued_job, coordinator, django_capture_on_commit_callbacks):
    pks = services.inference_job_claim(job_pk=queued_job.pk)
    predict_cases.apply(kwargs={"case_pks": pks[:1], "model_version_pk": ct_model.pk,
                                "job_pk": queued_job.pk})
    services.inference_job_cancel(job=queued_job)
    browser = signed_in(coordinator)

    row = browser.get(run_url(study, queued_job)).content.decode()
    assert "Retry the 3 cases without a prediction" in row and "data-poll-url" not in row
    with django_capture_on_commit_callbacks(execute=True):
        retried = browser.post(run_url(study, queued_job, "retry"))
    page = browser.get(retried["Location"])

    retry = InferenceJob.objects.get(retry_of=queued_job)
    assert (retry.status, retry.done, retry.total) == ("done", 4, 4)
    assert banner(page) == ("success", f"Run #{retry.pk} retries run #{queued_job.pk}: it reads "
                                       "the 3 cases without a prediction.")
    assert f"retries #{queued_job.pk}" in page.content.decode()
    # Every case has a prediction now: nothing is left to retry.
    assert b"Retry the" not in page.content


def test_a_run_that_cannot_be_retried_says_why(study, queued_job, coordinator):
    response = signed_in(coordinator).post(run_url(study, queued_job, "retry"), follow=True)

    assert banner(response) == ("warning", f"Job #{queued_job.pk} is queued: only a failed or "
                                           "cancelled job can be retried.")
    assert InferenceJob.objects.count() == 1


def test_a_failed_run_shows_why_each_case_failed(study, ct_model, ct_cases, coordinator):
    ct_cases[1].vertebra_location.delete()
    job, _ = services.inference_job_start(study=study, model_version=ct_model, dispatch=False)
    run_inference_job.apply(kwargs={"job_pk": job.pk})

    row = signed_in(coordinator).get(run_url(study, job)).content.decode()

    assert 'data-status="failed"' in row and "1 failed" in row
    assert "Why 1 case was not predicted" in row and ct_cases[1].code in row
    assert "VertebraLocation" in row
    assert "Retry the 1 case without a prediction" in row


def test_a_run_of_another_study_is_not_found(study, queued_job, coordinator, make_study):
    other = make_study("other", n=2)

    assert signed_in(coordinator).get(run_url(other, queued_job)).status_code == 404
    assert signed_in(coordinator).post(run_url(other, queued_job, "cancel")).status_code == 404
    queued_job.refresh_from_db()
    assert queued_job.status == "queued"


@pytest.mark.django_db(transaction=True)  # the task is sent on commit, inside the request
def test_with_the_broker_down_the_page_says_so_plainly_and_logs_the_details(study, ct_model, coordinator,
                                                                             caplog):
    from tests.core.test_outages import broker_down

    browser = signed_in(coordinator)
    with broker_down() as url:
        response = browser.post(page_url(study), {"model_version": ct_model.pk}, follow=True)

    job = InferenceJob.objects.get()
    assert job.status == "failed" and job.errors == [{"case": "", "error": QUEUE_UNREACHABLE_ERROR}]
    page = response.content.decode()
    assert escape(f"{BROKER_UNAVAILABLE_MESSAGE} (The run is listed as failed.)") in page
    port = str(urlsplit(url).port)
    assert port not in page and "redis" not in page.lower() and "Connection refused" not in page
    logged = [r.getMessage() for r in caplog.records if r.name == "readerstudy.core.tasks"]
    assert len(logged) == 1 and "predictions.run_inference_job" in logged[0] and f":{port}" in logged[0]
