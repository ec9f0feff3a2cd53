"""Every statistic the reads allow, as one tidy table: the study's results.

:func:`analyse` takes the long table of reads - one row per reader, case,
condition and round - and returns one row per estimate with the columns of
:data:`RESULT_COLUMNS`. The analyses, column meanings and metric names are an
interface, documented in ``docs/stats-interface.md`` (the input and output
formats live in :mod:`readerstudy.stats.io`); the Django app and the command
line (``python -m readerstudy.stats``) both call this function.

Only first-round reads enter the diagnostic, pairwise and all-reader
analyses; repeat reads are compared with the same reader's first reads
(intra-reader agreement). Model readers (``reader_kind == "model"``, or a name
starting with "model") are compared with every human reader but are left out
of the all-reader analyses (Fleiss' kappa, ICC, MRMC), whose readers are meant
to be a sample of human readers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from readerstudy.stats import agreement, icc, mcnemar, proportions, three_tier
from readerstudy.stats._validation import check_alpha
from readerstudy.stats.bland_altman import bland_altman
from readerstudy.stats.bootstrap import bootstrap_auc
from readerstudy.stats.io import ANALYSES, RESULT_COLUMNS, TIERS, natural_key, validate_reads
from readerstudy.stats.mrmc import or_hillis
from readerstudy.stats.roc import auc_delong, auc_from_calls, delong_covariance

__all__ = ["ANALYSES", "RESULT_COLUMNS", "analyse", "validate_reads"]

_PROPORTIONS = ("sensitivity", "specificity", "accuracy", "ppv", "npv")


# ---------------------------------------------------------------- result rows

#: Where an estimate belongs: (analysis, condition, reader, other).
Key = tuple[str, str, str, str]


def _row(
    key: Key,
    metric: str,
    estimate: float,
    ci_low: float = np.nan,
    ci_high: float = np.nan,
    statistic: float = np.nan,
    df: float = np.nan,
    p_value: float = np.nan,
    n: int | None = None,
) -> dict:
    values = (*key, metric, estimate, ci_low, ci_high, statistic, df, p_value, n)
    return dict(zip(RESULT_COLUMNS, values, strict=True))


def _from_result(
    key: Key, metric: str, r: object, *, df: float = np.nan, n: int | None = None
) -> dict:
    """A row from a result dataclass (estimate, ci_low, ci_high; statistic, p_value, n if any)."""
    return _row(
        key,
        metric,
        r.estimate,
        r.ci_low,
        r.ci_high,
        getattr(r, "statistic", np.nan),
        df,
        getattr(r, "p_value", np.nan),
        getattr(r, "n", None) if n is None else n,
    )


def _proportion_rows(key: Key, name: str, value: proportions.Proportion) -> list[dict]:
    return [
        _row(key, name, value.estimate, value.ci_low, value.ci_high, n=value.total),
        _row(
            key,
            f"{name}_clopper_pearson",
            value.estimate,
            value.exact_ci_low,
            value.exact_ci_high,
            n=value.total,
        ),
        _row(key, f"{name}_successes", float(value.successes), n=value.total),
    ]


def _diagnostic_rows(key: Key, metrics: proportions.DiagnosticMetrics) -> list[dict]:
    rows = []
    for name in _PROPORTIONS:
        rows += _proportion_rows(key, name, getattr(metrics, name))
    return rows


# ---------------------------------------------------------------- one condition


@dataclass(frozen=True)
class _Panel:
    """First-round reads of one condition as case x reader matrices."""

    condition: str
    readers: list[str]
    models: frozenset[str]
    cases: list[str]
    truth: np.ndarray | None  # (n_cases,) float
    score: np.ndarray | None  # (n_cases, n_readers) float, NaN = not scored
    codes: np.ndarray | None  # (n_cases, n_readers) index into categories, NaN = no call
    categories: list[object]

    @property
    def humans(self) -> list[str]:
        return [r for r in self.readers if r not in self.models]

    def calls_of(self, j: int) -> set[object]:
        """The categories reader j used."""
        column = self.codes[:, j]
        return {self.categories[int(c)] for c in np.unique(column[~np.isnan(column)])}

    def binary_call_readers(self) -> list[int]:
        """Readers whose calls are all "benign" or "malignant" (at least one call)."""
        if self.codes is None:
            return []
        return [
            j
            for j in range(len(self.readers))
            if (used := self.calls_of(j)) and used <= {"benign", "malignant"}
        ]

    def binary_codes(self, j: int) -> np.ndarray:
        """Reader j's calls as 1 (malignant) / 0 (benign), NaN otherwise."""
        lookup = np.array(
            [{"malignant": 1.0, "benign": 0.0}.get(c, np.nan) for c in self.categories] + [np.nan]
        )
        column = self.codes[:, j]
        return lookup[np.where(np.isnan(column), len(self.categories), column).astype(np.int64)]


