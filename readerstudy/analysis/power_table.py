"""Table 9: sample size for a future study, as numbers.

This study taken as the pilot of a future one (the ``power`` rows of the results,
``results.csv``; :mod:`readerstudy.stats.analyses.power`): for each pair of conditions and
rating, per number of readers J, the power of the Obuchowski-Rockette-Hillis test (random
readers and cases) with as many cases as this study read, at the observed difference of
the reader-averaged AUCs and at the chosen one, and the cases that give 80% power. The
table lays the rows out; it computes nothing.

References
----------
Hillis SL, Obuchowski NA, Berbaum KS (2011). Power estimation for multireader ROC methods:
an updated and unified approach. Acad Radiol 18:129-142. doi:10.1016/j.acra.2010.09.007
"""

from __future__ import annotations

import math
import re

import pandas as pd

from readerstudy.analysis.mrmc_table import RATINGS
from readerstudy.analysis.results import Results
from readerstudy.analysis.table_parts import NOTE

COLUMNS = [
    "rating",
    "condition",
    "other",
    "readers",
    "pilot_readers",
    "cases",
    "target_power",
    "effect_observed",
    "power_observed",
    "power_observed_note",
    "cases_needed_observed",
    "cases_needed_observed_note",
    "effect_chosen",
    "power_chosen",
    "power_chosen_note",
    "cases_needed_chosen",
    "cases_needed_chosen_note",
    "note",
]
ESTIMATES = ("power_observed", "cases_needed_observed", "power_chosen", "cases_needed_chosen")
_POWER = re.compile(r"^(auc|auc_calls)_power_rrrc_(observed|chosen)_readers_(\d+)$")


def _readers(rows: pd.DataFrame) -> list[int]:
    found = rows["metric"].str.extract(_POWER)[2].dropna()
    return sorted({int(j) for j in found})


def _pair_rows(
    index: Results, prefix: str, condition: str, other: str, target: float
) -> list[dict[str, object]]:
    """One record per number of readers (or one with the reason the pair has none)."""

    def get(metric: str):
        return index.get("power", condition, "", metric, other=other)

    base = {"rating": RATINGS[prefix], "condition": condition, "other": other}
    reason = get(f"{prefix}_power_rrrc")
    if reason is not None:  # every estimate of the pair is not estimable, for that reason
        return [
            base
            | {"cases": reason.n, "note": reason.note}
            | {f"{name}{NOTE}": reason.note for name in ESTIMATES}
        ]
    observed, chosen = get(f"{prefix}_power_effect_observed"), get(f"{prefix}_power_effect_chosen")
    pilot = get(f"{prefix}_power_pilot_readers")
    if observed is None or chosen is None or pilot is None:
        return []
    pair = index.rows("power", condition)
    pair = pair.loc[
        (pair["other"] == other) & pair["metric"].str.startswith(f"{prefix}_power_rrrc")
    ]
    records = []
    for readers in _readers(pair):
        record = base | {
            "readers": readers,
            "pilot_readers": int(pilot.estimate),
            "cases": observed.n,
            "target_power": target,
            "effect_observed": observed.estimate,
            "effect_chosen": chosen.estimate,
            "note": "",
        }
        for kind in ("observed", "chosen"):
            for name, metric in (
                (f"power_{kind}", f"{prefix}_power_rrrc_{kind}_readers_{readers}"),
                (f"cases_needed_{kind}", f"{prefix}_cases_needed_rrrc_{kind}_readers_{readers}"),
            ):
                found = get(metric)
                record[name] = math.nan if found is None else found.estimate
                record[f"{name}{NOTE}"] = "" if found is None else found.note
        records.append(record)
    return records


def power_table(results: pd.DataFrame) -> pd.DataFrame:
    """Table 9: the power and the cases needed of a future study, per pair of conditions.

    Parameters
    ----------
    results : pandas.DataFrame
        ``analyse()`` of the reads of one test set or subgroup, whose ``power`` rows the
        table lays out.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, one row per rating (scores / calls), pair of conditions
        (``condition``, ``other``; the effect is condition minus other) and number of
        readers ``readers`` (J; ``pilot_readers`` is this study's): ``cases`` (this
        study's crossed cases, the K the power is for), ``target_power`` (0.8),
        ``effect_observed`` and ``effect_chosen`` (differences of reader-averaged AUCs),
        ``power_observed``/``power_chosen`` (0-1) and ``cases_needed_observed``/
        ``cases_needed_chosen`` (the fewest cases for the target power), each with a
        ``_note`` ("not estimable: <reason>", e.g. when J readers cannot reach the target
        however many cases they read). A pair whose MRMC analysis is not estimable (fewer
        than 2 human readers) is one row with the reason in ``note``. Without columns
        (not applicable) with fewer than two conditions or no reference standard.
    """
    index = Results(results)
    rows = index.rows("power")
    target_row = index.get("power", "", "", "power_target")
    if rows.empty or target_row is None:
        return pd.DataFrame()  # does not apply: the export writes "not applicable"
    pairs = rows.loc[rows["condition"] != "", ["condition", "other"]].drop_duplicates()
    records = []
    for prefix in RATINGS:
        for pair in pairs.itertuples(index=False):
            records += _pair_rows(index, prefix, pair.condition, pair.other, target_row.estimate)
    return pd.DataFrame.from_records(records, columns=COLUMNS)
