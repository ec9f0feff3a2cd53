"""``aided``: each condition read without and with the model's output ("CT" and "CT + AI").

Aided reads are first-round reads in the condition ``"<condition> + AI"``, by the same
readers of the same cases (:data:`AIDED_SUFFIX`). For every condition whose aided
counterpart is in the reads, with ``condition`` the unaided and ``other`` the aided one,
and every difference **unaided minus aided** (condition minus other, as ``mrmc``):

Per human reader who read in both (``reader``), on the cases read in both:

- ``auc_difference``: DeLong's paired test of the AUCs from scores (DeLong et al. 1988,
  doi:10.2307/2531595); ``auc_calls_difference``: the same for binary calls; when a patient
  has several cases, beside each the test with Obuchowski's clustered covariance
  (``auc_difference_clustered``, ``auc_calls_difference_clustered``);
- ``sensitivity_exact``, ``_chi2``, ``specificity_*``, ``accuracy_*``: McNemar's tests of
  the binary calls, as ``mcnemar`` (McNemar 1947, doi:10.1007/BF02295996);
- ``calls_changed`` (Wilson interval, with ``_clopper_pearson`` and ``_successes``): the
  share of cases whose call changed after the model's output was shown, ``n`` the cases
  called in both; ``calls_changed_to_right``, ``calls_changed_to_wrong``: the changes from a
  wrong to the right call and back (counts, ``n`` the cases called in both). Their McNemar
  test is ``accuracy_exact``.

Across the human readers who read in both (``reader`` ""): the Obuchowski-Rockette-Hillis
rows of ``mrmc`` for the two conditions alone (``auc_rrrc``, ``auc_difference_rrrc``,
``auc_equality_rrrc`` with ``auc_equality_rrrc_df_numerator``, ... and ``readers``).
"""

from __future__ import annotations

import numpy as np

from readerstudy.stats.analyses.all_readers import mrmc_rows
from readerstudy.stats.analyses.pairwise import mcnemar_pair_rows, paired_auc_row
from readerstudy.stats.analyses.panel import Panel
from readerstudy.stats.analyses.rows import count, proportion_rows
from readerstudy.stats.proportions import proportion

#: The suffix of an aided condition: "CT + AI" is "CT" read with the model's output.
AIDED_SUFFIX = " + AI"


def aided_pairs(panels: list[Panel]) -> list[tuple[Panel, Panel]]:
    """(unaided, aided) panels: every condition whose aided counterpart was read."""
    by_name = {p.condition: p for p in panels}
    return [
        (p, by_name[p.condition + AIDED_SUFFIX])
        for p in panels
        if p.condition + AIDED_SUFFIX in by_name
    ]


def aided_rows(panels: list[Panel], alpha: float) -> list[dict]:
    rows: list[dict] = []
    for unaided, aided in aided_pairs(panels):
        if unaided.truth is None:
            continue
        for reader in [r for r in unaided.humans if r in aided.humans]:
            rows += _reader_rows(unaided, aided, reader, alpha)
        # Each condition's reader-averaged AUC keeps its condition; the comparison and the
        # global test (no condition in ``mrmc``) are named after the pair.
        rows += [
            dict(r, analysis="aided") if r["condition"] else
            dict(r, analysis="aided", condition=unaided.condition, other=aided.condition)
            for r in mrmc_rows([unaided, aided], alpha)
        ]
    return rows


def _aligned(unaided: Panel, aided: Panel, matrix_u: np.ndarray | None,
             matrix_a: np.ndarray | None, reader: str,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The reader's values in both conditions on the cases of both (truth, unaided, aided,
    and the cases' patients when a patient has several cases)."""
    at = {c: k for k, c in enumerate(aided.cases)}
    common = [k for k, c in enumerate(unaided.cases) if c in at]
    other = np.array([at[unaided.cases[k]] for k in common], dtype=np.int64)
    mine = np.array(common, dtype=np.int64)
    t = unaided.known_truth[mine]
    empty = np.full(mine.size, np.nan)
    u = matrix_u[mine, unaided.readers.index(reader)] if matrix_u is not None else empty
    a = matrix_a[other, aided.readers.index(reader)] if matrix_a is not None else empty
    patients = None if unaided.patients is None else unaided.patients[mine]
    return t, u, a, patients


def _reader_rows(unaided: Panel, aided: Panel, reader: str, alpha: float) -> list[dict]:
    rows: list[dict] = []
    key = ("aided", unaided.condition, reader, aided.condition)
    i_u, i_a = unaided.readers.index(reader), aided.readers.index(reader)
    if i_u in unaided.scorers() and i_a in aided.scorers():
        t, u, a, patients = _aligned(unaided, aided, unaided.score, aided.score, reader)
        both = ~np.isnan(u) & ~np.isnan(a)
        rows += paired_auc_row(key, t[both], u[both], a[both], "auc_difference", alpha,
                               None if patients is None else patients[both])
    if i_u in unaided.binary_call_readers() and i_a in aided.binary_call_readers():
        codes_u = np.column_stack([unaided.binary_codes(j) for j in range(len(unaided.readers))])
        codes_a = np.column_stack([aided.binary_codes(j) for j in range(len(aided.readers))])
        t, u, a, patients = _aligned(unaided, aided, codes_u, codes_a, reader)
        both = ~np.isnan(u) & ~np.isnan(a)
        t, u, a = t[both], u[both], a[both]
        rows += paired_auc_row(key, t, u, a, "auc_calls_difference", alpha,
                               None if patients is None else patients[both])
        rows += mcnemar_pair_rows(key, t, u, a, alpha, both="both reads")
        changed = u != a
        rows += proportion_rows(key, "calls_changed",
                                proportion(int(changed.sum()), int(t.size), alpha=alpha))
        rows.append(count(key, "calls_changed_to_right", int((changed & (a == t)).sum()), t.size))
        rows.append(count(key, "calls_changed_to_wrong", int((changed & (u == t)).sum()), t.size))
    return rows
