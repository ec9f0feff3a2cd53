"""Tables 3 and 3b: agreement of the calls and of the measurements, as numbers.

Laid out from the study's results (:mod:`readerstudy.analysis.results`): the ``kappa``,
``fleiss_kappa`` and ``intra_reader`` rows for the calls, the ``measurement`` and
``intra_reader`` rows of each ``measurement_<name>`` column for the measurements.
"""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from readerstudy.analysis.frames import HUMAN, MODEL, measurement_column
from readerstudy.analysis.results import Results, Row, bounds, estimate_columns, total
from readerstudy.analysis.table_parts import conditions, first_reads, reader_order
from readerstudy.stats.agreement import landis_koch
from readerstudy.stats.estimable import note
from readerstudy.stats.icc import koo_li


def _kappa_record(kappa: Row | None, observed: Row | None) -> dict[str, object]:
    """Cohen's kappa with its interval, p-value, cases, observed agreement and band."""
    columns = estimate_columns("estimate", kappa)
    return {
        "estimate": columns["estimate"], "ci_low": columns["estimate_ci_low"],
        "ci_high": columns["estimate_ci_high"], "note": columns["estimate_note"],
        "p_value": kappa.p_value if kappa else float("nan"), "n": total(kappa),
        "observed_agreement": observed.estimate if observed else float("nan"),
        "band": landis_koch(bounds(kappa)[0]),
    }


def _intervals(results: Results, condition: str, reader: str) -> dict[str, float]:
    """The actual first-to-repeat intervals in days: median, minimum, maximum."""
    out = {}
    for name in ("median", "min", "max"):
        row = results.get("intra_reader", condition, reader, f"interval_days_{name}")
        out[f"interval_days_{name}"] = row.estimate if row else float("nan")
    return out


def agreement_table(reads: pd.DataFrame, results: pd.DataFrame, *,
                    reference_model: str | None = None) -> pd.DataFrame:
    """Table 3: agreement of benign/malignant calls.

    Cohen's kappa with the large-sample SE of Fleiss, Cohen & Everitt (1969,
    doi:10.1037/h0028106) for every pair of human readers, each reader against the model,
    and each reader's first against repeat read of the same cases (with the actual
    intervals: median, minimum, maximum days); Fleiss' kappa (Fleiss 1971,
    doi:10.1037/h0031619) of all human readers (three or more) on the cases all of them
    read. Bands after Landis & Koch (1977, doi:10.2307/2529310). A kappa the calls do not
    allow (no case read by both; one category used by both readers) is NaN with the reason
    in ``note``.
    """
    index = Results(results)
    records = []
    for condition in conditions(reads):
        first = first_reads(reads, condition)
        order = reader_order(first)
        kinds = first.groupby("reader")["reader_kind"].agg(lambda k: (k == HUMAN).all())
        humans = [r for r in order if kinds[r]]
        pairs = [("inter-reader", a, b) for a, b in combinations(humans, 2)]
        if reference_model in order:
            pairs += [("reader vs model", r, reference_model) for r in humans]
        for analysis, a, b in pairs:
            records.append({"analysis": analysis, "condition": condition, "reader": a, "other": b,
                            "measure": "Cohen's kappa"}
                           | _kappa_record(index.pair("kappa", condition, a, b, "cohen_kappa"),
                                           index.pair("kappa", condition, a, b,
                                                      "observed_agreement")))
        fleiss = index.get("fleiss_kappa", condition, "", "fleiss_kappa")
        if len(humans) >= 3 and fleiss is not None:
            record = _kappa_record(fleiss, None)
            del record["observed_agreement"]
            records.append({"analysis": "all readers", "condition": condition,
                            "reader": "all readers", "other": "", "measure": "Fleiss' kappa"}
                           | record)
        for reader in humans:
            kappa = index.get("intra_reader", condition, reader, "cohen_kappa")
            if kappa is None:
                continue  # no repeat read: nothing to compare
            records.append({
                "analysis": "intra-reader", "condition": condition, "reader": reader,
                "other": "repeat read", "measure": "Cohen's kappa",
                **_kappa_record(kappa, index.get("intra_reader", condition, reader,
                                                 "observed_agreement")),
                **_intervals(index, condition, reader),
            })
    return pd.DataFrame.from_records(records)


def _measurement_columns(reads: pd.DataFrame) -> list[str]:
    return [c for c in reads.columns if c.startswith(measurement_column(""))]


#: How the results name the mean of two readers (``other`` of a model's Bland-Altman rows).
READER_MEAN = "mean of "


