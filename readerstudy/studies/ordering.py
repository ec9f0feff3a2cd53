"""Reproducible randomisation: reading orders and the repeat-read sample.

Everything is derived from the study seed plus names, never from database ids, so the same
study set up again (on another database) gives the same orders.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def reading_order(*, seed: int, reader: str, round: str, case_codes: Sequence[str]) -> list[str]:
    """The reader's own order of ``case_codes`` for ``round``; same inputs, same order."""
    codes = sorted(case_codes)
    _rng(seed, "order", reader, round).shuffle(codes)
    return codes


def repeat_sample(*, seed: int, patients: Sequence[str], size: int, reader: str | None = None) -> list[str]:
    """Draw ``size`` patients for repeat reads (all when fewer); per reader when ``reader`` is given."""
    pool = sorted(set(patients))
    if size >= len(pool):
        return pool
    return sorted(_rng(seed, "repeat-sample", reader or "*").sample(pool, size))
