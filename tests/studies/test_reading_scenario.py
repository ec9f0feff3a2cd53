"""The reading workflow end to end through the API, as a study team uses it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import URLPattern, URLResolver, get_resolver

from readerstudy.studies.models import Case, Read, ReadingSlot
from readerstudy.studies.pseudonyms import case_code

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Anything of these names in a reader's response would unblind them.
FORBIDDEN_KEYS = {
    "reference", "source", "notes", "age", "sex", "institution", "scanner_vendor",
    "field_strength", "patient_pseudonym", "patient", "source_case_id", "test_set", "truth",
    "probability", "prediction", "predictions", "reader", "readers", "answers", "tier",
}


def _keys(obj) -> set[str]:
    """Every key in a JSON body, except inside the answer form (its questions, not answers)."""
    if isinstance(obj, dict):
        return set(obj) | set().union(*(_keys(v) for k, v in obj.items() if k != "form")) if obj else set()
    if isinstance(obj, list):
        return set().union(*(_keys(v) for v in obj)) if obj else set()
    return set()


def _reader_facing_route_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns)
            elif isinstance(p, URLPattern) and p.name and (p.name == "me" or p.name.startswith("reading-")):
                names.add(p.name)

    walk(get_resolver().url_patterns)
    return names


class ReaderSession:
    """Wraps a reader's API client and remembers every response body the reader received."""

    def __init__(self, client, slug):
        self.client, self.slug, self.bodies, self.routes = client, slug, [], set()

    def _record(self, response):
        self.routes.add(response.resolver_match.url_name)
        self.bodies.append(response.content.decode())
        return response

    def get(self, path, **params):
        return self._record(self.client.get(path, params))

    def post(self, path, data):
        return self._record(self.client.post(path, data, format="json"))

    def worklist(self):
        return self.get(f"/api/v1/reading/{self.slug}/worklist/")

    def open(self, code, round="first"):
        return self.get(f"/api/v1/reading/{self.slug}/cases/{code}/", round=round)

    def submit(self, code, round="first", call="malignant", confidence=80, submission_id=None):
        return self.post(f"/api/v1/reading/{self.slug}/reads/", {
            "case": code, "round": round, "call": call, "confidence": confidence,
            "submission_id": str(submission_id or uuid.uuid4()),
        })

    def read_all_first_round(self):
        order = []
        while (nxt := self.worklist().json()["next"]) and nxt["round"] == "first":
            assert self.open(nxt["code"]).status_code == 200
            assert self.submit(nxt["code"], call="benign", confidence=20).status_code == 201
            order.append(nxt["code"])
        return order


