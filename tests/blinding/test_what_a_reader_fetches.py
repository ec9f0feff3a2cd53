"""Every byte a reader can fetch for a case, in both rounds, against a series stuffed with
identifying values: every attribute of PS3.15 Table E.1-1 that pydicom can set (with marker
strings and dates), the scanner's manufacturer, model and field strength, private tags and
text in the 128-byte preamble; and the manifest's clinical columns.

A reader reads the case (worklist page and API, the reading page, the case payload, WADO-RS
metadata, instances and every frame, WADO-URI, for the axial series and the sagittal series
derived from it, the read and its receipt), then, 30 days later, repeats it. No marker, no
planted date (as planted or shifted by the de-identification's offset) reaches them, served
DICOM holds only the display allow-list with a zero preamble, and the repeat round shows a
code and UIDs that appear nowhere in the first.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from pydicom import dcmread
from pydicom.dataset import Dataset
from rest_framework.test import APIClient

from readerstudy.imaging.blinding import DISPLAY_KEYWORDS
from readerstudy.imaging.deidentify import date_offset_days
from readerstudy.imaging.importer import import_study
from readerstudy.imaging.models import DeidentificationKey
from readerstudy.studies import services
from readerstudy.studies.models import Case, Study
from readerstudy.studies.pseudonyms import case_code
from tests.imaging.dicomweb import body_of, multipart_parts
from tests.imaging.factory import ct_case, write_manifest
from tests.imaging.test_deidentify import Planted

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PREAMBLE_MARKER = b"PREAMBLE-MARKER-7Q planted before DICM"
SCANNER = {"Manufacturer": "VendorQuux", "ManufacturerModelName": "ModelZebra9",
           "DeviceSerialNumber": "SERIAL-77Q", "StationName": "STATION-Q9"}
FIELD_STRENGTH = "1.4142"
MANIFEST = {"institution": "Marker Institute of Zyx", "scanner_vendor": "VendorQuux", "age": "83", "sex": "F"}


@pytest.fixture(autouse=True)
def _temporary_dicom_storages(dicom_storages) -> None:
    """Stored DICOM in this test's temporary folder (``dicom_storages``)."""


@dataclass
class Stuffed:
    study: Study
    case: Case
    planted: Planted
    dates: set[str] = field(default_factory=set)

    def markers(self) -> set[bytes]:
        texts = {*self.planted.tokens, *SCANNER.values(), FIELD_STRENGTH, MANIFEST["institution"],
                 "MRN-0001", "Doe^Jane", "case-1"}
        return {t.encode() for t in texts} | {PREAMBLE_MARKER[:20]}


@pytest.fixture
def stuffed(tmp_path, make_reader) -> Stuffed:
    planted = Planted()

    def stuff(ds: Dataset, k: int) -> None:
        planted.plant(ds, k)
        for keyword, value in SCANNER.items():
            setattr(ds, keyword, value)
        ds.MagneticFieldStrength = FIELD_STRENGTH
        ds.preamble = PREAMBLE_MARKER.ljust(128, b"\x00")

    root = tmp_path / "incoming"
    rows = [ct_case(root, "P1/ct", n=6, rows=24, columns=24, edit=stuff) | MANIFEST,
            ct_case(root, "P2/ct", patient_id="MRN-0002", case_id="case-2", n=6, rows=24, columns=24)]
    source = (root / "P1/ct").glob("*.dcm")
    assert all(dcmread(p).preamble.startswith(PREAMBLE_MARKER) for p in source)
    # Two patients, one drawn for the repeat round.
    study = Study.objects.create(slug="blind", title="Blinding", modality="CT", seed=3, repeat_sample_size=1,
                                 washout_days=30)
    import_study(study=study, manifest_text=write_manifest(tmp_path / "m.csv", rows).read_text(), dicom_root=root)
    case = Case.objects.get(study=study, source_case_id="case-1")
    secret = DeidentificationKey.objects.get(study=study).secret
    offset = timedelta(days=date_offset_days(secret, "MRN-0001"))
    dates = set()
    for value in planted.values.values():
        if isinstance(value, str) and len(value) >= 8 and value[:8].isdigit():
            day = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
            for shown in (day, day - offset):  # as planted, and as the Modified Dates Option keeps it
                dates |= {shown.strftime("%Y%m%d"), shown.isoformat()}
    return Stuffed(study=study, case=case, planted=planted, dates=dates)


