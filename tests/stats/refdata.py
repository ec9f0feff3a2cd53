"""The public reference data sets shipped in fixtures/refdata/ (see its README for sources)."""

from pathlib import Path

import pandas as pd

REFDATA = Path(__file__).resolve().parents[2] / "fixtures" / "refdata"


def refdata(name: str) -> pd.DataFrame:
    """Load one reference data set by file name, e.g. ``refdata("vandyke.csv")``."""
    path = REFDATA / name
    if not path.exists():
        raise FileNotFoundError(f"reference data set {name} is missing from {REFDATA}")
    return pd.read_csv(path)
