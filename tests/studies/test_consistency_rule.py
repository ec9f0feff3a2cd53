"""One rule decides which answers contradict each other: the server's ``Question.contradiction``
(which ``validate_answers`` applies, for the API and the page's submissions) and the reading
room's ``answer/consistency.js`` (which checks before sending) give the same verdict and the
same message for every combination of call, three-tier call and probability of malignancy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from itertools import product
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from readerstudy.studies.answer_form import form_description, validate_answers
from readerstudy.studies.models import Study
from readerstudy.vocabulary import CALLS, TIERS

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
CONFIDENCES = (0, 10, 49, 50, 51, 90, 100)


def study() -> Study:
    return Study(slug="s", title="s", modality="CT", ask_confidence=True, ask_three_tier=True)


def server_errors(answers: dict) -> dict[str, str]:
    try:
        validate_answers(study(), answers)
    except ValidationError as exc:
        return {key: messages[0] for key, messages in exc.message_dict.items()}
    return {}


COMBINATIONS = [{"call": c, "three_tier": t, "confidence": p} for c, t, p in product(CALLS, TIERS, CONFIDENCES)]


@pytest.mark.parametrize(("call", "tier"), [("benign", "malignant"), ("malignant", "benign")])
def test_a_definite_three_tier_call_against_the_call_is_refused(call, tier):
    errors = server_errors({"call": call, "three_tier": tier, "confidence": 50})
    assert set(errors) == {"three_tier"}
    assert "contradictory" in errors["three_tier"]


@pytest.mark.parametrize("call", CALLS)
def test_uncertain_and_the_matching_definite_call_go_with_the_call(call):
    assert server_errors({"call": call, "three_tier": "uncertain", "confidence": 50}) == {}
    assert server_errors({"call": call, "three_tier": call, "confidence": 50}) == {}


def test_the_reading_room_applies_the_same_rule_with_the_same_words():
    node = shutil.which("node")
    if not node:
        if os.environ.get("CI"):
            pytest.fail("node is not installed")
        pytest.skip("node is not installed")
    questions = {q["key"]: q for q in form_description(study())["questions"]}
    script = (
        "import { contradiction } from './src/answer/consistency.js';"
        "let text = ''; process.stdin.on('data', (d) => { text += d; });"
        "process.stdin.on('end', () => { const { questions, combinations } = JSON.parse(text);"
        "  const verdicts = combinations.map((answers) => Object.fromEntries(Object.values(questions)"
        "    .map((q) => [q.key, contradiction(q, answers[q.key], answers)]).filter(([, m]) => m)));"
        "  process.stdout.write(JSON.stringify(verdicts)); });"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script], cwd=FRONTEND, capture_output=True, text=True, timeout=60,
        input=json.dumps({"questions": questions, "combinations": COMBINATIONS}),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    page = json.loads(result.stdout)
    server = [server_errors(answers) for answers in COMBINATIONS]
    assert page == server
    # Both rules refuse something, and both kinds of contradiction occur.
    assert {key for errors in server for key in errors} == {"confidence", "three_tier"}


def test_a_benign_call_with_a_95_percent_probability_of_malignancy_is_refused():
    errors = server_errors({"call": "benign", "three_tier": "uncertain", "confidence": 95})
    assert errors == {"confidence": "A benign call with a 95% probability of malignancy is contradictory: "
                                    "adjust the call or the slider."}


def test_a_definite_three_tier_call_against_the_probability_never_passes():
    """The rule has no probability-against-three-tier entry of its own and needs none: a definite
    three-tier call must be the call, and the probability must lie on the call's side of 50%, so
    a definite three-tier call on the other side of 50% always breaks one of the two."""
    against = [a for a in COMBINATIONS if (a["three_tier"] == "benign" and a["confidence"] > 50)
               or (a["three_tier"] == "malignant" and a["confidence"] < 50)]
    assert len(against) == 2 * 2 * 3  # two tiers, either call, three probabilities past 50% each way
    assert [a for a in against if server_errors(a) == {}] == []