def test_a_blinded_study_runs_end_to_end_through_the_api(client_for, coordinator):
    staff = client_for(coordinator)
    with time_machine.travel(START, tick=False) as clock:
        # The coordinator sets up a study with 30 cases and three readers.
        assert staff.post("/api/v1/studies/", {
            "slug": "vfx-ct", "title": "Vertebral fractures on CT", "modality": "CT",
            "seed": 20260302, "washout_days": 30, "repeat_sample_size": 20,
        }, format="json").status_code == 201
        for i in range(30):
            response = staff.post("/api/v1/studies/vfx-ct/cases/", {
                "source_case_id": f"HOSP-{i:04d}", "patient_pseudonym": f"PSEUDO-{i:04d}",
                "test_set": "internal", "vertebra_level": "L2", "age": 71, "sex": "F",
                "institution": "Secret General Hospital", "scanner_vendor": "VendorQ",
                "reference": {"label": "malignant" if i % 2 else "benign",
                              "source": "histopathology", "notes": "NOTE-GROUND-TRUTH"},
            }, format="json")
            assert response.status_code == 201, response.content
        for name, role, years in [("res1", "resident", 2), ("res2", "resident", 4), ("att1", "attending", 7)]:
            assert staff.post("/api/v1/readers/", {
                "username": name, "password": "a-long-password", "role": role, "years_experience": years,
            }, format="json").status_code == 201
            assert staff.post("/api/v1/studies/vfx-ct/assignments/", {"reader": name},
                              format="json").status_code == 201
        assert staff.post("/api/v1/studies/vfx-ct/open/").status_code == 200

        from django.contrib.auth import get_user_model
        users = {u.username: u for u in get_user_model().objects.filter(username__in=["res1", "res2", "att1"])}
        sessions = {name: ReaderSession(client_for(user), "vfx-ct") for name, user in users.items()}

        # Each reader has their own recorded order, and it is reproducible from seed, reader, round.
        orders = {name: s.read_all_first_round() for name, s in sessions.items()}
        assert len({tuple(o) for o in orders.values()}) == 3
        for name, order in orders.items():
            recorded = list(ReadingSlot.objects.filter(reader=users[name], round="first")
                            .order_by("position").values_list("case__code", flat=True))
            assert order == recorded
            from readerstudy.studies.ordering import reading_order
            assert reading_order(seed=20260302, reader=name, round="first", case_codes=order) == order
        res1 = sessions["res1"]
        assert res1.worklist().json()["first_round"] == {"done": 30, "total": 30}

        # A retried submission returns the same read; a different read of the same case is refused.
        code = orders["res1"][0]
        first_read = Read.objects.get(reader=users["res1"], case__code=code, round="first")
        again = res1.submit(code, call="benign", confidence=20, submission_id=first_read.submission_id)
        assert again.status_code == 200
        assert again.json()["submission_id"] == str(first_read.submission_id)
        conflict = res1.submit(code, call="malignant", confidence=90)
        assert conflict.status_code == 409
        assert "already submitted" in conflict.json()["detail"]
        assert Read.objects.filter(reader=users["res1"], case__code=code, round="first").count() == 1

        # Repeat reads: 20 sampled patients, the same for every reader, due 30 days after each first read.
        repeat_cases = {
            name: set(ReadingSlot.objects.filter(reader=u, round="repeat").values_list("case__code", flat=True))
            for name, u in users.items()
        }
        assert all(len(c) == 20 for c in repeat_cases.values())
        assert repeat_cases["res1"] == repeat_cases["res2"] == repeat_cases["att1"]
        repeat_code = next(iter(repeat_cases["res1"]))
        # In the repeat round a case has another code, which the reader cannot link to the first.
        seen_code = case_code(case=Case.objects.get(code=repeat_code), round="repeat")
        assert seen_code != repeat_code
        first = Read.objects.get(reader=users["res1"], case__code=repeat_code, round="first")
        assert res1.worklist().json()["repeats_due"] == []

        # Before it is due a repeat is refused as a case that does not exist is: nothing tells
        # which cases are in the repeat sample, or when they open.
        clock.move_to(first.submitted_at + timedelta(days=29))
        unknown = res1.open("NOSUCHCD", round="repeat")
        assert unknown.status_code == 404
        for early in (res1.open(seen_code, round="repeat"), res1.open(repeat_code, round="repeat"),
                      res1.submit(seen_code, round="repeat"), res1.submit(repeat_code, round="repeat")):
            assert (early.status_code, early.content) == (404, unknown.content)

        clock.move_to(first.submitted_at + timedelta(days=30))
        due = res1.worklist().json()["repeats_due"]
        assert {row["code"] for row in due} == {case_code(case=c, round="repeat")
                                                for c in Case.objects.filter(code__in=repeat_cases["res1"])}
        assert res1.open(repeat_code, round="repeat").status_code == 404  # the first round's code
        opened = res1.open(seen_code, round="repeat")
        assert opened.status_code == 200 and opened.json()["code"] == seen_code
        clock.shift(timedelta(minutes=3))
        assert res1.submit(seen_code, round="repeat", call="malignant", confidence=70).status_code == 201
        repeat = Read.objects.get(reader=users["res1"], case__code=repeat_code, round="repeat")
        assert repeat.first_read == first
        assert repeat.repeat_interval == timedelta(days=30, minutes=3)
        assert repeat.reading_seconds == 180.0
        assert res1.get("/api/v1/reading/vfx-ct/reads/").status_code == 200
        assert res1.get("/api/v1/reading/").status_code == 200
        assert res1.get("/api/v1/me/").status_code == 200

        # The coordinator sees the schedule with the actual interval.
        schedule = staff.get("/api/v1/studies/vfx-ct/schedule/").json()
        row = next(r for r in schedule if r["reader"] == "res1" and r["case"] == repeat_code)
        assert row["state"] == "done" and row["interval_days"] == pytest.approx(30 + 3 / 1440)

    # Blinding: no response to any reader, on any reader-facing endpoint, carries ground truth,
    # demographics, institution, other readers' reads or identifiers.
    assert _reader_facing_route_names() <= set().union(*(s.routes for s in sessions.values()))
    other_ids = {str(r.submission_id) for r in Read.objects.exclude(reader=users["res1"])}
    for name, session in sessions.items():
        for body in session.bodies:
            parsed = json.loads(body)
            assert not (_keys(parsed) & FORBIDDEN_KEYS), (name, _keys(parsed) & FORBIDDEN_KEYS)
            for secret in ["Secret General Hospital", "NOTE-GROUND-TRUTH", "HOSP-", "PSEUDO-",
                           "histopathology", "VendorQ", *(n for n in users if n != name)]:
                assert secret not in body, (name, secret)
    for body in res1.bodies:
        assert not any(sid in body for sid in other_ids)
