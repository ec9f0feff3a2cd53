"""``intra_reader``: each reader's repeat reads against the same reader's first reads of the
same cases, per condition."""

from __future__ import annotations

import numpy as np
import pandas as pd

from readerstudy.stats import agreement
from readerstudy.stats.analyses import measurements
from readerstudy.stats.analyses.all_readers import icc_rows
from readerstudy.stats.analyses.pairwise import observed_agreement_row
from readerstudy.stats.analyses.panel import call_categories
from readerstudy.stats.analyses.rows import Key, from_result, not_estimable, row
from readerstudy.stats.estimable import note
from readerstudy.stats.io import natural_key

_INTERVALS = (("min", np.min), ("median", np.median), ("mean", np.mean), ("max", np.max))


def intra_reader_rows(
    reads: pd.DataFrame, conditions: list[str], measured: list[str], alpha: float
) -> list[dict]:
    """Cohen's kappa and observed agreement of the calls, ICC(2,1) and ICC(3,1) of the
    scores, the intervals in days, and the agreement of each measurement (``measured``
    columns the reader gave in the first round), first against repeat read."""
    if not (reads["round"] == "repeat").any():
        return []
    rows: list[dict] = []
    categories = call_categories(reads["call"]) if "call" in reads else []
    for cond in conditions:
        here = reads[reads["condition"] == cond]
        for reader in sorted(
            here.loc[here["round"] == "repeat", "reader"].unique(), key=natural_key
        ):
            mine = here[here["reader"] == reader]
            first = mine[mine["round"] == "first"].set_index("case")
            repeat = mine[mine["round"] == "repeat"].set_index("case")
            cases = first.index.intersection(repeat.index)
            if cases.empty:
                continue
            key = ("intra_reader", cond, reader, "")
            if "call" in reads:
                rows += _kappa_rows(key, first.loc[cases, "call"], repeat.loc[cases, "call"],
                                    categories, alpha)  # fmt: skip
            if "score" in reads:
                pair = np.column_stack([first.loc[cases, "score"], repeat.loc[cases, "score"]])
                if not np.isnan(pair).all():
                    pair = pair[~np.isnan(pair).any(axis=1)]
                    rows += icc_rows(key, pair, alpha, forms=("ICC(2,1)", "ICC(3,1)"))
            if "interval_days" in reads:
                days = repeat.loc[cases, "interval_days"].fillna(first.loc[cases, "interval_days"])
                days = days.dropna().to_numpy()
                rows += [row(key, f"interval_days_{name}", float(summary(days)), n=int(days.size))
                         for name, summary in _INTERVALS if days.size]  # fmt: skip
            for column in measured:
                if first[column].notna().any():
                    a = first.loc[cases, column].to_numpy(dtype=np.float64)
                    b = repeat.loc[cases, column].to_numpy(dtype=np.float64)
                    rows += measurements.agreement_rows(key, column, a, b, alpha)
    return rows


def _kappa_rows(
    key: Key, a: pd.Series, b: pd.Series, categories: list[object], alpha: float
) -> list[dict]:
    both = (a.notna() & b.notna()).to_numpy()
    if both.any():
        pairs = pd.DataFrame({"first": a.to_numpy()[both], "repeat": b.to_numpy()[both]})
        r = agreement.cohen_kappa(pairs, x="first", y="repeat", categories=categories,
                                  alpha=alpha)
        return [from_result(key, "cohen_kappa", r), observed_agreement_row(key, r)]
    if a.notna().any() or b.notna().any():
        why = note("no case called in both the first and the repeat read")
        return [not_estimable(key, metric, why, 0) for metric in ("cohen_kappa",
                                                                   "observed_agreement")]
    return []
