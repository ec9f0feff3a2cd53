"""Table 5: the multi-reader multi-case (MRMC) analysis, as numbers.

The Obuchowski-Rockette analysis with Hillis' improvements of the human readers' empirical
AUCs (:func:`readerstudy.stats.mrmc.or_hillis`, jackknife covariance), the ``mrmc`` rows of
the study's results (``results.csv``; :mod:`readerstudy.analysis.results`):
per condition the reader-averaged AUC with its interval, and with two or more conditions
the differences between them and the global test that all are equal (F with its numerator
and denominator df; with two conditions F is the difference's t squared). Each
under three analyses: RRRC (random readers and cases: the result that generalises to other
readers and cases), FRRC (these readers, random cases) and RRFC (random readers, these
cases). The ratings are the readers' 0-100 scores (``scores``) and, when every reader
gave benign/malignant calls, the calls (``calls``).

References
----------
Obuchowski NA, Rockette HE (1995). Commun Stat Simul Comput 24:285-308.
doi:10.1080/03610919508813243

Hillis SL (2007). A comparison of denominator degrees of freedom methods for multiple
observer ROC analysis. Stat Med 26:596-619. doi:10.1002/sim.2532
"""

from __future__ import annotations

import pandas as pd

from readerstudy.analysis.results import Results

RATINGS = {"auc": "scores", "auc_calls": "calls"}
ANALYSES = {"rrrc": "RRRC", "frrc": "FRRC", "rrfc": "RRFC"}
KINDS = {"": "reader-averaged AUC", "difference": "difference", "equality": "equality"}
COLUMNS = [
    "rating", "analysis", "comparison", "condition", "other", "readers", "estimate", "ci_low",
    "ci_high", "statistic", "df_num", "df", "p_value", "n", "note", "left_out",
]
DF_NUMERATOR = "_df_numerator"


def _parse(metric: str) -> tuple[str, str, str]:
    """``"auc_calls_difference_rrrc"`` -> ``("calls", "difference", "RRRC")``."""
    head, analysis = metric.rsplit("_", 1)
    kind = ""
    for word in ("difference", "equality"):
        if head.endswith(f"_{word}"):
            head, kind = head.removesuffix(f"_{word}"), word
    return RATINGS[head], KINDS[kind], ANALYSES[analysis]


def mrmc_table(results: pd.DataFrame) -> pd.DataFrame:
    """Table 5: the MRMC analysis of the human readers' first reads.

    Parameters
    ----------
    results : pandas.DataFrame
        ``analyse()`` of the reads of one test set or subgroup, whose ``mrmc`` rows the
        table lays out.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``rating`` (scores / calls), ``analysis`` (RRRC, FRRC,
        RRFC), ``comparison`` ("reader-averaged AUC" of ``condition``; "difference"
        ``condition`` minus ``other``; "equality" of all conditions), ``readers``,
        ``estimate``, ``ci_low``, ``ci_high``, ``statistic`` (t, z for FRRC; F or
        chi-square for equality), ``df_num`` (the equality test's numerator df),
        ``df`` (the denominator df), ``p_value``, ``n`` (cases read by every reader in
        every condition) and ``note`` (``"not estimable: <reason>"`` where the analysis is
        not estimable: one reader, fewer than 2 cases of a class) and ``left_out`` (the
        human readers left out because they did not read every case in every condition,
        with how many they read; "" when none was). Empty when no human reader has read or
        the cases have no reference standard.
    """
    index = Results(results)
    readers_row = index.get("mrmc", "", "", "readers")
    # The calls' analysis can leave out other readers than the scores' (its own row then).
    calls_readers_row = index.get("mrmc", "", "", "readers_calls") or readers_row
    rows = index.rows("mrmc")
    rows = rows.loc[~rows["metric"].isin(["readers", "readers_calls"])]
    numerator = rows["metric"].str.endswith(DF_NUMERATOR)
    df_num = dict(zip(rows.loc[numerator, "metric"].str.removesuffix(DF_NUMERATOR),
                      rows.loc[numerator, "estimate"], strict=True))
    rows = rows.loc[~numerator]
    if rows.empty or readers_row is None or calls_readers_row is None:
        return pd.DataFrame(columns=COLUMNS)
    records = []
    for row in rows.itertuples(index=False):
        rating, comparison, analysis = _parse(row.metric)
        counted = calls_readers_row if rating == "calls" else readers_row
        records.append({
            "rating": rating, "analysis": analysis, "comparison": comparison,
            "condition": row.condition, "other": row.other, "readers": int(counted.estimate),
            "estimate": row.estimate, "ci_low": row.ci_low, "ci_high": row.ci_high,
            "statistic": row.statistic, "df_num": df_num.get(row.metric, float("nan")),
            "df": row.df, "p_value": row.p_value, "n": row.n,
            "note": row.note, "left_out": counted.note,
        })
    return pd.DataFrame.from_records(records, columns=COLUMNS)
