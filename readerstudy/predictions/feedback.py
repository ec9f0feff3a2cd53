"""AI-assisted feedback for trainees: after their own read of a case, the model's output,
the reference standard and where the model looked.

Only in studies with ``ai_feedback``, only for cases in the trainee's own worklist, and
only once the trainee's read of the case is submitted. Every refusal is the same
:class:`FeedbackUnavailable` (a 404 for the API), so a refusal says nothing about why.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from django.core.cache import cache
from matplotlib import colormaps
from PIL import Image

from inference.checkpoint import LoadedModel
from inference.predict import TIER_LABELS, case_patches, predict_patches, saliency
from readerstudy.core.models import AuditEvent, audit
from readerstudy.predictions import selectors, services
from readerstudy.predictions.models import Prediction
from readerstudy.studies import selectors as study_selectors
from readerstudy.studies.models import Read, ReadingSlot, ReferenceStandard, Study

__all__ = ["FeedbackUnavailable", "feedback_for", "saliency_views"]

SALIENCY_CACHE_SECONDS = 24 * 3600
_HEAT_ALPHA = 0.55


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
        per view) or None.

    Raises
    ------
    FeedbackUnavailable
        Not assigned to the study, the study gives no feedback, the case is not in the
        reader's worklist, or the reader has not submitted a read of it yet.
    """
    study = study_selectors.study_for_reader(reader=reader, slug=slug)
    if study is None or not study.ai_feedback:
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
            {"label": reference.label, "source": reference.source} if reference else None
        ),
        "model": _model_part(prediction) if prediction else None,
        "saliency": _saliency_part(study, prediction) if prediction else None,
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
        "three_tier_label": TIER_LABELS.get(prediction.three_tier, prediction.three_tier),
        "thresholds": {"lower": lower, "upper": upper},
        "intended_use": model_version.card.get("intended_use", ""),
    }


def _saliency_part(study: Study, prediction: Prediction) -> dict[str, Any] | None:
    key = f"predictions:saliency:{prediction.model_version.sha256}:{prediction.case_id}"
    views = cache.get(key)
    if views is None:
        model = services.model_version_load(prediction.model_version)
        center = selectors.case_center(prediction.case)
        reads = selectors.model_reads(model.input_spec)
        with selectors.case_series_paths(prediction.case, near=center, **reads) as series:
            patches = case_patches(model, series, center)
        # MRI: the slice-centred patch that gave the case its (highest) probability.
        patch = patches[int(np.argmax(predict_patches(model, patches)))] if len(patches) > 1 else patches[0]
        views = saliency_views(model, patch)
        cache.set(key, views, SALIENCY_CACHE_SECONDS)
    return {"method": "Grad-CAM", "views": views}


def saliency_views(model: LoadedModel, patch: np.ndarray) -> list[dict[str, str]]:
    """Grad-CAM over the patch as small PNGs (data URIs), one per view.

    CT ``(1, S, P, L)``: axial, sagittal and coronal planes through the vertebra centre,
    superior up, anterior up (axial) or left (sagittal), the patient's right on the
    image's left. MRI ``(6, S, P)``: the lesion slice of T1W and of T2W, superior up and
    anterior left. The heat map (0..1) is blended over the grey image.

    References
    ----------
    Selvaraju R. R. et al., "Grad-CAM", ICCV 2017, doi:10.1109/ICCV.2017.74
    (:func:`inference.predict.saliency`).
    """
    heat = saliency(model, patch)
    if patch.ndim == 4:  # CT: (1, S, P, L) with S running inferior -> superior
        volume, centre = patch[0], np.array(patch.shape[1:]) // 2
        planes = {
            "axial": (volume[centre[0]], heat[centre[0]]),
            "sagittal": (volume[::-1, :, centre[2]], heat[::-1, :, centre[2]]),
            "coronal": (volume[::-1, centre[1], :], heat[::-1, centre[1], :]),
        }
    else:  # MRI: T1W slices -1, 0, +1 then T2W; rows already superior -> inferior
        planes = {"sagittal T1W": (patch[1], heat), "sagittal T2W": (patch[4], heat)}
    return [{"view": name, "png": _overlay_png(image, weight)} for name, (image, weight) in planes.items()]


def _overlay_png(image: np.ndarray, heat: np.ndarray) -> str:
    low, high = np.percentile(image, [1, 99])
    grey = np.clip((image - low) / ((high - low) or 1.0), 0.0, 1.0)[..., np.newaxis]
    colour = colormaps["inferno"](np.clip(heat, 0.0, 1.0))[..., :3]
    alpha = _HEAT_ALPHA * np.clip(heat, 0.0, 1.0)[..., np.newaxis]
    rgb = (grey * (1 - alpha) + colour * alpha) * 255
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb.round().astype(np.uint8))).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
