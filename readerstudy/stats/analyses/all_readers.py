"""All human readers together: ``fleiss_kappa`` and ``icc`` per condition, ``mrmc`` across
conditions. Model readers are left out: these readers stand for a population of readers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

from readerstudy.stats import agreement, icc
from readerstudy.stats.analyses.panel import Panel
from readerstudy.stats.analyses.rows import Key, from_result, not_estimable, row
from readerstudy.stats.estimable import attempt, left_out, note
from readerstudy.stats.io import natural_key
from readerstudy.stats.mrmc import or_hillis


def _all_readers_reason(readers: list[int], complete: np.ndarray, what: str) -> str:
    """Why an all-reader analysis is not estimable ("" when it is)."""
    if len(readers) < 2:
        return note(f"needs at least 2 human readers who {what}, got {len(readers)}")
    if complete.sum() < 2:
        return note(
            f"needs at least 2 cases that every human reader {what}, got {int(complete.sum())}"
        )
    return ""


def all_reader_rows(panel: Panel, alpha: float) -> list[dict]:
    """Fleiss' kappa of the human readers' calls and the ICCs of their scores, on the cases
    every one of them called (scored)."""
    rows: list[dict] = []
    humans = [panel.readers.index(r) for r in panel.humans]
    cond = panel.condition
    callers = [j for j in humans if panel.codes is not None and panel.calls_of(j)]
    if callers:
        codes = panel.known_codes[:, callers]
        complete = ~np.isnan(codes).any(axis=1)
        why = _all_readers_reason(callers, complete, "called")
        key = ("fleiss_kappa", cond, "", "")
        if why:
            rows.append(not_estimable(key, "fleiss_kappa", why, int(complete.sum())))
        else:
            counts = np.zeros((int(complete.sum()), len(panel.categories)))
            for column in codes[complete].T.astype(np.int64):
                counts[np.arange(counts.shape[0]), column] += 1
            r = agreement.fleiss_kappa_from_counts(counts, alpha=alpha)
            rows.append(from_result(key, "fleiss_kappa", r))
    scorers = [j for j in humans if j in panel.scorers()]
    if scorers:
        scores = panel.known_score[:, scorers]
        complete = ~np.isnan(scores).any(axis=1)
        why = _all_readers_reason(scorers, complete, "scored")
        rows += icc_rows(("icc", cond, "", ""), scores[complete], alpha, why=why)
    return rows


def icc_metric(form: str) -> str:
    """``"ICC(2,1)"`` -> ``"icc_2_1"``."""
    return "icc_" + form[4:-1].replace(",", "_")


def icc_rows(
    key: Key,
    ratings: np.ndarray,
    alpha: float,
    forms: Iterable[str] | None = None,
    why: str = "",
    prefix: str = "",
) -> list[dict]:
    """One row per ICC form (metric ``prefix`` + ``icc_2_1`` ...); each not estimable
    (``why``, or the ICC's own reason) when the ratings do not allow it."""
    forms = list(icc.FORMS) if forms is None else list(forms)
    results = None
    if not why:
        with np.errstate(all="ignore"):
            results, why = attempt(icc.icc_wide, ratings, alpha=alpha)
    if results is None:
        return [not_estimable(key, prefix + icc_metric(f), why, ratings.shape[0]) for f in forms]
    return [
        from_result(key, prefix + icc_metric(r.form), r, df=r.df2)
        for r in results
        if r.form in forms
    ]


def _finite(df: float) -> float:
    """Infinite degrees of freedom (a normal reference) are reported as NaN, as for z tests."""
    return float(df) if np.isfinite(df) else np.nan


def _mrmc_sources(panels: list[Panel], readers: list[str]) -> list[tuple[str, list]]:
    """The ratings the MRMC analysis uses: scores when every reader scored in every
    condition (``auc``), binary calls when every reader gave them (``auc_calls``)."""
    sources: list[tuple[str, list]] = []
    wanted = set(readers)
    if all({p.readers[j] for j in p.scorers()} >= wanted for p in panels):
        sources.append(("auc", [p.score for p in panels]))
    if all({p.readers[j] for j in p.binary_call_readers()} >= wanted for p in panels):
        codes = [
            np.column_stack([p.binary_codes(j) for j in range(len(p.readers))]) for p in panels
        ]
        sources.append(("auc_calls", codes))
    return sources


class Crossed(NamedTuple):
    """One rating's fully crossed human reads, as :func:`readerstudy.stats.mrmc.or_hillis`
    takes them (columns condition, reader, case, truth, value); ``reads`` is None and
    ``why`` says why when the reads do not allow the analysis. ``left_out`` names the
    readers left out for not reading every case in every condition ("" when none was)."""

    prefix: str
    reads: pd.DataFrame | None
    why: str
    cases: int
    left_out: str = ""
    #: How many human readers are in this rating's analysis (those fully crossed).
    readers: int = 0


def _left_out(cube: np.ndarray, readers: list[str], conditions: list[str]) -> str:
    """``"left out (not fully crossed): r3 (CT + AI: 10 of 80 cases)"`` for the readers whose
    (conditions, readers, cases) ``cube`` has a gap; "" when there is none."""
    n = cube.shape[2]
    gaps = []
    for j, reader in enumerate(readers):
        read = (~np.isnan(cube[:, j, :])).sum(axis=1)
        if (read < n).any():
            where = "; ".join(f"{c}: {k} of {n} cases"
                              for c, k in zip(conditions, read, strict=True) if k < n)
            gaps.append(f"{reader} ({where})")
    return left_out("not fully crossed", gaps) if gaps else ""


def crossed_reads(panels: list[Panel]) -> tuple[list[str], list[Crossed]]:
    """The human readers in the analysis, and per rating (``auc``: scores, ``auc_calls``:
    binary calls) their fully crossed reads: the input of the MRMC analysis (and of the
    power of a future study).

    The cases are those read (rated) in every condition; the readers those who rated every
    one of them in every condition. A reader who did not is left out, not the cases they
    missed (as the MRMC programs' files of :mod:`readerstudy.analysis.mrmc_files` do):
    ``Crossed.left_out`` names them, with how many cases they rated where. The readers
    returned are those of the first rating.
    """
    if not panels or any(p.truth is None for p in panels):
        return [], []
    readers = [r for r in panels[0].humans if all(r in p.humans for p in panels[1:])]
    if not readers:
        return [], []
    common = sorted(set.intersection(*(set(p.cases) for p in panels)), key=natural_key)
    conditions = [p.condition for p in panels]
    at = [{c: i for i, c in enumerate(p.cases)} for p in panels]
    case_idx = [np.array([a[c] for c in common], dtype=np.int64) for a in at]
    reader_idx = [np.array([p.readers.index(r) for r in readers], dtype=np.int64) for p in panels]
    out: list[Crossed] = []
    counted: list[str] | None = None
    for prefix, matrices in _mrmc_sources(panels, readers):
        cube = np.stack(
            [m[np.ix_(ci, ri)].T for m, ci, ri in zip(matrices, case_idx, reader_idx, strict=True)]
        )  # (conditions, readers, cases)
        # Cases nobody rated in some condition are not in the design; then readers with a
        # gap are left out (with a note), never the cases a single reader missed.
        rated = (~np.isnan(cube)).any(axis=1).all(axis=0)
        cube = cube[:, :, rated]
        crossed_readers = ~np.isnan(cube).any(axis=(0, 2))
        dropped = _left_out(cube, readers, conditions)
        kept = [r for r, k in zip(readers, crossed_readers, strict=True) if k]
        counted = kept if counted is None else counted
        truth = panels[0].known_truth[case_idx[0]][rated]
        cube = cube[:, crossed_readers, :]
        n_t, n_r, n = cube.shape
        if n_r < 2:
            why = note(f"needs at least 2 human readers who read in every condition, got "
                       f"{n_r}" + (f" who read every case ({dropped})" if dropped else ""))
            out.append(Crossed(prefix, None, why, n, dropped, n_r))
        elif n == 0:
            why = note("no case was read in every condition")
            out.append(Crossed(prefix, None, why, n, dropped, n_r))
        else:
            crossed = pd.DataFrame(
                {
                    "condition": np.repeat(conditions, n_r * n),
                    "reader": np.tile(np.repeat(kept, n), n_t),
                    "case": np.tile(np.asarray(common, dtype=object)[rated], n_t * n_r),
                    "truth": np.tile(truth, n_t * n_r),
                    "value": cube.ravel(),
                }
            )
            out.append(Crossed(prefix, crossed, "", n, dropped, n_r))
    return (readers if counted is None else counted), out


def mrmc_rows(panels: list[Panel], alpha: float) -> list[dict]:
    """Obuchowski-Rockette-Hillis on the fully crossed human reads: each condition's
    reader-averaged AUC and, with two or more conditions, their differences; and
    ``readers``, the number of human readers in the analysis (:func:`crossed_reads`), whose
    note names those left out (``readers_calls`` the same for the calls when scores were
    analysed too)."""
    _, sources = crossed_reads(panels)
    rows: list[dict] = []
    for prefix, crossed, why, n, _, _ in sources:
        result = None
        if crossed is not None:
            result, why = attempt(or_hillis, crossed, rating="value", alpha=alpha)
        if result is None:
            rows += [
                not_estimable(("mrmc", p.condition, "", ""), f"{prefix}_rrrc", why, n)
                for p in panels
            ]
            continue
        for rec in result.treatment_aucs.itertuples():
            key = ("mrmc", str(rec.treatment), "", "")
            metric = f"{prefix}_{rec.analysis.lower()}"
            rows.append(from_result(key, metric, rec, df=_finite(rec.df), n=n))
        for rec in result.comparisons.itertuples():
            key = ("mrmc", str(rec.treatment_a), "", str(rec.treatment_b))
            metric = f"{prefix}_difference_{rec.analysis.lower()}"
            rows.append(from_result(key, metric, rec, df=_finite(rec.df), n=n))
        # The global test of equal AUCs (with two conditions F = t squared, the same p);
        # its numerator df (conditions - 1) is a row of its own: results have one df column.
        for rec in result.global_tests.itertuples():
            metric = f"{prefix}_equality_{rec.analysis.lower()}"
            rows.append(
                row(("mrmc", "", "", ""), metric, np.nan, statistic=rec.statistic,
                    df=_finite(rec.df_den), p_value=rec.p_value, n=n)
            )  # fmt: skip
            rows.append(row(("mrmc", "", "", ""), f"{metric}_df_numerator", float(rec.df_num)))
    # Per rating, the readers in its analysis (scores and calls can leave out different
    # readers): ``readers`` for the scores' (or, without scores, the calls'), and
    # ``readers_calls`` beside it when both ratings were analysed.
    for k, source in enumerate(sources):
        name = "readers" if k == 0 else f"readers_{source.prefix.removeprefix('auc_')}"
        rows.append(row(("mrmc", "", "", ""), name, float(source.readers),
                        note=source.left_out))
    return rows
