"""The reading room's aids in a real browser: the vertebra asked about marked on every view
with its level in the header, orientation letters and the window in use, the measuring tools
(angle, Cobb angle, probe, ROI) and the answers they fill, drafts that survive a reload,
Enter in a measurement field, and the consistency rule refusing a contradictory read."""

from __future__ import annotations

import pytest

from readerstudy.imaging.importer import import_study
from readerstudy.imaging.models import VertebraLocation
from readerstudy.studies import services
from readerstudy.studies.models import Read, Study
from tests.browser import dicom_series
from tests.browser.conftest import CANVAS_STATS, canvas_stats, sign_in, wait_until_loaded
from tests.browser.test_reading_room import open_next_case

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OVERLAYS = "() => window.readingRoom.viewer.overlays()"
MEASUREMENTS = "() => window.readingRoom.viewer.measurements()"
ANNOTATION_TEXT = """(id) => [...document.querySelectorAll(`[data-viewport="${id}"] svg text`)]
  .map((node) => node.textContent).join(' | ')"""


def centre_of(page, viewport_id: str) -> tuple[float, float]:
    box = page.locator(f'[data-viewport="{viewport_id}"]').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def click(page, x: float, y: float) -> None:
    page.mouse.move(x, y, steps=5)
    page.mouse.down()
    page.mouse.up()
    page.wait_for_timeout(600)  # Cornerstone waits to tell a click from a double click


def line(page, x1: float, y1: float, x2: float, y2: float) -> None:
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move(x2, y2, steps=8)
    page.mouse.up()
    page.wait_for_timeout(150)


def test_the_target_vertebra_is_marked_on_every_view_and_named_in_the_header(page, live_server, ct_study, reader):
    open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    assert page.text_content("#case-level") == "Vertebra L1"

    # The annotated centre (0, 0, 0) is the middle of both views; the opening slice passes through it.
    overlays = page.evaluate(OVERLAYS)
    for pane in ("axial", "sagittal"):
        target = overlays[pane]["target"]
        assert target is not None and target["inPlane"] and target["level"] == "L1", (pane, target)
        box = page.locator(f'[data-viewport="{pane}"]').bounding_box()
        cx, cy = target["centre"]
        # Within 1.5 mm: the images' middle is half a pixel (0.5 mm) from (0, 0, 0), the stack's
        # half a slice (1.25 mm); a 64 mm wide image fills the pane's width.
        mm = box["width"] / 64
        assert abs(cx - box["width"] / 2) < 1.5 * mm and abs(cy - box["height"] / 2) < 1.5 * mm, (pane, target, box)
        assert 10 < target["width"] < box["width"] and 10 < target["height"] < box["height"]
        assert page.is_visible(f'[data-overlays-for="{pane}"] .target-marker path')
        assert page.text_content(f'[data-overlays-for="{pane}"] .target-label') == "L1"

    # Ten axial slices on (25 mm), the marker says how far the vertebra is; the sagittal still cuts it.
    page.mouse.move(*centre_of(page, "axial"))
    page.keyboard.press("PageDown")
    page.wait_for_timeout(300)
    overlays = page.evaluate(OVERLAYS)
    assert not overlays["axial"]["target"]["inPlane"]
    assert page.text_content('[data-overlays-for="axial"] .target-label') == "L1 (25 mm away)"
    # The longer label stays inside its view (it ran over the sagittal pane beside it).
    label = overlays["axial"]["target"]["label"]
    assert label["x"] >= 0 and label["x"] + label["width"] <= label["viewWidth"], label
    assert label["y"] >= 0 and label["y"] + label["height"] <= label["viewHeight"], label
    assert overlays["sagittal"]["target"]["inPlane"]
    assert page.problems.serious() == []


def move_targets(study, center: tuple[float, float, float]) -> None:
    """Puts every case's annotated vertebra of ``study`` at ``center`` (LPS, mm; centre only)."""
    VertebraLocation.objects.filter(case__study=study).update(
        center_x=center[0], center_y=center[1], center_z=center[2])


def assert_opened_through_the_target(page) -> None:
    # The target (10, 0, -20) is 20 mm below the middle of the axial stack (z from -40 mm, 2.5 mm
    # apart: slice 9 of 32) and 10 mm left of the middle sagittal plane (x from -32 mm, 1 mm apart).
    overlays = page.evaluate(OVERLAYS)
    for pane, half_a_slice in (("axial", 1.25), ("sagittal", 0.5)):
        target = overlays[pane]["target"]
        assert target["inPlane"] and abs(target["offset"]) <= half_a_slice + 0.01, (pane, target)
        assert page.text_content(f'[data-overlays-for="{pane}"] .target-label') == "L1"
    assert page.text_content('[data-pane="axial"] .pane-slice') == "9 / 32"


