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

An estimate the reads call for but do not allow (an AUC in a subgroup with one
benign case, a kappa of two readers who called every case benign, an MRMC
analysis with one reader) is a row with a missing estimate and the reason in
``note``, "not estimable: ..." (:mod:`readerstudy.stats.estimable`); it is
never dropped and never an error. An analysis whose input the reads lack
altogether (scores, truth, repeat reads, a second condition's comparison) has
no rows.
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
from readerstudy.stats.estimable import attempt, note
from readerstudy.stats.io import ANALYSES, RESULT_COLUMNS, TIERS, natural_key, validate_reads
from readerstudy.stats.mrmc import or_hillis
from readerstudy.stats.roc import (
    auc_delong,
    auc_from_calls,
    delong_covariance,
    delong_not_estimable,
)

__all__ = ["ANALYSES", "RESULT_COLUMNS", "analyse", "analyse_mrmc", "validate_reads"]

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
    note: str = "",
) -> dict:
    values = (*key, metric, estimate, ci_low, ci_high, statistic, df, p_value, n, note)
    return dict(zip(RESULT_COLUMNS, values, strict=True))


def _not_estimable(key: Key, metric: str, why: str, n: int | None = None) -> dict:
    """A row for an estimate the data do not allow: NaN, and ``why`` (a note) in ``note``."""
    return _row(key, metric, np.nan, n=n, note=why)


def _from_result(
    key: Key, metric: str, r: object, *, df: float = np.nan, n: int | None = None
) -> dict:
    """A row from a result dataclass (estimate, ci_low, ci_high; statistic, p_value, n if any).

    A NaN estimate carries the result's ``not_estimable`` reason in ``note``.
    """
    reason = getattr(r, "not_estimable", "")
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
        note(reason) if reason else "",
    )


def _proportion_rows(key: Key, name: str, value: proportions.Proportion) -> list[dict]:
    why = note(value.not_estimable) if value.not_estimable else ""
    return [
        _row(key, name, value.estimate, value.ci_low, value.ci_high, n=value.total, note=why),
        _row(
            key,
            f"{name}_clopper_pearson",
            value.estimate,
            value.exact_ci_low,
            value.exact_ci_high,
            n=value.total,
            note=why,
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


def _scorers(panel: _Panel) -> list[int]:
    """Readers who gave a score for at least one case."""
    if panel.score is None:
        return []
    return [j for j in range(len(panel.readers)) if (~np.isnan(panel.score[:, j])).any()]


def _per_reader_auc(panel: _Panel, n_boot: int, seed: int, alpha: float) -> list[dict]:
    rows: list[dict] = []
    cond = panel.condition
    if panel.score is not None:
        groups: dict[bytes, list[int]] = {}
        for j in _scorers(panel):
            scored = ~np.isnan(panel.score[:, j])
            key, n = ("auc", cond, panel.readers[j], ""), int(scored.sum())
            result, why = attempt(
                auc_delong, panel.truth[scored], panel.score[scored, j], alpha=alpha
            )
            if result is None:
                rows += [_not_estimable(key, m, why, n) for m in ("auc_delong", "auc_bootstrap")]
                continue
            rows.append(_from_result(key, "auc_delong", result, n=n))
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
        key, n = ("auc", cond, panel.readers[j], ""), int(called.sum())
        result, why = attempt(auc_from_calls, panel.truth[called], codes[called], alpha=alpha)
        rows.append(
            _from_result(key, "auc_calls", result, n=n)
            if result is not None
            else _not_estimable(key, "auc_calls", why, n)
        )
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
        else:
            why = note(result.auc_not_estimable)
            rows.append(_not_estimable(key, "auc_calls", why, result.n_definite))
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
        if not (masks[i].any() and masks[j].any()):
            continue  # a reader without any value: nothing to compare
        both = masks[i] & masks[j]
        key_ = ("delong_paired", panel.condition, readers[i], readers[j])
        reason = delong_not_estimable(panel.truth[both]) if both.any() else "no case read by both"
        if reason:
            rows.append(_not_estimable(key_, metric, note(reason), int(both.sum())))
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
        for name, subset, cases in (
            ("sensitivity", t == 1, "malignant cases"),
            ("specificity", t == 0, "benign cases"),
            ("accuracy", t == t, "cases"),
        ):
            if not subset.any():
                why = note(f"no {cases} called by both readers")
                rows += [_not_estimable(key, f"{name}_{m}", why, 0) for m in ("exact", "chi2")]
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
    scorers = _scorers(panel)
    for a, i in enumerate(scorers):
        for j in scorers[a + 1 :]:
            both = ~np.isnan(panel.score[:, i]) & ~np.isnan(panel.score[:, j])
            key = ("bland_altman", cond, readers[i], readers[j])
            r, why = (
                attempt(bland_altman, panel.score[both, i], panel.score[both, j], alpha=alpha)
                if both.any()
                else (None, note("no case scored by both readers"))
            )
            if r is None:
                rows += [
                    _not_estimable(key, metric, why, int(both.sum()))
                    for metric in ("bias", "loa_lower", "loa_upper", "sd_difference")
                ]
            else:
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
    variants = [(None, "cohen_kappa")]
    if _ordered(panel.categories):
        variants += [("linear", "cohen_kappa_linear"), ("quadratic", "cohen_kappa_quadratic")]
    callers = [j for j in range(len(panel.readers)) if panel.calls_of(j)]
    for a, i in enumerate(callers):
        for j in callers[a + 1 :]:
            rows += _kappa_pair(panel, i, j, variants, alpha)
    return rows


def _kappa_pair(
    panel: _Panel, i: int, j: int, variants: list[tuple[str | None, str]], alpha: float
) -> list[dict]:
    codes, k = panel.codes, len(panel.categories)
    key = ("kappa", panel.condition, panel.readers[i], panel.readers[j])
    both = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j])
    if not both.any():
        why = note("no case called by both readers")
        return [_not_estimable(key, metric, why, 0) for _, metric in variants]
    cells = codes[both, i].astype(np.int64) * k + codes[both, j].astype(np.int64)
    table = np.bincount(cells, minlength=k * k).reshape(k, k)
    return [
        _from_result(key, metric, agreement.cohen_kappa_from_table(table, weights=w, alpha=alpha))
        for w, metric in variants
    ]


