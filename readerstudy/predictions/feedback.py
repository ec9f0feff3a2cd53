"""AI-assisted feedback for trainees: after their own read of a case, the model's output,
the reference standard and where the model looked.

Only in studies with ``ai_feedback``, only for cases in the trainee's own worklist, and
only once the trainee's read of the case is submitted; what is shown is what the read's round
reveals after a read (``protocol.ROUNDS[...].shown_after_read``). Every refusal is the same
:class:`FeedbackUnavailable` (a 404 for the API), so a refusal says nothing about why.

Where the model looked (Grad-CAM) is read from the prediction, where the worker stored it
(:mod:`readerstudy.predictions.worker`): a feedback request loads no network.
"""

from __future__ import annotations

from typing import Any

from readerstudy.core.models import AuditEvent, audit
from readerstudy.predictions import selectors
from readerstudy.predictions.models import Prediction
from readerstudy.studies import selectors as study_selectors
from readerstudy.studies.models import Read, ReadingSlot, ReferenceStandard
from readerstudy.studies.protocol import MODEL_OUTPUT, REFERENCE, ROUNDS, SALIENCY
from readerstudy.vocabulary import THREE_TIER

__all__ = ["FeedbackUnavailable", "feedback_for"]


class FeedbackUnavailable(Exception):
    """No feedback for this user and case (whatever the reason)."""


def feedback_for(*, reader, slug: str, code: str) -> dict[str, Any]:
    """The feedback on one case for the trainee ``reader``, audited.

    Returns
    -------
    dict
        ``case``; ``your_read`` (round, call, confidence, three_tier, submitted_at of the
        reader's latest read of the case); ``reference`` (label, source); ``model``
        (reader name, probability, call, three_tier and its label, thresholds) or None
        when no model has read the case yet; ``saliency`` (method and one PNG data URI
        per view, as the worker stored it) or None.

    Raises
    ------
    FeedbackUnavailable
        Not assigned to the study, the study gives no feedback, the case is not in the
        reader's worklist, or the reader has not submitted a read of it yet.
    """
    study = study_selectors.study_for_reader(reader=reader, slug=slug)
    if study is None:
        raise FeedbackUnavailable
    slot = ReadingSlot.objects.select_related("case").filter(
        study=study, reader=reader, case__code=code
    ).first()
    if slot is None:
        raise FeedbackUnavailable
    case = slot.case
    read = Read.objects.filter(study=study, reader=reader, case=case).order_by("-submitted_at").first()
    if read is None:
        raise FeedbackUnavailable
    # What the read's round reveals once it is submitted (nothing outside teaching studies).
    shown = ROUNDS[read.round].shown_after_read(study)
    if not shown:
        raise FeedbackUnavailable
    reference = ReferenceStandard.objects.filter(case=case).first()
    prediction = (
        Prediction.objects.filter(case=case).select_related("model_version")
        .order_by("-model_version__created_at", "-model_version__pk").first()
    )
    body = {
        "case": case.code,
        "your_read": {
            "round": read.round, "call": read.call, "confidence": read.confidence,
            "three_tier": read.three_tier or None, "submitted_at": read.submitted_at,
        },
        "reference": (
            {"label": reference.label, "source": reference.source}
            if reference and REFERENCE in shown else None
        ),
        "model": _model_part(prediction) if prediction and MODEL_OUTPUT in shown else None,
        "saliency": prediction.saliency if prediction and SALIENCY in shown else None,
    }
    audit(actor=reader, verb=AuditEvent.Verb.FEEDBACK, object_type="studies.case",
          object_id=case.code, study_slug=study.slug,
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
