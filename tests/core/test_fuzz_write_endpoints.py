"""Property-based fuzzing of every write endpoint: whatever the body, no 500, and a refusal
(4xx) writes nothing.

The endpoints are found by walking the URL configuration, so a new one is fuzzed without
being listed here: each DRF view with the write methods it declares, each other (Django)
view with POST. Bodies are random JSON, random bytes, form data, and "near-valid" objects
built from the API's field names with good and bad values mixed. Each example runs in a
transaction that is rolled back afterwards, so every example starts from the same world and
a valid body (a new study, a read) does not change what the next one meets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from readerstudy.studies import services
from readerstudy.studies.models import ReadingSlot

WRITE_METHODS = ("post", "put", "patch", "delete")
# Rows these tables get on a refusal are the point of them: failed sign-ins (django-axes).
COUNTED_APPS_EXCLUDED = {"axes", "sessions"}
# Generated bodies per write endpoint. (When one example drew a body for every endpoint, most
# examples overran Hypothesis's buffer and were thrown away after their requests were sent:
# 3 "examples" sent 4,573 requests. One endpoint per test draws one body per example.)
EXAMPLES = 20


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def write_endpoints() -> list[tuple[str, str]]:
    """``(url name, method)`` of every write endpoint outside the Django admin."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith("admin/") or not pattern.name:
            continue
        view = pattern.callback
        cls = getattr(view, "cls", None)
        if getattr(view, "actions", None):  # a DRF viewset route
            methods = [m for m in view.actions if m in WRITE_METHODS]
        elif cls is not None:  # a DRF APIView
            methods = [m for m in WRITE_METHODS if hasattr(cls, m)]
        else:  # a Django view: POST is how a page writes
            methods = ["post"]
        found += [(pattern.name, method) for method in methods]
    return sorted(set(found))


ENDPOINTS = write_endpoints()
# Views a reader uses (the coordinator is not assigned, so would stop at the first check).
READER_VIEWS = {"trainee-feedback", "web-read", "web-worklist", "logout"}
ANONYMOUS_VIEWS = {"login"}


def for_reader(name: str) -> bool:
    return name.startswith("reading-") or name in READER_VIEWS


