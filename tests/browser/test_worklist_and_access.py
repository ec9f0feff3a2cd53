"""The worklist, what a reader may open, and the coordinator's page, in a real browser."""

from __future__ import annotations

import uuid

import pytest

from readerstudy.studies import services
from readerstudy.studies.models import Case, ReadingSlot
from readerstudy.studies.pseudonyms import case_code
from readerstudy.studies.selectors import worklist_for
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def read_everything_first(study, reader) -> None:
    while (nxt := worklist_for(study=study, reader=reader)["next"]) and nxt["round"] == "first":
        services.case_open(study=study, reader=reader, code=nxt["code"])
        services.read_submit(study=study, reader=reader, data={
            "case": nxt["code"], "round": "first", "submission_id": str(uuid.uuid4()),
            "call": "benign", "confidence": 20,
        })


def test_a_repeat_read_is_not_offered_before_its_date(page, live_server, ct_study, reader):
    read_everything_first(ct_study, reader)
    repeat = ReadingSlot.objects.get(study=ct_study, reader=reader, round="repeat")
    sign_in(page, live_server, reader)

    card = page.locator(f'[data-study="{ct_study.slug}"]')
    assert card.locator("a.next-case").count() == 0
    assert "Upcoming repeat reads" in card.text_content()
    assert repeat.case.code not in page.content()

    # Not yet due looks exactly like a case that does not exist (studies.pseudonyms, uniform
    # refusal): a reader cannot learn which cases are in the repeat sample, nor when they open.
    code = case_code(case=repeat.case, round="repeat")
    assert code not in page.content()
    page.goto(f"{live_server.url}/read/{ct_study.slug}/{code}/?round=repeat")
    assert page.text_content("h1") == "Case not available"
    assert page.locator("#viewports").count() == 0
    not_due = page.request.get(f"{live_server.url}/api/v1/reading/{ct_study.slug}/cases/{code}/?round=repeat")
    unknown = page.request.get(f"{live_server.url}/api/v1/reading/{ct_study.slug}/cases/NOSUCHCASE/?round=repeat")
    assert (not_due.status, not_due.body()) == (unknown.status, unknown.body()) == (404, unknown.body())


def test_a_reader_cannot_open_a_case_outside_their_worklist_by_url(
        page, live_server, ct_study, reader, other_reader):
    mine = worklist_for(study=ct_study, reader=reader)["next"]["code"]
    sign_in(page, live_server, other_reader)  # assigned to nothing
    response = page.goto(f"{live_server.url}/read/{ct_study.slug}/{mine}/?round=first")
    assert response.status == 404
    assert page.text_content("h1") == "Case not available"
    api = page.request.get(f"{live_server.url}/api/v1/reading/{ct_study.slug}/cases/{mine}/?round=first")
    assert api.status == 404
    # Nor its images: the DICOMweb endpoints check the worklist too.
    series = ct_study.cases.get(code=mine).series.first()
    metadata = page.request.get(
        f"{live_server.url}/dicomweb/studies/{series.study_uid}/series/{series.series_uid}/metadata")
    assert metadata.status == 404


def test_the_coordinator_sees_each_readers_progress(page, live_server, ct_study, reader, coordinator):
    code = worklist_for(study=ct_study, reader=reader)["next"]["code"]
    services.case_open(study=ct_study, reader=reader, code=code)
    services.read_submit(study=ct_study, reader=reader, data={
        "case": code, "round": "first", "submission_id": str(uuid.uuid4()), "call": "malignant", "confidence": 90,
    })
    sign_in(page, live_server, coordinator)
    page.click(f'a[href="/coordinator/{ct_study.slug}/"]')
    row = page.locator(f'tr[data-reader="{reader.username}"]')
    total = Case.objects.filter(study=ct_study).count()
    assert f"1 / {total}" in row.text_content()
    assert page.locator("table.schedule-table tbody tr").count() == 1


def test_an_mri_case_shows_t1_and_t2_side_by_side_with_linked_scrolling(page, live_server, mr_study, reader):
    from tests.browser.conftest import canvas_stats, wait_until_loaded

    code = worklist_for(study=mr_study, reader=reader)["next"]["code"]
    sign_in(page, live_server, reader)
    page.goto(f"{live_server.url}/read/{mr_study.slug}/{code}/?round=first")
    assert wait_until_loaded(page) == "loaded"
    assert page.locator(".pane").count() == 2
    for pane in ("t1w", "t2w"):
        assert canvas_stats(page, pane)["lit"] > 0.05
    assert page.locator('[data-preset="auto"]').count() == 1

    page.hover('[data-viewport="t1w"]')
    before = page.text_content('[data-pane="t2w"] .pane-slice')
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert page.text_content('[data-pane="t1w"] .pane-slice') == page.text_content('[data-pane="t2w"] .pane-slice')
    assert page.text_content('[data-pane="t2w"] .pane-slice') != before


def test_without_webgl_the_sagittal_comes_from_the_server(page_without_webgl, live_server, ct_study, reader):
    from tests.browser.conftest import canvas_stats, wait_until_loaded

    page = page_without_webgl
    assert page.evaluate("!!document.createElement('canvas').getContext('webgl2')") is False
    code = worklist_for(study=ct_study, reader=reader)["next"]["code"]
    sign_in(page, live_server, reader)
    page.goto(f"{live_server.url}/read/{ct_study.slug}/{code}/?round=first")
    assert wait_until_loaded(page) == "loaded"
    assert page.text_content('[data-pane="sagittal"] .pane-label') != "Sagittal reformat"
    for pane in ("axial", "sagittal"):
        assert canvas_stats(page, pane)["lit"] > 0.05