def _measurement_record(results: Results, analysis: str, condition: str, reader: str,
                        other: str, column: str, *, swapped: bool = False) -> dict[str, object]:
    """ICC(2,1) and Bland-Altman bias and limits of agreement (reader minus other).

    ``swapped``: the results hold the pair as (``other``, ``reader``), so their bias is
    ``other - reader``; the table shows ``reader - other``, the same numbers negated (the
    interval and the limits swap ends). Negation is exact, so the table still shows the
    results' numbers; the ICC is symmetric.
    """
    def get(metric: str) -> Row | None:
        if swapped:
            return results.get(analysis, condition, other, f"{column}_{metric}", other=reader)
        return results.get(analysis, condition, reader, f"{column}_{metric}", other=other)

    icc_row, bias_row = get("icc_2_1"), get("bias")
    icc = estimate_columns("icc", icc_row)
    bias = estimate_columns("bias", bias_row)
    lower, upper = get("loa_lower"), get("loa_upper")
    loa_low = lower.estimate if lower else float("nan")
    loa_high = upper.estimate if upper else float("nan")
    if swapped:
        estimate, ci_low, ci_high = bounds(bias_row)
        bias |= {"bias": -estimate, "bias_ci_low": -ci_high, "bias_ci_high": -ci_low}
        loa_low, loa_high = -loa_high, -loa_low
    return {
        **icc, "icc_band": koo_li(bounds(icc_row)[0]), **bias,
        "loa_low": loa_low, "loa_high": loa_high, "n": total(get("icc_2_1")),
    }


def measurement_table(reads: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Table 3b: agreement of continuous measurements.

    Per measurement, for every pair of readers who measured (the model included when it
    measures) and each reader's first against repeat read: ICC(2,1) - two-way random
    effects, absolute agreement, single rater (Shrout & Fleiss 1979,
    doi:10.1037/0033-2909.86.2.420; McGraw & Wong 1996 ICC(A,1)) with Koo & Li (2016)
    bands - and the Bland-Altman bias with its t interval and the 95% limits of agreement
    (Bland & Altman 1986, doi:10.1016/S0140-6736(86)90837-8) of ``reader - other``, the
    readers in the tables' order (``results.csv`` may name the pair the other way round,
    with the bias negated). Fewer than 2 cases measured by both: NaN with
    the reason in ``icc_note`` and ``bias_note``.
    """
    index = Results(results)
    records = []
    for column in _measurement_columns(reads):
        key = column.removeprefix(measurement_column(""))
        for condition in conditions(reads):
            first = first_reads(reads, condition)
            order = {r: i for i, r in enumerate(reader_order(first))}
            kinds = first.drop_duplicates("reader").set_index("reader")["reader_kind"]
            pairs = index.rows("measurement", condition)
            pairs = pairs.loc[pairs["metric"] == f"{column}_icc_2_1", ["reader", "other"]]
            # The published order: the reader listed first is the one earlier in
            # reader_order, whichever way round the results name the pair.
            for x, y in sorted(pairs.itertuples(index=False, name=None),
                               key=lambda p: sorted((order[p[0]], order[p[1]]))):
                a, b = (x, y) if order[x] < order[y] else (y, x)
                kind = "reader vs model" if MODEL in (kinds[a], kinds[b]) else "inter-reader"
                records.append({"analysis": kind, "condition": condition, "measurement": key,
                                "reader": a, "other": b}
                               | _measurement_record(index, "measurement", condition, a, b,
                                                     column, swapped=(a, b) != (x, y)))
            means = index.rows("measurement", condition)
            means = means.loc[(means["metric"] == f"{column}_bias")
                              & means["other"].str.startswith(READER_MEAN)]
            for model, other in means[["reader", "other"]].itertuples(index=False, name=None):
                record = _measurement_record(index, "measurement", condition, model, other,
                                             column)
                bias_row = index.get("measurement", condition, model, f"{column}_bias",
                                     other=other)
                record |= {"icc_note": note("Bland-Altman only: the model against the "
                                            "readers' mean"), "n": total(bias_row)}
                records.append({"analysis": "model vs readers' mean", "condition": condition,
                                "measurement": key, "reader": model, "other": other} | record)
            for reader in order:
                if index.get("intra_reader", condition, reader, f"{column}_icc_2_1") is None:
                    continue
                records.append({"analysis": "intra-reader", "condition": condition,
                                "measurement": key, "reader": reader, "other": "repeat read"}
                               | _measurement_record(index, "intra_reader", condition, reader,
                                                     "", column))
    return pd.DataFrame.from_records(records)