def test_every_view_opens_on_the_slice_through_the_target_not_the_middle(page, live_server, ct_study, reader):
    move_targets(ct_study, (10.0, 0.0, -20.0))
    open_next_case(page, live_server, ct_study, reader)
    assert wait_until_loaded(page) == "loaded"
    assert_opened_through_the_target(page)
    # The reset key brings the sagittal reformat back to the target's plane, not the volume's middle.
    page.mouse.move(*centre_of(page, "sagittal"))
    page.keyboard.press("PageDown")
    page.wait_for_timeout(300)
    assert abs(page.evaluate(OVERLAYS)["sagittal"]["target"]["offset"]) > 5  # ten 1 mm slices on
    page.keyboard.press("r")
    page.wait_for_timeout(300)
    assert_opened_through_the_target(page)
    assert page.problems.serious() == []


def test_without_webgl_the_servers_sagittal_opens_through_the_target_too(
        page_without_webgl, live_server, ct_study, reader):
    page = page_without_webgl
    move_targets(ct_study, (10.0, 0.0, -20.0))
    open_next_case(page, live_server, ct_study, reader)
    assert wait_until_loaded(page) == "loaded"
    assert_opened_through_the_target(page)


def test_ct_shows_a_coronal_reformat_and_the_crosshairs_move_the_other_views(page, live_server, ct_study, reader):
    open_next_case(page, live_server, ct_study, reader)
    assert wait_until_loaded(page) == "loaded"
    assert page.locator(".pane-label").all_text_contents() == ["Axial CT", "Sagittal reformat", "Coronal reformat"]
    coronal = canvas_stats(page, "coronal")
    assert coronal["lit"] > 0.2 and coronal["std"] > 10, coronal  # the body and the vertebra, not a blank pane
    overlays = page.evaluate(OVERLAYS)
    assert overlays["coronal"]["letters"] == {"left": "R", "right": "L", "top": "S", "bottom": "I"}
    assert overlays["coronal"]["target"]["inPlane"]

    # Crosshairs: a click in the coronal view, 15 mm above and 10 mm right of the middle (the
    # pane is 64 mm wide), takes the axial stack and the sagittal reformat through that point.
    page.keyboard.press("x")
    assert page.get_attribute('[data-tool="crosshairs"]', "aria-pressed") == "true"
    box = page.locator('[data-viewport="coronal"]').bounding_box()
    mm = box["width"] / 64
    axial_before = page.text_content('[data-pane="axial"] .pane-slice')
    click(page, box["x"] + box["width"] / 2 + 10 * mm, box["y"] + box["height"] / 2 - 15 * mm)
    crosshairs = page.evaluate("() => window.readingRoom.viewer.crosshairs()")
    x, _, z = crosshairs["point"]
    # The patient's left is on the screen's right; superior is up (LPS: +x left, +z superior).
    assert abs(x - 10) < 1.5 and abs(z - 15) < 1.5, crosshairs
    assert crosshairs["distances"]["axial"] <= 1.25 + 0.01, crosshairs  # half an axial slice
    assert crosshairs["distances"]["sagittal"] <= 0.5 + 0.01, crosshairs  # half a voxel
    assert page.text_content('[data-pane="axial"] .pane-slice') != axial_before
    assert page.problems.serious() == []


def test_without_webgl_the_target_is_marked_on_the_servers_sagittal_too(page_without_webgl, live_server, ct_study, reader):
    page = page_without_webgl
    open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    overlays = page.evaluate(OVERLAYS)
    for pane in ("axial", "sagittal"):
        assert overlays[pane]["target"]["inPlane"], (pane, overlays[pane])
    assert overlays["sagittal"]["letters"] == {"left": "A", "right": "P", "top": "S", "bottom": "I"}


def test_views_show_orientation_letters_and_the_window_in_use(page, live_server, ct_study, reader):
    open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    overlays = page.evaluate(OVERLAYS)
    # Radiological convention: the patient's right on the screen's left, anterior at the top.
    assert overlays["axial"]["letters"] == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert overlays["sagittal"]["letters"] == {"left": "A", "right": "P", "top": "S", "bottom": "I"}
    assert page.text_content('[data-overlays-for="axial"] .view-window') == "W 1800 L 400 HU"
    page.keyboard.press("Shift+Digit2")
    page.wait_for_timeout(300)
    for pane in ("axial", "sagittal"):
        assert page.text_content(f'[data-overlays-for="{pane}"] .view-window') == "W 400 L 40 HU"


def test_the_mri_views_mark_the_target_too(page, live_server, mr_study, reader):
    open_next_case(page, live_server, mr_study, reader)
    wait_until_loaded(page)
    overlays = page.evaluate(OVERLAYS)
    assert set(overlays) == {"t1w", "t2w"}
    for pane in overlays.values():
        assert pane["target"] and pane["target"]["level"] == "L1"
        assert pane["letters"]["top"] == "S"


