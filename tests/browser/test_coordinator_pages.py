"""A coordinator sets up a study in the browser: create it, import its cases (a refused zip
first), assign two readers and open it. Screenshots of each page land in ``artifacts/``."""

from __future__ import annotations

import pytest

from readerstudy.studies.models import Case, ReadingSlot, Study
from tests.browser import dicom_series
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.browser.dicom_series import zip_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"coordinator-{name}.png"), full_page=True)


def test_a_coordinator_creates_imports_assigns_and_opens_a_study(
        page, live_server, transactional_db, tmp_path, coordinator, reader, other_reader):
    good = tmp_path / "good"
    manifest = dicom_series.write_ct_cases(good, 2, n=16, size=48)
    bad = zip_of(good, manifest.replace(",benign,", ",unsure,").replace("axial=P001/axial", "axial=P001/missing"),
                 tmp_path / "bad.zip")
    good_zip = zip_of(good, manifest, tmp_path / "good.zip")

    sign_in(page, live_server, coordinator)
    page.click("nav.site-nav >> text=Studies")
    shot(page, "1-home-empty")
    page.click("#new-study")
    page.fill("#id_title", "Vertebral fractures, CT (browser)")
    page.fill("#id_slug", "vfx-browser")
    page.select_option("#id_modality", "CT")
    page.check("#id_ask_three_tier")
    page.fill("#id_repeat_sample_size", "1")
    shot(page, "2-new-study")
    page.click("button[type=submit]:has-text('Create study')")
    page.wait_for_url(f"{live_server.url}/coordinator/vfx-browser/cases/")
    study = Study.objects.get(slug="vfx-browser")
    assert study.ask_three_tier and study.repeat_sample_size == 1

    page.set_input_files("#id_file", str(bad))
    page.click("#import-button")
    report = page.locator("#import-report")
    assert report.locator("h2").text_content() == "Nothing was imported"
    problems = report.locator("li.problem").all_text_contents()
    assert len(problems) == 2, problems
    assert any("manifest row 2" in p and "unknown label 'unsure'" in p for p in problems)
    assert any("P001/missing" in p and "does not exist" in p for p in problems)
    assert not Case.objects.filter(study=study).exists()
    shot(page, "3-import-refused")

    page.set_input_files("#id_file", str(good_zip))
    page.click("#import-button")
    assert "Imported 2 cases" in page.locator(".messages").text_content()
    assert page.locator("table.cases-table tbody tr").count() == 2
    shot(page, "4-imported")

    page.click("nav.study-nav >> text=Readers")
    page.check(f"label:has-text('{reader.username}') input")
    page.check(f"label:has-text('{other_reader.username}') input")
    page.click("#assign-button")
    assert page.locator("table.readers-table tbody tr").count() == 2
    shot(page, "5-readers")

    page.click("nav.study-nav >> text=Overview")
    page.click("#open-study")
    shot(page, "6-confirm-open")
    page.click("#confirm-open")
    assert page.locator(".study-header .status").text_content() == "open"
    assert "its readers now see it" in page.locator(".messages").text_content()
    for user in (reader, other_reader):
        assert ReadingSlot.objects.filter(study=study, reader=user, round="first").count() == 2
        assert ReadingSlot.objects.filter(study=study, reader=user, round="repeat").count() == 1
    assert page.locator("#close-study").count() == 1
    shot(page, "7-open")

    page.click("nav.study-nav >> text=Settings")
    assert page.locator("#id_modality").is_disabled()  # cases exist
    assert page.locator("#id_slug").is_disabled()  # the study is open
    shot(page, "8-settings")
    page.click("nav.breadcrumbs >> text=Studies")
    assert "0 of 6" in page.locator('tr[data-study="vfx-browser"]').text_content()
    shot(page, "9-home")
    assert page.problems.serious() == []
