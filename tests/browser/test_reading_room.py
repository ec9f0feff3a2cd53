"""A reader in a real browser: images on screen, window/level, scrolling, the sagittal view,
submitting a read, and the worklist moving on."""

from __future__ import annotations

import pytest

from readerstudy.studies import protocol
from readerstudy.studies.models import Read
from readerstudy.studies.selectors import worklist_for
from tests.browser.conftest import (
    READING_SCREEN,
    canvas_stats,
    load_study,
    sign_in,
    wait_until_loaded,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_next_case(page, live_server, study, reader) -> str:
    """From the worklist, opens the next case; returns its code."""
    code = worklist_for(study=study, reader=reader)["next"]["code"]
    sign_in(page, live_server, reader)
    page.click(f'[data-study="{study.slug}"] a.next-case')
    page.wait_for_url(f"**/read/{study.slug}/{code}/?round=first")
    return code


def submit_while_the_server_is_unreachable(page, *, keys: tuple[str, ...]) -> None:
    """Once the case has loaded, answers with ``keys`` and submits while read submissions cannot
    reach the server; returns when the page says the read is kept, the server reachable again."""
    wait_until_loaded(page)
    page.route("**/api/v1/reading/*/reads/", lambda route: route.abort("connectionrefused"))
    for key in (*keys, "Enter"):
        page.keyboard.press(key)
    page.click("#confirm-submit")
    page.wait_for_selector('#submit-banner[data-kind="warning"]')
    page.unroute("**/api/v1/reading/*/reads/")


def drag(page, box, dx: float, dy: float) -> None:
    """A left-button drag from the centre of ``box`` by (dx, dy) screen pixels."""
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()
    page.wait_for_timeout(200)


def test_a_ct_case_shows_axial_and_sagittal_images_that_respond_to_scroll_and_window(
        page, live_server, ct_study, reader):
    frame_types = []
    page.on("response", lambda r: frame_types.append(r.headers.get("content-type")) if "/frames/" in r.url else None)
    code = open_next_case(page, live_server, ct_study, reader)
    assert wait_until_loaded(page) == "loaded"
    # Each slice came alone, straight from the stored file (the viewer's Accept header).
    assert frame_types and set(frame_types) == {"application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"}
    assert page.text_content("#case-code") == code

    axial, sagittal = canvas_stats(page, "axial"), canvas_stats(page, "sagittal")
    for stats in (axial, sagittal):
        assert stats["width"] > 200 and stats["height"] > 200
        assert stats["lit"] > 0.05, stats  # image pixels, not a blank canvas
        assert stats["std"] > 5, stats
    assert page.text_content('[data-pane="sagittal"] .pane-label') == "Sagittal reformat"

    # Scrolling the axial stack with the wheel shows another slice.
    box = page.locator('[data-viewport="axial"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    before = page.text_content('[data-pane="axial"] .pane-slice')
    for _ in range(6):
        page.mouse.wheel(0, 120)
        page.wait_for_timeout(50)
    after_scroll = canvas_stats(page, "axial")
    assert page.text_content('[data-pane="axial"] .pane-slice') != before
    assert after_scroll["hash"] != axial["hash"]

    # Dragging with the left button changes the window: same slice, other grey levels.
    drag(page, box, 120, 80)
    after_window = canvas_stats(page, "axial")
    assert abs(after_window["mean"] - after_scroll["mean"]) > 2, (after_scroll, after_window)

    # The soft-tissue preset is another window again; the sagittal follows (linked windows).
    sagittal_before = canvas_stats(page, "sagittal")
    page.click('[data-preset="soft"]')
    page.wait_for_timeout(300)
    assert canvas_stats(page, "sagittal")["hash"] != sagittal_before["hash"]
    assert page.problems.serious() == []


def test_the_reformat_fills_in_as_slices_arrive_and_shows_them_all_once_loaded(
        page, live_server, ct_study, reader):
    # The first dozen frames arrive; the rest wait until the reformat is on screen.
    held, passed, release = [], [], []

    def frames(route):
        if release or len(passed) < 12:
            passed.append(route.request.url)
            route.continue_()
        else:
            held.append(route)

    page.route("**/frames/**", frames)
    open_next_case(page, live_server, ct_study, reader)
    page.wait_for_function(
        "() => (window.readingRoom?.timeline || []).some(([label]) => label === 'reformat sagittal shown')",
        timeout=15_000)
    page.wait_for_timeout(1200)  # time for a redraw of what has arrived
    progress = page.evaluate("window.readingRoom.progress")
    assert held and progress["loaded"] < progress["total"], progress
    assert page.get_attribute("body", "data-viewer-state") != "loaded"
    assert canvas_stats(page, "sagittal")["lit"] > 0  # part of the volume, already on screen

    release.append(True)
    for route in held:
        route.continue_()
    assert wait_until_loaded(page) == "loaded"
    assert len(passed) + len(held) == progress["total"]  # each frame fetched once
    # Loaded means the reformat on screen holds every slice: drawing it again changes nothing.
    complete = canvas_stats(page, "sagittal")
    page.evaluate("window.readingRoom.viewer.viewport('sagittal').render()")
    page.wait_for_timeout(300)
    assert canvas_stats(page, "sagittal")["hash"] == complete["hash"]


def test_keys_scroll_the_pane_under_the_mouse(page, live_server, ct_study, reader):
    open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    page.hover('[data-viewport="axial"]')
    before = page.text_content('[data-pane="axial"] .pane-slice')
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(200)
    current, total = before.split(" / ")
    assert page.text_content('[data-pane="axial"] .pane-slice') == f"{int(current) + 2} / {total}"


REFERENCE_LINES = """() => [...document.querySelectorAll('[data-viewport="sagittal"] svg line')]
  .map((line) => ['x1', 'y1', 'x2', 'y2'].map((name) => Number(line.getAttribute(name))))"""

CAMERA = """(id) => { const v = window.readingRoom.viewer.viewport(id);
  return { zoom: v.getZoom(), pan: v.getPan() }; }"""


def test_zoom_pan_reset_full_screen_and_the_reference_line(page, live_server, ct_study, reader):
    open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    box = page.locator('[data-viewport="axial"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    start = canvas_stats(page, "axial")
    assert page.evaluate(CAMERA, "axial") == {"zoom": 1, "pan": [0, 0]}

    # The axial plane is a horizontal line across the sagittal reformat; it follows the slice.
    lines = page.evaluate(REFERENCE_LINES)
    assert len(lines) == 1, lines
    (x1, y1, x2, y2), = lines
    assert abs(y1 - y2) < 1 and abs(x2 - x1) > 50
    for _ in range(5):
        page.keyboard.press("ArrowDown")
    page.wait_for_timeout(200)
    (_, moved_y, _, _), = page.evaluate(REFERENCE_LINES)
    assert abs(moved_y - y1) > 2, (y1, moved_y)
    for _ in range(5):
        page.keyboard.press("ArrowUp")
    page.wait_for_timeout(200)
    assert page.evaluate(REFERENCE_LINES)[0][1] == pytest.approx(y1, abs=0.5)

    # Z, then a drag upwards: the image is magnified, as in common viewers (down shrinks it).
    page.keyboard.press("z")
    assert page.get_attribute('[data-tool="zoom"]', "aria-pressed") == "true"
    drag(page, box, 0, 40)
    assert page.evaluate(CAMERA, "axial")["zoom"] < 1, "dragging down shrinks the image"
    drag(page, box, 0, -140)
    zoomed = page.evaluate(CAMERA, "axial")
    assert zoomed["zoom"] > 1.2, zoomed
    assert canvas_stats(page, "axial")["hash"] != start["hash"]

    # P, then a drag: the image moves with the mouse.
    page.keyboard.press("p")  # the viewport has the focus now: the keys must still work
    assert page.get_attribute('[data-tool="pan"]', "aria-pressed") == "true"
    drag(page, box, 80, 40)
    panned = page.evaluate(CAMERA, "axial")
    assert panned["pan"][0] > 20 and panned["pan"][1] > 10, panned

    # R: back to the start, picture and all.
    page.keyboard.press("r")
    page.wait_for_timeout(300)
    assert page.evaluate(CAMERA, "axial") == {"zoom": 1, "pan": [0, 0]}
    assert canvas_stats(page, "axial")["hash"] == start["hash"]

    # The answer keys too, with the focus still in the viewport.
    page.keyboard.press("b")
    assert page.is_checked("#call-benign")

    # F: full screen and back.
    page.keyboard.press("f")
    page.wait_for_function("document.fullscreenElement !== null")
    page.keyboard.press("f")
    page.wait_for_function("document.fullscreenElement === null")
    assert page.problems.serious() == []


VIEW_STATE = """(id) => { const v = window.readingRoom.viewer.viewport(id); const c = v.getCamera();
  return { zoom: v.getZoom(), pan: v.getPan(), width: v.canvas.width, height: v.canvas.height,
           parallelScale: c.parallelScale, focalPoint: c.focalPoint, slice: v.getSliceIndex(),
           plane: c.viewPlaneNormal.reduce((sum, n, i) => sum + n * c.focalPoint[i], 0),
           voi: v.getProperties().voiRange }; }"""


def resize_page(page, size: dict, views: tuple[str, ...]) -> dict:
    """Resizes the page to ``size``; returns each view's state once its canvas has the new size."""
    before = {view: page.evaluate(VIEW_STATE, view) for view in views}
    page.set_viewport_size(size)
    for view in views:
        page.wait_for_function(
            "([id, width, height]) => { const v = window.readingRoom.viewer.viewport(id);"
            " return v.canvas.width !== width && v.canvas.height !== height; }",
            arg=[view, before[view]["width"], before[view]["height"]])
    page.wait_for_timeout(300)  # the refit and its render follow the resize
    return {view: page.evaluate(VIEW_STATE, view) for view in views}


def test_a_resize_after_the_first_image_fits_each_view_again_unless_the_reader_zoomed_it(
        page, live_server, ct_study, reader):
    views = ("axial", "sagittal", "coronal")
    open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    opened = {view: page.evaluate(VIEW_STATE, view) for view in views}
    labels = page.text_content('[data-pane="axial"] .pane-slice')

    # A late layout change (smaller panes, in both directions): every view fits its new pane,
    # on the same slice or plane, in the same window.
    resized = resize_page(page, {"width": 1100, "height": 640}, views)
    for view in views:
        state, first = resized[view], opened[view]
        assert state["zoom"] == pytest.approx(1, abs=1e-6), (view, state)
        assert state["pan"] == pytest.approx([0, 0], abs=1e-6), (view, state)
        assert state["parallelScale"] != pytest.approx(first["parallelScale"]), view  # refitted, not kept
        assert state["slice"] == first["slice"], view
        assert state["plane"] == pytest.approx(first["plane"], abs=1e-3), view
        assert state["voi"] == pytest.approx(first["voi"]), view
    assert page.text_content('[data-pane="axial"] .pane-slice') == labels

    # The reader zooms the axial view: a resize keeps its camera (the same magnification and
    # centre) while the views the reader left alone are fitted again.
    box = page.locator('[data-viewport="axial"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.press("z")
    drag(page, box, 0, -140)
    zoomed = page.evaluate(VIEW_STATE, "axial")
    assert zoomed["zoom"] > 1.2, zoomed
    resized = resize_page(page, {"width": 1366, "height": 768}, views)
    assert resized["axial"]["parallelScale"] == pytest.approx(zoomed["parallelScale"])
    assert resized["axial"]["focalPoint"] == pytest.approx(zoomed["focalPoint"])
    assert resized["axial"]["zoom"] > 1.1, resized["axial"]
    assert resized["axial"]["slice"] == opened["axial"]["slice"]
    for view in ("sagittal", "coronal"):
        assert resized[view]["zoom"] == pytest.approx(1, abs=1e-6), (view, resized[view])
        assert resized[view]["plane"] == pytest.approx(opened[view]["plane"], abs=1e-3), view
    assert page.problems.serious() == []


def test_submitting_a_read_stores_it_and_opens_the_next_case(page, live_server, ct_study, reader):
    code = open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)

    # Enter with answers missing explains what is missing and submits nothing.
    page.keyboard.press("Enter")
    assert page.is_visible('[data-error-for="call"]')
    assert not page.is_visible("#confirm-dialog")

    page.keyboard.press("m")
    page.keyboard.press("4")  # probability of malignancy 70
    assert page.is_checked("#call-malignant")
    assert page.text_content(".confidence-value") == "70%"
    page.keyboard.press("Enter")
    dialog = page.locator("#confirm-dialog")
    assert dialog.is_visible()
    assert "Malignant" in dialog.text_content()
    page.keyboard.press("Enter")  # confirms
    page.wait_for_url(lambda url: f"/read/{ct_study.slug}/" in url and f"/{code}/" not in url)

    read = Read.objects.get(reader=reader, case__code=code, round="first")
    assert (read.call, read.confidence) == ("malignant", 70)
    worklist = worklist_for(study=ct_study, reader=reader)
    assert page.url.endswith(f"/read/{ct_study.slug}/{worklist['next']['code']}/?round=first")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('readerstudy:outbox:'))") == []

    page.goto(f"{live_server.url}/")
    assert page.text_content(f'[data-study="{ct_study.slug}"] .progress-text').startswith("1 of ")


def test_a_read_that_fails_to_send_is_kept_and_retried_until_it_lands(page, live_server, ct_study, reader):
    code = open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    attempts = []

    def server_away(route):
        attempts.append(route.request.post_data_json["submission_id"])
        if len(attempts) <= 2:
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route("**/api/v1/reading/*/reads/", server_away)
    page.keyboard.press("b")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.click("#confirm-submit")
    page.wait_for_selector('#submit-banner[data-kind="warning"]')
    assert "not saved yet" in page.text_content("#submit-banner")
    saved = page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('readerstudy:outbox:'))"
        ".map(k => JSON.parse(localStorage.getItem(k)))"
    )
    assert [entry["body"]["case"] for entry in saved] == [code]

    page.wait_for_url(lambda url: f"/{code}/" not in url, timeout=30_000)
    assert len(attempts) == 3 and len(set(attempts)) == 1  # one submission id throughout
    assert Read.objects.filter(reader=reader, case__code=code).count() == 1


