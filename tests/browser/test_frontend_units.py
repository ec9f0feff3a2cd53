"""The viewer's JavaScript unit tests (node's built-in runner), run as part of the suite."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def test_the_frontend_unit_tests_pass():
    node = shutil.which("node")
    missing = None if node else "node is not installed"
    if node and not (FRONTEND / "node_modules" / "@cornerstonejs").is_dir():
        missing = "the viewer's npm packages are not installed (cd frontend && npm ci)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    result = subprocess.run([node, "--test", "test/"], cwd=FRONTEND, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
