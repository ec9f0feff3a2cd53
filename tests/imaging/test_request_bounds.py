"""Requests a client can make too big or malformed get a 4xx with a message, not a 500 or a
response out of proportion: long WADO-RS frame lists, a manifest that is not UTF-8."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from readerstudy.studies.models import Case
from tests.imaging.test_serving import two_worklists, urls_of  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_a_frame_list_out_of_proportion_to_the_instance_is_refused(two_worklists, client_for):  # noqa: F811
    readers, cases = two_worklists
    client, frame_url = client_for(readers["a"]), urls_of(cases["a"])["frame"]
    base = frame_url.removesuffix("/frames/1") + "/frames/"
    many = client.get(base + ",".join(["1"] * 2000))  # 4 KB of URL once made 262 MB
    assert many.status_code == 400 and many["Content-Type"] == "application/json"
    assert len(many.content) < 200 and "Too many frames in one request" in many.json()["detail"]
    thrice = client.get(base + "1,1,1")
    assert thrice.status_code == 400 and "at most 2 times" in thrice.json()["detail"]
    # A frame asked for once or twice is served.
    assert client.get(frame_url).status_code == 200
    assert client.get(base + "1,1").status_code == 200


def test_a_frame_list_is_checked_for_access_before_its_length(two_worklists, client_for):  # noqa: F811
    readers, cases = two_worklists
    others = urls_of(cases["b"])["frame"].removesuffix("/frames/1") + "/frames/" + ",".join(["1"] * 50)
    assert client_for(readers["a"]).get(others).status_code == 404


def test_import_study_names_a_manifest_that_is_not_utf8_without_a_traceback(ct_study, dicom_root, tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_bytes("patient_id,case_id,institution\nP1,C1,Hôpital Saint-Éloi\n".encode("cp1252"))
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_study", str(manifest), "--dicom-root", str(dicom_root), "--study", ct_study.slug,
                     stderr=err)
    # "ô" is the 39th byte: 31 of the header line, then "P1,C1,H".
    assert "manifest.csv is not UTF-8 text (byte 39 is not); save it as 'CSV UTF-8'" in err.getvalue()
    assert Case.objects.count() == 0
