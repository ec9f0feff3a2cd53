"""Three-tier reading: "definitely benign", "definitely malignant", "uncertain".

The model's (or a reader's) probability of malignancy is cut at two
thresholds; the cases in between are "uncertain - recommend MRI"
(STUDY-PROTOCOL.md). Performance is reported on the *definite* cases only -
sensitivity, specificity, accuracy with n/N and the AUC from calls,
(sensitivity + specificity) / 2 - together with the share of cases sent to
MRI, so that a model cannot look good by calling everything uncertain.

Proportions carry Wilson and Clopper-Pearson intervals
(:mod:`readerstudy.stats.proportions`); the AUC from calls carries DeLong's
interval (:func:`readerstudy.stats.roc.auc_from_calls`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from readerstudy.stats._validation import (
    as_binary_truth,
    as_float_array,
    check_alpha,
    check_missing_policy,
    columns,
)
from readerstudy.stats.estimable import NotEstimableError
from readerstudy.stats.io import BENIGN, MALIGNANT, UNCERTAIN
from readerstudy.stats.proportions import (
    DiagnosticMetrics,
    Proportion,
    diagnostic_metrics_from_counts,
    proportion,
)
from readerstudy.stats.roc import AUCResult, auc_from_calls

__all__ = [
    "THREE_TIER_CODES",
    "ThreeTierResult",
    "as_three_tier",
    "three_tier_calls",
    "three_tier_metrics",
]

#: Accepted spellings (case-insensitive) and their code: 0 benign, 1 malignant, NaN uncertain.
THREE_TIER_CODES: dict[str, float] = {
    BENIGN: 0.0,
    "0": 0.0,
    "0.0": 0.0,
    MALIGNANT: 1.0,
    "1": 1.0,
    "1.0": 1.0,
    UNCERTAIN: np.nan,
}


@dataclass(frozen=True, slots=True)
class ThreeTierResult:
    """Performance on the definite cases and the share left uncertain.

    Attributes
    ----------
    definite : DiagnosticMetrics
        Sensitivity, specificity, accuracy, PPV, NPV on the definite cases.
    auc : AUCResult or None
        AUC from the definite calls, (sensitivity + specificity) / 2, with
        DeLong's interval; None when fewer than 2 malignant or 2 benign cases
        have a definite call (DeLong's variance is then undefined).
    auc_not_estimable : str
        Why ``auc`` is None; ``""`` when it is not (:mod:`readerstudy.stats.estimable`).
    uncertain : Proportion
        Share of all cases called uncertain (sent to MRI).
    uncertain_malignant, uncertain_benign : int
        Uncertain cases by reference standard.
    n : int
        All cases.
    n_definite : int
        Cases with a definite call.
    """

    definite: DiagnosticMetrics
    auc: AUCResult | None
    auc_not_estimable: str
    uncertain: Proportion
    uncertain_malignant: int
    uncertain_benign: int
    n: int
    n_definite: int


def three_tier_calls(
    data: pd.DataFrame,
    *,
    score: str = "score",
    lower: float,
    upper: float,
    missing: str = "raise",
) -> pd.Series:
    """Cut probabilities of malignancy into benign / uncertain / malignant.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    score : str, default "score"
        Column of the probability (or any score) of malignancy.
    lower, upper : float
        ``probability < lower`` is "benign", ``probability >= upper`` is
        "malignant", anything in ``[lower, upper)`` is "uncertain".
        ``lower == upper`` gives two tiers.
    missing : {"raise", "drop"}, default "raise"
        With ``"drop"`` a missing probability gives a missing call (None).

    Returns
    -------
    pandas.Series of object
        ``"benign"``, ``"uncertain"`` or ``"malignant"`` per case (``data``'s index),
        named ``"three_tier"``.
    """
    check_missing_policy(missing)
    if not lower <= upper:
        raise ValueError(f"need lower <= upper, got lower={lower}, upper={upper}")
    given = columns(data, score=score)
    p = as_float_array(given["score"], score, allow_nan=missing == "drop")
    calls = np.full(p.shape, UNCERTAIN, dtype=object)
    calls[p < lower] = BENIGN
    calls[p >= upper] = MALIGNANT
    calls[np.isnan(p)] = None
    return pd.Series(calls, index=data.index, name="three_tier")


def as_three_tier(calls: object, name: str = "calls") -> np.ndarray:
    """Code three-tier calls as 0 (benign), 1 (malignant) or NaN (uncertain).

    Parameters
    ----------
    calls : array-like
        ``"benign"``, ``"malignant"``, ``"uncertain"`` (any case), or 0/1.
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray of float

    Raises
    ------
    ValueError
        Naming the unrecognised values (missing calls included: a case the
        reader did not call is not "uncertain").
    """
    series = pd.Series(calls.to_numpy() if isinstance(calls, pd.Series) else np.asarray(calls))
    if series.ndim != 1:
        raise ValueError(f"{name} must be 1-D")
    missing = series.isna()
    if missing.any():
        raise ValueError(
            f"{name} has {int(missing.sum())} missing call(s); a missing call is not "
            "'uncertain' - remove those cases or record them as uncertain"
        )
    text = series.astype("string").str.strip().str.lower()
    known = text.isin(list(THREE_TIER_CODES))
    if not known.all():
        values = sorted(set(series[~known].astype(str)))[:5]
        raise ValueError(
            f"{name} must be 'benign', 'malignant' or 'uncertain' (or 0/1); got e.g. {values}"
        )
    return text.map(THREE_TIER_CODES).to_numpy(dtype=np.float64)


def three_tier_metrics(
    data: pd.DataFrame,
    *,
    truth: str = "truth",
    call: str = "three_tier",
    alpha: float = 0.05,
    missing: str = "raise",
) -> ThreeTierResult:
    """Metrics of three-tier calls on the definite cases, and the share uncertain.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per case.
    truth : str, default "truth"
        Column of the reference standard: 0 = benign, 1 = malignant.
    call : str, default "three_tier"
        Column of the three-tier calls: ``"benign"``, ``"malignant"`` or
        ``"uncertain"`` (see :func:`as_three_tier`).
    alpha : float, default 0.05
    missing : {"raise", "drop"}, default "raise"
        Applies to a missing truth; a missing *call* always raises (it is not
        the same as "uncertain").

    Returns
    -------
    ThreeTierResult

    Raises
    ------
    ValueError
        On bad input. A reader who called every case uncertain is no error: the
        metrics on the definite cases are then proportions of nothing (NaN, with
        their ``not_estimable`` reason) and the share sent to MRI is 100%.

    Examples
    --------
    The best CT model on the internal test set (STUDY-PROTOCOL.md): 34/36
    malignant and 26/30 benign definite cases correct, accuracy 60/66 (91%),
    AUC (34/36 + 26/30) / 2 = 0.91.
    """
    check_alpha(alpha)
    check_missing_policy(missing)
    given = columns(data, truth=truth, call=call)
    t = as_binary_truth(given["truth"], truth, allow_nan=missing == "drop").astype(np.float64)
    c = as_three_tier(given["call"], call)
    keep = ~np.isnan(t)
    t, c = t[keep], c[keep]
    definite = ~np.isnan(c)
    td, cd = t[definite].astype(np.int64), c[definite].astype(np.int64)
    tp = int(np.count_nonzero((td == 1) & (cd == 1)))
    fn = int(np.count_nonzero((td == 1) & (cd == 0)))
    tn = int(np.count_nonzero((td == 0) & (cd == 0)))
    fp = int(np.count_nonzero((td == 0) & (cd == 1)))
    uncertain = ~definite
    auc, auc_not_estimable = None, "no case has a definite call (all are 'uncertain')"
    if td.size:
        try:
            definite_calls = pd.DataFrame({"truth": td, "call": cd})
            auc, auc_not_estimable = auc_from_calls(definite_calls, alpha=alpha), ""
        except NotEstimableError as exc:
            auc_not_estimable = f"{exc} (definite cases)"
    return ThreeTierResult(
        definite=diagnostic_metrics_from_counts(tp=tp, fn=fn, tn=tn, fp=fp, alpha=alpha),
        auc=auc,
        auc_not_estimable=auc_not_estimable,
        uncertain=proportion(int(uncertain.sum()), int(t.size), alpha=alpha, of="cases"),
        uncertain_malignant=int(np.count_nonzero(uncertain & (t == 1))),
        uncertain_benign=int(np.count_nonzero(uncertain & (t == 0))),
        n=int(t.size),
        n_definite=int(td.size),
    )