@dataclass
class Fetched:
    """What a reader got: every body, the case's own bodies apart, and the served DICOM."""

    everything: bytes = b""
    of_the_case: bytes = b""
    datasets: list[Dataset] = field(default_factory=list)
    code: str = ""
    uids: set[str] = field(default_factory=set)
    urls: int = 0

    def get(self, client, url: str, *, of_the_case: bool = True, **extra):
        response = client.get(url, **extra)
        assert response.status_code == 200, (url, response.status_code)
        body = body_of(response)
        self.everything += body
        if of_the_case:
            self.of_the_case += body
        self.urls += 1
        return response, body


def read_the_case(client: APIClient, study: Study, code: str, round: str) -> Fetched:
    """Fetch every URL a reader can fetch for the case in ``round``, then submit the read."""
    fetched = Fetched(code=code)
    slug = study.slug
    fetched.get(client, "/", of_the_case=False)
    fetched.get(client, "/api/v1/me/", of_the_case=False)
    fetched.get(client, "/api/v1/reading/", of_the_case=False)
    fetched.get(client, f"/api/v1/reading/{slug}/worklist/", of_the_case=False)
    fetched.get(client, f"/read/{slug}/{code}/?round={round}")
    opened, _ = fetched.get(client, f"/api/v1/reading/{slug}/cases/{code}/?round={round}")
    payload = opened.json()
    assert payload["code"] == code and {s["role"] for s in payload["series"]} == {"axial", "sagittal"}
    for series in payload["series"]:
        fetched.uids |= {series["study_uid"], series["series_uid"]}
        fetched.get(client, series["metadata_url"])
        for instance in series["instances"]:
            fetched.uids.add(instance["sop_uid"])
            base = instance["frames_url"].removesuffix("/frames")
            response, _ = fetched.get(client, base)
            [(_type, data)] = multipart_parts(response)
            _, data_uri = fetched.get(client, instance["wado_uri"])
            for served in (data, data_uri):
                fetched.datasets.append(dcmread(io.BytesIO(served)))
            frames = range(1, instance["number_of_frames"] + 1)
            for n in frames:
                fetched.get(client, f"{base}/frames/{n}")
                fetched.get(client, f"{base}/frames/{n}", HTTP_ACCEPT="application/octet-stream")
            fetched.get(client, f"{base}/frames/{','.join(map(str, frames))}")
    for ds in fetched.datasets:
        fetched.uids |= {str(ds.get(k, "")) for k in ("StudyInstanceUID", "SeriesInstanceUID",
                                                      "SOPInstanceUID", "FrameOfReferenceUID")}
    fetched.uids.discard("")
    submitted = client.post(f"/api/v1/reading/{slug}/reads/", {
        "case": code, "round": round, "call": "malignant", "confidence": 70,
        "submission_id": str(uuid.uuid4())}, format="json")
    assert submitted.status_code == 201, submitted.content
    fetched.everything += submitted.content
    fetched.get(client, f"/api/v1/reading/{slug}/reads/", of_the_case=False)
    return fetched


def leaks(stuffed: Stuffed, body: bytes) -> list[str]:
    found = [m.decode(errors="replace") for m in stuffed.markers() if m in body]
    for day in stuffed.dates:  # a date, not digits inside a longer number (a 2.25. UID)
        if re.search(rb"(?<![0-9.])" + re.escape(day.encode()) + rb"(?![0-9])", body):
            found.append(day)
    return sorted(found)


