"""Per-round pseudonyms: codes and UIDs of a later round, and what the server reads back."""

from __future__ import annotations

import pytest

from readerstudy.studies import pseudonyms
from readerstudy.studies.models import CODE_ALPHABET, CODE_LENGTH


def test_a_later_rounds_image_uid_names_its_row_and_round_and_nothing_else_parses():
    uid = pseudonyms.image_uid(kind="instance", pk=123456, round="repeat")
    assert uid.startswith("2.25.") and len(uid) <= 64 and "123456" not in uid
    assert pseudonyms.uid_parse(uid) == pseudonyms.ImageRef("instance", 123456, "repeat")
    # The AI-aided read shows the case just read unaided, under the first round's code and UIDs:
    # no per-round UID of its own parses.
    assert pseudonyms.is_first("aided") and pseudonyms.uid_parse(
        pseudonyms.image_uid(kind="series", pk=7, round="aided")) is None
    assert pseudonyms.image_uid(kind="series", pk=7, round="repeat") != \
        pseudonyms.image_uid(kind="series", pk=8, round="repeat")
    for other in ("2.25.1", uid[:-1] + str((int(uid[-1]) + 1) % 10), "1.2.840.10008.1.2.1", "2.25.0" + uid[5:],
                  "2.25." + "9" * 40, "not a uid"):
        assert pseudonyms.uid_parse(other) is None, other


def test_uids_and_codes_change_with_the_secret(settings):
    uid = pseudonyms.image_uid(kind="series", pk=1, round="repeat")
    study_uid = pseudonyms.round_uid("2.25.42", round="repeat")
    settings.SECRET_KEY = "another secret, another set of pseudonyms"
    assert pseudonyms.image_uid(kind="series", pk=1, round="repeat") != uid
    assert pseudonyms.round_uid("2.25.42", round="repeat") != study_uid
    assert pseudonyms.uid_parse(uid) is None


@pytest.mark.django_db
def test_a_case_keeps_its_code_in_the_first_round_and_gets_another_in_each_later_one(make_study):
    case = make_study(n=1).cases.get()
    assert pseudonyms.case_code(case=case, round="first") == case.code
    assert pseudonyms.round_uid("2.25.42", round="first") == "2.25.42"
    repeat = pseudonyms.case_code(case=case, round="repeat")
    assert repeat != case.code and len(repeat) == CODE_LENGTH and set(repeat) <= set(CODE_ALPHABET)
    assert repeat == pseudonyms.case_code(case=case, round="repeat")
    assert repeat != pseudonyms.case_code(case=case, round="aided")
