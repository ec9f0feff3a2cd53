"""The study modes in a real browser (issue #14's "done when"): in a blinded study no model
output appears anywhere; in an assisted study it appears only after the lock, over the images,
and the aided read is stored apart while the unaided read cannot change; a trainee sees the
feedback after locking and their progress page updates; a non-trainee never reaches it."""

from __future__ import annotations

import numpy as np
import pytest

from inference.preprocess import load_series, mri_patch_plane
from inference.saliency import heat_plane, heat_volume
from readerstudy.predictions.models import InferenceJob, ModelVersion, Prediction
from readerstudy.predictions.selectors import case_center, case_series_paths
from readerstudy.studies import services
from readerstudy.studies.models import Case, Read, Study
from readerstudy.studies.protocol import FEATURES
from readerstudy.studies.selectors import worklist_for
from tests.browser.conftest import ARTIFACTS, READING_SCREEN, load_study, sign_in, wait_until_loaded

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROBABILITY = 0.8137
MODEL_NAME = "reveal-model-q7"
INTENDED_USE = "Research use on adult spine CT and MRI only; not for diagnosis."
SHOTS = ARTIFACTS / "reveal"


def study_in_mode(imaging_library, mode: str, readers, slug: str = "ct-browser") -> Study:
    """The browser CT study (2 cases; ``slug`` "mr-browser": the MRI study of one case) in
    ``mode``, opened for ``readers``, with a prediction of every case whose Grad-CAM map is a
    blob around the vertebra centre: a cube for CT, for MRI a plane placed as the worker places
    the map of the patch cut at the centre (``mri_patch_plane`` of the stored T1W series)."""
    study = load_study(imaging_library, slug, readers=readers, mode=mode)
    model = ModelVersion.objects.create(name=MODEL_NAME, version="1", modality=study.modality, architecture="x",
                                        sha256="0" * 64, card={"thresholds": {"lower": 0.3, "upper": 0.7},
                                              "intended_use": INTENDED_USE},
                                        weights_path="none")
    job = InferenceJob.objects.create(study=study, model_version=model, status=InferenceJob.Status.DONE)
    for case in Case.objects.filter(study=study):
        if study.modality == "CT":
            volume = heat_volume(_blob(32, 3), center_lps=case_center(case), spacing_mm=1.0)
        else:
            with case_series_paths(case, roles=["t1w"]) as series:
                plane = mri_patch_plane(load_series(series["t1w"]), case_center(case), size=64, box_mm=60.0)
            volume = heat_plane(_blob(64, 2), plane=plane)
        Prediction.objects.create(
            case=case, model_version=model, job=job, probability=PROBABILITY, three_tier="malignant",
            runtime_s=1.0, saliency={"method": "Grad-CAM", "views": [], "volume": volume})
    return study


def _blob(size: int, ndim: int) -> np.ndarray:
    grid = np.indices((size,) * ndim).astype(np.float32) - size / 2
    return np.exp(-(grid ** 2).sum(axis=0) / (2 * (size / 6.4) ** 2))


def read_and_submit(page, call_key: str = "b", probability_key: str = "2") -> None:
    wait_until_loaded(page)
    page.keyboard.press(call_key)
    page.keyboard.press(probability_key)
    page.click("#submit-button")
    page.click("#confirm-submit")


def reveal_status(page, live_server, study: Study, code: str, round: str = "first") -> int:
    return page.request.get(f"{live_server.url}/api/v1/feedback/{study.slug}/{code}/?round={round}").status


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_in_a_blinded_study_no_model_output_appears_and_a_non_trainee_never_reaches_feedback(
        page, live_server, imaging_library, attending):
    study = study_in_mode(imaging_library, "blinded", [attending])
    code = worklist_for(study=study, reader=attending)["next"]["code"]
    sign_in(page, live_server, attending)
    page.goto(f"{live_server.url}/read/{study.slug}/{code}/?round=first")
    read_and_submit(page)
    page.wait_for_url(lambda url: f"/{code}/" not in url)  # straight on to the next case

    assert Read.objects.filter(reader=attending, round="first").count() == 1
    assert reveal_status(page, live_server, study, code) == 404
    wait_until_loaded(page)
    html = page.content()
    assert "reveal-panel" not in html and "saliency-overlay" not in html and "81.4" not in html
    assert page.evaluate("window.readingRoomReveal.reveal") == "none"


