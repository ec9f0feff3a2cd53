"""Fixtures of the page tests: an open study with two readers assigned."""

from __future__ import annotations

import uuid

import pytest

from readerstudy.studies import services
from readerstudy.studies.selectors import worklist_for


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Signing in is not what these tests are about: skip the deliberately slow hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def open_study(make_study, reader, other_reader):
    """An open CT study of 6 cases (2 repeat patients) read by ``reader`` and ``other_reader``."""
    study = make_study("ct-study", n=6, repeat_sample_size=2, washout_days=30)
    services.assignment_create(study=study, reader=reader)
    services.assignment_create(study=study, reader=other_reader)
    return services.study_open(study=study)


@pytest.fixture
def submit_read():
    """Submits ``reader``'s next first-round read through the service; returns the case code."""

    def submit(study, reader, call: str = "malignant", confidence: int = 80) -> str:
        code = worklist_for(study=study, reader=reader)["next"]["code"]
        services.case_open(study=study, reader=reader, code=code, round="first")
        services.read_submit(study=study, reader=reader, data={
            "case": code, "round": "first", "submission_id": str(uuid.uuid4()),
            "call": call, "confidence": confidence,
        })
        return code

    return submit