def _all_readers_reason(readers: list[int], complete: np.ndarray, what: str) -> str:
    """Why an all-reader analysis is not estimable ("" when it is)."""
    if len(readers) < 2:
        return note(f"needs at least 2 human readers who {what}, got {len(readers)}")
    if complete.sum() < 2:
        return note(
            f"needs at least 2 cases that every human reader {what}, got {int(complete.sum())}"
        )
    return ""


def _all_readers(panel: _Panel, alpha: float) -> list[dict]:
    rows: list[dict] = []
    humans = [panel.readers.index(r) for r in panel.humans]
    cond = panel.condition
    callers = [j for j in humans if panel.codes is not None and panel.calls_of(j)]
    if callers:
        codes = panel.codes[:, callers]
        complete = ~np.isnan(codes).any(axis=1)
        why = _all_readers_reason(callers, complete, "called")
        key = ("fleiss_kappa", cond, "", "")
        if why:
            rows.append(_not_estimable(key, "fleiss_kappa", why, int(complete.sum())))
        else:
            counts = np.zeros((int(complete.sum()), len(panel.categories)))
            for column in codes[complete].T.astype(np.int64):
                counts[np.arange(counts.shape[0]), column] += 1
            r = agreement.fleiss_kappa_from_counts(counts, alpha=alpha)
            rows.append(_from_result(key, "fleiss_kappa", r))
    scorers = [j for j in humans if j in _scorers(panel)]
    if scorers:
        scores = panel.score[:, scorers]
        complete = ~np.isnan(scores).any(axis=1)
        why = _all_readers_reason(scorers, complete, "scored")
        rows += _icc_rows(("icc", cond, "", ""), scores[complete], alpha, why=why)
    return rows


def _icc_metric(form: str) -> str:
    """``"ICC(2,1)"`` -> ``"icc_2_1"``."""
    return "icc_" + form[4:-1].replace(",", "_")


def _icc_rows(
    key: Key,
    ratings: np.ndarray,
    alpha: float,
    forms: Iterable[str] | None = None,
    why: str = "",
) -> list[dict]:
    """One row per ICC form; each not estimable (``why``, or the ICC's own reason) when the
    ratings do not allow it."""
    forms = list(icc.FORMS) if forms is None else list(forms)
    results = None
    if not why:
        with np.errstate(all="ignore"):
            results, why = attempt(icc.icc_wide, ratings, alpha=alpha)
    if results is None:
        return [_not_estimable(key, _icc_metric(f), why, ratings.shape[0]) for f in forms]
    return [_from_result(key, _icc_metric(r.form), r, df=r.df2) for r in results if r.form in forms]


# ---------------------------------------------------------------- across conditions


