"""What produced a set of results: the software versions and the parameters (seed).

Written next to the results (``software.json`` of the command line and of each export) and
named under the publication tables, so that a number can be traced to the code and the
bootstrap seed that gave it.
"""

from __future__ import annotations

import platform
from importlib import metadata

__all__ = ["PACKAGES", "provenance", "software_versions", "versions_text"]

#: The packages whose code computes the statistics (and draws the figures).
PACKAGES = ("numpy", "scipy", "pandas", "statsmodels", "matplotlib")


def software_versions() -> dict[str, str]:
    """``{"python": "3.11.9", "numpy": "2.1.0", ...}``; "not installed" for a missing one."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def versions_text() -> str:
    """``"Python 3.11.9, numpy 2.1.0, scipy 1.14.1, ..."`` for a footnote."""
    versions = software_versions()
    python = versions.pop("python")
    return ", ".join([f"Python {python}", *(f"{k} {v}" for k, v in versions.items())])


def provenance(*, n_boot: int, seed: int, alpha: float, missing: str = "raise",
               power_effect: float = 0.05) -> dict:
    """The software versions and the parameters of one run of ``analyse``
    (``power_effect``: the chosen effect of the ``power`` rows)."""
    return {
        "software": software_versions(),
        "parameters": {"n_boot": n_boot, "seed": seed, "alpha": alpha, "missing": missing,
                       "power_effect": power_effect},
    }
