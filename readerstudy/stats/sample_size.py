"""Power and sample size of a future MRMC ROC study, from a pilot's variance components.

A pilot study (two conditions, e.g. unaided and AI-aided reading, read by J* readers on K*
cases) gives the Obuchowski-Rockette variance components of the empirical AUC
(:func:`readerstudy.stats.mrmc.or_hillis`). Hillis, Obuchowski & Berbaum (2011) show how
they predict the power of the Obuchowski-Rockette-Hillis test of a future study with J
readers and K cases, for a chosen difference ``d`` of the reader-averaged AUCs: the test
statistic follows a non-central F distribution,

    den  = max(var_TR, 0) + (K*/K) (Var - Cov1 + (J - 1) max(Cov2 - Cov3, 0))
    ncp  = J d^2 / (2 den)
    ddf  = den^2 (J - 1) / (max(var_TR, 0) + (K*/K) (Var - Cov1 - max(Cov2 - Cov3, 0)))^2
    power = P(F(1, ddf; ncp) > F_{1 - alpha}(1, ddf))

for random readers and random cases (RRRC; Hillis et al. 2011, eq. 10). The error
(co)variances scale as 1/K: the pilot's were estimated on K* cases. With fixed readers
(FRRC) ``var_TR`` drops out and the test is a chi-square on 1 df (Table 2); with fixed
cases (RRFC) the F has J - 1 denominator df. The treatment-by-reader variance is the
pilot's ``MS(TR) - Var + Cov1 + max(Cov2 - Cov3, 0)`` (eq. 9, with the same constraint as
the test's denominator, so that a study of the pilot's size reproduces the pilot's own
test), and a negative estimate counts as 0.

The results reproduce RJafroc's ``SsPowerGivenJK`` and ``SsSampleSizeKGivenJ`` (method
"OR") on the Van Dyke data to the printed precision (``tests/stats/test_sample_size.py``).

References
----------
Hillis SL, Obuchowski NA, Berbaum KS (2011). Power estimation for multireader ROC methods:
an updated and unified approach. Acad Radiol 18:129-142. doi:10.1016/j.acra.2010.09.007

Hillis SL, Schartz KM (2018). Multireader sample size program for diagnostic studies:
demonstration and methodology. J Med Imaging 5:045503. doi:10.1117/1.JMI.5.4.045503

Chakraborty DP. RJafroc: analysing diagnostic observer performance studies (R package),
functions ``SsPowerGivenJK``, ``SsSampleSizeKGivenJ``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from readerstudy.stats._validation import check_alpha
from readerstudy.stats.estimable import NotEstimableError
from readerstudy.stats.mrmc import MRMCResult

PowerAnalysis = Literal["RRRC", "FRRC", "RRFC"]
POWER_ANALYSES: tuple[str, ...] = ("RRRC", "FRRC", "RRFC")
#: The most cases :func:`or_cases_needed` looks at.
MAX_CASES = 100_000

__all__ = [
    "MAX_CASES",
    "POWER_ANALYSES",
    "CasesNeeded",
    "ORPilot",
    "PowerResult",
    "or_cases_needed",
    "or_pilot",
    "or_power",
]


@dataclass(frozen=True, slots=True)
class ORPilot:
    """What a pilot study tells a future one: its Obuchowski-Rockette variance components.

    Attributes
    ----------
    var_tr : float
        Treatment-by-reader variance, ``MS(TR) - Var + Cov1 + max(Cov2 - Cov3, 0)``
        (Hillis et al. 2011, eq. 9); may be negative (then 0 in the power).
    var_error, cov1, cov2, cov3 : float
        The error variance and covariances of a reader's AUC over cases (same reader,
        different conditions; different readers, same condition; neither), for the
        pilot's number of cases.
    cases : int
        K*, the pilot's number of cases (the covariances scale as K*/K).
    readers : int
        J*, the pilot's number of readers.
    effect : float
        The pilot's observed difference of the two conditions' reader-averaged AUCs
        (first minus second); NaN when built from components alone.
    """

    var_tr: float
    var_error: float
    cov1: float
    cov2: float
    cov3: float
    cases: int
    readers: int
    effect: float = math.nan

    def __post_init__(self) -> None:
        for name in ("var_tr", "var_error", "cov1", "cov2", "cov3"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise NotEstimableError(
                    f"the pilot's {name} is {value}: the power needs every variance "
                    "component of a two-condition ORH analysis"
                )
        if self.var_error <= 0:
            raise NotEstimableError(
                f"the pilot's error variance is {self.var_error:g}: the AUCs do not vary "
                "over cases (constant ratings or perfect separation), so no power follows"
            )
        if int(self.cases) != self.cases or self.cases < 1:
            raise ValueError(f"the pilot's cases must be a whole number >= 1, got {self.cases!r}")
        if int(self.readers) != self.readers or self.readers < 1:
            raise ValueError(
                f"the pilot's readers must be a whole number >= 1, got {self.readers!r}"
            )


@dataclass(frozen=True, slots=True)
class PowerResult:
    """Power of the ORH test of no difference for a study of ``readers`` x ``cases``.

    Attributes
    ----------
    analysis : str
        "RRRC", "FRRC" or "RRFC".
    readers, cases : int
        J and K of the future study.
    effect : float
        The difference of reader-averaged AUCs the power is for (its sign does not matter).
    power : float
        Probability of rejecting "no difference" at ``alpha``, two-sided.
    ncp : float
        Non-centrality parameter, ``J d^2 / (2 den)``.
    df_den : float
        Denominator degrees of freedom (Hillis' for RRRC, J - 1 for RRFC, inf for FRRC,
        whose statistic is chi-square on 1 df).
    critical : float
        The F (chi-square for FRRC) value the statistic must exceed.
    denominator : float
        ``den``: the expected denominator of the F statistic.
    alpha : float
    """

    analysis: str
    readers: int
    cases: int
    effect: float
    power: float
    ncp: float
    df_den: float
    critical: float
    denominator: float
    alpha: float


@dataclass(frozen=True, slots=True)
class CasesNeeded:
    """The fewest cases that give a future study ``target`` power.

    Attributes
    ----------
    analysis, readers, effect, target, alpha
        As asked.
    cases : int or None
        The fewest cases K (at least 2) with power >= ``target``; None when no number of
        cases up to :data:`MAX_CASES` reaches it (``not_estimable`` says why).
    power : float
        The power with that many cases (NaN when none).
    not_estimable : str
        ``""``, or why the target cannot be reached (e.g. the reader-by-condition
        variance caps the power of J readers below it however many cases are read).
    """

    analysis: str
    readers: int
    effect: float
    target: float
    alpha: float
    cases: int | None
    power: float
    not_estimable: str = ""

    @property
    def estimate(self) -> float:
        return math.nan if self.cases is None else float(self.cases)


def or_pilot(result: MRMCResult, cases: int) -> ORPilot:
    """The pilot's components from its ORH analysis (:func:`~readerstudy.stats.mrmc.or_hillis`).

    Parameters
    ----------
    result : MRMCResult
        The ORH analysis of a pilot with exactly two conditions and two or more readers.
    cases : int
        The number of cases the analysis used (every reader read them in both conditions).

    Raises
    ------
    NotEstimableError
        The pilot has not two conditions, fewer than two readers, or a variance component
        the analysis could not estimate.
    """
    treatments = list(dict.fromkeys(result.reader_aucs["treatment"]))
    readers = result.reader_aucs["reader"].nunique()
    if len(treatments) != 2:
        raise NotEstimableError(
            f"the power of a comparison needs a pilot with exactly 2 conditions, got "
            f"{len(treatments)}"
        )
    if readers < 2:
        raise NotEstimableError(
            f"the power for random readers needs a pilot with at least 2 readers, got {readers}"
        )
    vc = dict(
        zip(result.variance_components["name"], result.variance_components["estimate"], strict=True)
    )
    cov_diff = max(vc["cov2"] - vc["cov3"], 0.0)
    aucs = result.reader_aucs.groupby("treatment", sort=False)["auc"].mean()
    return ORPilot(
        var_tr=vc["msTR"] - vc["var_error"] + vc["cov1"] + cov_diff,
        var_error=vc["var_error"],
        cov1=vc["cov1"],
        cov2=vc["cov2"],
        cov3=vc["cov3"],
        cases=int(cases),
        readers=int(readers),
        effect=float(aucs[treatments[0]] - aucs[treatments[1]]),
    )


def _check(pilot: ORPilot, readers: int, analysis: str, effect: float | None) -> float:
    """Validate the design; return the effect (the pilot's observed one when None)."""
    if analysis not in POWER_ANALYSES:
        raise ValueError(f"analysis must be one of {', '.join(POWER_ANALYSES)}, got {analysis!r}")
    least = 1 if analysis == "FRRC" else 2
    if isinstance(readers, bool) or int(readers) != readers or readers < least:
        raise ValueError(
            f"readers must be a whole number >= {least} for {analysis}, got {readers!r}"
            + ("" if least == 1 else " (random readers need 2 to estimate their variance)")
        )
    if effect is None:
        effect = pilot.effect
        if not math.isfinite(effect):
            raise ValueError("effect is required: the pilot has no observed effect")
    if not math.isfinite(effect) or abs(effect) > 1:
        raise ValueError(f"effect must be a difference of AUCs, between -1 and 1, got {effect!r}")
    return float(effect)


def _terms(
    pilot: ORPilot, readers: int, cases: np.ndarray | float
) -> tuple[float, np.ndarray | float, np.ndarray | float]:
    """``max(var_TR, 0)``, and the case terms of the denominator and of the ddf's divisor."""
    cov_diff = max(pilot.cov2 - pilot.cov3, 0.0)
    scale = pilot.cases / cases
    between = scale * (pilot.var_error - pilot.cov1 + (readers - 1) * cov_diff)
    within = scale * (pilot.var_error - pilot.cov1 - cov_diff)
    return max(pilot.var_tr, 0.0), between, within


def _power(
    pilot: ORPilot,
    readers: int,
    cases: np.ndarray | float,
    effect: float,
    alpha: float,
    analysis: str,
) -> tuple[np.ndarray, ...]:
    """(power, ncp, ddf, critical, den), vectorised over ``cases`` (inf allowed)."""
    var_tr, between, within = _terms(pilot, readers, np.atleast_1d(np.asarray(cases, float)))
    if analysis == "RRRC":
        den = var_tr + between
        divisor = var_tr + within
        with np.errstate(divide="ignore", invalid="ignore"):
            ddf = np.where(divisor > 0, den**2 * (readers - 1) / divisor**2, np.inf)
    elif analysis == "RRFC":
        den = var_tr + within
        ddf = np.full_like(den, readers - 1.0)
    else:
        den = between
        ddf = np.full_like(den, np.inf)
    den = np.asarray(den, dtype=float)
    if np.any(den <= 0):
        raise NotEstimableError(
            f"the pilot's variance components give the {analysis} test no positive "
            f"denominator ({float(np.min(den)):g}; Var - Cov1 = {pilot.var_error - pilot.cov1:g}, "
            f"var_TR = {pilot.var_tr:g}): the conditions' AUCs do not vary independently, "
            "so no power follows"
        )
    ncp = readers * effect**2 / (2.0 * den)
    ddf = np.asarray(ddf, dtype=float)
    finite = np.isfinite(ddf)
    critical = np.empty_like(den)
    power = np.empty_like(den)
    chi2_critical = float(stats.chi2.isf(alpha, 1))
    critical[~finite] = chi2_critical
    power[~finite] = stats.ncx2.sf(chi2_critical, 1, ncp[~finite])
    if finite.any():
        critical[finite] = stats.f.isf(alpha, 1, ddf[finite])
        power[finite] = stats.ncf.sf(critical[finite], 1, ddf[finite], ncp[finite])
    # ncf.sf is inaccurate with a zero non-centrality; the power is then alpha exactly.
    power = np.where(ncp == 0, alpha, np.clip(power, 0.0, 1.0))
    return power, ncp, ddf, critical, den


def or_power(
    pilot: ORPilot,
    *,
    readers: int,
    cases: int,
    effect: float | None = None,
    alpha: float = 0.05,
    analysis: PowerAnalysis = "RRRC",
) -> PowerResult:
    """Power of a future study of ``readers`` x ``cases`` (Hillis et al. 2011).

    Parameters
    ----------
    pilot : ORPilot
        The pilot's variance components (:func:`or_pilot`).
    readers : int
        J, the future study's readers (at least 2; 1 for FRRC).
    cases : int
        K, its cases, every one read by every reader in both conditions (at least 1).
    effect : float, optional
        The difference of the two conditions' reader-averaged AUCs to detect (default:
        the pilot's observed difference).
    alpha : float, default 0.05
        Size of the two-sided test.
    analysis : {"RRRC", "FRRC", "RRFC"}, default "RRRC"
        Random readers and cases (the result generalises to both), fixed readers, or
        fixed cases.

    Returns
    -------
    PowerResult

    Raises
    ------
    ValueError
        Impossible input: fewer than 2 readers (1 for FRRC), fewer than 1 case, an effect
        outside [-1, 1], alpha outside (0, 1).
    NotEstimableError
        The components give no test (a denominator of 0).
    """
    check_alpha(alpha)
    effect = _check(pilot, readers, analysis, effect)
    if isinstance(cases, bool) or int(cases) != cases or cases < 1:
        raise ValueError(f"cases must be a whole number >= 1, got {cases!r}")
    power, ncp, ddf, critical, den = _power(
        pilot, int(readers), float(cases), effect, alpha, analysis
    )
    return PowerResult(
        analysis=analysis,
        readers=int(readers),
        cases=int(cases),
        effect=effect,
        power=float(power[0]),
        ncp=float(ncp[0]),
        df_den=float(ddf[0]),
        critical=float(critical[0]),
        denominator=float(den[0]),
        alpha=alpha,
    )


def or_cases_needed(
    pilot: ORPilot,
    *,
    readers: int,
    effect: float | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    analysis: PowerAnalysis = "RRRC",
) -> CasesNeeded:
    """The fewest cases that give ``readers`` readers ``power`` (Hillis et al. 2011).

    As RJafroc's ``SsSampleSizeKGivenJ``: the smallest K from 2 up whose power
    (:func:`or_power`) reaches the target.

    Parameters
    ----------
    pilot, readers, effect, alpha, analysis
        As for :func:`or_power`.
    power : float, default 0.8
        The target power, between alpha and 1.

    Returns
    -------
    CasesNeeded
        ``cases`` None, with the reason in ``not_estimable``, when no number of cases up
        to :data:`MAX_CASES` reaches the target: an effect of 0, or (random readers) a
        reader-by-condition variance that caps the power of J readers below the target.
    """
    check_alpha(alpha)
    effect = _check(pilot, readers, analysis, effect)
    if not math.isfinite(power) or not alpha < power < 1:
        raise ValueError(f"power must be between alpha ({alpha:g}) and 1, got {power!r}")
    readers = int(readers)

    def answer(cases: int | None, achieved: float, why: str = "") -> CasesNeeded:
        return CasesNeeded(
            analysis=analysis,
            readers=readers,
            effect=effect,
            target=power,
            alpha=alpha,
            cases=cases,
            power=achieved,
            not_estimable=why,
        )

    if effect == 0:
        return answer(
            None,
            math.nan,
            "an effect of 0 cannot be detected with any number of cases (the power stays alpha)",
        )
    if analysis != "FRRC":
        # With random readers (or fixed cases) the power levels off as K grows: den tends to
        # var_TR, the readers' own variation, which no number of cases removes.
        limit = float(_power(pilot, readers, math.inf, effect, alpha, analysis)[0][0])
        if limit < power:
            return answer(
                None,
                math.nan,
                f"{readers} readers cannot reach {power:g} power for an effect of {effect:g} "
                f"however many cases they read: the readers' variation between conditions "
                f"(var_TR) caps it at {limit:.3g}; more readers are needed",
            )
    start = 2
    for stop in (2_000, 20_000, MAX_CASES):
        cases = np.arange(start, stop + 1)
        reached = np.flatnonzero(_power(pilot, readers, cases, effect, alpha, analysis)[0] >= power)
        if reached.size:
            found = int(cases[reached[0]])
            achieved = float(_power(pilot, readers, float(found), effect, alpha, analysis)[0][0])
            return answer(found, achieved)
        start = stop + 1
    why = f"more than {MAX_CASES} cases would be needed"
    return answer(None, math.nan, why)
