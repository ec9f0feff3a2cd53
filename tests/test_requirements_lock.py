"""requirements.lock, which the set-up installs, agrees with pyproject.toml's dependencies.

Run `scripts/lock` after changing the dependencies or the test extra; these tests fail until
then. They read both files only: no network, no resolver.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")


def declared_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["test"]]


def lock_lines() -> list[str]:
    return (ROOT / "requirements.lock").read_text().splitlines()


def locked_versions() -> dict[str, Version]:
    pins = {}
    for line in lock_lines():
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match["name"])] = Version(match["version"])
    return pins


def test_every_line_of_the_lock_is_an_exact_pin_or_a_comment():
    odd = [line for line in lock_lines() if line.strip() and not line.lstrip().startswith("#") and not PIN.match(line)]
    assert odd == []


def test_every_declared_requirement_is_pinned_in_the_lock_at_a_version_it_allows():
    pins = locked_versions()
    disagreements = []
    for requirement in declared_requirements():
        name = canonicalize_name(requirement.name)
        if name not in pins:
            disagreements.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            disagreements.append(f"{requirement} but the lock pins {pins[name]}")
    assert disagreements == [], "run scripts/lock: " + "; ".join(disagreements)


def test_the_lock_pins_nothing_as_a_direct_dependency_that_pyproject_no_longer_declares():
    declared = {canonicalize_name(requirement.name) for requirement in declared_requirements()}
    stale = []
    for line in lock_lines():
        match = PIN.match(line)
        if match and "readerstudy (pyproject.toml)" in line and canonicalize_name(match["name"]) not in declared:
            stale.append(match["name"])
    assert stale == [], "run scripts/lock: no longer declared: " + ", ".join(stale)


def test_the_lock_pins_the_cpu_build_of_torch():
    assert locked_versions()["torch"] == Version("2.13.0+cpu")
