"""Every statistic the reads allow, as one tidy table: the study's results.

:func:`analyse` takes the long table of reads - one row per reader, case,
condition and round - and returns one row per estimate with the columns of
:data:`RESULT_COLUMNS`. The analyses, column meanings and metric names are an
interface, documented in ``docs/stats-interface.md`` (the input and output
formats live in :mod:`readerstudy.stats.io`); the Django app and the command
line (``python -m readerstudy.stats``) both call this function.

The analyses themselves live in :mod:`readerstudy.stats.analyses`, one module per
kind. Only first-round reads enter the diagnostic, pairwise and all-reader
analyses; repeat reads are compared with the same reader's first reads
(intra-reader agreement). Model readers (``reader_kind == "model"``, or a name
starting with "model") are compared with every human reader but are left out
of the all-reader analyses (Fleiss' kappa, ICC, MRMC), whose readers are meant
to be a sample of human readers.

An estimate the reads call for but do not allow (an AUC in a subgroup with one
benign case, a kappa of two readers who called every case benign, an MRMC
analysis with one reader) is a row with a missing estimate and the reason in
``note``, "not estimable: ..." (:mod:`readerstudy.stats.estimable`); it is
never dropped and never an error. An analysis whose input the reads lack
altogether (scores, truth, repeat reads, a second condition's comparison) has
no rows.
"""

from __future__ import annotations

import pandas as pd

from readerstudy.stats._validation import check_alpha
from readerstudy.stats.analyses.aided import aided_rows
from readerstudy.stats.analyses.all_readers import all_reader_rows, mrmc_rows
from readerstudy.stats.analyses.definite import definite_rows
from readerstudy.stats.analyses.features import feature_columns, feature_rows
from readerstudy.stats.analyses.measurements import measurement_columns, measurement_rows
from readerstudy.stats.analyses.pairwise import pairwise_rows
from readerstudy.stats.analyses.panel import Panel, build_panel, call_categories
from readerstudy.stats.analyses.per_reader import auc_rows, call_rows
from readerstudy.stats.analyses.power import DEFAULT_EFFECT, check_effect, power_rows
from readerstudy.stats.analyses.repeat import intra_reader_rows
from readerstudy.stats.analyses.rows import results_frame
from readerstudy.stats.io import ANALYSES, RESULT_COLUMNS, natural_key, validate_reads

__all__ = ["ANALYSES", "RESULT_COLUMNS", "analyse", "analyse_mrmc", "validate_reads"]


def _panels(data: pd.DataFrame) -> list[Panel]:
    """One panel per condition with first-round reads (a condition may have repeat reads only)."""
    conditions = sorted(data["condition"].unique(), key=natural_key)
    categories = call_categories(data["call"]) if "call" in data else []
    panels = [build_panel(data, cond, categories) for cond in conditions]
    return [p for p in panels if p.readers]


def analyse(
    reads: pd.DataFrame,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    missing: str = "raise",
    power_effect: float = DEFAULT_EFFECT,
) -> pd.DataFrame:
    """Compute every statistic the reads allow.

    Parameters
    ----------
    reads : pandas.DataFrame
        Long table of reads; see :func:`validate_reads` for the columns.
    n_boot : int, default 2000
        Bootstrap resamples for the percentile interval of each reader's AUC
        (stratified by truth; :func:`readerstudy.stats.bootstrap.bootstrap_auc`);
        0 leaves the bootstrap out (no ``auc_bootstrap`` rows).
    seed : int, default 0
        Seed of the bootstrap, so that results are reproducible.
    alpha : float, default 0.05
        1 - confidence level of every interval.
    missing : {"raise", "drop"}, default "raise"
        Policy for empty cells; see :func:`validate_reads`.
    power_effect : float, default 0.05
        The difference of reader-averaged AUCs (above 0, at most 1) that the ``power``
        rows plan a future study for, beside the observed difference.

    Returns
    -------
    pandas.DataFrame
        One row per estimate, columns :data:`RESULT_COLUMNS`, ordered by
        :data:`ANALYSES`, then condition, then reader. Text columns hold ""
        where not applicable; numeric columns NaN; ``n`` is a nullable
        integer. Nothing is rounded. See ``docs/stats-interface.md``.

    Raises
    ------
    ValueError
        Bad input, with the rows at fault.
    """
    check_alpha(alpha)
    check_effect(power_effect)
    if int(n_boot) != n_boot or n_boot < 0:
        raise ValueError(f"n_boot must be a whole number >= 0, got {n_boot!r}")
    data = validate_reads(reads, missing=missing)
    conditions = sorted(data["condition"].unique(), key=natural_key)
    measured, features = measurement_columns(data), feature_columns(data)
    rows: list[dict] = []
    panels = _panels(data)
    for panel in panels:
        if panel.truth is not None:
            rows += auc_rows(panel, int(n_boot), seed, alpha)
            rows += call_rows(panel, alpha)
        rows += pairwise_rows(panel, alpha)
        rows += definite_rows(panel, alpha)
        rows += measurement_rows(panel, measured, alpha)
        rows += all_reader_rows(panel, alpha)
        rows += feature_rows(panel, features, alpha)
    rows += mrmc_rows(panels, alpha)
    rows += power_rows(panels, alpha, power_effect)
    rows += aided_rows(panels, alpha)
    rows += intra_reader_rows(data, conditions, measured, alpha)
    return results_frame(rows)


def analyse_mrmc(
    reads: pd.DataFrame, *, alpha: float = 0.05, missing: str = "raise"
) -> pd.DataFrame:
    """The ``mrmc`` rows of :func:`analyse`, without the other analyses.

    Parameters
    ----------
    reads : pandas.DataFrame
        As for :func:`analyse`.
    alpha : float, default 0.05
    missing : {"raise", "drop"}, default "raise"

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RESULT_COLUMNS`; the rows :func:`analyse` reports under ``mrmc``
        (Obuchowski-Rockette-Hillis; see :func:`readerstudy.stats.mrmc.or_hillis`).
    """
    check_alpha(alpha)
    return results_frame(mrmc_rows(_panels(validate_reads(reads, missing=missing)), alpha))
