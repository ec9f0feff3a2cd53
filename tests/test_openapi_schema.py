"""The OpenAPI schema documents the reader endpoints as they answer.

``manage.py spectacular --validate --fail-on-warn`` (in ./scripts/test) checks the schema is
valid and complete; these tests check that the three main reader endpoints, whose responses
are built from the selectors' dicts, are in it with the fields they really send.
"""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from readerstudy.studies import services

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def response_schema(schema, path: str, status: str = "200") -> dict:
    body = schema["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
    if body.get("type") == "array":
        body = body["items"]
    return component(schema, body)


def component(schema, ref: dict) -> dict:
    """The component a ``$ref`` names, also when wrapped in ``allOf`` (a field with help text)."""
    ref = ref["allOf"][0] if "allOf" in ref else ref
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def properties(schema, body: dict) -> set[str]:
    return set(body["properties"])


@pytest.fixture
def open_study(make_study, reader, coordinator):
    study = make_study("open-study", n=4, repeat_sample_size=2)
    services.assignment_create(study=study, reader=reader, by=coordinator)
    return services.study_open(study=study, by=coordinator)


def test_the_readers_list_of_studies_is_documented_with_the_fields_it_sends(schema, open_study, reader, client_for):
    documented = response_schema(schema, "/api/v1/reading/")
    sent = client_for(reader).get("/api/v1/reading/").json()
    assert set(sent[0]) == properties(schema, documented)
    assert set(sent[0]["progress"]) == properties(schema, component(schema, documented["properties"]["progress"]))


def test_the_worklist_is_documented_with_the_fields_it_sends(schema, open_study, reader, client_for):
    documented = response_schema(schema, "/api/v1/reading/{slug}/worklist/")
    sent = client_for(reader).get(f"/api/v1/reading/{open_study.slug}/worklist/").json()
    assert set(sent) == properties(schema, documented)
    for nested in ("study", "progress", "first_round", "repeat_round"):
        assert set(sent[nested]) == properties(schema, component(schema, documented["properties"][nested])), nested
    assert set(sent["next"]) == properties(schema, component(schema, documented["properties"]["next"]))


def test_opening_a_case_is_documented_with_the_fields_it_sends_and_its_errors(schema, open_study, reader, client_for):
    documented = response_schema(schema, "/api/v1/reading/{slug}/cases/{code}/")
    client = client_for(reader)
    code = client.get(f"/api/v1/reading/{open_study.slug}/worklist/").json()["next"]["code"]
    sent = client.get(f"/api/v1/reading/{open_study.slug}/cases/{code}/").json()
    assert set(sent) == properties(schema, documented)
    responses = schema["paths"]["/api/v1/reading/{slug}/cases/{code}/"]["get"]["responses"]
    assert {"200", "403", "404", "409"} <= set(responses)
