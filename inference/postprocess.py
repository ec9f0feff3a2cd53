"""From the network's probabilities to a case's reading: the case probability (for MRI the
highest of its three patches) and the three-tier call.

Pure numpy, no torch: the web process and the analysis read these rules without loading a
network.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "TIER_BENIGN",
    "TIER_LABELS",
    "TIER_MALIGNANT",
    "TIER_UNCERTAIN",
    "case_probability",
    "three_tier",
]

TIER_BENIGN = "benign"
TIER_UNCERTAIN = "uncertain"
TIER_MALIGNANT = "malignant"
#: Display labels of the three-tier codes.
TIER_LABELS: dict[str, str] = {
    TIER_BENIGN: "definitely benign",
    TIER_UNCERTAIN: "uncertain - recommend MRI",
    TIER_MALIGNANT: "definitely malignant",
}


def case_probability(patch_probabilities: ArrayLike) -> tuple[float, int]:
    """A case's probability of malignancy from those of its patches, and the patch it came from.

    A CT case is one patch. An MRI case is three patches, centred on the lesion slice and
    on each of its neighbours (:func:`inference.predict.case_patches`), and reads as the
    highest of their probabilities: the per-patient rule of the published ResNet50 model.
    The patch index is the one whose evidence the saliency map shows.

    Returns
    -------
    probability : float
    index : int
        The position of that patch among ``patch_probabilities`` (the first on a tie).
    """
    values = np.asarray(patch_probabilities, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("a case needs at least one patch probability")
    index = int(np.argmax(values))
    return float(values[index]), index


def three_tier(prob: float, lower: float, upper: float) -> str:
    """Map a probability of malignancy to a three-tier code.

    ``prob < lower`` is definitely benign, ``prob >= upper`` definitely malignant, the
    band in between uncertain (recommend MRI). With ``lower == upper`` this is a plain
    binary call at that threshold.

    Returns
    -------
    str
        :data:`TIER_BENIGN`, :data:`TIER_UNCERTAIN` or :data:`TIER_MALIGNANT`; the display
        text is ``TIER_LABELS[code]``.
    """
    if not 0.0 <= lower <= upper <= 1.0:
        raise ValueError(f"thresholds must satisfy 0 <= lower <= upper <= 1, got {lower}, {upper}")
    if not 0.0 <= prob <= 1.0:  # also refuses NaN
        raise ValueError(f"a probability must lie in [0, 1], got {prob}")
    if prob < lower:
        return TIER_BENIGN
    if prob >= upper:
        return TIER_MALIGNANT
    return TIER_UNCERTAIN
