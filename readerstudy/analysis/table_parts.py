"""What every publication table shares: the readers' order, the conditions and the first
reads.

Every estimate of a table is written as ``<prefix>``, ``<prefix>_ci_low``, ``<prefix>_ci_high``
and ``<prefix>_note`` (:func:`readerstudy.analysis.results.estimate_columns`): the note is
``""``, or ``"not estimable: <reason>"`` when the data do not allow the estimate (the value
is then NaN; :mod:`readerstudy.stats.estimable`). The display
(:mod:`readerstudy.analysis.display`) prints the note in place of the value, so a table
never shows an empty cell where an estimate was due.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from readerstudy.analysis.frames import MODEL

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
