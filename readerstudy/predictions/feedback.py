"""The reveal: what a reader is shown of the model, the reference standard and an expert's
features, decided on the server for each request from the study's mode (``Study.mode``) and
the reader's own locked reads.

- **blinded** studies reveal nothing, to anyone.
- **second-read assisted** studies: once the reader's unaided (first-round) read of the case is
  submitted, and so locked, the model's probability, its three-tier call and the saliency map
  (the first round's ``shown_after`` and the aided round's ``shown_before``); never the truth.
- **teaching** studies: to trainees (role trainee or resident) only, after their read of the
  case is locked, the model's output and saliency, the reference standard with its source and,
  where an attending scored the features, theirs beside the trainee's.

What each round shows is the protocol's (``protocol.ROUNDS``); only for cases in the reader's
own worklist. Every refusal is the same :class:`FeedbackUnavailable` (a 404 for the API), so a
refusal says nothing about why. Where the model looked is read from the prediction, where the
worker stored it (:mod:`readerstudy.predictions.worker`): a request loads no network.
"""

from __future__ import annotations

from typing import Any

from readerstudy.accounts.models import ReaderProfile
from readerstudy.core.models import AuditEvent, audit
from readerstudy.predictions import selectors
from readerstudy.predictions.models import Prediction
from readerstudy.studies import pseudonyms
from readerstudy.studies import selectors as study_selectors
from readerstudy.studies.models import Case, Read, ReadingSlot, ReferenceStandard, Study
from readerstudy.studies.protocol import (
    AIDED,
    EXPERT_FEATURES,
    FEATURES,
    FIRST,
    MODEL_OUTPUT,
    REFERENCE,
    ROUNDS,
    SALIENCY,
    TEACHING,
    rounds_for,
)
from readerstudy.vocabulary import LABELS, THREE_TIER

__all__ = ["FeedbackUnavailable", "feedback_for", "is_trainee", "revealed_for"]


class FeedbackUnavailable(Exception):
    """No feedback for this user and case (whatever the reason)."""


def is_trainee(reader) -> bool:
    """Whom a teaching study teaches (``ReaderProfile.is_trainee``); its attendings, the
    experts, are never shown anything."""
    profile = getattr(reader, "reader_profile", None)
    return profile is not None and profile.is_trainee


def revealed_for(*, study: Study, reader, case: Case) -> tuple[str, ...]:
    """What ``reader`` may be shown of ``case`` now (the one rule, for every endpoint): the union
    of what their submitted reads reveal after them and what a round they may now read shows
    with the images; () in a blinded study, and for a non-trainee in a teaching study."""
    if study.mode == TEACHING and not is_trainee(reader):
        return ()
    rounds_done = set(Read.objects.filter(study=study, reader=reader, case=case).values_list("round", flat=True))
    slots = set(ReadingSlot.objects.filter(study=study, reader=reader, case=case).values_list("round", flat=True))
    shown: dict[str, None] = {}
    for definition in rounds_for(study):
        if definition.key in rounds_done:
            shown.update(dict.fromkeys(definition.shown_after_read(study)))
        if definition.shown_before and definition.key in slots and (
                not definition.repeats or definition.repeats in rounds_done):
            shown.update(dict.fromkeys(definition.shown_before))
    return tuple(shown)


