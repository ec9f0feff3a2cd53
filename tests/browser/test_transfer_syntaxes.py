"""The viewer decodes what the imaging app serves: pydicom-data files in their original
compressed transfer syntaxes (JPEG 2000, JPEG-LS, RLE, JPEG lossless and extended), through
the real WADO-RS path."""

from __future__ import annotations

import pytest

from readerstudy.imaging.models import Instance
from readerstudy.studies.models import ReadingSlot
from tests.browser.conftest import canvas_stats, sign_in, wait_until_loaded

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_every_compressed_transfer_syntax_is_decoded_and_shown(page, live_server, syntaxes_study, reader):
    served = set()
    page.on("response", lambda r: served.add(r.headers.get("content-type", "")) if "/frames/" in r.url else None)
    sign_in(page, live_server, reader)
    slots = ReadingSlot.objects.filter(study=syntaxes_study, reader=reader, round="first").select_related("case")
    for slot in slots:
        page.goto(f"{live_server.url}/read/{syntaxes_study.slug}/{slot.case.code}/?round=first")
        assert wait_until_loaded(page) == "loaded", (slot.case.source_case_id, page.text_content("#image-banner"))
        for pane in ("t1w", "t2w"):
            stats = canvas_stats(page, pane)
            assert stats["lit"] > 0.02 and stats["std"] > 2, (slot.case.source_case_id, pane, stats)
        page.screenshot(path=f"artifacts/transfer_syntax_{slot.case.source_case_id}.png")

    stored = set(Instance.objects.filter(series__case__study=syntaxes_study).values_list("transfer_syntax_uid", flat=True))
    assert {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.5",
            "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.51"} <= stored
    # The frames went over the wire compressed (PS3.18 media types), not transcoded, each
    # alone (single part, as the viewer asks), not wrapped in multipart.
    assert served and not any(content_type.startswith("multipart/") for content_type in served), served
    for media_type in ("image/jp2", "image/jls", "image/dicom-rle", "image/jpeg"):
        assert any(media_type in content_type for content_type in served), (media_type, served)