def _panel(reads: pd.DataFrame, condition: str, categories: list[object]) -> _Panel:
    first = reads[(reads["condition"] == condition) & (reads["round"] == "first")]
    kinds = first.groupby("reader")["reader_kind"].first()
    models = frozenset(kinds.index[kinds == "model"])
    readers = sorted(kinds.index, key=lambda r: (r in models, natural_key(r)))
    cases = sorted(first["case"].unique(), key=natural_key)

    def wide(values: pd.Series) -> np.ndarray:
        table = first.assign(_value=values).pivot_table(
            index="case", columns="reader", values="_value", aggfunc="first"
        )
        return table.reindex(index=cases, columns=readers).to_numpy(dtype=np.float64)

    truth = None
    if "truth" in first:
        truth = first.groupby("case")["truth"].first().reindex(cases).to_numpy(dtype=np.float64)
    score = None
    if "score" in first and first["score"].notna().any():
        score = wide(first["score"])
    codes = None
    if "call" in first and first["call"].notna().any():
        index = {c: k for k, c in enumerate(categories)}
        codes = wide(first["call"].map(index).astype("float64"))
    return _Panel(condition, readers, models, cases, truth, score, codes, categories)


def _categories(calls: pd.Series) -> list[object]:
    present = list(pd.unique(calls.dropna()))
    if set(present) <= set(TIERS):
        return [t for t in TIERS if t in present]
    return sorted(present, key=natural_key if any(isinstance(v, str) for v in present) else float)


def _ordered(categories: list[object]) -> bool:
    if len(categories) < 3:
        return False
    return set(categories) <= set(TIERS) or all(not isinstance(c, str) for c in categories)


def _two_per_class(truth: np.ndarray) -> bool:
    return int((truth == 1).sum()) >= 2 and int((truth == 0).sum()) >= 2


def _per_reader_auc(panel: _Panel, n_boot: int, seed: int, alpha: float) -> list[dict]:
    rows: list[dict] = []
    cond = panel.condition
    if panel.score is not None:
        groups: dict[bytes, list[int]] = {}
        for j, reader in enumerate(panel.readers):
            scored = ~np.isnan(panel.score[:, j])
            if scored.any() and _two_per_class(panel.truth[scored]):
                result = auc_delong(panel.truth[scored], panel.score[scored, j], alpha=alpha)
                key = ("auc", cond, reader, "")
                rows.append(_from_result(key, "auc_delong", result, n=int(scored.sum())))
                groups.setdefault(scored.tobytes(), []).append(j)
        # Readers who scored the same cases share one bootstrap run (the same resamples).
        for members in groups.values():
            scored = ~np.isnan(panel.score[:, members[0]])
            boot = bootstrap_auc(
                panel.truth[scored],
                panel.score[np.ix_(scored, members)].T,
                n_boot=n_boot,
                seed=seed,
                alpha=alpha,
            )
            for k, j in enumerate(members):
                rows.append(
                    _row(
                        ("auc", cond, panel.readers[j], ""),
                        "auc_bootstrap",
                        *boot[["estimate", "ci_low", "ci_high"]].iloc[k].astype(float),
                        n=int(scored.sum()),
                    )
                )
    for j in panel.binary_call_readers():
        codes = panel.binary_codes(j)
        called = ~np.isnan(codes)
        if _two_per_class(panel.truth[called]):
            result = auc_from_calls(panel.truth[called], codes[called], alpha=alpha)
            key = ("auc", cond, panel.readers[j], "")
            rows.append(_from_result(key, "auc_calls", result, n=int(called.sum())))
    order = {name: i for i, name in enumerate(panel.readers)}
    return sorted(rows, key=lambda r: order[r["reader"]])