def test_in_an_assisted_study_the_model_appears_after_the_lock_and_the_aided_read_is_apart(
        chromium, live_server, imaging_library, reader, request):
    from tests.browser.conftest import new_page

    study = study_in_mode(imaging_library, "assisted", [reader])
    code = worklist_for(study=study, reader=reader)["next"]["code"]
    page = new_page(chromium, READING_SCREEN)
    try:
        sign_in(page, live_server, reader)
        page.goto(f"{live_server.url}/read/{study.slug}/{code}/?round=first")
        wait_until_loaded(page)
        # Before the lock: nothing of the model, anywhere.
        assert reveal_status(page, live_server, study, code) == 404
        assert page.locator("#reveal-panel, .saliency-overlay").count() == 0
        assert "81.4" not in page.content()

        read_and_submit(page, "b", "2")
        page.wait_for_selector("#reveal-panel")
        panel = page.locator("#reveal-panel")
        assert "81.4%" in panel.text_content() and "Definitely malignant" in panel.text_content()
        assert page.locator(".colour-scale").is_visible()
        assert "Reference standard" not in panel.text_content()
        page.wait_for_function("document.querySelectorAll('.saliency-overlay').length >= 2")
        page.wait_for_timeout(500)
        painted = page.evaluate("window.readingRoomReveal.overlay.painted()")
        assert all(n > 0 for n in painted.values()), painted
        shot(page, "assisted-after-lock")
        page.click(".reveal-saliency-toggle")
        assert page.locator(".saliency-overlay").first.is_hidden()
        page.click(".reveal-saliency-toggle")

        # A reload after the lock (or coming back to the case) leads to the aided read waiting,
        # with the model's output, never to a dead end.
        page.reload()
        page.wait_for_url(f"**/read/{study.slug}/{code}/?round=aided")
        assert "AI-aided read" in page.text_content("#case-position")
        page.goto(f"{live_server.url}/read/{study.slug}/{code}/?round=first")
        page.wait_for_url(f"**/read/{study.slug}/{code}/?round=aided")
        assert "AI-aided read" in page.text_content("#case-position")
        page.wait_for_selector("#reveal-panel")
        assert "81.4%" in page.text_content("#reveal-panel")
        shot(page, "assisted-aided-read")
        read_and_submit(page, "m", "4")
        page.wait_for_url(lambda url: f"/{code}/" not in url)

        unaided = Read.objects.get(reader=reader, case__code=code, round="first")
        aided = Read.objects.get(reader=reader, case__code=code, round="aided")
        assert (unaided.call, unaided.confidence, aided.call, aided.confidence) == ("benign", 30, "malignant", 70)
        assert aided.first_read == unaided
        # The unaided read cannot change: its page says so, and the API refuses another.
        page.goto(f"{live_server.url}/read/{study.slug}/{code}/?round=first")
        assert "Already read" in page.content()
        assert Read.objects.get(pk=unaided.pk).call == "benign"
        assert page.problems.serious() == []
    finally:
        page.context.close()


def test_a_trainee_sees_the_feedback_after_locking_and_their_progress_page_updates(
        chromium, live_server, imaging_library, make_reader, attending):
    from tests.browser.conftest import new_page

    trainee = make_reader("trainee_t", "trainee", 1)
    study = study_in_mode(imaging_library, "teaching", [trainee, attending])
    Study.objects.filter(pk=study.pk).update(ask_features=True)  # before any read: the checklist
    study.refresh_from_db()
    first = worklist_for(study=study, reader=trainee)["next"]["code"]
    # An attending scored the features of that case (the expert the trainee is compared with).
    services.case_open(study=study, reader=attending, code=first, round="first")
    services.read_submit(study=study, reader=attending, data={
        "case": first, "round": "first", "submission_id": "6d0c8f1e-7a51-4a36-9a43-3f7f0cbb7e01",
        "call": "malignant", "confidence": 90,
        "features": {key: key == "soft_tissue_mass" for key in FEATURES}})
    page = new_page(chromium, READING_SCREEN)
    try:
        sign_in(page, live_server, trainee)
        page.goto(f"{live_server.url}/read/{study.slug}/{first}/?round=first")
        wait_until_loaded(page)
        assert reveal_status(page, live_server, study, first) == 404
        page.check("#feature-dark_line_band")
        read_and_submit(page, "b", "2")
        page.wait_for_selector("#reveal-panel")
        panel = page.text_content("#reveal-panel")
        truth = study.cases.get(code=first).reference
        assert "Reference standard" in panel and truth.get_source_display() in panel
        assert "81.4%" in panel
        # The trainee's own probability stands beside the model's.
        own = page.text_content(".reveal-own")
        trainee_read = Read.objects.get(study=study, reader=trainee, round="first")
        assert "Your read (locked)" in own and f"{trainee_read.confidence}%" in own, own
        # The verdict in the form's own words: the trainee called it benign.
        verdict = "agrees with" if truth.label == "benign" else "differs from"
        assert f"Your call, Benign (osteoporotic), {verdict} the reference standard." in panel
        discordant = page.eval_on_selector_all("tr.discordant", "rows => rows.map(r => r.dataset.feature)")
        assert sorted(discordant) == ["dark_line_band", "soft_tissue_mass"]
        page.wait_for_timeout(500)
        shot(page, "teaching-feedback")

        page.click("text=Your progress")
        page.wait_for_url(f"**/progress/{study.slug}/")
        assert page.get_attribute(".progress-summary", "data-reads") == "1"
        page.go_back()
        page.goto(f"{live_server.url}/")
        page.click(f'[data-study="{study.slug}"] a.next-case')
        read_and_submit(page, "m", "4")
        page.wait_for_selector("#reveal-panel")
        page.goto(f"{live_server.url}/progress/{study.slug}/")
        assert page.get_attribute(".progress-summary", "data-reads") == "2"
        assert page.locator(".chart polyline.curve").count() == 3
        shot(page, "trainee-progress")
        # A case to review opens with its feedback.
        rows = page.locator(".cases-to-review a")
        if rows.count():
            rows.first.click()
            page.wait_for_selector('body[data-reveal="review"]', state="attached")
            assert "Reference standard" in page.text_content("#reveal-panel")
        assert page.problems.serious() == []
    finally:
        page.context.close()

    # The attending of the same teaching study (not a trainee) is never shown the feedback.
    page = new_page(chromium, READING_SCREEN)
    try:
        sign_in(page, live_server, attending)
        code = worklist_for(study=study, reader=attending)["next"]["code"]
        page.goto(f"{live_server.url}/read/{study.slug}/{code}/?round=first")
        read_and_submit(page)
        page.wait_for_url(lambda url: f"/{code}/" not in url)
        assert reveal_status(page, live_server, study, code) == 404
        assert page.locator("#reveal-panel").count() == 0
    finally:
        page.context.close()


