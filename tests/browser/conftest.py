"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Outside CI the tests skip, saying why, when Chromium or the built viewer is missing; in CI
(``CI`` set) they fail instead. Screenshots land in ``artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import serializers
from django.core.management.color import no_style
from django.db import connection
from django.test import override_settings

from readerstudy.imaging.importer import import_study
from readerstudy.imaging.models import DeidentificationKey, Instance, Series, VertebraLocation
from readerstudy.studies import services
from readerstudy.studies.models import Case, ReferenceStandard, Study
from tests.browser import dicom_series
from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop in the test thread; the test's own ORM calls are
# still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
MANIFEST = ROOT / "frontend" / "dist" / "viewer" / ".vite" / "manifest.json"
ARTIFACTS = ROOT / "artifacts"
# Headless Chromium on a machine without a GPU: WebGL 2 through SwiftShader.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader",
]
# A browser without WebGL: the viewer must fall back to CPU rendering and the server's sagittal.
NO_WEBGL_FLAGS = [*CHROMIUM_FLAGS, "--disable-webgl", "--disable-3d-apis"]
LAPTOP = {"width": 1366, "height": 768}
READING_SCREEN = {"width": 1920, "height": 1080}



def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if not MANIFEST.exists():
        return f"the viewer is not built ({MANIFEST} is missing): cd frontend && npm ci && npm run build"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def playwright_driver():
    """One Playwright driver per session (its sync API allows one per thread)."""
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"Browser tests must run in CI, but {reason}.")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright_driver):
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def chromium_without_webgl(playwright_driver):
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=NO_WEBGL_FLAGS)
    yield browser
    browser.close()


class PageProblems(list):
    """Console errors, uncaught exceptions and CSP violations seen by a page."""

    def record_console(self, message) -> None:
        if message.type == "error":
            self.append(f"console: {message.text}")

    def serious(self) -> list[str]:
        # An aborted or refused request is logged as a console error; the tests that provoke
        # failures check the page's own reporting instead.
        return [p for p in self if "Failed to load resource" not in p]


def _screenshot_name(request) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]


def new_page(browser, viewport=LAPTOP):
    """A page in a fresh browser context (no cookies), recording its problems in
    ``page.problems``; close it with ``page.context.close()``."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems = PageProblems()
    page.on("console", problems.record_console)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.problems = problems
    return page


def _open_page(browser, request, viewport) -> Iterator:
    page = new_page(browser, viewport)
    context = page.context
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{_screenshot_name(request)}.png"))
    finally:
        context.close()


@pytest.fixture
def page(chromium, request, live_server):
    """A fresh browser context (no cookies) at laptop size; a screenshot is saved afterwards."""
    yield from _open_page(chromium, request, LAPTOP)


@pytest.fixture
def page_without_webgl(chromium_without_webgl, request, live_server):
    yield from _open_page(chromium_without_webgl, request, LAPTOP)


# The rows an import creates, in the order they can be saved back.
IMPORTED_MODELS = (Study, Case, ReferenceStandard, DeidentificationKey, VertebraLocation, Series, Instance)


def _storages(folder: Path) -> dict:
    storages = dict(django_settings.STORAGES)
    for alias in ("dicom", "dicom_originals"):
        storages[alias] = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                           "OPTIONS": {"location": folder / alias}}
    return storages


@pytest.fixture(scope="session")
def imaging_library(django_db_setup, django_db_blocker, tmp_path_factory):
    """A CT and an MRI study imported once per session (importing is slow: de-identification,
    the derived sagittal series); each test loads a copy of their rows (``load_study``) while
    the stored files stay in this session's folder."""
    root = tmp_path_factory.mktemp("browser-dicom")
    dumps = {}
    with override_settings(STORAGES=_storages(root / "storage")), django_db_blocker.unblock():
        for slug, modality, manifest_text, fields in (
            ("ct-browser", "CT", dicom_series.write_ct_cases(root / "incoming", 2), {"repeat_sample_size": 1}),
            ("mr-browser", "MR", dicom_series.write_mr_case(root / "incoming"), {"repeat_sample_size": 0}),
            ("mr-syntaxes", "MR", dicom_series.write_testdata_mr_cases(root / "incoming"),
             {"repeat_sample_size": 0}),
        ):
            study = Study.objects.create(slug=slug, title=f"Browser {slug}", modality=modality, seed=11, **fields)
            import_study(study=study, manifest_text=manifest_text, dicom_root=root / "incoming")
            rows = []
            for model in IMPORTED_MODELS:
                field = {Study: "pk", Case: "study", Series: "case__study", Instance: "series__case__study",
                         DeidentificationKey: "study"}.get(model, "case__study")
                rows.extend(model.objects.filter(**{field: study.pk}).order_by("pk"))
            dumps[slug] = serializers.serialize("json", rows)
            study.delete()
    return {"storage": root / "storage", "dumps": dumps}


