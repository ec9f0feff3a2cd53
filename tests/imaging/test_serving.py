"""DICOMweb serving: who may fetch what, and the HTTP details the viewer relies on."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from pydicom import dcmread
from rest_framework.authtoken.models import Token

from readerstudy.imaging import access, selectors
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


def test_wado_uri_serves_the_stored_image_for_display_and_rejects_other_content_types(two_worklists, client_for):
    readers, cases = two_worklists
    client = client_for(readers["a"])
    url = urls_of(cases["a"])["wado_uri"]
    ds = dcmread(io.BytesIO(body_of(client.get(url))))
    np.testing.assert_array_equal(ds.pixel_array, volume(6, 32, 32)[0])
    # Rebuilt from the display allow-list: not even the case code as the patient's id.
    assert "PatientID" not in ds and "PatientName" not in ds and ds.preamble == b"\x00" * 128
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


# -- the fast path: session cookie, one query, short-lived grants, sendfile ----------------------


@pytest.fixture(autouse=True)
def fresh_grants():
    """Grants live in the process: none may leak from one test into another."""
    access.forget_grants()
    yield
    access.forget_grants()


@pytest.fixture
def clock(monkeypatch):
    """The grants' clock, moved by hand: ``clock.now += 5``."""

    class Clock:
        now = 1_000.0

    monkeypatch.setattr(access, "_clock", lambda: Clock.now)
    return Clock


def session_client(user) -> Client:
    """A client signed in as the viewer is: Django's session cookie, nothing from DRF."""
    client = Client()
    client.force_login(user)
    return client


