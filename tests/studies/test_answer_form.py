"""The one rule for a valid read: validate_answers against the study's form."""

import pytest
from django.core.exceptions import ValidationError

from readerstudy.studies.answer_form import FEATURES, validate_answers
from readerstudy.studies.models import Study


def study(**fields) -> Study:
    return Study(slug="s", title="s", modality="CT", **fields)


def errors_of(study, data) -> dict:
    with pytest.raises(ValidationError) as info:
        validate_answers(study, data)
    return info.value.message_dict


def test_a_call_with_consistent_confidence_is_accepted():
    assert validate_answers(study(), {"call": "malignant", "confidence": 85}) == {
        "call": "malignant", "confidence": 85,
    }


def test_the_call_is_always_required():
    assert "call" in errors_of(study(ask_confidence=False), {})


@pytest.mark.parametrize("confidence", [-1, 101, 50.5, "high", None, True])
def test_confidence_must_be_a_whole_number_from_0_to_100(confidence):
    assert "confidence" in errors_of(study(), {"call": "benign", "confidence": confidence})


def test_a_benign_call_with_a_high_probability_of_malignancy_is_contradictory():
    message = errors_of(study(), {"call": "benign", "confidence": 90})["confidence"][0]
    assert "contradictory" in message


def test_questions_the_form_does_not_ask_are_refused_not_dropped():
    errors = errors_of(study(ask_confidence=False), {"call": "benign", "confidence": 10, "mood": "x"})
    assert set(errors) == {"confidence", "mood"}


def test_three_tier_call_is_validated_when_asked():
    s = study(ask_confidence=False, ask_three_tier=True)
    assert validate_answers(s, {"call": "benign", "three_tier": "uncertain"})["three_tier"] == "uncertain"
    assert "three_tier" in errors_of(s, {"call": "benign", "three_tier": "maybe"})


def test_the_feature_checklist_needs_all_fifteen_features_as_booleans():
    s = study(ask_confidence=False, ask_features=True)
    answers = dict.fromkeys(FEATURES, False)
    assert len(validate_answers(s, {"call": "benign", "features": answers})["features"]) == 15
    missing = dict(answers)
    missing.pop("band_edema")
    assert "band_edema" in errors_of(s, {"call": "benign", "features": missing})["features"][0]
    assert "features" in errors_of(s, {"call": "benign", "features": answers | {"band_edema": "yes"}})


def test_measurements_are_numbers_in_range_with_their_unit_named():
    s = study(ask_confidence=False, measurements=["anterior_height", "vertebral_angle"])
    ok = validate_answers(s, {"call": "benign", "measurements": {"anterior_height": "21.5", "vertebral_angle": 12}})
    assert ok["measurements"] == {"anterior_height": 21.5, "vertebral_angle": 12.0}
    message = " ".join(errors_of(s, {"call": "benign", "measurements": {"anterior_height": 500, "vertebral_angle": 1}})["measurements"])
    assert "anterior_height" in message and "mm" in message
