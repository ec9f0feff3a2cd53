"""The coordinator's management commands."""

import uuid
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from readerstudy.studies import services
from readerstudy.studies.models import Assignment, ReadingSlot

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_reader_makes_a_login_with_a_profile():
    output = run("create_reader", "dr_lee", "--role", "attending", "--years", "12", "--password", "s3cret-pass")
    user = get_user_model().objects.get(username="dr_lee")
    assert "Created attending 'dr_lee'" in output
    assert user.reader_profile.years_experience == 12 and user.check_password("s3cret-pass")
    with pytest.raises(CommandError, match="already exists"):
        run("create_reader", "dr_lee", "--role", "resident", "--years", "1")


def test_assign_readers_names_an_unknown_user_and_assigns_nobody(make_study, reader):
    study = make_study("cmd", n=4)
    with pytest.raises(CommandError, match="ghost"):
        run("assign_readers", "--study", "cmd", reader.username, "ghost")
    assert not Assignment.objects.filter(study=study).exists()
    assert "Assigned resident_a" in run("assign_readers", "--study", "cmd", reader.username)


def test_repeat_schedule_lists_each_readers_sampled_cases_with_their_state(make_study, reader):
    study = make_study("sched", n=5, repeat_sample_size=2)
    services.assignment_create(study=study, reader=reader)
    study = services.study_open(study=study)
    slot = ReadingSlot.objects.filter(reader=reader, round="repeat").first()
    services.read_submit(study=study, reader=reader, data={
        "case": slot.case.code, "round": "first", "call": "benign", "confidence": 5,
        "submission_id": str(uuid.uuid4())})
    output = run("repeat_schedule", "--study", "sched")
    lines = output.strip().splitlines()
    assert len(lines) == 3  # header + the two sampled cases
    assert any(slot.case.code in line and "in washout" in line for line in lines)
    assert sum("waiting for first read" in line for line in lines) == 1
    assert run("repeat_schedule", "--study", "sched", "--csv").startswith("reader,case,patient")