def test_mri_series_thumbnails_switch_the_series_of_the_active_view(page, live_server, mr_study, reader):
    open_next_case(page, live_server, mr_study, reader)
    assert wait_until_loaded(page) == "loaded"
    thumbs = page.locator("#series-strip .series-thumb")
    assert thumbs.all_text_contents() == ["Sagittal T1W", "Sagittal T2W"]
    page.wait_for_selector('#series-strip [data-series="t2w"] canvas[data-drawn="true"]')
    # Small buttons: the answer form's first question stays on the screen beside them.
    assert max(box["height"] for box in (t.bounding_box() for t in thumbs.all())) < 120
    call = page.locator("fieldset.field-call").bounding_box()
    assert call["y"] + call["height"] <= page.viewport_size["height"], call
    page.wait_for_selector('#series-strip canvas[data-drawn="true"] >> nth=1', state="attached")
    for role in ("t1w", "t2w"):
        drawn = page.evaluate(CANVAS_STATS, f'#series-strip [data-series="{role}"] canvas')
        assert drawn["lit"] > 0.1 and drawn["std"] > 5, (role, drawn)  # an image, not a blank square
        assert page.get_attribute(f'#series-strip [data-series="{role}"]', "aria-pressed") == "true"

    # The T1W view is the active one (the first): T2W's thumbnail puts T2W there. (The fixture's
    # series have the same pixels, so the image ids tell which series a view shows.)
    image_id = "(id) => window.readingRoom.viewer.viewport(id).getCurrentImageId()"
    assert page.evaluate(image_id, "t1w") != page.evaluate(image_id, "t2w")
    page.click('#series-strip [data-series="t2w"]')
    page.wait_for_function(
        "() => document.querySelector('[data-pane=\"t1w\"] .pane-label').textContent === 'Sagittal T2W'")
    page.wait_for_timeout(300)
    assert page.get_attribute('#series-strip [data-series="t1w"]', "aria-pressed") == "false"
    assert page.evaluate(image_id, "t1w") == page.evaluate(image_id, "t2w")
    assert page.evaluate(OVERLAYS)["t1w"]["target"]["level"] == "L1"  # the marker stays
    assert page.problems.serious() == []


def test_a_site_with_stir_and_dwi_shows_them_beside_t1w_and_t2w(page, live_server, transactional_db, reader, tmp_path):
    manifest = dicom_series.write_mr_case(tmp_path / "incoming", extra_roles=("stir", "dwi"))
    study = Study.objects.create(slug="mr-stir", title="MRI with STIR and DWI", modality="MR", seed=3,
                                 repeat_sample_size=0)
    import_study(study=study, manifest_text=manifest, dicom_root=tmp_path / "incoming")
    services.assignment_create(study=study, reader=reader)
    study = services.study_open(study=study)
    open_next_case(page, live_server, study, reader)
    assert wait_until_loaded(page) == "loaded"
    labels = page.locator(".pane-label").all_text_contents()
    assert labels == ["Sagittal T1W", "Sagittal T2W", "STIR", "DWI"]
    assert page.get_attribute("#viewports", "data-panes") == "4"
    for pane in ("t1w", "t2w", "stir", "dwi"):
        box = page.locator(f'[data-viewport="{pane}"]').bounding_box()
        assert box["width"] > 200 and box["height"] > 150, (pane, box)
    # Scrolling is linked across the four.
    page.mouse.move(*centre_of(page, "t1w"))
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    slices = {pane: page.text_content(f'[data-pane="{pane}"] .pane-slice') for pane in ("t1w", "t2w", "stir", "dwi")}
    assert len(set(slices.values())) == 1 and next(iter(slices.values())) != "7 / 12", slices
    assert page.problems.serious() == []


