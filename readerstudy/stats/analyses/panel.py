"""One condition's first-round reads as case x reader matrices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from readerstudy.stats.io import TIERS, natural_key


@dataclass(frozen=True)
class Panel:
    """First-round reads of one condition as case x reader matrices.

    Readers are ordered human readers first, then models, each in natural order; cases in
    natural order. ``first`` keeps the reads themselves (for the measurement and feature
    analyses, which use columns the matrices do not hold).
    """

    condition: str
    readers: list[str]
    models: frozenset[str]
    cases: list[str]
    truth: np.ndarray | None  # (n_cases,) float
    score: np.ndarray | None  # (n_cases, n_readers) float, NaN = not scored
    codes: np.ndarray | None  # (n_cases, n_readers) index into categories, NaN = no call
    categories: list[object]
    tiers: np.ndarray | None  # (n_cases, n_readers) index into TIERS, NaN = no three-tier call
    first: pd.DataFrame
    #: (n_cases,) the patient of each case (a case without one is a patient of its own) when
    #: some patient has several cases; None otherwise (every case its own cluster).
    patients: np.ndarray | None = None

    # The matrices of analyses that run only when the condition has them (the caller checks:
    # truth for the AUC and call analyses, codes for readers with calls, score for scorers).
    @property
    def known_truth(self) -> np.ndarray:
        if self.truth is None:
            raise ValueError(f"condition {self.condition!r}: no truth")
        return self.truth

    @property
    def known_codes(self) -> np.ndarray:
        if self.codes is None:
            raise ValueError(f"condition {self.condition!r}: no calls")
        return self.codes

    @property
    def known_score(self) -> np.ndarray:
        if self.score is None:
            raise ValueError(f"condition {self.condition!r}: no scores")
        return self.score

    @property
    def humans(self) -> list[str]:
        return [r for r in self.readers if r not in self.models]

    def calls_of(self, j: int) -> set[object]:
        """The categories reader j used."""
        column = self.known_codes[:, j]
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
        values: dict[object, float] = {"malignant": 1.0, "benign": 0.0}
        lookup = np.array([values.get(c, np.nan) for c in self.categories] + [np.nan])
        column = self.known_codes[:, j]
        return lookup[np.where(np.isnan(column), len(self.categories), column).astype(np.int64)]

    def three_tier_calls(self) -> dict[int, np.ndarray]:
        """Reader index -> the reader's three-tier calls (object array, None = no call).

        From the ``three_tier`` column when the reads have one (every reader with a
        three-tier call); otherwise from the calls of readers whose calls are three-tier
        and include "uncertain".
        """
        tiers = np.asarray((*TIERS, None), dtype=object)
        if self.tiers is not None:
            return {
                j: tiers[np.where(np.isnan(column), len(TIERS), column).astype(np.int64)]
                for j, column in enumerate(self.tiers.T)
                if (~np.isnan(column)).any()
            }
        if self.codes is None:
            return {}
        categories = np.asarray([*self.categories, None], dtype=object)
        out = {}
        for j in range(len(self.readers)):
            used = self.calls_of(j)
            if "uncertain" in used and used <= set(TIERS):
                column = self.codes[:, j]
                index = np.where(np.isnan(column), len(self.categories), column)
                out[j] = categories[index.astype(np.int64)]
        return out

    def scorers(self) -> list[int]:
        """Readers who gave a score for at least one case."""
        if self.score is None:
            return []
        return [j for j in range(len(self.readers)) if (~np.isnan(self.score[:, j])).any()]


def build_panel(reads: pd.DataFrame, condition: str, categories: list[object]) -> Panel:
    """The first-round reads of ``condition`` (validated reads) as a :class:`Panel`."""
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

    def coded(column: str, levels: list[object]) -> np.ndarray | None:
        if column not in first or not first[column].notna().any():
            return None
        index = {c: k for k, c in enumerate(levels)}
        return wide(first[column].map(index).astype("float64"))

    truth = None
    if "truth" in first:
        truth = first.groupby("case")["truth"].first().reindex(cases).to_numpy(dtype=np.float64)
    score = None
    if "score" in first and first["score"].notna().any():
        score = wide(first["score"])
    patients = None
    if "patient" in first:
        given = first.groupby("case")["patient"].first().reindex(cases)
        # A case without a patient is a patient of its own (a label no patient can have).
        labels = pd.Series([p if pd.notna(p) else ("case", c) for p, c in zip(
            given, cases, strict=True)], dtype=object)
        patients = labels.to_numpy() if labels.duplicated().any() else None
    return Panel(
        condition=condition,
        readers=readers,
        models=models,
        cases=cases,
        truth=truth,
        score=score,
        codes=coded("call", categories),
        categories=categories,
        tiers=coded("three_tier", list(TIERS)),
        first=first,
        patients=patients,
    )


def call_categories(calls: pd.Series) -> list[object]:
    """The call categories in order: three-tier order, else natural or numeric order."""
    present = list(pd.unique(calls.dropna()))
    if set(present) <= set(TIERS):
        return [t for t in TIERS if t in present]
    return sorted(present, key=natural_key if any(isinstance(v, str) for v in present) else float)


def ordered(categories: list[object]) -> bool:
    """Whether the categories are ordered (for weighted kappa): three or more, three-tier or
    numeric."""
    if len(categories) < 3:
        return False
    return set(categories) <= set(TIERS) or all(not isinstance(c, str) for c in categories)