def feedback_for(*, reader, slug: str, code: str, round: str = FIRST) -> dict[str, Any]:
    """What ``reader`` is shown of one case (``code`` as they see it in ``round``), audited.

    Returns
    -------
    dict
        ``case``; ``mode``; ``shown`` (what is revealed: model_output, saliency, reference,
        expert_features); ``your_reads`` (the reader's own reads of the case, by round);
        ``reference`` (label, its label in words, source) or None; ``model`` (reader name,
        probability, call, three_tier and its label, thresholds) or None, ``model_pending``
        when the model output is revealed but no model has read the case yet; ``saliency``
        (method and one PNG data URI per view, as the worker stored it) or None;
        ``features`` (the expert's role and years, and per feature the reader's answer, the
        expert's and whether they disagree) or None; ``aided`` (the code and round of the
        aided read still to make, or None).

    Raises
    ------
    FeedbackUnavailable
        Not assigned to the study, the case is not in the reader's worklist, or nothing is
        revealed to this reader about it now.
    """
    study = study_selectors.study_for_reader(reader=reader, slug=slug)
    if study is None or round not in ROUNDS:
        raise FeedbackUnavailable
    stored = pseudonyms.case_code_resolve(study=study, reader=reader, round=round, code=code)
    slot = stored and ReadingSlot.objects.select_related("case").filter(
        study=study, reader=reader, case__code=stored).first()
    if not slot:
        raise FeedbackUnavailable
    case = slot.case
    shown = revealed_for(study=study, reader=reader, case=case)
    if not shown:
        raise FeedbackUnavailable
    reads = {r.round: r for r in Read.objects.filter(study=study, reader=reader, case=case)}
    prediction = (
        Prediction.objects.filter(case=case).select_related("model_version")
        .order_by("-model_version__created_at", "-model_version__pk").first()
    ) if MODEL_OUTPUT in shown or SALIENCY in shown else None
    reference = ReferenceStandard.objects.filter(case=case).first() if REFERENCE in shown else None
    aided_due = (AIDED not in reads and ReadingSlot.objects.filter(
        study=study, reader=reader, case=case, round=AIDED).exists())
    body = {
        "case": code,
        "mode": study.mode,
        "shown": list(shown),
        "your_reads": {
            key: {"round_label": ROUNDS[key].label, "call": r.call, "confidence": r.confidence,
                  "three_tier": r.three_tier or None, "submitted_at": r.submitted_at}
            for key, r in reads.items()
        },
        "reference": (
            {"label": reference.label, "label_text": LABELS[reference.label], "source": reference.source,
             "source_text": reference.get_source_display()}
            if reference else None
        ),
        "model": _model_part(prediction) if prediction and MODEL_OUTPUT in shown else None,
        "model_pending": MODEL_OUTPUT in shown and prediction is None,
        "saliency": prediction.saliency if prediction and SALIENCY in shown else None,
        "features": _features_part(study, case, reads) if EXPERT_FEATURES in shown else None,
        "aided": {"code": pseudonyms.case_code(case=case, round=AIDED), "round": AIDED} if aided_due else None,
    }
    audit(actor=reader, verb=AuditEvent.Verb.FEEDBACK, object_type="studies.case",
          object_id=case.code, study_slug=study.slug, shown=list(shown),
          model=prediction.model_version.reader_name if prediction else None)
    return body


def _model_part(prediction: Prediction) -> dict[str, Any]:
    model_version = prediction.model_version
    lower, upper = model_version.thresholds
    return {
        "reader": model_version.reader_name,
        "probability": prediction.probability,
        "call": selectors.call_for(prediction.probability, model_version.card),
        "three_tier": prediction.three_tier,
        "three_tier_label": THREE_TIER.get(prediction.three_tier, prediction.three_tier),
        "thresholds": {"lower": lower, "upper": upper},
        "intended_use": model_version.card.get("intended_use", ""),
    }


def expert_read(*, study: Study, case: Case) -> Read | None:
    """The features an expert scored for ``case``: the first read of the study's most
    experienced attending who ticked the checklist for it."""
    return (
        Read.objects.filter(study=study, case=case, round=FIRST,
                            reader__reader_profile__role=ReaderProfile.Role.ATTENDING)
        .exclude(features={}).select_related("reader__reader_profile")
        .order_by("-reader__reader_profile__years_experience", "reader__username").first()
    )


def _features_part(study: Study, case: Case, reads: dict[str, Read]) -> dict[str, Any] | None:
    expert = expert_read(study=study, case=case)
    own = reads.get(FIRST) or next(iter(reads.values()), None)
    if expert is None or own is None:
        return None
    profile = expert.reader.reader_profile
    rows = []
    for key, label in FEATURES.items():
        yours, theirs = own.features.get(key), expert.features.get(key)
        rows.append({"key": key, "label": label, "yours": yours, "expert": theirs,
                     "discordant": yours is not None and theirs is not None and yours != theirs})
    return {"expert": {"role": profile.get_role_display(), "years_experience": profile.years_experience},
            "rows": rows, "discordant": sum(r["discordant"] for r in rows)}