def test_the_session_cookie_and_an_api_token_authenticate_and_wrong_credentials_are_refused(two_worklists):
    readers, cases = two_worklists
    url = urls_of(cases["a"])["frame"]
    assert session_client(readers["a"]).get(url).status_code == 200
    assert session_client(readers["b"]).get(url).status_code == 404
    token = Token.objects.create(user=readers["a"])
    assert Client().get(url, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    refused = Client().get(url, HTTP_AUTHORIZATION="Token not-a-token")
    assert refused.status_code == 403 and "token" in refused.json()["detail"].lower()
    assert Client().get(url).json() == {"detail": "Authentication credentials were not provided."}
    assert session_client(readers["a"]).post(url).status_code == 405


def test_a_session_fetching_the_rest_of_a_series_costs_one_query_per_image(two_worklists,
                                                                           django_assert_num_queries):
    readers, cases = two_worklists
    client = session_client(readers["a"])
    series = Series.objects.get(case=cases["a"], role="axial")
    base = f"/dicomweb/studies/{series.study_uid}/series/{series.series_uid}/instances"
    first, *rest = series.instances.order_by("position")
    assert client.get(f"{base}/{first.sop_uid}/frames/1").status_code == 200
    for instance in rest:
        with django_assert_num_queries(1):
            assert client.get(f"{base}/{instance.sop_uid}/frames/1").status_code == 200


def test_a_closed_study_stops_a_sessions_image_requests_within_the_grant_bound(two_worklists, settings, clock):
    settings.READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS = 5
    readers, cases = two_worklists
    client, urls = session_client(readers["a"]), urls_of(cases["a"])
    assert client.get(urls["frame"]).status_code == 200
    services.study_close(study=cases["a"].study)
    clock.now += 4.9
    assert client.get(urls["instance"]).status_code == 200  # the series granted 4.9 s ago
    clock.now += 0.2  # a grant is not extended by use: 5.1 s after the check, check again
    assert client.get(urls["instance"]).status_code == 404
    assert client.get(urls["metadata"]).status_code == 404


def test_without_grants_a_closed_study_hides_images_at_once(two_worklists, settings):
    settings.READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS = 0
    readers, cases = two_worklists
    client, urls = session_client(readers["a"]), urls_of(cases["a"])
    assert client.get(urls["frame"]).status_code == 200
    services.study_close(study=cases["a"].study)
    assert client.get(urls["frame"]).status_code == 404


def test_a_logged_out_session_cookie_stops_working_within_the_grant_bound(two_worklists, settings, clock):
    settings.READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS = 5
    readers, cases = two_worklists
    client, url = session_client(readers["a"]), urls_of(cases["a"])["frame"]
    assert client.get(url).status_code == 200
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.logout()
    replayed = Client()
    replayed.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert replayed.get(url).status_code == 200  # the documented bound
    clock.now += 5.1
    assert replayed.get(url).status_code == 403


def test_a_grant_covers_one_series_of_one_session_and_a_refusal_is_not_remembered(two_worklists, settings,
                                                                                 clock):
    settings.READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS = 5
    readers, cases = two_worklists
    reader_a = session_client(readers["a"])
    assert reader_a.get(urls_of(cases["a"])["frame"]).status_code == 200
    assert reader_a.get(urls_of(cases["b"])["frame"]).status_code == 404
    assert session_client(readers["b"]).get(urls_of(cases["a"])["frame"]).status_code == 404
    # Refused a moment ago, allowed now: the refusal was not remembered.
    services.assignment_create(study=cases["a"].study, reader=readers["b"])
    reader_b = session_client(readers["b"])
    assert reader_b.get(urls_of(cases["a"])["frame"]).status_code == 200


def test_the_per_request_query_and_the_queryset_state_the_same_access_rule(two_worklists, coordinator,
                                                                           make_reader):
    readers, cases = two_worklists
    services.study_close(study=cases["b"].study)
    inactive = make_reader("inactive")
    services.assignment_create(study=cases["a"].study, reader=inactive)
    inactive.is_active = False
    inactive.save()
    people = [readers["a"], readers["b"], coordinator, make_reader("unassigned"), inactive, AnonymousUser()]
    for user in people:
        visible = set(selectors.visible_series(user).values_list("pk", flat=True))
        for series in Series.objects.all():
            uids = {"study_uid": series.study_uid, "series_uid": series.series_uid}
            instance = series.instances.first()
            assert (access.series_metadata_for(user=user, **uids) is not None) == (series.pk in visible)
            assert (access.instance_for(user=user, sop_uid=instance.sop_uid, **uids) is not None) == (
                series.pk in visible), (user, series)


def test_whole_files_are_built_by_django_never_handed_to_the_web_server(two_worklists, client_for):
    # A stored file holds more than display needs (blinding.DISPLAY_KEYWORDS): no response
    # asks the web server in front to send a stored file as it is.
    readers, cases = two_worklists
    client, urls = client_for(readers["a"]), urls_of(cases["a"])
    for kind in ("wado_uri", "metadata", "instance", "frame"):
        response = client.get(urls[kind])
        assert response.status_code == 200 and body_of(response), kind
        assert not {"X-Accel-Redirect", "X-Sendfile"} & set(response.headers), kind
def test_a_body_of_many_frames_is_streamed_and_a_single_frame_is_not(two_worklists, client_for, monkeypatch):
    from readerstudy.imaging import views

    readers, cases = two_worklists
    client, url = client_for(readers["a"]), urls_of(cases["a"])["frame"]
    assert not client.get(url).streaming
    monkeypatch.setattr(views, "IN_MEMORY_BODY", 100)
    streamed = client.get(url)
    assert streamed.streaming and int(streamed["Content-Length"]) == len(body_of(streamed))
    [(_type, data)] = multipart_parts(client.get(url))
    np.testing.assert_array_equal(np.frombuffer(data, "<i2").reshape(32, 32), volume(6, 32, 32)[0])


# -- single-part frames (what the viewer asks for) ---------------------------------------------

NATIVE = "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"


def test_a_frame_asked_for_by_its_bare_media_type_comes_alone(two_worklists, client_for):
    readers, cases = two_worklists
    client, url = client_for(readers["a"]), urls_of(cases["a"])["frame"]
    single = client.get(url, HTTP_ACCEPT="application/octet-stream")
    body = body_of(single)
    assert single.status_code == 200 and single["Content-Type"] == NATIVE
    np.testing.assert_array_equal(np.frombuffer(body, "<i2").reshape(32, 32), volume(6, 32, 32)[0])
    assert int(single["Content-Length"]) == len(body) == 32 * 32 * 2
    assert "Accept" in single["Vary"] and single["Cache-Control"].startswith("private")
    assert single["X-Content-Type-Options"] == "nosniff" and "Content-Disposition" not in single
    # Its own ETag: a cache must not answer a multipart request with it, or the other way round.
    multipart = client.get(url)
    assert multipart["ETag"] != single["ETag"] and "Accept" in multipart["Vary"]
    again = client.get(url, HTTP_ACCEPT="application/octet-stream", HTTP_IF_NONE_MATCH=single["ETag"])
    assert again.status_code == 304 and body_of(again) == b""
    # Refusals do not change with the Accept header.
    refused = client.get(urls_of(cases["b"])["frame"], HTTP_ACCEPT="application/octet-stream")
    assert refused.status_code == 404


@pytest.mark.parametrize(("accept", "single"), [
    ("application/octet-stream; transfer-syntax=*", True),
    ("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", True),
    ("application/*, multipart/related; type=\"application/octet-stream\"; q=0.9", True),
    # Same quality: the more specific range (multipart with its type) is preferred.
    ("application/*, multipart/related; type=\"application/octet-stream\"", False),
    ("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.80", False),  # not what is stored
    ("multipart/related; type=\"application/octet-stream\", application/octet-stream; q=0.5", False),
    ("*/*", False),
    ("image/*", False),
    ("", False),
])
def test_the_accept_header_chooses_single_or_multipart(two_worklists, client_for, accept, single):
    readers, cases = two_worklists
    response = client_for(readers["a"]).get(urls_of(cases["a"])["frame"], HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("multipart/related") is not single
    if not single:
        [(_type, data)] = multipart_parts(response)
        assert len(data) == 32 * 32 * 2


def test_several_frames_stay_multipart_whatever_the_accept_header(two_worklists, client_for):
    readers, cases = two_worklists
    response = client_for(readers["a"]).get(urls_of(cases["a"])["frame"] + ",1",
                                            HTTP_ACCEPT="application/octet-stream")
    assert [len(data) for _type, data in multipart_parts(response)] == [32 * 32 * 2] * 2


def test_a_single_frame_goes_out_by_sendfile_from_its_offset_and_no_further(two_worklists, client_for):
    """What gunicorn does with the response (``gunicorn.http.wsgi.Response.sendfile``): it
    sends Content-Length bytes from the wrapped file descriptor's current position. So the
    descriptor must sit at the frame's offset and Content-Length be the frame's length; a
    byte more would corrupt the next response on a keep-alive connection."""
    import os
    import socket

    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from django.test import RequestFactory
    from gunicorn.http.wsgi import FileWrapper

    readers, cases = two_worklists
    series = Series.objects.get(case=cases["a"], role="axial")
    instance = series.instances.order_by("position").first()
    offset, length = instance.frames[0]
    with selectors.open_instance(instance.storage_name) as stored:
        assert offset > 0 and offset + length <= stored.size

    request = RequestFactory().get(urls_of(cases["a"])["frame"], HTTP_ACCEPT="application/octet-stream")
    environ = request.environ | {"wsgi.file_wrapper": FileWrapper}
    client = Client()
    client.force_login(readers["a"])
    environ["HTTP_COOKIE"] = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    started = {}
    # Called directly, the handler's request signals would close the test's database
    # connection (and its transaction) on PostgreSQL; Django's test client disconnects them too.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = WSGIHandler()(environ, lambda status, headers: started.update(status=status, headers=dict(headers)))
        assert started["status"].startswith("200") and isinstance(body, FileWrapper)
        content_length = int(started["headers"]["Content-Length"])
        fileno = body.filelike.fileno()
        assert os.lseek(fileno, 0, os.SEEK_CUR) == offset and content_length == length
        sender, receiver = socket.socketpair()
        with sender, receiver:
            sender.sendfile(body.filelike, offset=offset, count=content_length)
            sender.shutdown(socket.SHUT_WR)
            received = b"".join(iter(lambda: receiver.recv(65536), b""))
        np.testing.assert_array_equal(np.frombuffer(received, "<i2").reshape(32, 32), volume(6, 32, 32)[0])
        body.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_a_byte_range_read_without_sendfile_stops_at_its_end():
    """A server without a file wrapper read()s the response: the range, not the rest of the file
    (the served test files end with their pixels, so this is checked on a file that goes on)."""
    from readerstudy.imaging.views import _ByteRange

    stored = io.BytesIO(b"header" + b"FRAME-ONE" + b"FRAME-TWO")
    frame = _ByteRange(stored, offset=6, length=9)
    assert [frame.read(4), frame.read(), frame.read()] == [b"FRAM", b"E-ONE", b""]
    short = _ByteRange(io.BytesIO(b"header" + b"FRA"), offset=6, length=9)
    assert short.read() == b"FRA"
    with pytest.raises(OSError, match="shorter than its frame index"):
        short.read()
