"""What every publication table shares: the readers' order, the first reads, and the
columns of one estimate, not-estimable ones included.

Every estimate of a table is written as ``<prefix>``, ``<prefix>_ci_low``, ``<prefix>_ci_high``
and ``<prefix>_note``: the note is ``""``, or ``"not estimable: <reason>"`` when the data do
not allow the estimate (the value is then NaN; :mod:`readerstudy.stats.estimable`). The
display (:mod:`readerstudy.analysis.display`) prints the note in place of the value, so a
table never shows an empty cell where an estimate was due.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from readerstudy.analysis.frames import MODEL
from readerstudy.stats.estimable import note

NOTE = "_note"
ROLE_ORDER = {"trainee": 0, "resident": 1, "attending": 2, MODEL: 3}
FIRST = "first"
REPEAT = "repeat"


def reader_order(reads: pd.DataFrame) -> list[str]:
    """Readers as the published tables list them: trainees, residents, attendings by
    experience, then the model versions."""
    readers = reads.drop_duplicates("reader").copy()
    readers["_role"] = readers["role"].map(ROLE_ORDER).fillna(len(ROLE_ORDER))
    readers["_years"] = pd.to_numeric(readers["years"], errors="coerce").fillna(np.inf)
    readers["_model"] = (readers["reader_kind"] == MODEL).astype(int)
    ordered = readers.sort_values(["_model", "_role", "_years", "reader"], kind="stable")
    return ordered["reader"].tolist()


def first_reads(reads: pd.DataFrame, condition: str) -> pd.DataFrame:
    """The first-round reads of one condition."""
    return reads.loc[(reads["condition"] == condition) & (reads["round"] == FIRST)]


def conditions(reads: pd.DataFrame) -> list[str]:
    return sorted(reads["condition"].dropna().unique())


def _reason(result: object) -> str:
    reason = getattr(result, "not_estimable", "") if result is not None else ""
    return note(reason) if reason else ""


def estimate_columns(prefix: str, result: object, why: str = "") -> dict[str, object]:
    """``{prefix, prefix_ci_low, prefix_ci_high, prefix_note}`` of a result with
    ``estimate``, ``ci_low`` and ``ci_high``.

    Parameters
    ----------
    prefix : str
        The column name of the estimate, e.g. ``"auc_calls"``.
    result : object or None
        A result of :mod:`readerstudy.stats`; None when it is not estimable.
    why : str, optional
        The note when ``result`` is None (as :func:`readerstudy.stats.estimable.attempt`
        returns it); otherwise the result's own ``not_estimable`` reason is used.
    """
    if result is None:
        if not why:
            raise ValueError(f"{prefix}: a missing estimate needs its reason")
        return {prefix: math.nan, f"{prefix}_ci_low": math.nan, f"{prefix}_ci_high": math.nan,
                f"{prefix}{NOTE}": why}
    return {prefix: result.estimate, f"{prefix}_ci_low": result.ci_low,
            f"{prefix}_ci_high": result.ci_high, f"{prefix}{NOTE}": why or _reason(result)}


def value_columns(prefix: str, value: float, why: str = "") -> dict[str, object]:
    """``{prefix, prefix_note}`` of a single number (a p-value), NaN with ``why`` when it is
    not estimable."""
    if why:
        return {prefix: math.nan, f"{prefix}{NOTE}": why}
    return {prefix: value, f"{prefix}{NOTE}": ""}