def test_a_read_kept_in_the_browser_is_sent_after_a_reload(page, live_server, ct_study, reader):
    code = open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)
    page.route("**/api/v1/reading/*/reads/", lambda route: route.abort("internetdisconnected"))
    page.keyboard.press("b")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.click("#confirm-submit")
    page.wait_for_selector('#submit-banner[data-kind="warning"]')
    assert not Read.objects.filter(reader=reader, case__code=code).exists()

    page.unroute("**/api/v1/reading/*/reads/")
    page.reload()  # the server is back; the page finds the read waiting and sends it
    page.wait_for_url(lambda url: f"/{code}/" not in url, timeout=30_000)
    read = Read.objects.get(reader=reader, case__code=code)
    assert (read.call, read.confidence) == ("benign", 30)


def test_the_worklist_sends_a_read_left_waiting_by_a_closed_reading_page(page, live_server, ct_study, reader):
    code = open_next_case(page, live_server, ct_study, reader)
    submit_while_the_server_is_unreachable(page, keys=("m", "5"))

    page.goto(f"{live_server.url}/")  # the reader gives up on the page and goes to the worklist
    page.locator(f'[data-study="{ct_study.slug}"] .progress-text', has_text="1 of ").wait_for()
    assert Read.objects.filter(reader=reader, case__code=code).count() == 1
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('readerstudy:outbox:'))") == []


