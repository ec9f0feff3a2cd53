"""A case's probability from its patches and the three-tier call."""

from __future__ import annotations

import pytest

from inference.postprocess import (
    TIER_BENIGN,
    TIER_LABELS,
    TIER_MALIGNANT,
    TIER_UNCERTAIN,
    case_probability,
    three_tier,
)


def test_a_ct_case_is_its_one_patch():
    assert case_probability([0.3]) == (0.3, 0)


def test_an_mri_case_is_the_highest_of_its_three_patches_and_says_which():
    assert case_probability([0.2, 0.1, 0.7]) == (0.7, 2)
    assert case_probability([0.6, 0.6, 0.1]) == (0.6, 0)  # the first on a tie


def test_a_case_without_patches_is_refused():
    with pytest.raises(ValueError, match="at least one patch"):
        case_probability([])


# --------------------------------------------------------------------------- three tiers


@pytest.mark.parametrize(
    ("prob", "tier"),
    [
        (0.0, TIER_BENIGN),
        (0.199, TIER_BENIGN),
        (0.2, TIER_UNCERTAIN),  # the lower threshold itself is no longer definite
        (0.5, TIER_UNCERTAIN),
        (0.8, TIER_MALIGNANT),  # the upper threshold is definite malignant
        (1.0, TIER_MALIGNANT),
    ],
)
def test_probabilities_fall_into_three_tiers_at_the_thresholds(prob, tier):
    assert three_tier(prob, 0.2, 0.8) == tier


def test_tiers_have_display_labels():
    assert TIER_LABELS == {
        "benign": "definitely benign",
        "uncertain": "uncertain - recommend MRI",
        "malignant": "definitely malignant",
    }


def test_equal_thresholds_make_a_binary_call():
    assert three_tier(0.49, 0.5, 0.5) == TIER_BENIGN
    assert three_tier(0.5, 0.5, 0.5) == TIER_MALIGNANT


def test_thresholds_out_of_order_and_impossible_probabilities_are_refused():
    with pytest.raises(ValueError, match="lower <= upper"):
        three_tier(0.5, 0.8, 0.2)
    with pytest.raises(ValueError, match="probability"):
        three_tier(float("nan"), 0.2, 0.8)
    with pytest.raises(ValueError, match="probability"):
        three_tier(1.5, 0.2, 0.8)
