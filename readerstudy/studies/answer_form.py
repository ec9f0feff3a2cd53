"""The study's answer form and the one function that validates a read against it.

``validate_answers`` is the single rule for what a valid read is: the API serializer, the
reading page, the admin and any task call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

CALLS = ("benign", "malignant")

THREE_TIER = {
    "benign": "definitely benign (osteoporotic)",
    "uncertain": "uncertain - recommend MRI",
    "malignant": "definitely malignant",
}

# The 15 binary MRI features of the published protocol, in its order.
FEATURES: dict[str, str] = {
    "no_collapse": "Absence of collapse",
    "anterior_wedge": "Anterior wedge deformity (preserved posterior height)",
    "entire_body_compression": "Compression of entire body",
    "central_concave": "Central concave deformity",
    "homogeneous_marrow": "Homogeneous marrow signal",
    "dark_line_band": "Intravertebral dark line or band",
    "band_edema": "Band-pattern marrow edema",
    "dark_patch": "Intravertebral dark patch",
    "fluid_cleft": "Fluid or necrotic cleft",
    "diffuse_signal_change": "Diffuse signal change of the body > 3/4",
    "mass_like_lesion": "Intravertebral mass-like or nodular lesion",
    "body_protrusion": "Anterior/posterior protrusion of the body",
    "soft_tissue_mass": "Epidural/paraspinal soft-tissue mass",
    "posterior_element_involvement": "Pedicle and posterior element involvement",
    "skipped_lesions": "Skipped nodular lesions in other vertebrae",
}


@dataclass(frozen=True)
class Measurement:
    label: str
    unit: str
    minimum: float
    maximum: float


# Continuous measurements on the mid-sagittal slice.
MEASUREMENTS: dict[str, Measurement] = {
    "anterior_height": Measurement("Anterior height", "mm", 0.0, 80.0),
    "posterior_height": Measurement("Posterior height", "mm", 0.0, 80.0),
    "superior_concavity": Measurement("Superior endplate concavity", "mm", 0.0, 40.0),
    "inferior_concavity": Measurement("Inferior endplate concavity", "mm", 0.0, 40.0),
    "vertebral_angle": Measurement("Vertebral angle", "degrees", -90.0, 90.0),
}


def form_description(study) -> dict[str, Any]:
    """The answer form as the reading page and API clients see it."""
    return {
        "call": {"choices": list(CALLS)},
        "confidence": study.ask_confidence,
        "three_tier": (
            [{"key": k, "label": v} for k, v in THREE_TIER.items()] if study.ask_three_tier else None
        ),
        "features": (
            [{"key": k, "label": v} for k, v in FEATURES.items()] if study.ask_features else []
        ),
        "measurements": [
            {"key": k, "label": MEASUREMENTS[k].label, "unit": MEASUREMENTS[k].unit}
            for k in study.measurements
        ],
    }


def validate_answers(study, data: dict[str, Any]) -> dict[str, Any]:
    """Check a read's answers against ``study``'s form; return the cleaned answers.

    Raises ``django.core.exceptions.ValidationError`` with one message per bad field. Keys the
    form does not ask for are refused rather than silently dropped.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    allowed = {"call", "confidence", "three_tier", "features", "measurements"}
    for key in sorted(set(data) - allowed):
        errors.setdefault(key, []).append("This study's form has no such question.")

    call = data.get("call")
    if call not in CALLS:
        errors["call"] = [f"Required: one of {', '.join(CALLS)} (got {call!r})."]
    else:
        cleaned["call"] = call

    confidence = data.get("confidence")
    if study.ask_confidence:
        if confidence is None or isinstance(confidence, bool):
            errors["confidence"] = ["Required: the probability of malignancy, 0 to 100."]
        else:
            try:
                value = float(confidence)
            except (TypeError, ValueError):
                value = float("nan")
            if not (0.0 <= value <= 100.0) or value != int(value):
                errors["confidence"] = [f"Must be a whole number from 0 to 100 (got {confidence!r})."]
            else:
                cleaned["confidence"] = int(value)
                if (value > 50 and call == "benign") or (value < 50 and call == "malignant"):
                    errors["confidence"] = [
                        f"A {call} call with a {int(value)}% probability of malignancy is "
                        "contradictory: adjust the call or the slider."
                    ]
    elif confidence is not None:
        errors["confidence"] = ["This study's form does not ask for a confidence."]

    tier = data.get("three_tier")
    if study.ask_three_tier:
        if tier not in THREE_TIER:
            errors["three_tier"] = [f"Required: one of {', '.join(THREE_TIER)} (got {tier!r})."]
        else:
            cleaned["three_tier"] = tier
    elif tier is not None:
        errors["three_tier"] = ["This study's form does not ask for the three-tier call."]

    features = data.get("features")
    if study.ask_features:
        if not isinstance(features, dict):
            errors["features"] = ["Required: an object giving true/false for each of the 15 features."]
        else:
            unknown = sorted(set(features) - set(FEATURES))
            missing = [k for k in FEATURES if k not in features]
            bad = [k for k in FEATURES if k in features and not isinstance(features[k], bool)]
            msgs = []
            if unknown:
                msgs.append(f"Unknown features: {', '.join(unknown)}.")
            if missing:
                msgs.append(f"Missing features: {', '.join(missing)}.")
            if bad:
                msgs.append(f"Not true/false: {', '.join(bad)}.")
            if msgs:
                errors["features"] = msgs
            else:
                cleaned["features"] = {k: features[k] for k in FEATURES}
    elif features:
        errors["features"] = ["This study's form does not ask for the feature checklist."]

    measurements = data.get("measurements")
    if study.measurements:
        if not isinstance(measurements, dict):
            errors["measurements"] = [f"Required: {', '.join(study.measurements)}."]
        else:
            msgs = []
            values: dict[str, float] = {}
            for key in sorted(set(measurements) - set(study.measurements)):
                msgs.append(f"{key}: not asked for by this study.")
            for key in study.measurements:
                spec = MEASUREMENTS[key]
                raw = measurements.get(key)
                try:
                    value = float(raw)
                except (TypeError, ValueError):
                    msgs.append(f"{key}: required, a number in {spec.unit} (got {raw!r}).")
                    continue
                if not (spec.minimum <= value <= spec.maximum):
                    msgs.append(
                        f"{key}: {value} {spec.unit} is outside {spec.minimum}..{spec.maximum}."
                    )
                    continue
                values[key] = value
            if msgs:
                errors["measurements"] = msgs
            else:
                cleaned["measurements"] = values
    elif measurements:
        errors["measurements"] = ["This study's form asks for no measurements."]

    if errors:
        raise ValidationError(errors)
    return cleaned