def test_a_read_left_waiting_is_sent_only_by_its_own_reader(page, live_server, transactional_db, imaging_library, reader,
                                                            other_reader):
    # Two readers of one study share a workstation: the first leaves a read unsent; the second
    # signs in on the same browser, whose worklist must not send it as theirs.
    study = load_study(imaging_library, "ct-browser", readers=[reader, other_reader])
    code = open_next_case(page, live_server, study, reader)
    submit_while_the_server_is_unreachable(page, keys=("m", "4"))

    page.context.clear_cookies()  # signed out; the browser's storage stays
    sign_in(page, live_server, other_reader)
    page.locator(f'[data-study="{study.slug}"] .progress-text').wait_for()
    page.wait_for_timeout(1500)  # time for a (wrong) send to happen
    assert not Read.objects.filter(case__study=study).exists()
    assert "Sending" not in page.text_content("body")

    page.context.clear_cookies()
    sign_in(page, live_server, reader)  # back to the first reader: their worklist sends it
    page.locator(f'[data-study="{study.slug}"] .progress-text', has_text="1 of ").wait_for()
    read = Read.objects.get(case__study=study)
    assert (read.reader, read.case.code, read.call) == (reader, code, "malignant")


def test_a_frame_that_fails_to_load_is_reported_to_the_reader(page, live_server, ct_study, reader):
    failed = []

    def one_frame_broken(route):
        if not failed:
            failed.append(route.request.url)
            route.fulfill(status=500, body="storage unavailable")
        else:
            route.continue_()

    page.route("**/frames/*", one_frame_broken)
    open_next_case(page, live_server, ct_study, reader)
    assert wait_until_loaded(page) == "failed"
    banner = page.locator("#image-banner")
    assert banner.is_visible()
    assert banner.get_attribute("role") == "alert"
    assert "could not be loaded" in banner.text_content()
    assert "incomplete" in banner.text_content()
    assert failed


