"""Finds the hashed files of the Vite build through its manifest.

``npm run build`` in ``frontend/`` writes ``frontend/dist/viewer/.vite/manifest.json``; Django
serves ``frontend/dist`` as static files, so ``assets/reading-abc123.js`` in the manifest is the
static path ``viewer/assets/reading-abc123.js``.

Reference: https://vite.dev/guide/backend-integration (the manifest and what to preload).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

STATIC_PREFIX = "viewer/"


class ViteManifestError(RuntimeError):
    """The build is missing or does not contain the entry a page asks for."""


@dataclass(frozen=True)
class EntryFiles:
    """The static paths a page needs for one Vite entry."""

    script: str
    preloads: tuple[str, ...]
    stylesheets: tuple[str, ...]


def manifest_path() -> Path:
    return Path(settings.FRONTEND_DIST) / "viewer" / ".vite" / "manifest.json"


@lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> dict[str, Any]:
    # Keyed by modification time so a rebuild is picked up without restarting the server.
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def load_manifest() -> dict[str, Any]:
    """The parsed manifest; raises ``ViteManifestError`` saying how to build it if absent."""
    path = manifest_path()
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise ViteManifestError(
            f"The viewer bundle is not built: {path} is missing. "
            "Run `npm ci && npm run build` in frontend/."
        ) from None
    return _load(path, mtime_ns)


def entry_files(entry: str, *, preload_dynamic: bool = False) -> EntryFiles:
    """Script, chunks to preload and stylesheets for ``entry`` (e.g. ``"src/reading.js"``).

    With ``preload_dynamic`` the chunks the entry imports lazily are preloaded too: the reading
    page always needs its viewer chunk, so it downloads while the case is being fetched.
    """
    manifest = load_manifest()
    if entry not in manifest:
        known = ", ".join(sorted(k for k, v in manifest.items() if v.get("isEntry")))
        raise ViteManifestError(f"No entry {entry!r} in the Vite manifest (entries: {known}).")
    preloads: list[str] = []
    stylesheets: list[str] = []
    seen: set[str] = set()

    def visit(key: str, *, top: bool) -> None:
        if key in seen:
            return
        seen.add(key)
        chunk = manifest[key]
        if not top:
            preloads.append(STATIC_PREFIX + chunk["file"])
        stylesheets.extend(STATIC_PREFIX + css for css in chunk.get("css", []))
        for child in chunk.get("imports", []):
            visit(child, top=False)
        if preload_dynamic and top:
            for child in chunk.get("dynamicImports", []):
                if manifest.get(child, {}).get("file", "").endswith(".js"):
                    visit(child, top=False)

    visit(entry, top=True)
    return EntryFiles(
        script=STATIC_PREFIX + manifest[entry]["file"],
        preloads=tuple(dict.fromkeys(preloads)),
        stylesheets=tuple(dict.fromkeys(stylesheets)),
    )