def test_the_angle_tools_fill_the_vertebral_angle_and_the_probe_and_roi_measure_hu(
        page, live_server, ct_study, reader):
    ct_study.measurements = ["vertebral_angle", "anterior_height"]
    ct_study.save()
    open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    x, y = centre_of(page, "sagittal")

    # Angle (A): three points, a right angle.
    page.keyboard.press("a")
    assert page.get_attribute('[data-tool="angle"]', "aria-pressed") == "true"
    line(page, x - 80, y - 60, x - 80, y + 40)
    click(page, x + 20, y + 40)
    page.locator(".use-angle:not([disabled])").wait_for()
    assert page.text_content(".use-angle") == "use 90.0 °"
    page.click(".use-angle")
    assert float(page.input_value("#measurement-vertebral_angle")) == pytest.approx(90, abs=0.2)
    assert page.is_disabled(".use-length"), "an angle is not a length"

    # Cobb angle (C): two lines, 45 degrees apart (an endplate each).
    page.keyboard.press("c")
    line(page, x - 60, y - 80, x + 60, y - 80)
    line(page, x - 60, y + 60, x + 60, y - 60)
    page.locator(".use-angle", has_text="use 45.0 °").wait_for()
    page.click(".use-angle")
    assert float(page.input_value("#measurement-vertebral_angle")) == pytest.approx(45, abs=0.2)

    # Probe (H) on the axial image: the body's soft tissue is 40 HU.
    ax, ay = centre_of(page, "axial")
    page.keyboard.press("h")
    click(page, ax - 60, ay + 10)
    probe_text = page.evaluate(ANNOTATION_TEXT, "axial")
    probes = [m["stats"] for m in page.evaluate(MEASUREMENTS) if m["tool"] == "HounsfieldProbe"]
    assert probes == [[{"Modality": "CT", "modalityUnit": "HU", "value": 40}]], probes
    assert "40.0 HU" in probe_text, probe_text

    # Elliptical ROI (O): mean and area, in HU and mm².
    page.keyboard.press("o")
    mm = page.locator('[data-viewport="axial"]').bounding_box()["width"] / 64  # the image fills the width
    line(page, ax - 18.75 * mm, ay - 7.5 * mm, ax - 13.75 * mm, ay - 2.5 * mm)
    roi_text = page.evaluate(ANNOTATION_TEXT, "axial")
    (roi,), = [m["stats"] for m in page.evaluate(MEASUREMENTS) if m["tool"] == "EllipticalROI"]
    # Inside the body, outside the vertebra: soft tissue only.
    assert (roi["mean"], roi["min"], roi["max"], roi["stdDev"], roi["modalityUnit"]) == (40, 40, 40, 0, "HU"), roi
    assert roi["area"] > 50 and roi["areaUnit"] == "mm²"
    assert "Mean: 40.0 HU" in roi_text and "mm²" in roi_text, roi_text
    assert page.problems.serious() == []


def test_answers_survive_a_reload_until_the_read_is_submitted(page, live_server, ct_study, reader):
    ct_study.ask_three_tier = True
    ct_study.measurements = ["anterior_height"]
    ct_study.save()
    code = open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    page.keyboard.press("m")
    page.keyboard.press("4")
    page.check("#three_tier-uncertain")
    page.fill("#measurement-anterior_height", "21.5")

    page.reload()
    wait_until_loaded(page)
    assert page.is_checked("#call-malignant") and page.is_checked("#three_tier-uncertain")
    assert page.text_content(".confidence-value") == "70%"
    assert page.input_value("#measurement-anterior_height") == "21.5"
    assert "restored" in page.text_content("#submit-banner")

    # Enter in the measurement field submits (asks to confirm).
    page.focus("#measurement-anterior_height")
    page.keyboard.press("Enter")
    page.locator("#confirm-dialog[open]").wait_for()
    page.click("#confirm-submit")
    page.wait_for_url(lambda url: f"/{code}/" not in url)
    read = Read.objects.get(reader=reader, case__code=code, round="first")
    assert (read.call, read.confidence, read.three_tier, read.measurements) == (
        "malignant", 70, "uncertain", {"anterior_height": 21.5})
    kept = page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('readerstudy:draft:'))")
    assert kept == []


def test_a_draft_is_the_readers_own_and_another_reader_on_the_same_computer_does_not_see_it(
        page, live_server, ct_study, reader, other_reader):
    services.assignment_create(study=ct_study, reader=other_reader)
    code = open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    page.keyboard.press("m")
    page.keyboard.press("5")
    page.goto(f"{live_server.url}/")
    page.click("text=Sign out")
    sign_in(page, live_server, other_reader)
    page.goto(f"{live_server.url}/read/{ct_study.slug}/{code}/?round=first")
    wait_until_loaded(page)
    assert not page.is_checked("#call-malignant")
    assert page.text_content(".confidence-value") == "not set"
    assert not page.is_visible("#submit-banner")


def test_a_benign_call_with_a_definitely_malignant_three_tier_call_is_refused_on_the_page(
        page, live_server, ct_study, reader):
    ct_study.ask_three_tier = True
    ct_study.save()
    open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    page.keyboard.press("b")
    page.keyboard.press("2")
    page.check("#three_tier-malignant")
    page.click("#submit-button")
    error = page.locator('[data-error-for="three_tier"]')
    assert error.is_visible()
    assert error.text_content() == ('A benign call with "definitely malignant" as the three-tier call is '
                                    "contradictory: adjust the call or the three-tier call.")
    assert not page.is_visible("#confirm-dialog")
    page.check("#three_tier-uncertain")  # fixed: the message goes
    assert not error.is_visible()
    assert not Read.objects.exists()
