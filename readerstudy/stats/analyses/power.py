"""``power``: the power and the cases needed of a future study, from this one as its pilot.

For every pair of conditions the human readers read (e.g. unaided and AI-aided), the
Obuchowski-Rockette variance components of the pair's MRMC analysis (the ``mrmc`` rows)
predict the power of the same comparison in a future study with J readers
(:data:`READERS`, and as many as this study had) and as many cases as this study had, at
the observed difference of the reader-averaged AUCs and at a chosen one, and the cases
that give it :data:`TARGET_POWER` (Hillis, Obuchowski & Berbaum 2011; random readers and
random cases; :mod:`readerstudy.stats.sample_size`).
"""

from __future__ import annotations

import math
from itertools import combinations

from readerstudy.stats.analyses.all_readers import crossed_reads
from readerstudy.stats.analyses.panel import Panel
from readerstudy.stats.analyses.rows import Key, not_estimable, row
from readerstudy.stats.estimable import attempt, note
from readerstudy.stats.mrmc import or_hillis
from readerstudy.stats.sample_size import ORPilot, or_cases_needed, or_pilot, or_power

#: Readers of the future studies the power is given for (and the pilot's own number).
READERS = (3, 4, 5, 6, 8, 10, 15, 20)
#: The power the cases needed are for.
TARGET_POWER = 0.8
#: The chosen difference of reader-averaged AUCs when none is given: 0.05, the moderate
#: effect RJafroc's and Hillis & Schartz's (2018) examples plan for.
DEFAULT_EFFECT = 0.05
#: The effects each design is given for: the pilot's observed one and the chosen one.
EFFECTS = ("observed", "chosen")


def check_effect(effect: float) -> None:
    """A chosen effect is a difference of AUCs, above 0 and at most 1."""
    if isinstance(effect, bool) or not isinstance(effect, int | float):
        raise ValueError(f"power_effect must be a number, got {effect!r}")
    if not math.isfinite(effect) or not 0 < effect <= 1:
        raise ValueError(
            "power_effect must be a difference of reader-averaged AUCs above 0 and at most 1 "
            f"(e.g. 0.05), got {effect!r}"
        )


def power_metric(prefix: str, effect: str, readers: int) -> str:
    """``"auc_power_rrrc_observed_readers_10"``: the power of 10 readers."""
    return f"{prefix}_power_rrrc_{effect}_readers_{readers}"


def cases_metric(prefix: str, effect: str, readers: int) -> str:
    """``"auc_cases_needed_rrrc_chosen_readers_10"``: the cases 10 readers need."""
    return f"{prefix}_cases_needed_rrrc_{effect}_readers_{readers}"


def _design_rows(key: Key, prefix: str, pilot: ORPilot, effect: float, alpha: float) -> list[dict]:
    """The power and the cases needed of each number of readers, at both effects."""
    rows = [
        row(key, f"{prefix}_power_effect_observed", pilot.effect, n=pilot.cases),
        row(key, f"{prefix}_power_effect_chosen", effect),
        row(key, f"{prefix}_power_pilot_readers", float(pilot.readers)),
    ]
    effects = {"observed": pilot.effect, "chosen": effect}
    for readers in sorted({*READERS, pilot.readers}):
        for kind in EFFECTS:
            metric = power_metric(prefix, kind, readers)
            power, why = attempt(
                or_power, pilot, readers=readers, cases=pilot.cases, effect=effects[kind],
                alpha=alpha,
            )  # fmt: skip
            if power is None:
                rows.append(not_estimable(key, metric, why, pilot.cases))
            else:
                rows.append(
                    row(key, metric, power.power, statistic=power.ncp, df=_finite(power.df_den),
                        n=pilot.cases)
                )  # fmt: skip
            metric = cases_metric(prefix, kind, readers)
            needed, why = attempt(
                or_cases_needed, pilot, readers=readers, effect=effects[kind],
                power=TARGET_POWER, alpha=alpha,
            )  # fmt: skip
            if needed is None:
                rows.append(not_estimable(key, metric, why))
            elif needed.cases is None:
                rows.append(not_estimable(key, metric, note(needed.not_estimable)))
            else:
                rows.append(row(key, metric, float(needed.cases)))
    return rows


def _finite(df: float) -> float:
    return float(df) if math.isfinite(df) else math.nan


def power_rows(panels: list[Panel], alpha: float, effect: float = DEFAULT_EFFECT) -> list[dict]:
    """Per pair of conditions and rating (``auc``: scores, ``auc_calls``: calls), the
    future study's power and cases needed (:func:`_design_rows`); one not-estimable
    ``<rating>_power_rrrc`` row with the reason when the pair's MRMC analysis is not
    estimable (fewer than 2 human readers, too few cases of a class, AUCs without
    variance). No rows with fewer than two conditions."""
    check_effect(effect)
    rows: list[dict] = []
    for a, b in combinations(panels, 2):
        first, second = sorted((a.condition, b.condition))  # or_hillis's order of conditions
        key = ("power", first, "", second)
        _readers, sources = crossed_reads([a, b])
        for prefix, crossed, why, cases, _, _ in sources:
            pilot = None
            if crossed is not None:
                result, why = attempt(or_hillis, crossed, rating="value", alpha=alpha)
                if result is not None:
                    pilot, why = attempt(or_pilot, result, cases)
            if pilot is None:
                rows.append(not_estimable(key, f"{prefix}_power_rrrc", why, cases))
            else:
                rows += _design_rows(key, prefix, pilot, float(effect), alpha)
    if rows:
        rows.append(row(("power", "", "", ""), "power_target", TARGET_POWER))
    return rows
