"""The study's results: ``analyse()`` of the reads frame, and its rows looked up by name.

Every number of the publication tables is a row of these results (``results.csv``), so the
tables and the results agree by construction: :mod:`readerstudy.analysis.tables` lays the
rows out, it computes nothing.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import pandas as pd

from readerstudy.analysis.table_parts import NOTE
from readerstudy.stats.analyses.power import DEFAULT_EFFECT
from readerstudy.stats.analysis import analyse
from readerstudy.stats.estimable import note
from readerstudy.stats.io import INPUT_COLUMNS, INPUT_PREFIXES

NOT_IN_RESULTS = note("the results hold no such estimate")
#: The method column's words for a p-value clustered by patient (Obuchowski 1997).
CLUSTERED = "clustered by patient, Obuchowski 1997"


def analyse_reads(reads: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0,
                  alpha: float = 0.05, power_effect: float = DEFAULT_EFFECT) -> pd.DataFrame:
    """:func:`readerstudy.stats.analysis.analyse` of a reads frame
    (:func:`readerstudy.analysis.frames.reads_frame`, or a test set or subgroup of it).

    The columns the statistics read are passed (three-tier calls, measurements and
    features included); an empty cell leaves the read out of that column's analyses
    (``missing="drop"``). ``n_boot=0`` leaves the bootstrap out (the tables do not use it).
    ``power_effect`` is the chosen difference of AUCs of the ``power`` rows (table 9).
    """
    columns = [c for c in reads.columns if c in INPUT_COLUMNS or c.startswith(INPUT_PREFIXES)]
    return analyse(reads[columns], n_boot=n_boot, seed=seed, alpha=alpha, missing="drop",
                   power_effect=power_effect)


class Row(NamedTuple):
    estimate: float
    ci_low: float
    ci_high: float
    statistic: float
    df: float
    p_value: float
    n: int | None
    note: str


class Results:
    """The rows of a results table, looked up by analysis, condition, reader(s) and metric."""

    def __init__(self, results: pd.DataFrame) -> None:
        self.frame = results
        self._rows: dict[tuple[str, str, str, str, str], Row] = {}
        for rec in results.itertuples(index=False):
            n = None if pd.isna(rec.n) else int(rec.n)
            self._rows[(rec.analysis, rec.condition, rec.reader, rec.other, rec.metric)] = Row(
                rec.estimate, rec.ci_low, rec.ci_high, rec.statistic, rec.df, rec.p_value, n,
                rec.note)  # fmt: skip

    def get(self, analysis: str, condition: str, reader: str, metric: str,
            other: str = "") -> Row | None:
        return self._rows.get((analysis, condition, reader, other, metric))

    def pair(self, analysis: str, condition: str, a: str, b: str, metric: str) -> Row | None:
        """The row of readers ``a`` and ``b`` in either order (a symmetric statistic)."""
        return self.get(analysis, condition, a, metric, b) or self.get(
            analysis, condition, b, metric, a)

    def rows(self, analysis: str, condition: str | None = None) -> pd.DataFrame:
        """The rows of ``analysis`` (in ``condition``), as in the results table."""
        frame = self.frame.loc[self.frame["analysis"] == analysis]
        return frame if condition is None else frame.loc[frame["condition"] == condition]


def bounds(row: Row | None) -> tuple[float, float, float]:
    """The row's estimate and interval, NaN when there is no row (as :func:`estimate_columns`)."""
    if row is None:
        return math.nan, math.nan, math.nan
    return row.estimate, row.ci_low, row.ci_high


def estimate_columns(prefix: str, row: Row | None) -> dict[str, object]:
    """``{prefix, prefix_ci_low, prefix_ci_high, prefix_note}`` of a results row (NaN and
    a note saying so when there is none)."""
    if row is None:
        return {prefix: math.nan, f"{prefix}_ci_low": math.nan, f"{prefix}_ci_high": math.nan,
                f"{prefix}{NOTE}": NOT_IN_RESULTS}
    return {prefix: row.estimate, f"{prefix}_ci_low": row.ci_low,
            f"{prefix}_ci_high": row.ci_high, f"{prefix}{NOTE}": row.note}


def p_value_columns(prefix: str, row: Row | None) -> dict[str, object]:
    """``{prefix, prefix_note}``: the row's p-value, with its note when it has none."""
    if row is None:
        return {prefix: math.nan, f"{prefix}{NOTE}": NOT_IN_RESULTS}
    missing = math.isnan(row.p_value)
    return {prefix: row.p_value, f"{prefix}{NOTE}": row.note if missing else ""}


def whole(row: Row | None) -> int | float:
    """A count row's whole number (NaN when there is no row)."""
    return math.nan if row is None else int(row.estimate)


def total(row: Row | None) -> int | float:
    """A row's ``n`` (NaN when there is no row)."""
    return math.nan if row is None or row.n is None else row.n