@pytest.fixture(autouse=True)
def _browser_settings(request):
    """For tests with a live server: stored DICOM from the session's library, and fast password
    hashing (signing in is not under test)."""
    if "live_server" not in request.fixturenames:
        return
    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = _storages(request.getfixturevalue("imaging_library")["storage"])


def load_study(imaging_library, slug: str, *, readers, **fields) -> Study:
    """Restores an imported study's rows, sets its ``fields`` (``mode="assisted"``...), assigns
    ``readers`` and opens the study."""
    for obj in serializers.deserialize("json", imaging_library["dumps"][slug]):
        obj.save()
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), IMPORTED_MODELS):
            cursor.execute(statement)
    study = Study.objects.get(slug=slug)
    if fields:
        for name, value in fields.items():
            setattr(study, name, value)
        services.study_save(study=study)
    for reader in readers:
        services.assignment_create(study=study, reader=reader)
    return services.study_open(study=study)


def sign_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


@pytest.fixture
def ct_study(transactional_db, imaging_library, reader):
    """An open CT study of 2 imported cases (32 axial slices of 64 x 64), assigned to ``reader``."""
    return load_study(imaging_library, "ct-browser", readers=[reader])


@pytest.fixture
def mr_study(transactional_db, imaging_library, reader):
    """An open MRI study of one case (sagittal T1W and T2W), assigned to ``reader``."""
    return load_study(imaging_library, "mr-browser", readers=[reader])


@pytest.fixture
def syntaxes_study(transactional_db, imaging_library, reader):
    """An open MRI study whose cases are pydicom-data files in compressed transfer syntaxes."""
    return load_study(imaging_library, "mr-syntaxes", readers=[reader])


# Canvas statistics, read in the page: the on-screen canvas is copied into a 2D canvas first
# (it may be a WebGL canvas, whose pixels getContext('2d') cannot read).
CANVAS_STATS = """(selector) => {
  const source = document.querySelector(selector);
  if (!source) return null;
  const copy = document.createElement('canvas');
  copy.width = source.width; copy.height = source.height;
  const ctx = copy.getContext('2d');
  ctx.drawImage(source, 0, 0);
  const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
  let sum = 0, sumSq = 0, lit = 0, hash = 0;
  for (let i = 0; i < data.length; i += 4) {
    const v = data[i];
    sum += v; sumSq += v * v;
    if (v > 8) lit += 1;
    hash = (hash * 31 + v) | 0;
  }
  const n = data.length / 4;
  const mean = sum / n;
  return { width: copy.width, height: copy.height, mean, std: Math.sqrt(sumSq / n - mean * mean),
           lit: lit / n, hash };
}"""


def canvas_stats(page, viewport_id: str) -> dict:
    stats = page.evaluate(CANVAS_STATS, f'[data-viewport="{viewport_id}"] canvas')
    assert stats is not None, f"no canvas in the {viewport_id} viewport"
    return stats


def wait_until_loaded(page, timeout: float = 60_000) -> str:
    """Waits until every image of the case arrived or one failed; returns the viewer state."""
    page.wait_for_selector('body[data-viewer-state="loaded"], body[data-viewer-state="failed"]',
                           state="attached", timeout=timeout)
    return page.get_attribute("body", "data-viewer-state")