def test_nothing_identifying_reaches_a_reader_and_the_repeat_round_cannot_be_linked(stuffed, make_reader,
                                                                                     dicom_storages):
    study, case = stuffed.study, stuffed.case
    study.repeat_sample_size = 2  # both patients: the stuffed case is repeated
    services.study_save(study=study)
    reader = make_reader("blind_reader")
    services.assignment_create(study=study, reader=reader)
    services.study_open(study=study)
    client = APIClient()
    client.force_login(reader)

    with time_machine.travel(START, tick=False) as clock:
        first = read_the_case(client, study, case.code, "first")
        other = Case.objects.get(study=study, source_case_id="case-2")
        client.post(f"/api/v1/reading/{study.slug}/reads/", {
            "case": other.code, "round": "first", "call": "benign", "confidence": 10,
            "submission_id": str(uuid.uuid4())}, format="json")
        clock.move_to(START + timedelta(days=30))
        client.force_login(reader)  # the session of 30 days ago has expired
        due = {row["code"] for row in client.get(f"/api/v1/reading/{study.slug}/worklist/").json()["repeats_due"]}
        [code] = due - {case_code(case=other, round="repeat")}
        repeat = read_the_case(client, study, code, "repeat")

    assert first.urls > 150 and repeat.urls > 150  # 2 series, 30 instances, every frame, twice
    for fetched in (first, repeat):
        assert leaks(stuffed, fetched.everything) == []
        for ds in fetched.datasets:
            assert {elem.keyword for elem in ds.iterall()} <= DISPLAY_KEYWORDS
            assert ds.preamble == b"\x00" * 128
    # The repeat round's code and image UIDs are new, and nothing of the case's first round
    # (its code, its UIDs) comes back in it, nor the other way round.
    assert repeat.code != first.code and first.uids and repeat.uids and not (first.uids & repeat.uids)
    assert first.code.encode() not in repeat.of_the_case and repeat.code.encode() not in first.of_the_case
    for uid in first.uids:
        assert uid.encode() not in repeat.of_the_case, uid
    for uid in repeat.uids:
        assert uid.encode() not in first.of_the_case, uid
    # Stored files: zero preamble, and none of the planted text.
    stored = list(dicom_storages["dicom"].rglob("*.dcm"))
    assert len(stored) == 2 * (6 + 24)
    for path in stored:
        data = path.read_bytes()
        assert data[:128] == b"\x00" * 128 and PREAMBLE_MARKER[:20] not in data


def test_every_refusal_of_a_case_looks_the_same(stuffed, make_reader):
    study = stuffed.study
    reader, outsider = make_reader("blind_reader"), make_reader("outsider")
    services.assignment_create(study=study, reader=reader)
    study = services.study_open(study=study)
    # One of the two patients is in the repeat sample.
    [case] = Case.objects.filter(slots__reader=reader, slots__round="repeat")
    [other] = Case.objects.filter(study=study).exclude(pk=case.pk)
    client = APIClient()
    url = f"/api/v1/reading/{study.slug}/cases/{{}}/?round=repeat"
    with time_machine.travel(START, tick=False) as clock:
        for read_case in (case, other):
            services.case_open(study=study, reader=reader, code=read_case.code)
            services.read_submit(study=study, reader=reader, data={
                "case": read_case.code, "round": "first", "call": "benign", "confidence": 10,
                "submission_id": str(uuid.uuid4())})
        clock.move_to(START + timedelta(days=29, hours=14))  # the day before it is due
        client.force_login(reader)
        refusals = {
            "unknown": client.get(url.format("NOSUCHCD")),
            "not yet due": client.get(url.format(case_code(case=case, round="repeat"))),
            "not in the repeat sample": client.get(url.format(case_code(case=other, round="repeat"))),
            "a first-round code": client.get(url.format(case.code)),
        }
        outside = APIClient()
        outside.force_login(outsider)
        refusals["not assigned"] = outside.get(f"/api/v1/reading/{study.slug}/cases/{case.code}/?round=repeat")
        assert {r.status_code for r in refusals.values()} == {404}
        in_study = {r.content for name, r in refusals.items() if name != "not assigned"}
        assert len(in_study) == 1, refusals
        # Due from the start of the day, not the microsecond of the first read.
        clock.move_to(datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC))
        client.force_login(reader)
        assert client.get(url.format(case_code(case=case, round="repeat"))).status_code == 200