def _per_reader_calls(panel: _Panel, alpha: float) -> list[dict]:
    rows: list[dict] = []
    if panel.codes is None:
        return rows
    for j in panel.binary_call_readers():
        codes = panel.binary_codes(j)
        called = ~np.isnan(codes)
        metrics = proportions.diagnostic_metrics(panel.truth[called], codes[called], alpha=alpha)
        rows += _diagnostic_rows(("diagnostic", panel.condition, panel.readers[j], ""), metrics)
    for j, reader in enumerate(panel.readers):
        used = panel.calls_of(j)
        if "uncertain" not in used or not used <= set(TIERS):
            continue
        called = ~np.isnan(panel.codes[:, j])
        calls = np.asarray(panel.categories, dtype=object)[panel.codes[called, j].astype(np.int64)]
        result = three_tier.three_tier_metrics(panel.truth[called], calls, alpha=alpha)
        key = ("three_tier", panel.condition, reader, "")
        if result.auc is not None:
            rows.append(_from_result(key, "auc_calls", result.auc, n=result.n_definite))
        rows += _diagnostic_rows(key, result.definite)
        rows += _proportion_rows(key, "uncertain_share", result.uncertain)
    return rows


def _pairs(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def _paired_auc_rows(
    panel: _Panel, matrix: np.ndarray, readers: list[str], metric: str, alpha: float
) -> list[dict]:
    """DeLong's paired test for every pair, as :func:`readerstudy.stats.roc.delong_paired`.

    One covariance matrix serves every pair that read the same cases, instead
    of one DeLong computation per pair.
    """
    rows = []
    z = stats.norm.ppf(1.0 - alpha / 2.0)
    masks = [~np.isnan(matrix[:, j]) for j in range(len(readers))]
    cache: dict[bytes, tuple[list[int], np.ndarray, np.ndarray]] = {}
    for i, j in _pairs(len(readers)):
        both = masks[i] & masks[j]
        if not both.any() or not _two_per_class(panel.truth[both]):
            continue
        key = both.tobytes()
        if key not in cache:
            members = [k for k in range(len(readers)) if (masks[k] & both).sum() == both.sum()]
            scores = matrix[np.ix_(both, members)].T
            cache[key] = (members, *delong_covariance(panel.truth[both], scores))
        members, aucs, cov = cache[key]
        a, b = members.index(i), members.index(j)
        diff = float(aucs[a] - aucs[b])
        se = float(np.sqrt(max(cov[a, a] + cov[b, b] - 2.0 * cov[a, b], 0.0)))
        # Identical curves: z = 0; a difference with no variance: z = +/-inf.
        stat = diff / se if se > 0 else float(np.copysign(np.inf, diff) if diff else 0.0)
        p_value = float(2.0 * stats.norm.sf(abs(stat)))
        key_ = ("delong_paired", panel.condition, readers[i], readers[j])
        rows.append(
            _row(
                key_,
                metric,
                diff,
                diff - z * se,
                diff + z * se,
                stat,
                np.nan,
                p_value,
                int(both.sum()),
            )
        )
    return rows


def _mcnemar_rows(panel: _Panel, codes: np.ndarray, readers: list[str], alpha: float) -> list[dict]:
    rows = []
    for i, j in _pairs(len(readers)):
        both = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j])
        t, a, b = panel.truth[both], codes[both, i], codes[both, j]
        key = ("mcnemar", panel.condition, readers[i], readers[j])
        for name, subset in (
            ("sensitivity", t == 1),
            ("specificity", t == 0),
            ("accuracy", t == t),
        ):
            if not subset.any():
                continue
            right_a, right_b = a[subset] == t[subset], b[subset] == t[subset]
            a_only, b_only = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
            for method in ("exact", "chi2"):
                r = mcnemar.mcnemar_from_counts(
                    a_only, b_only, int(subset.sum()), method=method, alpha=alpha
                )
                rows.append(_from_result(key, f"{name}_{method}", r, df=r.df))
    return rows