def test_in_an_assisted_mri_study_the_saliency_covers_the_t1w_and_t2w_panes_after_the_lock(
        chromium, live_server, imaging_library, reader):
    from tests.browser.conftest import new_page

    study = study_in_mode(imaging_library, "assisted", [reader], slug="mr-browser")
    code = worklist_for(study=study, reader=reader)["next"]["code"]
    page = new_page(chromium, READING_SCREEN)
    try:
        sign_in(page, live_server, reader)
        page.goto(f"{live_server.url}/read/{study.slug}/{code}/?round=first")
        wait_until_loaded(page)
        assert reveal_status(page, live_server, study, code) == 404
        assert page.locator("#reveal-panel, .saliency-overlay").count() == 0

        read_and_submit(page, "b", "2")
        page.wait_for_selector("#reveal-panel")
        assert "81.4%" in page.text_content("#reveal-panel") and page.locator(".colour-scale").is_visible()
        page.wait_for_function("document.querySelectorAll('.saliency-overlay').length >= 2")
        page.wait_for_timeout(500)
        painted = page.evaluate("window.readingRoomReveal.overlay.painted()")
        # The lesion slice is shown (the middle one): the map covers the vertebra on both panes.
        assert painted.get("t1w", 0) > 500 and painted.get("t2w", 0) > 500, painted
        shot(page, "mri-assisted-after-lock")
        page.click(".reveal-saliency-toggle")
        assert page.locator(".saliency-overlay").first.is_hidden()
        # Scrolled away from the slab of the patch's slices, the map is not painted.
        page.click(".reveal-saliency-toggle")
        page.hover('[data-viewport="t1w"]')
        for _ in range(5):
            page.mouse.wheel(0, 120)
            page.wait_for_timeout(150)
        page.wait_for_timeout(500)
        assert page.evaluate("window.readingRoomReveal.overlay.painted()")["t1w"] == 0

        # The AI-aided read opens with the map over the images again.
        page.click(".reveal-continue")
        page.wait_for_url(f"**/read/{study.slug}/{code}/?round=aided")
        page.wait_for_selector('body[data-reveal="before-read"]', state="attached")
        page.wait_for_function("document.querySelectorAll('.saliency-overlay').length >= 2")
        page.wait_for_timeout(500)
        painted = page.evaluate("window.readingRoomReveal.overlay.painted()")
        assert painted.get("t1w", 0) > 500 and painted.get("t2w", 0) > 500, painted
        # Beside the model: the reader's own locked unaided read, as their form worded it.
        unaided = page.text_content(".reveal-unaided")
        first = Read.objects.get(study=study, reader=reader, round="first")
        assert "Benign (osteoporotic)" in unaided and f"{first.confidence}%" in unaided, unaided
        assert page.text_content(".reveal-intended-use") == f"Intended use: {INTENDED_USE}"
        shot(page, "mri-aided-read")
        assert page.problems.serious() == []
    finally:
        page.context.close()
