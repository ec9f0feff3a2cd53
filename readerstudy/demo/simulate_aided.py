"""Simulated AI-aided second reads (the demo's assisted study): how a simulated reader changes
an unaided read after seeing the model's output. Pure Python: no Django.

The rule, illustrative and not a published figure: where the model's call agrees with the
reader's, the call stays and the reader's probability moves a third of the way towards the
model's; where it disagrees, the reader adopts the model's call with a chance that falls with
experience (:data:`ADOPTION`), and then states a probability between the model's and the
middle of the scale. Draws are seeded by the study seed, the reader and the case.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from readerstudy.demo.simulate import SimulatedReader
from readerstudy.vocabulary import BENIGN, MALIGNANT, UNCERTAIN

__all__ = ["ADOPTION", "aided_answers"]

#: The chance a reader of this role adopts the model's call when it disagrees with theirs.
ADOPTION = {"trainee": 0.7, "resident": 0.55, "attending": 0.3}
_PULL = 1 / 3  # how far an agreeing reader's probability moves towards the model's


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _tier(confidence: float) -> str:
    if confidence >= 70:
        return MALIGNANT
    if confidence <= 30:
        return BENIGN
    return UNCERTAIN


def aided_answers(*, reader: SimulatedReader, unaided: dict[str, Any], model_probability: float,
                  model_call: str, seed: int, case: str) -> dict[str, Any]:
    """The answers of ``reader``'s aided read of ``case``, from their unaided ``answers``
    (``call``; ``confidence``, ``three_tier``, ``features``, ``measurements`` where asked) and
    the model's probability (0..1) and call. What else the form asks stays as it was."""
    answers = dict(unaided)
    rng = _rng(seed, reader.username, case, "aided")
    own = unaided["call"]
    model_percent = 100.0 * float(model_probability)
    if model_call != own and rng.random() < ADOPTION.get(reader.role, 0.5):
        answers["call"] = model_call
        confidence = (model_percent + 50.0) / 2
    else:
        base = unaided.get("confidence")
        base = float(base) if base is not None else (75.0 if own == MALIGNANT else 25.0)
        confidence = base + _PULL * (model_percent - base)
    # A probability on the side of the call (the form refuses a contradiction).
    confidence = max(50.0, confidence) if answers["call"] == MALIGNANT else min(50.0, confidence)
    if unaided.get("confidence") is not None:
        answers["confidence"] = round(confidence)
    if unaided.get("three_tier"):
        answers["three_tier"] = _tier(confidence)
    return answers
