"""The README's configuration table lists every environment variable the code reads.

The names read are found in the source (``env_str("NAME", ...)`` and the other helpers of
``readerstudy/core/env.py``, ``os.environ.get("NAME")``, ``os.getenv("NAME")``,
``os.environ["NAME"]``) in ``readerstudy/`` and ``inference/``; the names listed are the
back-quoted names in the first column of the table under "## Configuration". A setting added
without a row, or a row left behind by a removed setting, fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_HELPERS = {"env_str", "env_bool", "env_int", "env_list"}
NAME = re.compile(r"`([A-Z][A-Z0-9_]+)`")


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_os_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"


def _reads_environ(func: ast.AST) -> bool:
    """``env_str`` and the other helpers, ``os.environ.get`` or ``os.getenv``."""
    if isinstance(func, ast.Name):
        return func.id in ENV_HELPERS
    return isinstance(func, ast.Attribute) and (
        (func.attr == "get" and _is_os_environ(func.value))
        or (func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os")
    )


def names_read(tree: ast.AST) -> set[str]:
    """Environment variables a module reads, by name (string literals only)."""
    names = set()
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call) and node.args and _reads_environ(node.func):
            name = _literal(node.args[0])
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value) and isinstance(node.ctx, ast.Load):
            name = _literal(node.slice)
        if name:
            names.add(name)
    return names


def settings_read_by_the_code() -> set[str]:
    names = set()
    for package in ("readerstudy", "inference"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                names |= names_read(ast.parse(path.read_text(), filename=str(path)))
    return names


def settings_listed_in_the_readme() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            names |= set(NAME.findall(cells[1]))
    return names


def test_the_source_scan_finds_the_settings_it_should():
    found = settings_read_by_the_code()
    assert {"DATABASE_URL", "SECRET_KEY", "CELERY_BROKER_URL", "READERSTUDY_VAR_DIR"} <= found
    assert "DJANGO_SETTINGS_MODULE" not in found  # only set (setdefault), never read for a value


def test_every_setting_the_code_reads_is_in_the_readme():
    missing = settings_read_by_the_code() - settings_listed_in_the_readme()
    assert missing == set(), f"add to README.md's Configuration table: {sorted(missing)}"


def test_the_readme_lists_no_setting_the_code_does_not_read():
    stale = settings_listed_in_the_readme() - settings_read_by_the_code()
    assert stale == set(), f"no longer read by the code, remove from README.md: {sorted(stale)}"


def test_names_read_recognises_every_way_of_reading_the_environment():
    source = 'import os\nA = env_int("A", 1)\nB = os.environ.get("B")\nC = os.getenv("C", "")\nD = os.environ["D"]\nos.environ.setdefault("E", "x")\n'
    assert names_read(ast.parse(source)) == {"A", "B", "C", "D"}