def test_the_reading_room_fits_a_reading_screen_and_shows_nothing_identifying(
        chromium, request, live_server, ct_study, reader):
    from tests.browser.conftest import _open_page

    pages = _open_page(chromium, request, READING_SCREEN)
    page = next(pages)
    try:
        open_next_case(page, live_server, ct_study, reader)
        wait_until_loaded(page)
        assert page.is_visible("#submit-button")
        text = page.text_content("body")
        for secret in ("Browser^Test", "MRN-", "Browser General", "VendorB", "histopathology", ".dcm"):
            assert secret not in text
        axial = page.locator('[data-viewport="axial"]').bounding_box()
        assert axial["width"] > 600 and axial["height"] > 800
    finally:
        next(pages, None)


def test_the_full_answer_form_takes_a_length_measured_on_the_image(page, live_server, ct_study, reader):
    ct_study.ask_three_tier, ct_study.ask_features = True, True
    ct_study.measurements = ["anterior_height"]
    ct_study.save()
    code = open_next_case(page, live_server, ct_study, reader)
    wait_until_loaded(page)

    page.keyboard.press("l")  # the length tool
    assert page.get_attribute('[data-tool="length"]', "aria-pressed") == "true"
    box = page.locator('[data-viewport="sagittal"]').bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y - 60)
    page.mouse.down()
    page.mouse.move(x, y + 60, steps=10)
    page.mouse.up()
    use_length = page.locator(".use-length")
    use_length.wait_for(state="visible")
    page.locator(".use-length:not([disabled])").wait_for()
    use_length.click()
    measured = float(page.input_value("#measurement-anterior_height"))
    assert 5 < measured < 40  # 120 screen pixels over an 80 mm tall reformat

    page.keyboard.press("m")
    page.keyboard.press("5")
    page.check("#three_tier-malignant")
    page.check("#feature-soft_tissue_mass")
    page.click("#submit-button")
    assert "Epidural/paraspinal soft-tissue mass" in page.text_content("#confirm-summary")
    page.click("#confirm-submit")
    page.wait_for_url(lambda url: f"/{code}/" not in url)

    read = Read.objects.get(reader=reader, case__code=code, round="first")
    assert (read.call, read.confidence, read.three_tier) == ("malignant", 90, "malignant")
    assert [key for key, present in read.features.items() if present] == ["soft_tissue_mass"]
    assert read.measurements == {"anterior_height": measured}


def test_a_question_added_to_the_protocol_is_drawn_in_the_form_and_stored(page, live_server, ct_study, reader):
    question = protocol.register(protocol.Question(
        "image_quality", protocol.Kind.CHOICE, "Image quality",
        choices=(protocol.Choice("diagnostic", "Diagnostic"), protocol.Choice("limited", "Limited")),
    ))
    try:
        code = open_next_case(page, live_server, ct_study, reader)
        wait_until_loaded(page)
        assert page.text_content(".field-image_quality legend") == question.label

        page.keyboard.press("b")
        page.keyboard.press("2")
        page.keyboard.press("Enter")  # unanswered: the form says so and sends nothing
        assert page.is_visible('[data-error-for="image_quality"]')
        assert not page.is_visible("#confirm-dialog")

        page.check("#image_quality-limited")
        page.click("#submit-button")
        assert "Image quality: Limited" in page.text_content("#confirm-summary")
        page.click("#confirm-submit")
        page.wait_for_url(lambda url: f"/{code}/" not in url)
        read = Read.objects.get(reader=reader, case__code=code, round="first")
        assert (read.call, read.confidence, read.answers) == ("benign", 30, {"image_quality": "limited"})
    finally:
        protocol.unregister(question.key)