@pytest.fixture
def world(db, make_study, reader, other_reader, coordinator, settings):
    """A draft study with cases, an open one with ``reader`` assigned, and the URL arguments of
    every endpoint pointing at them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    draft = make_study("fuzz-draft", n=3)
    study = make_study("fuzz-open", n=4, repeat_sample_size=0)
    services.assignment_create(study=study, reader=reader)
    services.assignment_create(study=draft, reader=other_reader)
    services.study_open(study=study)
    code = ReadingSlot.objects.filter(study=study, reader=reader).order_by("position").first().case.code
    kwargs = {"slug": draft.slug, "study_slug": draft.slug, "code": draft.cases.first().code,
              "username": other_reader.username, "pk": 1,
              "study_uid": "1.2.3", "series_uid": "1.2.3.4", "sop_uid": "1.2.3.4.5", "frames": "1"}
    reading_kwargs = {"slug": study.slug, "code": code}
    return {"draft": draft, "open": study, "code": code, "kwargs": kwargs, "reading_kwargs": reading_kwargs,
            "reader": reader, "coordinator": coordinator, "other_reader": other_reader}


def url_for(name: str, world) -> str:
    route = next(route for route, pattern in _walk(get_resolver().url_patterns) if pattern.name == name)
    source = world["reading_kwargs"] if for_reader(name) else world["kwargs"]
    # "<slug:study_slug>", "(?P<code>...)": the arguments this route takes.
    wanted = {key: value for key, value in source.items() if re.search(rf"[<:]{key}>", route)}
    try:
        return reverse(name, kwargs=wanted or None)
    except NoReverseMatch as exc:  # an argument this test does not know: add it to ``world``
        raise AssertionError(f"{name}: cannot build its URL from {sorted(source)}") from exc


def table_counts() -> dict[str, int]:
    """Rows in every table of the project, in one query."""
    models = [m for m in apps.get_models() if m._meta.app_label not in COUNTED_APPS_EXCLUDED
              and m._meta.managed and not m._meta.proxy]
    tables = sorted({m._meta.db_table for m in models})
    quote = connection.ops.quote_name
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(tables, cursor.fetchone(), strict=True))


# ---- bodies ------------------------------------------------------------------------------

json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats() | st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=8), children, max_size=3), max_leaves=8)


def _good(*values):
    return st.sampled_from(values) | json_values


FIELDS = {
    # studies
    "slug": _good("fuzz-new", "fuzz-draft", "-x-", "", "a" * 200), "title": _good("A study", "", "=cmd|calc", "nul\x00inside"),
    "description": _good("", "x"), "modality": _good("CT", "MR", "XR"),
    "ask_confidence": _good(True, False), "ask_three_tier": _good(True, False), "ask_features": _good(True, False),
    "measurements": _good(["anterior_height"], ["nope"], "anterior_height", {"a": 1}, []),
    "washout_days": _good(30, 0, -1, 10**9), "repeat_sample_size": _good(0, 2, -3, 10**9),
    "repeat_same_patients": _good(True, False), "seed": _good(0, 7, -1, 2**63, 2**70), "mode": _good("blinded", "assisted", "teaching"),
    # cases
    "source_case_id": _good("SRC-000", "NEW-1", "", "x" * 100, "N\x00L"), "patient_pseudonym": _good("PAT-000", "P-NEW"),
    "test_set": _good("internal", "external", "training", "other"), "vertebra_level": _good("L1", "T12", "Z9"),
    "age": _good(50, -1, 200, "fifty"), "sex": _good("F", "M", "O", "X"), "institution": _good("A", "=1+1"),
    "scanner_vendor": _good("VendorX", "@SUM(1)"), "field_strength": _good(None, 1.5, -3, "strong"),
    "reference": _good({"label": "benign", "source": "histopathology", "notes": ""}, {"label": "other"}, []),
    # assignments, readers
    "reader": _good("resident_a", "resident_b", "coordinator", "nobody"),
    "username": _good("dr_new", "resident_a", "RESIDENT_A", "=cmd", "<b>", "nul\x00"),
    "password": _good("correct-horse-battery", "a", "12345678"),
    "role": _good("resident", "attending", "trainee", "admin"), "years_experience": _good(0, 3, 61, -1),
    "specialty": _good("", "msk"), "email": _good("", "not-an-email"),
    # reads
    "case": _good("__CODE__", "NOCASE"), "round": _good("first", "repeat", "aided", "nope"),
    "submission_id": st.uuids().map(str) | json_values, "call": _good("benign", "malignant", "maybe"),
    "confidence": _good(0, 50, 100, 101, -1), "three_tier": _good("benign", "uncertain", "malignant", "x"),
    "features": _good({"cortical_destruction": True}, {"x": True}, [True], "yes", {"nul\x00key": "nul\x00value"}),
    # exports, inference, pages
    "n_boot": _good(0, 10, 2000, 10**9), "alpha": _good(0.05, 0, 1, 2), "model": _good("x@1", "", "tiny@1"),
    "readers": _good([1, 2], "1", []), "allow_burned_in": _good("on", True), "keep_originals": _good("on", False),
    "ip_address": _good("10.0.0.7", ""), "next": _good("/", "https://evil.example"),
}

near_valid = st.fixed_dictionaries({}, optional=FIELDS)


def _form_value(value) -> str | list[str]:
    if isinstance(value, list):
        return [json.dumps(v) if not isinstance(v, str) else v for v in value]
    return value if isinstance(value, str) else json.dumps(value)


def _nested(depth: int, kind: str) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth if kind == "object" else b"[" * depth + b"]" * depth


bodies = st.one_of(
    near_valid.map(lambda body: ("json", body)),
    # Deeply nested JSON (Python's decoder raises RecursionError beyond about 1,000 levels).
    st.builds(_nested, st.integers(min_value=9, max_value=20_000), st.sampled_from(["object", "array"]))
    .map(lambda raw: ("raw", raw)),
    json_values.map(lambda body: ("json", body)),
    st.binary(max_size=64).map(lambda raw: ("raw", raw)),
    near_valid.map(lambda body: ("form", {k: _form_value(v) for k, v in body.items()})),
)


def _send(client: APIClient, method: str, url: str, body, world):
    kind, payload = body
    if kind == "json":
        text = json.dumps(payload).replace("__CODE__", world["code"])
        return getattr(client, method)(url, text, content_type="application/json")
    if kind == "raw":
        return getattr(client, method)(url, payload, content_type="application/json")
    if method == "post":
        return client.post(url, payload)  # multipart form data, as a browser's form
    return getattr(client, method)(url, payload, format="multipart")


class _Rollback(Exception):
    pass


def _fuzz_one(world, name: str, method: str, body) -> str | None:
    """Sends ``body``; what went wrong (a 500, rows written by a refusal), or ``None``."""
    client = APIClient()
    client.raise_request_exception = False  # a server error is a 500 to assert on, as a client sees it
    if for_reader(name):
        client.force_login(world["reader"])
    elif name not in ANONYMOUS_VIEWS:
        client.force_login(world["coordinator"])
    url = url_for(name, world)
    problem = None
    try:
        with transaction.atomic():
            before = table_counts()
            response = _send(client, method, url, body, world)
            if response.status_code >= 500:
                problem = f"{method.upper()} {name}: {response.status_code}"
            elif response.status_code >= 400 and (after := table_counts()) != before:
                problem = f"{method.upper()} {name}: refused with {response.status_code} but wrote " + ", ".join(
                    f"{t} {before[t]}->{after[t]}" for t in before if before[t] != after[t])
            raise _Rollback
    except _Rollback:
        pass
    return problem


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), ENDPOINTS, ids=[f"{m.upper()} {n}" for n, m in ENDPOINTS])
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies)
def test_no_write_endpoint_fails_with_500_and_a_refusal_writes_nothing(world, name, method, body):
    """``EXAMPLES`` generated bodies for each write endpoint (``EXAMPLES`` x ``len(ENDPOINTS)``
    requests in all); each example is rolled back, so each starts from the same world."""
    problem = _fuzz_one(world, name, method, body)
    assert problem is None, problem


def test_the_fuzzed_endpoints_include_every_write_endpoint_of_the_api():
    names = {name for name, _method in ENDPOINTS}
    assert {"study-list", "study-detail", "study-open", "study-close", "study-case-list", "study-case-detail",
            "study-assignment-list", "study-assignment-detail", "reader-list", "reading-reads", "study-import",
            "study-inference", "study-inference-cancel", "study-inference-retry", "study-exports"} <= names
    assert ("study-case-detail", "patch") in ENDPOINTS and ("study-detail", "delete") in ENDPOINTS
    assert ("reading-worklist", "post") not in ENDPOINTS  # a DRF view that only reads is not fuzzed
