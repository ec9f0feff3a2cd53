"""``measurement``: agreement of continuous measurements (``measurement_<name>`` columns,
in mm or degrees) between every pair of readers who measured, per condition.

Per pair: ICC(2,1) (two-way random effects, absolute agreement, single rater; Shrout &
Fleiss 1979, doi:10.1037/0033-2909.86.2.420) and the Bland-Altman bias and limits of
agreement of reader minus other (Bland & Altman 1986,
doi:10.1016/S0140-6736(86)90837-8), on the cases both measured. Every metric is named
after its column: ``measurement_<name>_icc_2_1``, ``measurement_<name>_bias``, ... The same
metrics of a reader's first against repeat reads are ``intra_reader`` rows; each model is
also compared with the mean of every pair of human readers (Bland-Altman of model minus
mean, ``other`` "mean of r1 and r2"; Germann et al. 2023)
(:mod:`readerstudy.stats.analyses.repeat`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from readerstudy.stats.analyses.all_readers import icc_rows
from readerstudy.stats.analyses.pairwise import bland_altman_rows
from readerstudy.stats.analyses.panel import Panel
from readerstudy.stats.analyses.rows import Key, pairs
from readerstudy.stats.estimable import note

PREFIX = "measurement_"
NOTHING = "no case measured in both"


def measurement_columns(reads: pd.DataFrame) -> list[str]:
    return [c for c in reads.columns if c.startswith(PREFIX)]


def agreement_rows(key: Key, column: str, a: np.ndarray, b: np.ndarray, alpha: float) -> list[dict]:
    """ICC(2,1) and Bland-Altman (``a - b``) of two aligned series of ``column``, on the
    cases where both are given."""
    both = ~np.isnan(a) & ~np.isnan(b)
    ratings = np.column_stack([a[both], b[both]])
    prefix = f"{column}_"
    why = "" if both.any() else note(NOTHING)
    return icc_rows(key, ratings, alpha, forms=("ICC(2,1)",), why=why, prefix=prefix) + (
        bland_altman_rows(key, a[both], b[both], alpha, nothing=NOTHING, prefix=prefix)
    )


def measurement_rows(panel: Panel, columns: list[str], alpha: float) -> list[dict]:
    """Every pair of readers (the model included) who measured ``column`` in the condition."""
    rows: list[dict] = []
    first = panel.first
    for column in columns:
        wide = first.pivot_table(
            index="case", columns="reader", values=column, aggfunc="first", dropna=False
        ).reindex(index=panel.cases, columns=panel.readers)
        values = wide.to_numpy(dtype=np.float64)
        measured = [j for j in range(len(panel.readers)) if (~np.isnan(values[:, j])).any()]
        for i, j in pairs(len(measured)):
            a, b = measured[i], measured[j]
            key = ("measurement", panel.condition, panel.readers[a], panel.readers[b])
            rows += agreement_rows(key, column, values[:, a], values[:, b], alpha)
        rows += _model_vs_reader_mean(panel, column, values, measured, alpha)
    return rows


def reader_mean_name(a: str, b: str) -> str:
    """The ``other`` of a model against the mean of two readers: ``"mean of r1 and r2"``."""
    return f"mean of {a} and {b}"


def _model_vs_reader_mean(
    panel: Panel, column: str, values: np.ndarray, measured: list[int], alpha: float
) -> list[dict]:
    """Bland-Altman of each model against the mean of each pair of human readers (model
    minus mean, on the cases all three measured), as Germann et al. 2023 report the model
    against two readers' mean; ``reader`` the model, ``other`` :func:`reader_mean_name`."""
    humans = [j for j in measured if panel.readers[j] not in panel.models]
    models = [j for j in measured if panel.readers[j] in panel.models]
    rows: list[dict] = []
    for m in models:
        for i, j in pairs(len(humans)):
            a, b = humans[i], humans[j]
            mean = (values[:, a] + values[:, b]) / 2.0  # NaN unless both measured
            model = values[:, m]
            both = ~np.isnan(mean) & ~np.isnan(model)
            key = ("measurement", panel.condition, panel.readers[m],
                   reader_mean_name(panel.readers[a], panel.readers[b]))
            rows += bland_altman_rows(key, model[both], mean[both], alpha, nothing=NOTHING,
                                      prefix=f"{column}_")  # fmt: skip
    return rows
