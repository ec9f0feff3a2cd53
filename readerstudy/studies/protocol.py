"""The reading protocol as data: the questions a read answers and the rounds cases are read in.

After grand-challenge's reader studies (a ``Question`` whose ``Answer.validate`` is the rule):
every question is one entry of :data:`QUESTIONS`, every round one entry of :data:`ROUNDS`,
and the rest of the platform is built from these registries:

* the one rule for a valid read, :func:`readerstudy.studies.answer_form.validate_answers`
  (``services.read_submit``, the API and any task call it) and where a read stores each answer;
* the reads API's submission serializer (``studies.api.reader``);
* the answer form of the reading room: the case payload carries the questions
  (``answer_form.form_description``) and the frontend builds its form from them;
* the export frame's columns (``readerstudy.analysis.frames``);
* the reading orders, the washout, what a reader is shown and how the analysis counts a round
  (``services``, ``analysis.frames``, ``predictions.feedback``).

A new question is one :class:`Question` in ``QUESTIONS`` (or :func:`register` called on one):
answers to questions without a column of their own are kept in the read's JSON ``answers``.
A question a study may switch off names the study field that switches it (``asked_by``).

Pure Python: no Django import, so the statistics and any script can read the protocol.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from readerstudy import vocabulary
from readerstudy.studies import keymap

__all__ = [
    "AIDED",
    "ASSISTED",
    "BLINDED",
    "FEATURES",
    "FIRST",
    "GROUPS",
    "MEASUREMENTS",
    "MODES",
    "QUESTIONS",
    "REPEAT",
    "ROUNDS",
    "TEACHING",
    "AnswerError",
    "Choice",
    "Group",
    "Kind",
    "Question",
    "RoundDefinition",
    "group_questions",
    "is_asked",
    "question_switches",
    "questions_for",
    "register",
    "round_choices",
    "rounds_for",
    "unregister",
]


class Kind(StrEnum):
    """What kind of answer a question takes (the frontend draws each kind its own way)."""

    CHOICE = "choice"  # one of the question's choices (radio buttons)
    SCALE = "scale"  # a whole number from minimum to maximum (a slider that starts unset)
    NUMBER = "number"  # a number from minimum to maximum, in the question's unit
    BOOLEAN = "boolean"  # true or false (a checkbox: unticked is false)


class AnswerError(ValueError):
    """An answer that does not fit its question; the message says what would."""


@dataclass(frozen=True)
class Choice:
    key: str
    label: str
    shortcut: str = ""  # a key that picks this choice in the reading room
    # The answers of the question's ``consistent_with`` question that this choice contradicts
    # ("definitely malignant" contradicts a benign call).
    contradicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """Questions answered together: one object in a submission, one fieldset in the form.

    ``prefix`` names their columns in the export frame (``<prefix>_<key>``) and their inputs
    in the form (``<prefix>-<key>``). ``own_field``: the read keeps the group's answers in its
    JSON field of the group's name; otherwise under the group's key of the read's ``answers``.
    """

    key: str
    label: str
    prefix: str
    help: str = ""
    own_field: bool = False


@dataclass(frozen=True)
class Question:
    """One question of the answer form.

    Attributes
    ----------
    key : str
        The answer's name in a submission, a read and the export frame.
    kind : Kind
    label, help : str
        What the reader sees.
    choices : tuple of Choice
        For a ``CHOICE``.
    minimum, maximum : float
        For a ``SCALE`` or ``NUMBER``, inclusive.
    unit : str
        For a ``SCALE`` or ``NUMBER`` ("mm", "degrees", "%").
    group : str
        The key of the :class:`Group` the question is answered in; "" for a question of its own.
    asked_by : str
        The ``Study`` field that switches the question on: a boolean, or a list of the keys
        asked (``Study.measurements``). "" asks it in every study.
    modalities, rounds : tuple of str
        The study modalities (``"CT"``, ``"MR"``) and the rounds it is asked in; () for all.
    required : bool
        Whether a read must answer it when it is asked.
    own_field : bool
        The read keeps the answer in the column of the question's key (``call``,
        ``confidence``, ``three_tier``); otherwise in its JSON ``answers`` (or its group's).
    column : str
        The export frame's column; by default the key (``<prefix>_<key>`` in a group).
    shortcuts : tuple of float
        A ``SCALE``'s values for the keys 1, 2, ... of the reading room.
    anchors : tuple of str
        What the two ends of a ``SCALE`` mean ("benign", "malignant").
    consistent_with : str
        The benign/malignant question this one must agree with. For a ``SCALE`` that is a
        probability of malignancy, a value above the middle of the scale is a malignant call,
        below it a benign one; for a ``CHOICE``, each choice lists the calls it contradicts
        (``Choice.contradicts``). :meth:`Question.contradiction` is the rule; the reading room
        applies the same rule to the table :meth:`Question.refused_with` describes.
    """

    key: str
    kind: Kind
    label: str
    help: str = ""
    choices: tuple[Choice, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    group: str = ""
    asked_by: str = ""
    modalities: tuple[str, ...] = ()
    rounds: tuple[str, ...] = ()
    required: bool = True
    own_field: bool = False
    column: str = ""
    shortcuts: tuple[float, ...] = ()
    anchors: tuple[str, ...] = ()
    consistent_with: str = ""

    @property
    def frame_column(self) -> str:
        if self.column:
            return self.column
        return f"{GROUPS[self.group].prefix}_{self.key}" if self.group else self.key

    @property
    def choice_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.choices)

    def clean(self, value: Any) -> Any:
        """The answer as stored; ``None`` for an optional question left unanswered.

        Raises :class:`AnswerError` saying what the answer should be.
        """
        if value is None and not self.required:
            return None
        if self.kind is Kind.CHOICE:
            if value not in self.choice_keys:
                raise AnswerError(f"Required: one of {', '.join(self.choice_keys)} (got {value!r}).")
            return value
        if self.kind is Kind.BOOLEAN:
            if not isinstance(value, bool):
                raise AnswerError(f"Required: true or false (got {value!r}).")
            return value
        span = f"{_number(self.minimum)} to {_number(self.maximum)}"
        if self.kind is Kind.SCALE:
            if value is None or isinstance(value, bool):
                raise AnswerError(f"Required: the {self.label.lower()}, {span}.")
            number = _as_float(value)
            if not (self.minimum <= number <= self.maximum) or number != int(number):  # type: ignore[operator]
                raise AnswerError(f"Must be a whole number from {span} (got {value!r}).")
            return int(number)
        number = _as_float(None if isinstance(value, bool) else value)
        if math.isnan(number):
            raise AnswerError(f"Required: a number in {self.unit} (got {value!r}).")
        if not (self.minimum <= number <= self.maximum):  # type: ignore[operator]
            raise AnswerError(
                f"{_number(number)} {self.unit} is outside {self.minimum}..{self.maximum}."
            )
        return number

    def refused_with(self) -> dict[str, dict[str, Any]]:
        """Which answers contradict each answer of the ``consistent_with`` question, as data the
        reading room checks answers against: ``{call: {"choices": [...]}}`` for a ``CHOICE``,
        ``{call: {"above": x}}`` or ``{call: {"below": x}}`` for a ``SCALE``."""
        if not self.consistent_with:
            return {}
        if self.kind is Kind.SCALE:
            middle = (self.minimum + self.maximum) / 2  # type: ignore[operator]
            return {vocabulary.BENIGN: {"above": middle}, vocabulary.MALIGNANT: {"below": middle}}
        refused: dict[str, dict[str, Any]] = {}
        for choice in self.choices:
            for call in choice.contradicts:
                refused.setdefault(call, {"choices": []})["choices"].append(choice.key)
        return refused

    def contradiction(self, value: Any, answers: dict[str, Any]) -> str:
        """Why ``value`` contradicts the question it must agree with; "" when it does not.

        The one rule for consistent answers: ``validate_answers`` (the API, the page's
        submissions, the admin) calls it, and the reading room applies the same table
        (:meth:`refused_with`) before sending.
        """
        call = answers.get(self.consistent_with)
        if not self.consistent_with or value is None or call is None:
            return ""
        refused = self.refused_with().get(call, {})
        if self.kind is Kind.SCALE:
            if value > refused.get("above", math.inf) or value < refused.get("below", -math.inf):
                return (f"A {call} call with a {value}{self.unit} {_in_sentence(self.label)} is "
                        "contradictory: adjust the call or the slider.")
            return ""
        if value in refused.get("choices", ()):
            label = next(c.label for c in self.choices if c.key == value)
            return (f"A {call} call with \"{_in_sentence(label)}\" as the {_in_sentence(self.label)} is "
                    f"contradictory: adjust the call or the {_in_sentence(self.label)}.")
        return ""


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _in_sentence(label: str) -> str:
    """``label`` inside a sentence: its first letter in lower case, the rest as written ("MRI" stays)."""
    return label[:1].lower() + label[1:]


def _number(value: float | None) -> str:
    return f"{value:g}" if value is not None else "?"


# The rounds, by key.
FIRST = "first"
REPEAT = "repeat"
AIDED = "aided"

# What a round can show a reader, before the read (with the images) or after it.
MODEL_OUTPUT = "model_output"  # the model's probability of malignancy and three-tier call
SALIENCY = "saliency"  # where the model looked (Grad-CAM, made by the worker)
REFERENCE = "reference"  # the case's reference standard and its source
EXPERT_FEATURES = "expert_features"  # an expert's feature checklist beside the reader's own
ASSISTANCE = (MODEL_OUTPUT, SALIENCY)
TEACHING_FEEDBACK = (MODEL_OUTPUT, SALIENCY, REFERENCE, EXPERT_FEATURES)

# The study modes (``Study.mode``): what a reader may ever be shown. Fixed when the study opens.
BLINDED = "blinded"  # no model output or truth ever reaches a reader, by any endpoint
ASSISTED = "assisted"  # second-read assisted: the model after the locked unaided read, then an aided read
TEACHING = "teaching"  # trainees see the model, the truth and an expert's features after each read

MODES: dict[str, str] = {
    BLINDED: "blinded",
    ASSISTED: "second-read assisted",
    TEACHING: "teaching",
}
MODE_HELP: dict[str, str] = {
    BLINDED: "No model output or reference standard ever reaches a reader.",
    ASSISTED: "Each reader locks an unaided read; then the model's probability, three-tier call and "
              "saliency are shown and the reader records an AI-aided read (its own round).",
    TEACHING: "After each locked read a trainee (resident or trainee) sees the model's output and "
              "saliency, the reference standard with its source and an expert's features beside theirs.",
}

ROUND_KEY_LENGTH = 10  # the reads' and reading orders' round column

# Which cases a round reads.
ALL_CASES = "all"  # every reading case (not the training set)
REPEAT_SAMPLE = "repeat_sample"  # the study's repeat sample of patients (Study.repeat_sample_size)


@dataclass(frozen=True)
class RoundDefinition:
    """One reading round: which cases, when each is due, what the reader is shown, and how the
    analysis counts its reads.

    Attributes
    ----------
    key, label : str
    cases : str
        :data:`ALL_CASES` or :data:`REPEAT_SAMPLE`; each reader reads them in their own
        order for the round (``ordering.reading_order``).
    sample_size_from : str
        For :data:`REPEAT_SAMPLE`: the ``Study`` field giving how many patients are drawn
        (``repeat_sample_size``; the same patients for every reader when the study's
        ``repeat_same_patients`` is set).
    repeats : str
        The round whose read of a case must be submitted (locked) before this round's: a case
        is due the washout after the reader's read in that round
        (``services.repeat_available_from``), and the read records it (``Read.first_read``).
    washout_from : str
        The ``Study`` field giving the washout in days (``washout_days``); "" for none.
    enabled_by : str
        The ``Study`` field that turns the round on (a number above 0 or true); "" for every study.
    modes : tuple of str
        The study modes (:data:`MODES`) that read this round; () for every mode.
    in_use : bool
        False for a round that is defined but not read yet: no study draws reading orders
        for it, and the services refuse to open or store a read in it
        (``exceptions.RoundNotRead``, saying ``not_read_because``).
    not_read_because : str
        Why a round not in use is not read yet.
    shown_before : tuple of str
        What the reader sees with the images (:data:`MODEL_OUTPUT`, :data:`SALIENCY`), from
        the moment the read it repeats is locked.
    shown_after : tuple of (mode, tuple of str)
        What a reader sees once their read in this round is submitted, per study mode
        (:data:`MODEL_OUTPUT`, :data:`SALIENCY`, :data:`REFERENCE`, :data:`EXPERT_FEATURES`).
    pseudonyms_of : str
        The round whose case codes and image UIDs the reader sees (``studies.pseudonyms``);
        "" for the round's own. The aided round shows the case just read, so it keeps the
        first round's: the reader knows it is the same case.
    condition : str
        Appended to the modality in the export frame's ``condition`` ("CT + AI").
    analysed_as : str
        The export frame's ``round``: "first" or "repeat".
    """

    key: str
    label: str
    cases: str = ALL_CASES
    sample_size_from: str = ""
    repeats: str = ""
    washout_from: str = ""
    enabled_by: str = ""
    modes: tuple[str, ...] = ()
    in_use: bool = True
    not_read_because: str = ""
    shown_before: tuple[str, ...] = ()
    shown_after: tuple[tuple[str, tuple[str, ...]], ...] = ()
    pseudonyms_of: str = ""
    condition: str = ""
    analysed_as: str = FIRST

    def __post_init__(self) -> None:
        if len(self.key) > ROUND_KEY_LENGTH:
            raise ValueError(f"A round's key has at most {ROUND_KEY_LENGTH} characters: {self.key!r}.")
        unknown = (set(self.modes) | {mode for mode, _shown in self.shown_after}) - set(MODES)
        if unknown:
            raise ValueError(f"Round {self.key!r}: unknown modes {sorted(unknown)}.")

    def washout_days(self, study: Any) -> int:
        """The days a read in this round waits after the read it repeats."""
        return int(getattr(study, self.washout_from)) if self.washout_from else 0

    def sample_size(self, study: Any) -> int | None:
        """How many patients this round reads for ``study``; None for every reading case."""
        return int(getattr(study, self.sample_size_from)) if self.cases == REPEAT_SAMPLE else None

    def enabled_for(self, study: Any) -> bool:
        return (self.in_use and (not self.enabled_by or bool(getattr(study, self.enabled_by)))
                and (not self.modes or study.mode in self.modes))

    def shown_after_read(self, study: Any) -> tuple[str, ...]:
        """What a reader of ``study`` sees once their read in this round is submitted."""
        return dict(self.shown_after).get(study.mode, ())

    def condition_for(self, modality_label: str) -> str:
        return f"{modality_label} {self.condition}" if self.condition else modality_label


ROUNDS: dict[str, RoundDefinition] = {
    r.key: r for r in (
        RoundDefinition(
            FIRST, "first read",
            shown_after=((ASSISTED, ASSISTANCE), (TEACHING, TEACHING_FEEDBACK)),
        ),
        RoundDefinition(
            REPEAT, "repeat read", cases=REPEAT_SAMPLE, sample_size_from="repeat_sample_size",
            repeats=FIRST, washout_from="washout_days", enabled_by="repeat_sample_size",
            shown_after=((TEACHING, TEACHING_FEEDBACK),), analysed_as=REPEAT,
        ),
        # Second-read assisted: once the unaided first read is locked the reader sees the
        # model's output over the same images and reads again; its reads are first reads in
        # the condition "<modality> + AI" and never change the unaided read.
        RoundDefinition(
            AIDED, "AI-aided read", repeats=FIRST, modes=(ASSISTED,), pseudonyms_of=FIRST,
            shown_before=ASSISTANCE, condition="+ AI",
        ),
    )
}


def round_choices() -> list[tuple[str, str]]:
    """The rounds as the model fields' choices (a callable: a new round needs no migration)."""
    return [(r.key, r.label) for r in ROUNDS.values()]


def rounds_for(study: Any) -> list[RoundDefinition]:
    """The rounds ``study``'s readers read, in the registry's order."""
    return [r for r in ROUNDS.values() if r.enabled_for(study)]


GROUPS: dict[str, Group] = {
    g.key: g for g in (
        Group("features", "Features present", prefix="feature", own_field=True),
        Group("measurements", "Measurements", prefix="measurement", own_field=True,
              help="On the mid-sagittal slice; the length tool (L) can fill the mm fields."),
    )
}

QUESTIONS: dict[str, Question] = {}


def register(question: Question) -> Question:
    """Add ``question`` to the form (after the questions already there); checks that it is whole."""
    problems = []
    if question.key in QUESTIONS:
        problems.append(f"the key {question.key!r} is taken")
    if question.group and question.group not in GROUPS:
        problems.append(f"no group {question.group!r}")
    if question.kind is Kind.CHOICE and not question.choices:
        problems.append("a choice needs choices")
    if question.kind in (Kind.SCALE, Kind.NUMBER) and (
            question.minimum is None or question.maximum is None or question.minimum > question.maximum):
        problems.append("a scale or number needs minimum <= maximum")
    if question.consistent_with and question.kind not in (Kind.SCALE, Kind.CHOICE):
        problems.append("only a scale or a choice can be consistent with a call")
    if any(c.contradicts for c in question.choices) and not question.consistent_with:
        problems.append("a choice that contradicts a call needs consistent_with")
    taken = {c.shortcut.lower(): f"{q.label}: {c.label}" for q in QUESTIONS.values() for c in q.choices if c.shortcut}
    for choice in question.choices:
        conflict = keymap.shortcut_conflict(choice.shortcut, taken) if choice.shortcut else ""
        if conflict:
            problems.append(f"choice {choice.key!r}: {conflict}")
        elif choice.shortcut:
            taken[choice.shortcut.lower()] = f"{question.label}: {choice.label}"
    unknown_rounds = set(question.rounds) - set(ROUNDS)
    if unknown_rounds:
        problems.append(f"unknown rounds {sorted(unknown_rounds)}")
    if problems:
        raise ValueError(f"Question {question.key!r}: {'; '.join(problems)}.")
    QUESTIONS[question.key] = question
    return question


def unregister(key: str) -> None:
    del QUESTIONS[key]


def _call_choices(labels: dict[str, str], shortcuts: dict[str, str] | None = None,
                  contradicts: dict[str, tuple[str, ...]] | None = None) -> tuple[Choice, ...]:
    return tuple(Choice(key, vocabulary.sentence_case(label), (shortcuts or {}).get(key, ""),
                        (contradicts or {}).get(key, ()))
                 for key, label in labels.items())


register(Question(
    "call", Kind.CHOICE, "Call", own_field=True,
    choices=_call_choices(vocabulary.LABELS, {vocabulary.BENIGN: "B", vocabulary.MALIGNANT: "M"}),
))
register(Question(
    "confidence", Kind.SCALE, "Probability of malignancy", own_field=True, asked_by="ask_confidence",
    minimum=0, maximum=100, unit="%", column="score", shortcuts=(10, 30, 50, 70, 90),
    anchors=(vocabulary.BENIGN, vocabulary.MALIGNANT), consistent_with="call",
))
register(Question(
    "three_tier", Kind.CHOICE, "Three-tier call", own_field=True, asked_by="ask_three_tier",
    # A definite call must be the binary call; "uncertain - recommend MRI" goes with either.
    choices=_call_choices(vocabulary.THREE_TIER, contradicts={
        vocabulary.BENIGN: (vocabulary.MALIGNANT,), vocabulary.MALIGNANT: (vocabulary.BENIGN,)}),
    consistent_with="call",
))

# The 15 binary MRI features of the published protocol, in its order.
for _key, _label in (
    ("no_collapse", "Absence of collapse"),
    ("anterior_wedge", "Anterior wedge deformity (preserved posterior height)"),
    ("entire_body_compression", "Compression of entire body"),
    ("central_concave", "Central concave deformity"),
    ("homogeneous_marrow", "Homogeneous marrow signal"),
    ("dark_line_band", "Intravertebral dark line or band"),
    ("band_edema", "Band-pattern marrow edema"),
    ("dark_patch", "Intravertebral dark patch"),
    ("fluid_cleft", "Fluid or necrotic cleft"),
    ("diffuse_signal_change", "Diffuse signal change of the body > 3/4"),
    ("mass_like_lesion", "Intravertebral mass-like or nodular lesion"),
    ("body_protrusion", "Anterior/posterior protrusion of the body"),
    ("soft_tissue_mass", "Epidural/paraspinal soft-tissue mass"),
    ("posterior_element_involvement", "Pedicle and posterior element involvement"),
    ("skipped_lesions", "Skipped nodular lesions in other vertebrae"),
):
    register(Question(_key, Kind.BOOLEAN, _label, group="features", asked_by="ask_features"))

# Continuous measurements on the mid-sagittal slice; a study asks for those it lists.
for _key, _label, _unit, _minimum, _maximum in (
    ("anterior_height", "Anterior height", "mm", 0.0, 80.0),
    ("posterior_height", "Posterior height", "mm", 0.0, 80.0),
    ("superior_concavity", "Superior endplate concavity", "mm", 0.0, 40.0),
    ("inferior_concavity", "Inferior endplate concavity", "mm", 0.0, 40.0),
    ("vertebral_angle", "Vertebral angle", "degrees", -90.0, 90.0),
):
    register(Question(_key, Kind.NUMBER, _label, group="measurements", asked_by="measurements",
                      unit=_unit, minimum=_minimum, maximum=_maximum))


def group_questions(group: str) -> dict[str, Question]:
    """The registered questions of ``group``, by key, in the form's order."""
    return {q.key: q for q in QUESTIONS.values() if q.group == group}


# The built-in checklist and measurements by key (label, unit, minimum, maximum).
FEATURES: dict[str, str] = {key: q.label for key, q in group_questions("features").items()}
MEASUREMENTS: dict[str, Question] = group_questions("measurements")


def question_switches() -> tuple[str, ...]:
    """The ``Study`` fields that switch questions on, in the form's order."""
    return tuple(dict.fromkeys(q.asked_by for q in QUESTIONS.values() if q.asked_by))


def is_asked(question: Question, study: Any, round: str | None = None) -> bool:
    """Whether ``study`` asks ``question`` (in ``round``; in any of its rounds when None)."""
    if question.modalities and study.modality not in question.modalities:
        return False
    if round is not None and question.rounds and round not in question.rounds:
        return False
    if not question.asked_by:
        return True
    switch = getattr(study, question.asked_by)
    if isinstance(switch, list | tuple | set | frozenset):
        return question.key in switch
    return bool(switch)


def questions_for(study: Any, round: str | None = None) -> Iterator[Question]:
    """The questions ``study`` asks in ``round`` (in any of its rounds when None), in order."""
    return (q for q in QUESTIONS.values() if is_asked(q, study, round))
