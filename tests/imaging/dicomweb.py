"""A test client's view of DICOMweb: fetch everything a reader can fetch for a case."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from pydicom import dcmread
from pydicom.dataset import Dataset


def multipart_parts(response) -> list[tuple[str, bytes]]:
    """``[(content type, body)]`` of a multipart/related response."""
    boundary = re.search(r"boundary=([^;\s]+)", response["Content-Type"]).group(1).strip('"')
    body = b"".join(response.streaming_content) if response.streaming else response.content
    parts = []
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        content_type = re.search(rb"Content-Type: ([^\r\n]+)", head).group(1).decode()
        parts.append((content_type, data.removesuffix(b"\r\n")))
    return parts


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@dataclass
class Fetched:
    body: bytes = b""
    datasets: list[Dataset] = field(default_factory=list)
    n_instances: int = 0
    n_frames: int = 0


def everything_a_reader_can_fetch(client, *, study, case) -> Fetched:
    """The case payload, every series' metadata, every instance (WADO-RS and WADO-URI) and frame."""
    fetched = Fetched()
    opened = client.get(f"/api/v1/reading/{study.slug}/cases/{case.code}/")
    assert opened.status_code == 200, opened.content
    fetched.body += opened.content
    for series in opened.json()["series"]:
        metadata = client.get(series["metadata_url"])
        assert metadata.status_code == 200
        fetched.body += body_of(metadata)
        for instance in series["instances"]:
            wado_rs = client.get(instance["frames_url"].removesuffix("/frames"))
            assert wado_rs.status_code == 200
            [(_type, data)] = multipart_parts(wado_rs)
            fetched.body += data
            wado_uri = client.get(instance["wado_uri"])
            assert wado_uri.status_code == 200
            file_bytes = body_of(wado_uri)
            fetched.body += file_bytes
            fetched.datasets.append(dcmread(io.BytesIO(file_bytes)))
            fetched.n_instances += 1
            for n in range(1, instance["number_of_frames"] + 1):
                frame = client.get(f"{instance['frames_url']}/{n}")
                assert frame.status_code == 200
                fetched.body += b"".join(data for _t, data in multipart_parts(frame))
                fetched.n_frames += 1
    return fetched
