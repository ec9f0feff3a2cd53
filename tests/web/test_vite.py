"""Finding the Vite build's hashed files through its manifest (readerstudy/web/vite.py)."""

from __future__ import annotations

import json
import os

import pytest
from django.template import Context, Template

from readerstudy.web.vite import ViteManifestError, entry_files

# The shape Vite 8 writes (https://vite.dev/guide/backend-integration), trimmed.
MANIFEST = {
    "_shared-abc.js": {"file": "assets/shared-abc.js", "name": "shared"},
    "src/reading.js": {
        "file": "assets/reading-123.js", "src": "src/reading.js", "isEntry": True,
        "imports": ["_shared-abc.js"], "dynamicImports": ["src/viewer/caseViewer.js"],
        "css": ["assets/reading-9.css"],
    },
    "src/viewer/caseViewer.js": {
        "file": "assets/caseViewer-456.js", "src": "src/viewer/caseViewer.js", "isDynamicEntry": True,
        "imports": ["_shared-abc.js", "src/reading.js"], "dynamicImports": ["codec.wasm"],
    },
    "codec.wasm": {"file": "assets/codec-1.wasm", "src": "codec.wasm"},
}


@pytest.fixture
def built(settings, tmp_path):
    folder = tmp_path / "dist" / "viewer" / ".vite"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(MANIFEST))
    settings.FRONTEND_DIST = tmp_path / "dist"
    return folder / "manifest.json"


def test_an_entry_brings_its_script_its_imports_and_its_styles(built):
    files = entry_files("src/reading.js")
    assert files.script == "viewer/assets/reading-123.js"
    assert files.preloads == ("viewer/assets/shared-abc.js",)
    assert files.stylesheets == ("viewer/assets/reading-9.css",)


def test_lazy_chunks_are_preloaded_only_when_asked_and_never_wasm(built):
    files = entry_files("src/reading.js", preload_dynamic=True)
    assert files.preloads == ("viewer/assets/shared-abc.js", "viewer/assets/caseViewer-456.js")


def test_a_rebuild_is_picked_up_without_a_restart(built):
    assert entry_files("src/reading.js").script.endswith("reading-123.js")
    changed = dict(MANIFEST)
    changed["src/reading.js"] = dict(MANIFEST["src/reading.js"], file="assets/reading-789.js")
    built.write_text(json.dumps(changed))
    stat = built.stat()
    os.utime(built, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert entry_files("src/reading.js").script.endswith("reading-789.js")


def test_an_unknown_entry_names_the_entries_there_are(built):
    with pytest.raises(ViteManifestError, match=r"No entry 'src/nope.js'.*src/reading.js"):
        entry_files("src/nope.js")


def test_a_missing_build_says_how_to_build_it(settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path / "nothing"
    with pytest.raises(ViteManifestError, match="npm ci && npm run build"):
        entry_files("src/reading.js")


def test_the_template_tag_writes_module_tags(built):
    html = Template('{% load vite %}{% vite_entry "src/reading.js" %}').render(Context())
    assert '<link rel="stylesheet" href="/static/viewer/assets/reading-9.css">' in html
    assert '<link rel="modulepreload" href="/static/viewer/assets/shared-abc.js">' in html
    assert html.endswith('<script type="module" src="/static/viewer/assets/reading-123.js"></script>')


def test_the_template_tag_shows_a_missing_build_on_the_page(settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path / "nothing"
    html = Template('{% load vite %}{% vite_entry "src/reading.js" %}').render(Context())
    assert 'role="alert"' in html
    assert "npm run build" in html
