"""The study's words, once: the benign/malignant label and call, and the three-tier call.

Pure Python (no Django, nothing imported), so that every layer can use it: the models'
choices, the reading protocol's questions, the predictions the model stores, the
statistics' input checks and the exports' labels. A label shown to a person comes from
here; the codes are what the database, the API and the tidy DataFrames hold.
"""

from __future__ import annotations

__all__ = [
    "BENIGN",
    "CALLS",
    "LABELS",
    "MALIGNANT",
    "THREE_TIER",
    "TIERS",
    "TRUTH",
    "UNCERTAIN",
    "sentence_case",
]

BENIGN = "benign"
MALIGNANT = "malignant"
UNCERTAIN = "uncertain"

#: The reference standard's labels, which are also a reader's binary call.
LABELS: dict[str, str] = {
    BENIGN: "benign (osteoporotic)",
    MALIGNANT: "malignant (pathological)",
}
CALLS: tuple[str, ...] = tuple(LABELS)

#: The ``truth`` column of the tidy DataFrames: 1 malignant, 0 benign.
TRUTH: dict[str, int] = {BENIGN: 0, MALIGNANT: 1}

#: The three-tier call of a reader or of the model, in the order of the scale: the cases
#: between the two definite calls are sent to MRI (docs/study-protocol.md).
THREE_TIER: dict[str, str] = {
    BENIGN: "definitely benign (osteoporotic)",
    UNCERTAIN: "uncertain - recommend MRI",
    MALIGNANT: "definitely malignant",
}
TIERS: tuple[str, ...] = tuple(THREE_TIER)


def sentence_case(label: str) -> str:
    """``label`` with a capital first letter, for a label that starts a line on screen."""
    return label[:1].upper() + label[1:]