def _pairwise(panel: _Panel, alpha: float) -> list[dict]:
    rows: list[dict] = []
    cond, readers = panel.condition, panel.readers
    if panel.truth is not None and panel.score is not None:
        rows += _paired_auc_rows(panel, panel.score, readers, "auc_difference", alpha)
    binary_idx = panel.binary_call_readers() if panel.truth is not None else []
    if len(binary_idx) >= 2:
        binary = [readers[j] for j in binary_idx]
        codes = np.column_stack([panel.binary_codes(j) for j in binary_idx])
        rows += _paired_auc_rows(panel, codes, binary, "auc_calls_difference", alpha)
        rows += _mcnemar_rows(panel, codes, binary, alpha)
    if panel.codes is not None:
        rows += _kappa_rows(panel, alpha)
    if panel.score is not None:
        for i, j in _pairs(len(readers)):
            both = ~np.isnan(panel.score[:, i]) & ~np.isnan(panel.score[:, j])
            if both.sum() >= 2:
                r = bland_altman(panel.score[both, i], panel.score[both, j], alpha=alpha)
                key = ("bland_altman", cond, readers[i], readers[j])
                rows += [
                    _from_result(key, "bias", r, df=r.df),
                    _row(key, "loa_lower", r.loa_low, r.loa_low_ci_low, r.loa_low_ci_high, n=r.n),
                    _row(
                        key, "loa_upper", r.loa_high, r.loa_high_ci_low, r.loa_high_ci_high, n=r.n
                    ),
                    _row(key, "sd_difference", r.sd, n=r.n),
                ]
    return rows


def _kappa_rows(panel: _Panel, alpha: float) -> list[dict]:
    rows = []
    codes, k = panel.codes, len(panel.categories)
    variants = [(None, "cohen_kappa")]
    if _ordered(panel.categories):
        variants += [("linear", "cohen_kappa_linear"), ("quadratic", "cohen_kappa_quadratic")]
    for i, j in _pairs(len(panel.readers)):
        both = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j])
        if not both.any():
            continue
        cells = codes[both, i].astype(np.int64) * k + codes[both, j].astype(np.int64)
        table = np.bincount(cells, minlength=k * k).reshape(k, k)
        key = ("kappa", panel.condition, panel.readers[i], panel.readers[j])
        for weights, metric in variants:
            r = agreement.cohen_kappa_from_table(table, weights=weights, alpha=alpha)
            rows.append(_from_result(key, metric, r))
    return rows


def _all_readers(panel: _Panel, alpha: float) -> list[dict]:
    rows: list[dict] = []
    columns = [panel.readers.index(r) for r in panel.humans]
    if len(columns) < 2:
        return rows
    if panel.codes is not None:
        codes = panel.codes[:, columns]
        complete = ~np.isnan(codes).any(axis=1)
        if complete.sum() >= 2:
            counts = np.zeros((int(complete.sum()), len(panel.categories)))
            for column in codes[complete].T.astype(np.int64):
                counts[np.arange(counts.shape[0]), column] += 1
            r = agreement.fleiss_kappa_from_counts(counts, alpha=alpha)
            rows.append(_from_result(("fleiss_kappa", panel.condition, "", ""), "fleiss_kappa", r))
    if panel.score is not None:
        scores = panel.score[:, columns]
        complete = ~np.isnan(scores).any(axis=1)
        if complete.sum() >= 2:
            rows += _icc_rows(("icc", panel.condition, "", ""), scores[complete], alpha)
    return rows


