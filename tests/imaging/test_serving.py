"""DICOMweb serving: who may fetch what, and the HTTP details the viewer relies on."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pydicom import dcmread

from readerstudy.imaging.importer import import_study
from readerstudy.imaging.models import Instance, Series
from readerstudy.studies import services
from readerstudy.studies.models import Case
from tests.imaging.dicomweb import body_of, multipart_parts
from tests.imaging.factory import ct_case, volume, write_manifest

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_worklists(dicom_root, tmp_path, make_reader):
    """Two open CT studies with one case each: reader A reads the first, reader B the second."""
    from readerstudy.studies.models import Study

    readers = {"a": make_reader("reader_a"), "b": make_reader("reader_b")}
    cases = {}
    for key in ("a", "b"):
        study = Study.objects.create(slug=f"study-{key}", title=key, modality="CT", repeat_sample_size=0)
        row = ct_case(dicom_root, f"{key}/ct", case_id=f"case-{key}", patient_id=f"P-{key}", n=6, rows=32, columns=32)
        import_study(study=study, manifest_text=write_manifest(tmp_path / f"{key}.csv", [row]).read_text(),
                     dicom_root=dicom_root)
        services.assignment_create(study=study, reader=readers[key])
        services.study_open(study=study)
        cases[key] = Case.objects.get(study=study)
    return readers, cases


def urls_of(case) -> dict[str, str]:
    series = Series.objects.get(case=case, role="axial")
    instance = series.instances.order_by("position").first()
    base = f"/dicomweb/studies/{series.study_uid}/series/{series.series_uid}"
    return {
        "metadata": f"{base}/metadata",
        "instance": f"{base}/instances/{instance.sop_uid}",
        "frame": f"{base}/instances/{instance.sop_uid}/frames/1",
        "wado_uri": (f"/wado?requestType=WADO&studyUID={series.study_uid}&seriesUID={series.series_uid}"
                     f"&objectUID={instance.sop_uid}&contentType=application%2Fdicom"),
    }


KINDS = ["metadata", "instance", "frame", "wado_uri"]


def test_a_reader_fetches_only_images_of_cases_in_their_own_worklist(two_worklists, client_for):
    readers, cases = two_worklists
    client = client_for(readers["a"])
    for kind in KINDS:
        assert client.get(urls_of(cases["a"])[kind]).status_code == 200, kind
        not_theirs = client.get(urls_of(cases["b"])[kind])
        assert not_theirs.status_code == 404, kind
        # Indistinguishable from an image that does not exist at all.
        missing = client.get(urls_of(cases["b"])[kind].replace("studies/", "studies/9"))
        assert missing.status_code == 404 and missing.content == not_theirs.content, kind


def test_an_unassigned_reader_gets_404_and_anonymous_is_refused(two_worklists, client_for, make_reader):
    _readers, cases = two_worklists
    for kind in KINDS:
        assert client_for(make_reader(f"nobody-{kind}")).get(urls_of(cases["a"])[kind]).status_code == 404
        assert client_for(None).get(urls_of(cases["a"])[kind]).status_code in (401, 403)


def test_a_coordinator_fetches_every_case_and_a_draft_or_closed_study_hides_images(two_worklists, client_for,
                                                                                    coordinator):
    readers, cases = two_worklists
    assert client_for(coordinator).get(urls_of(cases["b"])["frame"]).status_code == 200
    services.study_close(study=cases["a"].study)
    assert client_for(readers["a"]).get(urls_of(cases["a"])["frame"]).status_code == 404


def test_responses_carry_etag_type_length_and_no_file_name(two_worklists, client_for):
    readers, cases = two_worklists
    client = client_for(readers["a"])
    expected_types = {
        "metadata": "application/dicom+json",
        "instance": 'multipart/related; type="application/dicom"',
        "frame": 'multipart/related; type="application/octet-stream"',
        "wado_uri": "application/dicom",
    }
    for kind, url in urls_of(cases["a"]).items():
        response = client.get(url)
        body = body_of(response)
        assert response["Content-Type"].startswith(expected_types[kind]), kind
        assert int(response["Content-Length"]) == len(body), kind
        assert response["Cache-Control"].startswith("private")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "Content-Disposition" not in response, kind
        etag = response["ETag"]
        again = client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304 and again["ETag"] == etag and body_of(again) == b"", kind


def test_a_frame_is_the_raw_pixel_data_with_its_transfer_syntax(two_worklists, client_for):
    readers, cases = two_worklists
    response = client_for(readers["a"]).get(urls_of(cases["a"])["frame"])
    [(content_type, data)] = multipart_parts(response)
    assert content_type == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    np.testing.assert_array_equal(np.frombuffer(data, "<i2").reshape(32, 32), volume(6, 32, 32)[0])


def test_series_metadata_lists_every_instance_without_pixel_data(two_worklists, client_for):
    readers, cases = two_worklists
    response = client_for(readers["a"]).get(urls_of(cases["a"])["metadata"])
    instances = response.json() if hasattr(response, "json") and not response.streaming else None
    import json

    instances = instances or json.loads(body_of(response))
    assert len(instances) == 6
    assert all("7FE00010" not in item for item in instances)
    assert instances[0]["00280010"] == {"vr": "US", "Value": [32]}
    positions = [item["00200032"]["Value"][2] for item in instances]
    assert positions == sorted(positions)


def test_wado_uri_serves_the_stored_file_and_rejects_other_content_types(two_worklists, client_for):
    readers, cases = two_worklists
    client = client_for(readers["a"])
    url = urls_of(cases["a"])["wado_uri"]
    ds = dcmread(io.BytesIO(body_of(client.get(url))))
    assert ds.PatientID == cases["a"].code
    assert client.get(url.replace("application%2Fdicom", "image%2Fjpeg")).status_code == 406
    assert client.get(url.replace("requestType=WADO", "requestType=X")).status_code == 400


def test_the_case_payload_lists_axial_then_sagittal_with_urls_that_work(two_worklists, client_for):
    readers, cases = two_worklists
    client = client_for(readers["a"])
    payload = client.get(f"/api/v1/reading/{cases['a'].study.slug}/cases/{cases['a'].code}/").json()
    assert [s["role"] for s in payload["series"]] == ["axial", "sagittal"]
    sagittal = payload["series"][1]
    assert len(sagittal["instances"]) == 32
    instance = sagittal["instances"][0]
    assert client.get(f"{instance['frames_url']}/1").status_code == 200
    assert client.get(f"{instance['frames_url']}/2").status_code == 404  # one frame each
    assert Instance.objects.filter(series__case=cases["a"]).count() == 6 + 32
