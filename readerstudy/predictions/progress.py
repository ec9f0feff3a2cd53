"""A trainee's progress in a teaching study: their learning curve against the model and the
attendings on the same cases, the cases to review, and the features that misled them.

Only the trainee's own locked reads count, and only what the teaching feedback has already
shown them after each read (the reference standard, the model's call, an expert's features),
so the page reveals nothing the feedback did not. Every proportion is
:func:`readerstudy.stats.proportions.proportion` (Wilson 95% interval).

The misleading features follow the error analysis of first-year residents' reads of benign
and malignant vertebral fractures on MRI: per feature, how often the trainee ticked it in the
reads they got wrong against the reads they got right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from readerstudy.accounts.models import ReaderProfile
from readerstudy.predictions import selectors
from readerstudy.predictions.feedback import is_trainee
from readerstudy.predictions.models import Prediction
from readerstudy.stats.proportions import Proportion, proportion
from readerstudy.studies.models import Read, ReferenceStandard, Study
from readerstudy.studies.protocol import FEATURES, FIRST, TEACHING
from readerstudy.vocabulary import MALIGNANT, THREE_TIER

__all__ = ["ProgressUnavailable", "Scores", "scores_of", "trainee_progress"]

WINDOW = 10  # reads in the rolling window of the learning curve


class ProgressUnavailable(Exception):
    """No progress page for this user and study (not a trainee of a teaching study)."""


@dataclass(frozen=True)
class Scores:
    accuracy: Proportion
    sensitivity: Proportion
    specificity: Proportion


def scores_of(pairs: list[tuple[str, str]]) -> Scores:
    """Accuracy, sensitivity and specificity of ``(call, truth)`` pairs, with Wilson intervals."""
    malignant = [call for call, truth in pairs if truth == MALIGNANT]
    benign = [call for call, truth in pairs if truth != MALIGNANT]
    return Scores(
        accuracy=proportion(sum(c == t for c, t in pairs), len(pairs), of="reads"),
        sensitivity=proportion(sum(c == MALIGNANT for c in malignant), len(malignant), of="malignant cases"),
        specificity=proportion(sum(c != MALIGNANT for c in benign), len(benign), of="benign cases"),
    )


def trainee_progress(*, study: Study, reader, window: int = WINDOW) -> dict[str, Any]:
    """The progress page's content for ``reader`` in the teaching study ``study``.

    Returns
    -------
    dict
        ``curve``: one point per locked read (``n``, and ``Scores`` of the last ``window``
        reads); ``yours``, ``model``, ``attendings``: ``Scores`` on the cases the trainee
        has read (``model`` None without predictions, ``attendings`` None without their reads);
        ``to_review``: the reads to look at again (wrong calls, disagreements with the model),
        newest first; ``features``: per feature ticked in a wrong read, the counts in wrong and
        right reads; ``n_reads``, ``window``.

    Raises
    ------
    ProgressUnavailable
        The study is not a teaching study, or the reader is not one of its trainees.
    """
    if study.mode != TEACHING or not is_trainee(reader):
        raise ProgressUnavailable
    reads = list(
        Read.objects.of_reading_cases().filter(study=study, reader=reader, round=FIRST)
        .select_related("case").order_by("submitted_at", "pk")
    )
    truth = dict(ReferenceStandard.objects.filter(case__study=study).values_list("case_id", "label"))
    reads = [r for r in reads if r.case_id in truth]
    cases = [r.case_id for r in reads]
    pairs = [(r.call, truth[r.case_id]) for r in reads]
    curve = [
        {"n": i, "scores": scores_of(pairs[max(0, i - window):i])} for i in range(1, len(pairs) + 1)
    ]
    predictions = _newest_predictions(cases)
    # Scored at the card's decision threshold (benign or malignant), as the readers' calls are.
    model_calls = {case: selectors.call_for(p.probability, p.model_version.card) for case, p in predictions.items()}
    attending_pairs = [
        (call, truth[case_id]) for call, case_id in Read.objects.filter(
            study=study, round=FIRST, case_id__in=cases,
            reader__reader_profile__role=ReaderProfile.Role.ATTENDING,
        ).values_list("call", "case_id")
    ]
    to_review = []
    for read in reversed(reads):
        reasons = []
        if read.call != truth[read.case_id]:
            reasons.append("wrong call")
        model_call = model_calls.get(read.case_id)
        if model_call is not None and model_call != read.call:
            reasons.append("the model disagreed")
        if reasons:
            to_review.append({"code": read.case.code, "call": read.call, "truth": truth[read.case_id],
                              "model_call": model_call,
                              "model_said": _model_said(predictions[read.case_id]) if model_call else None,
                              "reasons": reasons, "submitted_at": read.submitted_at})
    return {
        "n_reads": len(reads),
        "window": window,
        "curve": curve,
        "yours": scores_of(pairs),
        "model": scores_of([(model_calls[c], truth[c]) for c in cases if c in model_calls]) if model_calls else None,
        "attendings": scores_of(attending_pairs) if attending_pairs else None,
        "to_review": to_review,
        "features": _misleading_features(reads, truth),
    }


def _newest_predictions(case_ids: list[int]) -> dict[int, Prediction]:
    """The newest model version's prediction per case (what the feedback showed)."""
    newest: dict[int, Prediction] = {}
    for prediction in (Prediction.objects.filter(case_id__in=case_ids).select_related("model_version")
                       .order_by("model_version__created_at", "model_version__pk")):
        newest[prediction.case_id] = prediction
    return newest


def _model_said(prediction: Prediction) -> str:
    """The model's output as the feedback gave it: "36.4 %, uncertain"."""
    return f"{prediction.probability * 100:.1f} %, {THREE_TIER.get(prediction.three_tier, prediction.three_tier)}"


def _misleading_features(reads: list[Read], truth: dict[int, str]) -> list[dict[str, Any]]:
    wrong = [r for r in reads if r.features and r.call != truth[r.case_id]]
    right = [r for r in reads if r.features and r.call == truth[r.case_id]]
    rows = []
    for key, label in FEATURES.items():
        in_wrong = sum(bool(r.features.get(key)) for r in wrong)
        if not in_wrong:
            continue
        in_right = sum(bool(r.features.get(key)) for r in right)
        rows.append({"key": key, "label": label, "in_wrong": in_wrong, "wrong": len(wrong),
                     "in_right": in_right, "right": len(right),
                     "share_wrong": in_wrong / len(wrong), "share_right": in_right / len(right) if right else 0.0})
    return sorted(rows, key=lambda row: row["share_right"] - row["share_wrong"])