def _icc_rows(
    key: Key, ratings: np.ndarray, alpha: float, forms: Iterable[str] | None = None
) -> list[dict]:
    with np.errstate(all="ignore"):
        results = icc.icc_wide(ratings, alpha=alpha)
    return [
        _from_result(key, "icc_" + r.form[4:-1].replace(",", "_"), r, df=r.df2)
        for r in results
        if forms is None or r.form in forms
    ]


# ---------------------------------------------------------------- across conditions


def _finite(df: float) -> float:
    """Infinite degrees of freedom (a normal reference) are reported as NaN, as for z tests."""
    return float(df) if np.isfinite(df) else np.nan


def _mrmc(panels: list[_Panel], alpha: float) -> list[dict]:
    """Obuchowski-Rockette-Hillis between conditions, on the fully crossed human reads."""
    if len(panels) < 2 or any(p.truth is None for p in panels):
        return []
    readers = [r for r in panels[0].humans if all(r in p.humans for p in panels[1:])]
    common = sorted(set.intersection(*(set(p.cases) for p in panels)), key=natural_key)
    if len(readers) < 2 or not common:
        return []
    rows: list[dict] = []
    at = [{c: i for i, c in enumerate(p.cases)} for p in panels]
    case_idx = [np.array([a[c] for c in common]) for a in at]
    reader_idx = [[p.readers.index(r) for r in readers] for p in panels]
    sources = []
    if all(p.score is not None for p in panels):
        sources.append(("auc", [p.score for p in panels]))
    if all({p.readers[j] for j in p.binary_call_readers()} >= set(readers) for p in panels):
        codes = [
            np.column_stack([p.binary_codes(j) for j in range(len(p.readers))]) for p in panels
        ]
        sources.append(("auc_calls", codes))
    for prefix, matrices in sources:
        cube = np.stack(
            [m[np.ix_(ci, ri)].T for m, ci, ri in zip(matrices, case_idx, reader_idx, strict=True)]
        )  # (conditions, readers, cases)
        complete = ~np.isnan(cube).any(axis=(0, 1))
        truth = panels[0].truth[case_idx[0]][complete]
        if not _two_per_class(truth):
            continue
        cube = cube[:, :, complete]
        n_t, n_r, n = cube.shape
        crossed = pd.DataFrame(
            {
                "condition": np.repeat([p.condition for p in panels], n_r * n),
                "reader": np.tile(np.repeat(readers, n), n_t),
                "case": np.tile(np.asarray(common, dtype=object)[complete], n_t * n_r),
                "truth": np.tile(truth, n_t * n_r),
                "value": cube.ravel(),
            }
        )
        result = or_hillis(
            crossed,
            reader="reader",
            treatment="condition",
            case="case",
            truth="truth",
            score="value",
            alpha=alpha,
        )
        for rec in result.treatment_aucs.itertuples():
            key = ("mrmc", str(rec.treatment), "", "")
            metric = f"{prefix}_{rec.analysis.lower()}"
            rows.append(_from_result(key, metric, rec, df=_finite(rec.df), n=n))
        for rec in result.comparisons.itertuples():
            key = ("mrmc", str(rec.treatment_a), "", str(rec.treatment_b))
            metric = f"{prefix}_difference_{rec.analysis.lower()}"
            rows.append(_from_result(key, metric, rec, df=_finite(rec.df), n=n))
        if len(panels) > 2:
            for rec in result.global_tests.itertuples():
                metric = f"{prefix}_equality_{rec.analysis.lower()}"
                rows.append(
                    _row(
                        ("mrmc", "", "", ""),
                        metric,
                        np.nan,
                        statistic=rec.statistic,
                        df=rec.df_den,
                        p_value=rec.p_value,
                        n=n,
                    )
                )
    return rows


