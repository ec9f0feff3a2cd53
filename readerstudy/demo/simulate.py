"""Simulated readers: answers and reading times drawn from published reader accuracies.

Pure and seeded: the same reader, cases, form, time and seed give the same reads, with no
database involved (:mod:`readerstudy.demo.services` submits them through the studies
services). Nothing here is data from people: the reads exist so that a demo study shows
every table and figure the product makes.

How a simulated reader reads
----------------------------
- **Calls.** Within each class the reader gets exactly ``round(sensitivity * n_malignant)``
  malignant and ``round(specificity * n_benign)`` benign cases right, so that even a small
  demo study reproduces the published proportions. Which cases are missed is drawn with
  weights ``exp(HARDNESS * difficulty)`` (Efraimidis-Spirakis sampling without replacement):
  every reader tends to miss the same hard cases, as real readers do, which gives
  inter-reader agreement its meaning.
- **Confidence** (0-100 probability of malignancy) is on the side of the call: ``50 + 50 c``
  for a malignant call, ``50 - 50 c`` for a benign one, where the certainty ``c`` is drawn
  from a beta distribution whose mean is higher for correct calls than for errors and lower
  on hard cases. Scores are therefore informative beyond the call, and a reader's ROC curve
  from scores lies above the single point of the calls.
- **Three-tier call**: definite when the certainty is at least :data:`DEFINITE_CERTAINTY`
  (confidence <= 30 or >= 70), "uncertain - recommend MRI" otherwise.
- **Measurements**: the case's true value plus the reader's bias and Gaussian noise, both
  scaled per measurement (:data:`MEASUREMENT_SCALE`), rounded to 0.1 and kept in the form's
  range.
- **MRI features**: a feature present in the case is ticked with the reader's feature
  sensitivity, an absent one with its false-positive rate.
- **Repeat reads** repeat the first call with probability ``consistency`` and otherwise
  call afresh (right with the reader's sensitivity or specificity); confidence,
  measurements and features are drawn afresh. This sets intra-reader kappa and ICC.
- **Times.** First reads in sessions of 5 to 10 cases in working hours on days spread over
  :data:`FIRST_ROUND_DAYS` days that end at least :data:`FIRST_ROUND_ENDS_DAYS_AGO` days
  (and at least the washout plus :data:`REPEAT_MARGIN_DAYS`) before ``now``; repeat reads
  in sessions on days spread from the day after the washout has passed for every first
  read to the day before ``now``. Reading times are log-normal around the reader's median,
  longer on hard cases; a session that would overlap the one before starts 30 minutes
  after it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from readerstudy.studies.answer_form import FEATURES, MEASUREMENTS

__all__ = [
    "CT_READERS",
    "FEATURE_PREVALENCE",
    "MRI_READERS",
    "TRAINEES",
    "CaseFacts",
    "Form",
    "SimulatedRead",
    "SimulatedReader",
    "drawn_case_facts",
    "simulate_reader",
]

#: How strongly a case's difficulty (0 easy .. 1 hard) raises the chance that it is missed.
HARDNESS = 5.0
#: Certainty (0..1, distance of the confidence from 50 as a share of 50) from which a
#: three-tier call is definite.
DEFINITE_CERTAINTY = 0.4
#: Concentration of the certainty's beta distribution (higher: less spread).
CERTAINTY_CONCENTRATION = 4.0
#: Mean certainty of a wrong call, as a share of the reader's certainty: errors are made
#: with less certainty, so scores rank cases somewhat better than calls (reader AUC from
#: scores about 0.05-0.08 above the AUC from calls for the residents).
WRONG_CERTAINTY = 0.6
#: A reader's bias and noise are given in mm of height; these scale them per measurement.
MEASUREMENT_SCALE: Mapping[str, float] = {
    "anterior_height": 1.0, "posterior_height": 1.0, "superior_concavity": 0.4,
    "inferior_concavity": 0.4, "vertebral_angle": 2.0,
}
FIRST_ROUND_DAYS = 40
FIRST_ROUND_ENDS_DAYS_AGO = 50
REPEAT_MARGIN_DAYS = 20
SESSION_CASES = (5, 10)
WORKDAY_HOURS = (8, 17)

FIRST, REPEAT = "first", "repeat"


@dataclass(frozen=True)
class SimulatedReader:
    """A simulated reader's identity and how well and how steadily it reads.

    ``sensitivity`` and ``specificity`` are the shares of malignant and benign cases called
    right in the first round. ``certainty`` (0..1) is the mean certainty of a correct call
    on an easy case; ``consistency`` the chance that a repeat read repeats the first call.
    ``measurement_bias`` and ``measurement_sd`` are in mm of height (scaled for the other
    measurements by :data:`MEASUREMENT_SCALE`). ``median_seconds`` is the median reading
    time of an easy case.
    """

    username: str
    role: str
    years: int
    sensitivity: float
    specificity: float
    specialty: str = ""
    certainty: float = 0.55
    consistency: float = 0.8
    measurement_bias: float = 0.0
    measurement_sd: float = 1.2
    feature_sensitivity: float = 0.85
    feature_false_positive: float = 0.08
    median_seconds: float = 120.0

    def __post_init__(self) -> None:
        shares = ("sensitivity", "specificity", "certainty", "consistency",
                  "feature_sensitivity", "feature_false_positive")
        for name in shares:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Simulated reader {self.username!r}: {name} must lie in [0, 1], "
                                 f"got {value!r}.")
        if self.measurement_sd < 0:
            raise ValueError(f"Simulated reader {self.username!r}: measurement_sd must not be "
                             f"negative, got {self.measurement_sd!r}.")
        if self.median_seconds <= 0:
            raise ValueError(f"Simulated reader {self.username!r}: median_seconds must be "
                             f"positive, got {self.median_seconds!r}.")


@dataclass(frozen=True)
class CaseFacts:
    """What a case truly shows: the reference label, how hard it is, its MRI features
    (answer-form keys) and its true measurements (answer-form keys)."""

    code: str
    malignant: bool
    difficulty: float = 0.25
    features: frozenset[str] = frozenset()
    measurements: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.difficulty <= 1.0:
            raise ValueError(f"Case {self.code}: difficulty must lie in [0, 1], got {self.difficulty!r}.")
        unknown = sorted(set(self.features) - set(FEATURES))
        if unknown:
            raise ValueError(f"Case {self.code}: unknown features {', '.join(unknown)}.")
        unknown = sorted(set(self.measurements) - set(MEASUREMENTS))
        if unknown:
            raise ValueError(f"Case {self.code}: unknown measurements {', '.join(unknown)}.")


@dataclass(frozen=True)
class Form:
    """What a study asks (mirrors the study's answer-form fields)."""

    confidence: bool = True
    three_tier: bool = False
    features: bool = False
    measurements: tuple[str, ...] = ()


@dataclass(frozen=True)
class SimulatedRead:
    """One read to submit: the answers as a reader's client would send them, and when."""

    case: str
    round: str
    answers: dict[str, Any]
    opened_at: datetime
    submitted_at: datetime


# Published accuracies (STUDY-PROTOCOL: the CT study's internal test set, Table 5; the MRI
# study's three readers). The other parameters are illustrative: more experience, more
# certainty, steadier repeat reads, tighter measurements, faster reading.
CT_READERS: tuple[SimulatedReader, ...] = (
    SimulatedReader("sim-resident-2y", "resident", 2, 33 / 49, 26 / 37, certainty=0.55,
                    consistency=0.65, measurement_bias=-0.6, measurement_sd=1.4,
                    feature_sensitivity=0.75, feature_false_positive=0.12, median_seconds=150),
    SimulatedReader("sim-resident-4y", "resident", 4, 34 / 49, 27 / 37, certainty=0.6,
                    consistency=0.7, measurement_bias=0.4, measurement_sd=1.2,
                    feature_sensitivity=0.82, feature_false_positive=0.09, median_seconds=120),
    SimulatedReader("sim-attending-7y", "attending", 7, 46 / 49, 29 / 37, certainty=0.75,
                    consistency=0.9, measurement_bias=0.2, measurement_sd=0.8,
                    feature_sensitivity=0.9, feature_false_positive=0.05, median_seconds=90),
)
MRI_READERS: tuple[SimulatedReader, ...] = (
    SimulatedReader("sim-attending-msk-12y", "attending", 12, 47 / 50, 139 / 140,
                    specialty="musculoskeletal", certainty=0.8, consistency=0.92,
                    measurement_bias=0.1, measurement_sd=0.7, feature_sensitivity=0.92,
                    feature_false_positive=0.04, median_seconds=80),
    SimulatedReader("sim-resident-4y", "resident", 4, 47 / 50, 135 / 140, certainty=0.65,
                    consistency=0.8, measurement_bias=0.4, measurement_sd=1.2,
                    feature_sensitivity=0.85, feature_false_positive=0.08, median_seconds=110),
    SimulatedReader("sim-resident-1y", "resident", 1, 39 / 50, 86 / 140, certainty=0.5,
                    consistency=0.6, measurement_bias=-0.8, measurement_sd=1.6,
                    feature_sensitivity=0.7, feature_false_positive=0.15, median_seconds=180),
)
# Teaching study: illustrative first- and second-year trainees (no published figures).
TRAINEES: tuple[SimulatedReader, ...] = (
    SimulatedReader("sim-trainee-1y", "trainee", 1, 0.65, 0.6, certainty=0.45,
                    consistency=0.55, measurement_sd=2.0, median_seconds=200),
    SimulatedReader("sim-trainee-2y", "trainee", 2, 0.75, 0.7, certainty=0.5,
                    consistency=0.65, measurement_sd=1.6, median_seconds=160),
)

#: Prevalence (benign, malignant) of each MRI feature for cases without phantom ground truth.
#: Illustrative values pointing the way the published features do (benign: band oedema,
#: dark line, fluid cleft, wedge; malignant: diffuse replacement, mass, soft tissue,
#: posterior elements, skip lesions); they are not published figures.
FEATURE_PREVALENCE: Mapping[str, tuple[float, float]] = {
    "no_collapse": (0.10, 0.35),
    "anterior_wedge": (0.45, 0.15),
    "entire_body_compression": (0.20, 0.25),
    "central_concave": (0.30, 0.05),
    "homogeneous_marrow": (0.15, 0.55),
    "dark_line_band": (0.55, 0.10),
    "band_edema": (0.60, 0.10),
    "dark_patch": (0.25, 0.15),
    "fluid_cleft": (0.25, 0.05),
    "diffuse_signal_change": (0.15, 0.60),
    "mass_like_lesion": (0.05, 0.45),
    "body_protrusion": (0.30, 0.60),
    "soft_tissue_mass": (0.05, 0.50),
    "posterior_element_involvement": (0.10, 0.55),
    "skipped_lesions": (0.02, 0.35),
}


def _rng(*parts: object) -> np.random.Generator:
    """A generator seeded from names and numbers (stable across processes, unlike hash())."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def drawn_case_facts(*, code: str, malignant: bool, seed: int) -> CaseFacts:
    """Facts for a case whose images know nothing of them (no phantom ground truth).

    Difficulty as the phantoms draw it (18% hard), features from
    :data:`FEATURE_PREVALENCE`, a vertebral body 24 +/- 3 mm high that lost 10-40% of
    its anterior height (benign) or up to 30% (malignant). Seeded by ``seed`` and ``code``.
    """
    rng = _rng(seed, "case-facts", code)
    difficulty = float(rng.uniform(0.65, 1.0) if rng.random() < 0.18 else rng.uniform(0.0, 0.5))
    features = frozenset(key for key, (benign, malignant_share) in FEATURE_PREVALENCE.items()
                         if rng.random() < (malignant_share if malignant else benign))
    posterior = float(np.clip(rng.normal(24.0, 3.0), 12.0, 40.0))
    loss = float(rng.uniform(0.0, 0.3) if malignant else rng.uniform(0.1, 0.4))
    anterior = posterior * (1.0 - loss)
    depth = float(rng.uniform(26.0, 34.0))
    measurements = {
        "anterior_height": anterior,
        "posterior_height": posterior,
        "superior_concavity": float(rng.uniform(0.8, 2.0) + (rng.uniform(0, 3) if not malignant else 0)),
        "inferior_concavity": float(rng.uniform(0.8, 2.0)),
        "vertebral_angle": math.degrees(math.atan2(posterior - anterior, depth)),
    }
    return CaseFacts(code=code, malignant=malignant, difficulty=difficulty, features=features,
                     measurements=measurements)


def _first_calls(reader: SimulatedReader, cases: Sequence[CaseFacts],
                 rng: np.random.Generator) -> dict[str, bool]:
    """Per case code, whether the reader's first call is right (exact counts per class)."""
    right: dict[str, bool] = {}
    for malignant, rate in ((True, reader.sensitivity), (False, reader.specificity)):
        group = [c for c in cases if c.malignant == malignant]
        n_wrong = len(group) - round(rate * len(group))
        # Efraimidis-Spirakis: the n largest u ** (1 / w) are a weighted sample without
        # replacement; in logs, log(u) / w.
        weights = np.array([math.exp(HARDNESS * c.difficulty) for c in group])
        keys = np.log(rng.random(len(group))) / weights
        wrong = set(np.argsort(-keys, kind="stable")[:n_wrong].tolist())
        right.update({c.code: i not in wrong for i, c in enumerate(group)})
    return right


def _certainty(reader: SimulatedReader, case: CaseFacts, correct: bool,
               rng: np.random.Generator) -> float:
    mean = (reader.certainty * (1.0 - 0.6 * case.difficulty) if correct
            else WRONG_CERTAINTY * reader.certainty)
    mean = min(max(mean, 0.05), 0.95)
    return float(rng.beta(mean * CERTAINTY_CONCENTRATION, (1 - mean) * CERTAINTY_CONCENTRATION))


def _answers(reader: SimulatedReader, case: CaseFacts, correct: bool, form: Form,
             rng: np.random.Generator) -> dict[str, Any]:
    malignant_call = case.malignant == correct
    certainty = _certainty(reader, case, correct, rng)
    confidence = round(50 + 50 * certainty if malignant_call else 50 - 50 * certainty)
    answers: dict[str, Any] = {"call": "malignant" if malignant_call else "benign"}
    if form.confidence:
        answers["confidence"] = confidence
    if form.three_tier:
        definite = abs(confidence - 50) >= 50 * DEFINITE_CERTAINTY
        answers["three_tier"] = answers["call"] if definite else "uncertain"
    if form.features:
        answers["features"] = {
            key: bool(rng.random() < (reader.feature_sensitivity if key in case.features
                                      else reader.feature_false_positive))
            for key in FEATURES
        }
    if form.measurements:
        answers["measurements"] = {key: _measure(reader, case, key, rng) for key in form.measurements}
    return answers


def _measure(reader: SimulatedReader, case: CaseFacts, key: str, rng: np.random.Generator) -> float:
    if key not in case.measurements:
        raise ValueError(f"Case {case.code}: no true {key} to measure (the study asks for it).")
    spec, scale = MEASUREMENTS[key], MEASUREMENT_SCALE[key]
    value = case.measurements[key] + scale * (reader.measurement_bias + rng.normal(0.0, reader.measurement_sd))
    # Every measurement question has both bounds today; a bound a question lacks clamps nothing.
    if spec.minimum is not None:
        value = max(value, spec.minimum)
    if spec.maximum is not None:
        value = min(value, spec.maximum)
    return round(value, 1)


def _session_sizes(n: int, rng: np.random.Generator) -> list[int]:
    sizes = []
    while n > 0:
        size = min(int(rng.integers(SESSION_CASES[0], SESSION_CASES[1] + 1)), n)
        sizes.append(size)
        n -= size
    return sizes


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _at_work(day: datetime, rng: np.random.Generator) -> datetime:
    hours = rng.uniform(*WORKDAY_HOURS)
    return day + timedelta(seconds=round(hours * 3600))


def _session_starts(n: int, first_day: datetime, last_day: datetime,
                    rng: np.random.Generator) -> list[datetime]:
    """``n`` session starts in working hours on days spread from ``first_day`` to ``last_day``
    (several a day when the days are fewer than the sessions)."""
    span = max((last_day - first_day).days, 0) + 1
    step = span / max(n, 1)
    return [_at_work(first_day + timedelta(days=min(math.floor(i * step + rng.uniform(0, step)), span - 1)), rng)
            for i in range(n)]


def _reading_seconds(reader: SimulatedReader, case: CaseFacts, rng: np.random.Generator) -> float:
    seconds = reader.median_seconds * (1.0 + 0.5 * case.difficulty) * math.exp(rng.normal(0.0, 0.4))
    return float(np.clip(round(seconds), 15, 900))


def _times(reader: SimulatedReader, cases: Sequence[CaseFacts], starts: Sequence[datetime],
           sizes: Sequence[int], rng: np.random.Generator) -> list[tuple[datetime, datetime]]:
    """Opened and submitted times of ``cases`` read in sessions of ``sizes`` from ``starts``."""
    times, index, previous_end = [], 0, None
    for start, size in zip(starts, sizes, strict=True):
        moment = start if previous_end is None else max(start, previous_end + timedelta(minutes=30))
        for case in cases[index:index + size]:
            opened = moment
            submitted = opened + timedelta(seconds=_reading_seconds(reader, case, rng))
            times.append((opened, submitted))
            moment = submitted + timedelta(seconds=int(rng.integers(5, 46)))
        previous_end, index = moment, index + size
    return times


def simulate_reader(*, reader: SimulatedReader, first_order: Sequence[CaseFacts],
                    repeat_order: Sequence[str], form: Form, washout_days: int, now: datetime,
                    seed: int) -> list[SimulatedRead]:
    """A simulated reader's first reads (in ``first_order``) and repeat reads (in
    ``repeat_order``, case codes), with answers and times; first reads come first.

    Parameters
    ----------
    reader : SimulatedReader
    first_order : sequence of CaseFacts
        Every case the reader reads, in the reader's first-round order.
    repeat_order : sequence of str
        Codes of the cases read again, in the reader's repeat-round order.
    form : Form
        What the study asks.
    washout_days : int
        Every repeat read is made at least this long after the reader's first read of the case.
    now : datetime
        Every read is made before this time (timezone-aware).
    seed : int
        With the reader's username, makes everything reproducible.

    Raises
    ------
    ValueError
        A repeat code that is not among the first-round cases, a naive ``now``, or a
        measurement asked for without a true value.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware.")
    by_code = {case.code: case for case in first_order}
    unknown = [code for code in repeat_order if code not in by_code]
    if unknown:
        raise ValueError(f"Repeat cases not in the first round of {reader.username}: {', '.join(unknown)}.")
    rng = _rng(seed, "simulated-reads", reader.username)
    right = _first_calls(reader, first_order, rng)
    first_answers = [_answers(reader, c, right[c.code], form, rng) for c in first_order]

    first_end = _day_start(now) - timedelta(
        days=max(FIRST_ROUND_ENDS_DAYS_AGO, washout_days + REPEAT_MARGIN_DAYS))
    sizes = _session_sizes(len(first_order), rng)
    starts = _session_starts(len(sizes), first_end - timedelta(days=FIRST_ROUND_DAYS), first_end, rng)
    first_times = _times(reader, first_order, starts, sizes, rng)
    reads = [SimulatedRead(case.code, FIRST, answers, opened, submitted)
             for case, answers, (opened, submitted) in zip(first_order, first_answers, first_times,
                                                           strict=True)]
    if not repeat_order:
        return reads

    repeats = [by_code[code] for code in repeat_order]
    repeat_answers = []
    for case in repeats:
        if rng.random() < reader.consistency:
            correct = right[case.code]
        else:
            rate = reader.sensitivity if case.malignant else reader.specificity
            correct = bool(rng.random() < rate)
        repeat_answers.append(_answers(reader, case, correct, form, rng))
    last_first = max(submitted for _, submitted in first_times)
    # From the day after the washout has passed for every first read, to yesterday.
    first_day = _day_start(last_first + timedelta(days=washout_days)) + timedelta(days=1)
    sizes = _session_sizes(len(repeats), rng)
    starts = _session_starts(len(sizes), first_day, _day_start(now) - timedelta(days=1), rng)
    repeat_times = _times(reader, repeats, starts, sizes, rng)
    if repeat_times[-1][1] >= now:
        raise ValueError(f"{reader.username}: {len(repeats)} repeat reads do not fit between the "
                         f"washout ({washout_days} days) and now; simulate fewer cases.")
    reads += [SimulatedRead(case.code, REPEAT, answers, opened, submitted)
              for case, answers, (opened, submitted) in zip(repeats, repeat_answers, repeat_times,
                                                            strict=True)]
    return reads
