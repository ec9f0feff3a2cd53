"""``definite_cases``: readers against a three-tier reader (the model) on the definite cases.

The model's three-tier output sends the cases between its two thresholds to MRI
("uncertain"); the studies compare the readers with the model on the cases the model
called definitely benign or definitely malignant, and report the share sent to MRI beside
(STUDY-PROTOCOL.md, "Three-tier output"). For every pair of readers in a condition of which
at least one gave three-tier calls (the ``three_tier`` column, or calls that include
"uncertain"), on the cases both called:

- ``definite_share``: the share of those cases that both called definitely (Wilson
  interval, with ``_clopper_pearson`` and ``_successes`` rows; ``n``: the cases both
  called);
- on the definite cases, McNemar's tests as in ``mcnemar``: ``definite_sensitivity_exact``,
  ``definite_sensitivity_chi2``, ``definite_specificity_*``, ``definite_accuracy_*``
  (reader minus other), and ``definite_auc_calls_difference``: DeLong's paired test of the
  AUCs from calls (when a patient has several cases, also
  ``definite_auc_calls_difference_clustered``, with Obuchowski's clustered covariance);
- on all the cases both called, an "uncertain" call counted as a wrong call (intention to
  diagnose: a case sent to MRI is not diagnosed): ``all_sensitivity_exact`` ... and
  ``all_accuracy_chi2``; this is the all-case comparison beside the definite one (a pair of
  readers with binary calls on every case has its all-case comparison under ``mcnemar``).
"""

from __future__ import annotations

import numpy as np

from readerstudy.stats.analyses.pairwise import mcnemar_pair_rows, paired_auc_row
from readerstudy.stats.analyses.panel import Panel
from readerstudy.stats.analyses.rows import pairs, proportion_rows
from readerstudy.stats.proportions import proportion

_CODES = {"benign": 0.0, "malignant": 1.0}


def _tier_codes(panel: Panel) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Reader index -> (called, definite code): ``called`` the cases with any call,
    the code 0/1 on definite calls and NaN on uncertain ones."""
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for j in panel.binary_call_readers():
        codes = panel.binary_codes(j)
        out[j] = (~np.isnan(codes), codes)
    for j, calls in panel.three_tier_calls().items():
        called = calls != None  # noqa: E711 - elementwise over an object array
        out[j] = (called, np.array([_CODES.get(c, np.nan) for c in calls], dtype=np.float64))
    return out


def definite_rows(panel: Panel, alpha: float) -> list[dict]:
    """The ``definite_cases`` rows of one condition (none without truth or three-tier calls)."""
    if panel.truth is None:
        return []
    three_tier = set(panel.three_tier_calls())
    if not three_tier:
        return []
    tiers = _tier_codes(panel)
    readers = sorted(tiers)
    rows: list[dict] = []
    for a, b in pairs(len(readers)):
        i, j = readers[a], readers[b]
        if i not in three_tier and j not in three_tier:
            continue
        (called_i, code_i), (called_j, code_j) = tiers[i], tiers[j]
        both = called_i & called_j
        definite = both & ~np.isnan(code_i) & ~np.isnan(code_j)
        key = ("definite_cases", panel.condition, panel.readers[i], panel.readers[j])
        rows += proportion_rows(key, "definite_share", proportion(
            int(definite.sum()), int(both.sum()), alpha=alpha))  # fmt: skip
        t = panel.known_truth
        rows += mcnemar_pair_rows(key, t[definite], code_i[definite], code_j[definite], alpha,
                                  prefix="definite_")  # fmt: skip
        patients = None if panel.patients is None else panel.patients[definite]
        rows += paired_auc_row(key, t[definite], code_i[definite], code_j[definite],
                               "definite_auc_calls_difference", alpha, patients)  # fmt: skip
        # Intention to diagnose: an uncertain call is never the right call.
        wrong_i = np.where(np.isnan(code_i), 1.0 - t, code_i)
        wrong_j = np.where(np.isnan(code_j), 1.0 - t, code_j)
        rows += mcnemar_pair_rows(key, t[both], wrong_i[both], wrong_j[both], alpha,
                                  prefix="all_")  # fmt: skip
    return rows