def _intra_reader(reads: pd.DataFrame, conditions: list[str], alpha: float) -> list[dict]:
    if not (reads["round"] == "repeat").any():
        return []
    rows: list[dict] = []
    categories = _categories(reads["call"]) if "call" in reads else []
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
                a, b = first.loc[cases, "call"], repeat.loc[cases, "call"]
                both = (a.notna() & b.notna()).to_numpy()
                if both.any():
                    r = agreement.cohen_kappa(
                        a.to_numpy()[both], b.to_numpy()[both], categories=categories, alpha=alpha
                    )
                    rows.append(_from_result(key, "cohen_kappa", r))
            if "score" in reads:
                pair = np.column_stack([first.loc[cases, "score"], repeat.loc[cases, "score"]])
                pair = pair[~np.isnan(pair).any(axis=1)]
                if pair.shape[0] >= 2:
                    rows += _icc_rows(key, pair, alpha, forms=("ICC(2,1)", "ICC(3,1)"))
            if "interval_days" in reads:
                days = repeat.loc[cases, "interval_days"].fillna(first.loc[cases, "interval_days"])
                days = days.dropna().to_numpy()
                if days.size:
                    for name, summary in (
                        ("min", np.min),
                        ("median", np.median),
                        ("mean", np.mean),
                        ("max", np.max),
                    ):
                        value = float(summary(days))
                        rows.append(_row(key, f"interval_days_{name}", value, n=int(days.size)))
    return rows


# ---------------------------------------------------------------- entry point


def analyse(
    reads: pd.DataFrame,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    missing: str = "raise",
) -> pd.DataFrame:
    """Compute every statistic the reads allow.

    Parameters
    ----------
    reads : pandas.DataFrame
        Long table of reads; see :func:`validate_reads` for the columns.
    n_boot : int, default 2000
        Bootstrap resamples for the percentile interval of each reader's AUC
        (stratified by truth; :func:`readerstudy.stats.bootstrap.bootstrap_auc`).
    seed : int, default 0
        Seed of the bootstrap, so that results are reproducible.
    alpha : float, default 0.05
        1 - confidence level of every interval.
    missing : {"raise", "drop"}, default "raise"
        Policy for empty cells; see :func:`validate_reads`.

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
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    data = validate_reads(reads, missing=missing)
    conditions = sorted(data["condition"].unique(), key=natural_key)
    categories = _categories(data["call"]) if "call" in data else []
    rows: list[dict] = []
    panels = [_panel(data, cond, categories) for cond in conditions]
    panels = [p for p in panels if p.readers]  # a condition with repeat reads only
    for panel in panels:
        if panel.truth is not None:
            rows += _per_reader_auc(panel, int(n_boot), seed, alpha)
            rows += _per_reader_calls(panel, alpha)
        rows += _pairwise(panel, alpha)
        rows += _all_readers(panel, alpha)
    rows += _mrmc(panels, alpha)
    rows += _intra_reader(data, conditions, alpha)
    results = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    if results.empty:
        return results.astype({"n": "Int64"})
    order = {name: i for i, name in enumerate(ANALYSES)}
    results = results.sort_values("analysis", key=lambda s: s.map(order), kind="stable")
    text = ["analysis", "condition", "reader", "other", "metric"]
    results[text] = results[text].astype(str)
    numeric = ["estimate", "ci_low", "ci_high", "statistic", "df", "p_value"]
    results[numeric] = results[numeric].astype("float64")
    results["n"] = results["n"].astype("Float64").astype("Int64")
    return results.reset_index(drop=True)
