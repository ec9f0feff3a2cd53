"""The reading protocol is data: a question or a round added to the registry is validated,
stored, served to the reading room's form, read in its order and exported, with no other
change."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from readerstudy.analysis.frames import reads_frame
from readerstudy.studies import protocol, selectors, services
from readerstudy.studies.answer_form import validate_answers
from readerstudy.studies.api.reader import ReadSubmissionSerializer
from readerstudy.studies.exceptions import NotInWorklist, RepeatNotDue
from readerstudy.studies.models import Case, Read, ReadingSlot, ReferenceStandard, Round
from readerstudy.studies.protocol import Choice, Kind, Question, RoundDefinition

pytestmark = pytest.mark.django_db

IMAGE_QUALITY = Question(
    "image_quality", Kind.CHOICE, "Image quality", help="Could the fracture be assessed?",
    choices=(Choice("diagnostic", "Diagnostic"), Choice("limited", "Limited")),
    modalities=("CT",), rounds=(protocol.FIRST,),
)


@pytest.fixture
def image_quality():
    """A question added to the protocol for one test: asked in CT studies, in the first round."""
    protocol.register(IMAGE_QUALITY)
    yield IMAGE_QUALITY
    protocol.unregister(IMAGE_QUALITY.key)


@pytest.fixture
def open_study(make_study, reader, coordinator):
    study = make_study("protocol", n=6, repeat_sample_size=2, washout_days=10)
    services.assignment_create(study=study, reader=reader, by=coordinator)
    return services.study_open(study=study, by=coordinator)


def slot(study, reader, round=protocol.FIRST, position=1) -> ReadingSlot:
    return ReadingSlot.objects.select_related("case").get(
        study=study, reader=reader, round=round, position=position)


def post_read(client, study, code, round=protocol.FIRST, **answers):
    body = {"case": code, "round": round, "submission_id": str(uuid.uuid4()), "call": "benign",
            "confidence": 20} | answers
    return client.post(f"/api/v1/reading/{study.slug}/reads/", body, format="json")


def test_a_question_added_to_the_protocol_is_validated_stored_served_and_exported(
        image_quality, open_study, reader, client_for):
    first = slot(open_study, reader)
    payload = selectors.case_payload_for_reader(study=open_study, slot=first)
    served = {q["key"]: q for q in payload["form"]["questions"]}
    assert served["image_quality"] == {
        "key": "image_quality", "kind": "choice", "label": "Image quality",
        "help": "Could the fracture be assessed?", "group": "", "required": True,
        "choices": [{"key": "diagnostic", "label": "Diagnostic", "shortcut": ""},
                    {"key": "limited", "label": "Limited", "shortcut": ""}],
    }

    field = ReadSubmissionSerializer().fields["image_quality"]
    assert (field.required, field.allow_null, field.help_text) == (False, True, "Image quality")

    client = client_for(reader)
    missing = post_read(client, open_study, first.case.code)
    assert missing.status_code == 400 and "image_quality" in missing.json()
    wrong = post_read(client, open_study, first.case.code, image_quality="excellent")
    assert wrong.status_code == 400 and "diagnostic, limited" in wrong.json()["image_quality"][0]
    assert not Read.objects.exists()

    assert post_read(client, open_study, first.case.code, image_quality="limited").status_code == 201
    read = Read.objects.get(reader=reader, case=first.case)
    assert read.answers == {"image_quality": "limited"}
    assert (read.call, read.confidence) == ("benign", 20)

    frame = reads_frame(open_study).set_index("case")
    assert frame.loc[first.case.code, "image_quality"] == "limited"


def test_a_question_of_one_round_is_neither_asked_nor_accepted_in_another(image_quality, open_study, reader):
    payload = selectors.case_payload_for_reader(study=open_study, slot=slot(open_study, reader, Round.REPEAT))
    assert "image_quality" not in {q["key"] for q in payload["form"]["questions"]}
    with pytest.raises(ValidationError) as refused:
        validate_answers(open_study, {"call": "benign", "confidence": 5, "image_quality": "limited"},
                         round=Round.REPEAT)
    assert "does not ask" in refused.value.message_dict["image_quality"][0]


def test_a_question_of_one_modality_is_not_asked_in_a_study_of_another(image_quality, make_study):
    mri = make_study("mri", n=1, modality="MR")
    assert validate_answers(mri, {"call": "malignant", "confidence": 90}) == {
        "call": "malignant", "confidence": 90}
    assert "image_quality" not in {q.key for q in protocol.questions_for(mri)}


def test_an_incomplete_question_is_refused_by_the_registry():
    with pytest.raises(ValueError, match="a choice needs choices"):
        protocol.register(Question("mood", Kind.CHOICE, "Mood"))
    with pytest.raises(ValueError, match="is taken"):
        protocol.register(Question("call", Kind.BOOLEAN, "Call again"))
    assert "mood" not in protocol.QUESTIONS


@pytest.fixture
def repeat_2(monkeypatch):
    """A round added for one test: the repeat sample read a second time, after the washout."""
    definition = RoundDefinition(
        "repeat_2", "second repeat read", cases=protocol.REPEAT_SAMPLE,
        sample_size_from="repeat_sample_size", repeats=protocol.REPEAT, washout_from="washout_days",
        enabled_by="repeat_sample_size", analysed_as=protocol.REPEAT,
    )
    monkeypatch.setitem(protocol.ROUNDS, definition.key, definition)
    return definition


def test_a_round_added_to_the_protocol_gets_its_own_order_and_washout(
        repeat_2, make_study, reader, coordinator):
    study = make_study("three-rounds", n=6, repeat_sample_size=2, washout_days=10)
    services.assignment_create(study=study, reader=reader, by=coordinator)
    study = services.study_open(study=study, by=coordinator)
    rounds = ReadingSlot.objects.filter(study=study, reader=reader).values_list("round", flat=True)
    assert sorted(set(rounds)) == ["first", "repeat", "repeat_2"]
    sampled = set(ReadingSlot.objects.filter(study=study, reader=reader, round="repeat")
                  .values_list("case__code", flat=True))
    code = slot(study, reader, "repeat_2").case.code
    assert code in sampled

    t0 = timezone.now()
    answers = {"call": "benign", "confidence": 10}

    def submit(round, at):
        data = {"case": code, "round": round, "submission_id": str(uuid.uuid4())} | answers
        return services.read_submit(study=study, reader=reader, data=data, now=at)[0]

    with pytest.raises(NotInWorklist, match="no repeat read yet"):
        services.case_open(study=study, reader=reader, code=code, round="repeat_2", now=t0)
    submit("first", t0)
    repeat = submit("repeat", t0 + timedelta(days=10))
    with pytest.raises(RepeatNotDue):
        services.case_open(study=study, reader=reader, code=code, round="repeat_2",
                           now=t0 + timedelta(days=15))
    second = submit("repeat_2", t0 + timedelta(days=21))
    assert second.first_read == repeat and second.repeat_interval == timedelta(days=11)


def test_the_ai_aided_round_is_read_in_assisted_studies_only(open_study, make_study):
    aided = protocol.ROUNDS[Round.AIDED]
    assert aided.shown_before == (protocol.MODEL_OUTPUT, protocol.SALIENCY)
    assert aided.repeats == Round.FIRST and aided.pseudonyms_of == Round.FIRST
    assert aided not in protocol.rounds_for(open_study)
    assert aided in protocol.rounds_for(make_study("assisted-rounds", n=2, mode="assisted"))
    assert aided not in protocol.rounds_for(make_study("teaching-rounds", n=2, mode="teaching"))


def test_what_a_read_reveals_after_it_is_its_rounds_for_the_study_mode(open_study):
    first, repeat = protocol.ROUNDS[Round.FIRST], protocol.ROUNDS[Round.REPEAT]
    assert first.shown_after_read(open_study) == ()
    open_study.mode = "assisted"
    assert set(first.shown_after_read(open_study)) == {protocol.MODEL_OUTPUT, protocol.SALIENCY}
    assert repeat.shown_after_read(open_study) == ()
    open_study.mode = "teaching"
    assert set(first.shown_after_read(open_study)) == {
        protocol.MODEL_OUTPUT, protocol.SALIENCY, protocol.REFERENCE, protocol.EXPERT_FEATURES}


def test_every_round_named_in_code_is_defined_in_the_protocol():
    assert {r.value for r in Round} <= set(protocol.ROUNDS)
    assert dict(protocol.round_choices())[Round.AIDED] == Round.AIDED.label


def test_training_cases_are_left_out_by_one_queryset_method(make_study, reader):
    study = make_study("with-training", n=2)
    training = Case.objects.create(study=study, source_case_id="T-1", patient_pseudonym="PAT-T",
                                   test_set=Case.TestSet.TRAINING, vertebra_level="L2")
    ReferenceStandard.objects.create(case=training, label="benign", source="imaging")
    assert set(study.cases.reading()) == set(study.cases.all()) - {training}
    assert list(study.cases.training()) == [training]
    assert training not in services.reading_cases(study)