def _finite(df: float) -> float:
    """Infinite degrees of freedom (a normal reference) are reported as NaN, as for z tests."""
    return float(df) if np.isfinite(df) else np.nan


def _mrmc_sources(panels: list[_Panel], readers: list[str]) -> list[tuple[str, list]]:
    """The ratings the MRMC analysis uses: scores when every reader scored in every
    condition (``auc``), binary calls when every reader gave them (``auc_calls``)."""
    sources: list[tuple[str, list]] = []
    wanted = set(readers)
    if all({p.readers[j] for j in _scorers(p)} >= wanted for p in panels):
        sources.append(("auc", [p.score for p in panels]))
    if all({p.readers[j] for j in p.binary_call_readers()} >= wanted for p in panels):
        codes = [
            np.column_stack([p.binary_codes(j) for j in range(len(p.readers))]) for p in panels
        ]
        sources.append(("auc_calls", codes))
    return sources


def _mrmc(panels: list[_Panel], alpha: float) -> list[dict]:
    """Obuchowski-Rockette-Hillis on the fully crossed human reads: each condition's
    reader-averaged AUC and, with two or more conditions, their differences."""
    if not panels or any(p.truth is None for p in panels):
        return []
    readers = [r for r in panels[0].humans if all(r in p.humans for p in panels[1:])]
    if not readers:
        return []
    common = sorted(set.intersection(*(set(p.cases) for p in panels)), key=natural_key)
    rows: list[dict] = []
    at = [{c: i for i, c in enumerate(p.cases)} for p in panels]
    case_idx = [np.array([a[c] for c in common], dtype=np.int64) for a in at]
    reader_idx = [[p.readers.index(r) for r in readers] for p in panels]
    for prefix, matrices in _mrmc_sources(panels, readers):
        cube = np.stack(
            [m[np.ix_(ci, ri)].T for m, ci, ri in zip(matrices, case_idx, reader_idx, strict=True)]
        )  # (conditions, readers, cases)
        complete = ~np.isnan(cube).any(axis=(0, 1))
        truth = panels[0].truth[case_idx[0]][complete]
        cube = cube[:, :, complete]
        n_t, n_r, n = cube.shape
        result, why = None, ""
        if n_r < 2:
            why = note(f"needs at least 2 human readers who read in every condition, got {n_r}")
        elif n == 0:
            why = note("no case was read by every human reader in every condition")
        else:
            crossed = pd.DataFrame(
                {
                    "condition": np.repeat([p.condition for p in panels], n_r * n),
                    "reader": np.tile(np.repeat(readers, n), n_t),
                    "case": np.tile(np.asarray(common, dtype=object)[complete], n_t * n_r),
                    "truth": np.tile(truth, n_t * n_r),
                    "value": cube.ravel(),
                }
            )
            result, why = attempt(
                or_hillis,
                crossed,
                reader="reader",
                treatment="condition",
                case="case",
                truth="truth",
                score="value",
                alpha=alpha,
            )
        if result is None:
            rows += [
                _not_estimable(("mrmc", p.condition, "", ""), f"{prefix}_rrrc", why, n)
                for p in panels
            ]
            continue
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
                elif a.notna().any() or b.notna().any():
                    why = note("no case called in both the first and the repeat read")
                    rows.append(_not_estimable(key, "cohen_kappa", why, 0))
            if "score" in reads:
                pair = np.column_stack([first.loc[cases, "score"], repeat.loc[cases, "score"]])
                if not np.isnan(pair).all():
                    pair = pair[~np.isnan(pair).any(axis=1)]
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
    return _results_frame(rows)


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
    data = validate_reads(reads, missing=missing)
    conditions = sorted(data["condition"].unique(), key=natural_key)
    categories = _categories(data["call"]) if "call" in data else []
    panels = [_panel(data, cond, categories) for cond in conditions]
    return _results_frame(_mrmc([p for p in panels if p.readers], alpha))


def _results_frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as the results table: ordered by :data:`ANALYSES`, typed as documented."""
    results = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    if results.empty:
        return results.astype({"n": "Int64", "note": str})
    order = {name: i for i, name in enumerate(ANALYSES)}
    results = results.sort_values("analysis", key=lambda s: s.map(order), kind="stable")
    text = ["analysis", "condition", "reader", "other", "metric", "note"]
    results[text] = results[text].astype(str)
    numeric = ["estimate", "ci_low", "ci_high", "statistic", "df", "p_value"]
    results[numeric] = results[numeric].astype("float64")
    results["n"] = results["n"].astype("Float64").astype("Int64")
    return results.reset_index(drop=True)
