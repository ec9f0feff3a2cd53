"""The protocol's migration keeps every stored read, slot and opening as it was: reads gain an
empty ``answers`` and the round columns take the protocol's rounds (a callable: a round added
later needs no migration)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("studies", "0001_initial")]
AFTER = [("studies", "0002_read_answers_round_choices")]


@pytest.mark.django_db(transaction=True)
def test_reads_made_before_the_protocol_migration_keep_their_answers_and_rounds():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="pre-protocol-reader")
    study = old.get_model("studies", "Study").objects.create(
        title="Before", slug="before", modality="MR", measurements=["anterior_height"], seed=7)
    case = old.get_model("studies", "Case").objects.create(
        study=study, code="ABCDEFGH", source_case_id="C-1", patient_pseudonym="P-1",
        test_set="internal", vertebra_level="L1")
    old.get_model("studies", "ReadingSlot").objects.create(
        study=study, reader=user, case=case, round="repeat", position=1)
    now = timezone.now()
    old.get_model("studies", "Read").objects.create(
        study=study, case=case, reader=user, round="repeat", position=1, submission_id=uuid.uuid4(),
        call="malignant", confidence=80, three_tier="uncertain",
        features={"fluid_cleft": True}, measurements={"anterior_height": 21.5},
        opened_at=now, submitted_at=now)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    read = new.get_model("studies", "Read").objects.get()
    assert (read.round, read.call, read.confidence, read.three_tier) == ("repeat", "malignant", 80, "uncertain")
    assert (read.features, read.measurements, read.answers) == (
        {"fluid_cleft": True}, {"anterior_height": 21.5}, {})
    assert new.get_model("studies", "ReadingSlot").objects.get().round == "repeat"

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest for the other tests


@pytest.mark.django_db(transaction=True)
def test_studies_with_ai_feedback_become_teaching_studies_and_back():
    """0003: ``ai_feedback`` (a trainee saw the model after each read) becomes ``mode``; a study with
    it is a teaching study, every other one stays blinded; migrating back restores the flag."""
    before, after = [("studies", "0002_read_answers_round_choices")], [("studies", "0003_study_mode")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("studies", "Study")
    old.objects.create(title="Teaching", slug="teaching", modality="CT", seed=1, ai_feedback=True)
    old.objects.create(title="Blinded", slug="blinded", modality="CT", seed=2, ai_feedback=False)

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps.get_model("studies", "Study")
    assert dict(new.objects.values_list("slug", "mode")) == {"teaching": "teaching", "blinded": "blinded"}

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    back = executor.loader.project_state(before).apps.get_model("studies", "Study")
    assert dict(back.objects.values_list("slug", "ai_feedback")) == {"teaching": True, "blinded": False}

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest for the other tests
