"""A whole study in the browser, from an empty site to the downloaded export.

A coordinator creates a study, imports six phantom CT cases, assigns two readers and opens it;
each reader reads every case in the reading room; the clock moves 31 days and they make their
repeat reads; the coordinator runs the model and the export and downloads the archive. The
archive's numbers are then checked against an independent computation (plain counting and
scikit-learn) from the reads, predictions and reference standard in the database.

Celery runs eagerly here (``tests/conftest.py``): the model run and the export run in the live
server while the coordinator's page waits, the same tasks a worker would run. Screenshots of
each step land in ``artifacts/journey-*.png``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
import pytest
import time_machine
from django.utils import timezone
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from readerstudy.predictions import registry
from readerstudy.predictions.models import Prediction
from readerstudy.studies.models import Case, Read, Study
from readerstudy.studies.pseudonyms import case_code_resolve
from tests.browser import dicom_series
from tests.browser.conftest import ARTIFACTS, new_page, sign_in, wait_until_loaded
from tests.predictions.helpers import save_tiny_model

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLUG = "journey-ct"
N_CASES = 6  # ct-0 ... ct-5; ct-<i> is malignant when i is odd
EXPORT_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class ReaderPlan:
    """What a reader answers: the truth, except the first reads of ``wrong_first``; the repeat
    read is the first call, except on ``changed_on_repeat``."""

    wrong_first: frozenset[int]
    changed_on_repeat: frozenset[int]

    def answer(self, case: Case, round_: str) -> tuple[str, int]:
        """The call and the probability of malignancy (above 50 for a malignant call) for
        ``case`` (``ct-<i>``) in ``round_``."""
        i = int(case.source_case_id.removeprefix("ct-"))
        malignant = case.reference.label == "malignant"
        malignant ^= i in self.wrong_first
        if round_ == "repeat":
            malignant ^= i in self.changed_on_repeat
        return ("malignant", 55 + 7 * i) if malignant else ("benign", 45 - 7 * i)


PLANS = {
    "resident_a": ReaderPlan(wrong_first=frozenset({0}), changed_on_repeat=frozenset({1})),
    "resident_b": ReaderPlan(wrong_first=frozenset({3, 4}), changed_on_repeat=frozenset({0})),
}


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"journey-{name}.png"), full_page=True)


@contextmanager
def signed_in(chromium, live_server, user) -> Iterator:
    """A fresh browser session of ``user``; the page may show no error."""
    page = new_page(chromium)
    try:
        sign_in(page, live_server, user)
        yield page
        assert page.problems.serious() == []
    finally:
        page.context.close()


def read_every_case_available(page, live_server, study: Study, reader, round_: str,
                              screenshot: str | None = None) -> int:
    """From the worklist, reads case after case in the reading room until the worklist has
    nothing more to read now; returns how many were read."""
    page.click(f'[data-study="{study.slug}"] a.next-case')
    n = 0
    while "/read/" in page.url:
        assert f"round={round_}" in page.url
        assert wait_until_loaded(page) == "loaded"
        code = page.text_content("#case-code")
        call, confidence = PLANS[reader.username].answer(
            Case.objects.select_related("reference").get(  # the code is the round's (studies.pseudonyms)
                study=study, code=case_code_resolve(study=study, reader=reader, round=round_, code=code)), round_)
        page.check(f"#call-{call}")
        page.fill("#confidence", str(confidence))
        assert page.text_content(".confidence-value") == f"{confidence}%"
        if screenshot and n == 0:
            shot(page, screenshot)
        page.click("#submit-button")
        page.click("#confirm-submit")
        page.wait_for_url(lambda url, code=code: f"/{code}/" not in url)
        n += 1
    assert page.url == f"{live_server.url}/"
    return n


# ---- the independent computation -----------------------------------------------------------


def truth_and_calls(study: Study, reader, round_: str) -> pd.DataFrame:
    reads = Read.objects.filter(study=study, reader=reader, round=round_).select_related("case__reference")
    return pd.DataFrame.from_records([
        {"case": r.case.code, "truth": int(r.case.reference.label == "malignant"),
         "called_malignant": int(r.call == "malignant"), "score": r.confidence,
         "submitted_at": r.submitted_at}
        for r in reads
    ]).set_index("case").sort_index()


def diagnostic_counts(frame: pd.DataFrame) -> dict[str, float]:
    tp = int(((frame.truth == 1) & (frame.called_malignant == 1)).sum())
    tn = int(((frame.truth == 0) & (frame.called_malignant == 0)).sum())
    positives, negatives = int(frame.truth.sum()), int((frame.truth == 0).sum())
    return {"sensitivity": tp / positives, "specificity": tn / negatives,
            "accuracy": (tp + tn) / len(frame), "sensitivity_successes": tp}


def estimate(results: pd.DataFrame, analysis: str, metric: str, reader: str, other: str = "") -> float:
    rows = results.loc[(results["analysis"] == analysis) & (results["metric"] == metric)
                       & (results["reader"] == reader) & (results["other"].fillna("") == other)]
    assert len(rows) == 1, (analysis, metric, reader, other, rows)
    return float(rows["estimate"].iloc[0])


# ---- the journey ---------------------------------------------------------------------------


def test_a_study_from_creation_to_the_downloaded_export_whose_numbers_match_the_reads(
        chromium, live_server, transactional_db, settings, tmp_path, coordinator, reader, other_reader):
    settings.STORAGES = settings.STORAGES | {"default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "media"}}}
    settings.READERSTUDY_MODEL_DIR = tmp_path / "models"
    model = registry.model_version_register(path=save_tiny_model(tmp_path / "tiny-ct"))
    phantoms = tmp_path / "phantoms"
    upload = dicom_series.zip_of(phantoms, dicom_series.write_ct_cases(phantoms, N_CASES, n=16, size=48, hu_step=60),
                                 tmp_path / "phantoms.zip")

    # The coordinator creates the study, imports the cases, assigns two readers and opens it.
    with signed_in(chromium, live_server, coordinator) as page:
        page.click("nav.site-nav >> text=Studies")
        page.click("#new-study")
        page.fill("#id_title", "Vertebral fractures, CT (journey)")
        page.fill("#id_slug", SLUG)
        page.select_option("#id_modality", "CT")
        page.fill("#id_repeat_sample_size", str(N_CASES))
        page.fill("#id_seed", "7")
        page.click("button[type=submit]:has-text('Create study')")
        page.wait_for_url(f"{live_server.url}/coordinator/{SLUG}/cases/")
        page.set_input_files("#id_file", str(upload))
        page.click("#import-button")
        assert f"Imported {N_CASES} cases" in page.text_content(".messages")
        page.click("nav.study-nav >> text=Readers")
        for user in (reader, other_reader):
            page.check(f"label:has-text('{user.username}') input")
        page.click("#assign-button")
        page.click("nav.study-nav >> text=Overview")
        page.click("#open-study")
        page.click("#confirm-open")
        assert page.text_content(".study-header .status") == "open"
    study = Study.objects.get(slug=SLUG)

    # Each reader reads every case; the repeat reads are not due yet.
    for user in (reader, other_reader):
        with signed_in(chromium, live_server, user) as page:
            shown = "reading-room" if user == reader else None
            assert read_every_case_available(page, live_server, study, user, "first", shown) == N_CASES
            assert "All reads available now are done." in page.text_content(f'[data-study="{SLUG}"]')
            due = timezone.localdate(timezone.now() + study.washout)
            assert page.locator(f'.repeats-upcoming time[datetime="{due:%Y-%m-%d}"]').count() == 1
            if user == reader:
                shot(page, "worklist-washout")

    with time_machine.travel(timezone.now() + timedelta(days=31), tick=True):
        # A month later: the repeat reads, in the reading room again.
        for user in (reader, other_reader):
            with signed_in(chromium, live_server, user) as page:
                assert "Next repeat read" in page.text_content(f'[data-study="{SLUG}"] a.next-case')
                assert read_every_case_available(page, live_server, study, user, "repeat") == N_CASES
                assert "All reads done. Thank you." in page.text_content(f'[data-study="{SLUG}"]')

        # The coordinator sees the reads in, runs the model and the export, downloads it.
        with signed_in(chromium, live_server, coordinator) as page:
            page.goto(f"{live_server.url}/coordinator/{SLUG}/")
            for user in (reader, other_reader):
                row = page.locator(f'.progress-table tr[data-reader="{user.username}"]')
                assert row.locator(".progress-text").text_content() == f"{2 * N_CASES} of {2 * N_CASES}"
            assert page.locator('.schedule-table tr[data-state="done"]').count() == 2 * N_CASES
            shot(page, "overview-done")

            page.click("nav.study-nav >> text=Model")
            page.click("#run-model")
            page.wait_for_selector("tr[data-job][data-status=done]", timeout=EXPORT_TIMEOUT_MS)
            assert f"{N_CASES} of {N_CASES} predicted" in page.text_content("tr[data-job]")
            shot(page, "model-done")

            page.click("nav.study-nav >> text=Statistics and exports")
            page.fill("#id_n_boot", "200")
            page.click("#run-export")
            page.wait_for_selector("article[data-export][data-status=done]", timeout=EXPORT_TIMEOUT_MS)
            shot(page, "export-done")
            with page.expect_download() as download:
                page.click("a.button:has-text('Download everything')")
            archive = zipfile.ZipFile(download.value.path())
            assert download.value.suggested_filename.startswith(f"{SLUG}-export-")

    def csv(name: str) -> pd.DataFrame:
        return pd.read_csv(io.BytesIO(archive.read(name)))

    readme, reads_csv, results = archive.read("README.md").decode(), csv("reads.csv"), csv("all/results.csv")
    readers = {user.username: user for user in (reader, other_reader)}
    first = {name: truth_and_calls(study, user, "first") for name, user in readers.items()}
    repeat = {name: truth_and_calls(study, user, "repeat") for name, user in readers.items()}

    # The counts of reads: README, reads.csv and the database agree.
    n_reads = Read.objects.filter(study=study).count()
    assert n_reads == 2 * 2 * N_CASES
    assert f"- Reads: {n_reads}; model predictions: {N_CASES}" in readme
    assert "imulated" not in readme  # two people read this study
    counted = reads_csv.groupby(["reader", "round"]).size().to_dict()
    assert counted == {**{(name, "first"): N_CASES for name in readers},
                       **{(name, "repeat"): N_CASES for name in readers},
                       (model.reader_name, "first"): N_CASES}

    # Each reader's sensitivity, specificity and accuracy of the first reads, by counting.
    for name, frame in first.items():
        expected = diagnostic_counts(frame)
        for metric, value in expected.items():
            assert estimate(results, "diagnostic", metric, name) == pytest.approx(value), (name, metric)
    assert diagnostic_counts(first["resident_a"])["accuracy"] == pytest.approx(5 / 6)  # the plan held

    # Reader AUC from the confidence scores, the model's AUC from its stored probabilities.
    for name, frame in first.items():
        assert estimate(results, "auc", "auc_delong", name) == pytest.approx(
            roc_auc_score(frame.truth, frame.score))
    predictions = pd.DataFrame.from_records(
        Prediction.objects.filter(case__study=study, model_version=model)
        .values("probability", "case__reference__label"))
    assert len(predictions) == N_CASES and predictions["probability"].std() > 0  # the cases differ
    assert estimate(results, "auc", "auc_delong", model.reader_name) == pytest.approx(
        roc_auc_score(predictions["case__reference__label"] == "malignant", predictions["probability"]))

    # Agreement: between the readers' first reads, and each reader's first vs repeat read.
    a, b = first["resident_a"], first["resident_b"]
    assert estimate(results, "kappa", "cohen_kappa", "resident_a", "resident_b") == pytest.approx(
        cohen_kappa_score(a.called_malignant, b.called_malignant))
    for name in readers:
        paired = first[name].merge(repeat[name], left_index=True, right_index=True, suffixes=("", "_repeat"))
        assert estimate(results, "intra_reader", "cohen_kappa", name) == pytest.approx(
            cohen_kappa_score(paired.called_malignant, paired.called_malignant_repeat))
        days = (paired.submitted_at_repeat - paired.submitted_at).dt.total_seconds() / 86_400
        assert estimate(results, "intra_reader", "interval_days_min", name) == pytest.approx(days.min())
        assert days.min() > 31
