"""The reading room's pages through Django's test client: access, blinding, what is shown."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from readerstudy.studies import keymap, protocol
from readerstudy.studies.models import Case, CaseOpening, ReadingSlot
from readerstudy.studies.pseudonyms import case_code
from readerstudy.studies.selectors import worklist_for
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# What make_study stores about the cases; none of it may reach a reader's page.
SECRETS = ("Secret General Hospital", "PAT-0", "SRC-0", "VendorX", "histopathology", "biopsy", "follow-up")


def signed_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def read_url(study, code, round_="first"):
    return reverse("web-read", kwargs={"slug": study.slug, "code": code}) + f"?round={round_}"


def config_of(response, element_id="reading-config"):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, f"no {element_id} block in the page"
    return json.loads(match.group(1))


def test_the_worklist_asks_an_anonymous_visitor_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_signing_in_leads_to_the_worklist(client, reader, open_study):
    response = client.post(reverse("login"), {"username": reader.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_the_login_page_says_when_the_password_is_wrong(client, reader):
    response = client.post(reverse("login"), {"username": reader.username, "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_the_worklist_shows_progress_and_the_next_case_and_nothing_else(client, reader, open_study):
    worklist = worklist_for(study=open_study, reader=reader)
    page = signed_in(client, reader).get("/").content.decode()

    assert open_study.title in page
    assert f"0 of {worklist['progress']['total']} reads done" in page
    assert read_url(open_study, worklist["next"]["code"]) in page
    other_codes = set(Case.objects.filter(study=open_study).values_list("code", flat=True)) - {worklist["next"]["code"]}
    assert not [code for code in other_codes if code in page]
    assert not [secret for secret in SECRETS if secret in page]


def test_the_worklist_advances_after_a_read(client, reader, open_study, submit_read):
    first = submit_read(open_study, reader)
    page = signed_in(client, reader).get("/").content.decode()
    nxt = worklist_for(study=open_study, reader=reader)["next"]["code"]
    assert nxt != first
    assert read_url(open_study, nxt) in page
    assert read_url(open_study, first) not in page
    assert "1 of " in page


def test_upcoming_repeat_reads_show_their_dates_but_not_their_cases(client, reader, open_study, submit_read):
    with time_machine.travel(START, tick=False):
        codes = [submit_read(open_study, reader) for _ in range(6)]
        page = signed_in(client, reader).get("/").content.decode()
    assert "Upcoming repeat reads" in page
    due = (START + timedelta(days=30)).date()
    assert f'<time datetime="{due:%Y-%m-%d}">' in page
    assert not [code for code in codes if code in page]
    assert "All reads available now are done." in page


def test_repeat_reads_due_the_same_day_are_one_line_with_their_count(client, reader, open_study, submit_read):
    with time_machine.travel(START, tick=False):
        for _ in range(6):
            submit_read(open_study, reader)
    with time_machine.travel(START + timedelta(days=31), tick=False):
        due = worklist_for(study=open_study, reader=reader)["repeats_due"]
        page = signed_in(client, reader).get("/").content.decode()
    assert len(due) == 2
    lines = re.findall(r"<li data-due-count=\"(\d+)\">Due since", page)
    assert lines == ["2"], "two reads due the same day are one line, not two identical ones"
    assert f"{(START + timedelta(days=30)).date():%Y-%m-%d}" in page
    first_due = min(due, key=lambda row: row["available_from"])["code"]
    assert page.count("?round=repeat") == 2  # the line's link and the "Next repeat read" button
    assert read_url(open_study, first_due, "repeat") in page


def test_the_reading_page_embeds_the_blinded_case_and_runs_no_inline_script(client, reader, open_study):
    code = worklist_for(study=open_study, reader=reader)["next"]["code"]
    response = signed_in(client, reader).get(read_url(open_study, code))
    assert response.status_code == 200
    config = config_of(response)
    assert config["case"] == code
    assert config["payload"]["code"] == code
    assert config["urls"]["reads"] == f"/api/v1/reading/{open_study.slug}/reads/"
    page = response.content.decode()
    assert not [secret for secret in SECRETS if secret in page]
    scripts = re.findall(r"<script(?P<attrs>[^>]*)>", page)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts), scripts
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_reading_page_carries_the_table_and_its_help_lists_it(client, reader, open_study):
    code = worklist_for(study=open_study, reader=reader)["next"]["code"]
    response = signed_in(client, reader).get(read_url(open_study, code))
    assert config_of(response)["keys"] == keymap.for_page()
    help_list = re.search(r'<details class="shortcuts">.*?<dl>(.*?)</dl>', response.content.decode(), re.S).group(1)
    shown = [(tuple(html.unescape(k) for k in re.findall(r"<kbd>(.*?)</kbd>", dt)), html.unescape(dd))
             for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", help_list)]
    questions = protocol.questions_for(open_study, "first")
    assert shown == keymap.help_rows(questions)
    assert shown[:2] == [(("B",), "Call: Benign (osteoporotic)"), (("M",), "Call: Malignant (pathological)")]


def test_opening_the_reading_page_records_the_first_opening(client, reader, open_study):
    code = worklist_for(study=open_study, reader=reader)["next"]["code"]
    with time_machine.travel(START, tick=False):
        signed_in(client, reader).get(read_url(open_study, code))
    opening = CaseOpening.objects.get(reader=reader, case__code=code, round="first")
    assert opening.opened_at == START


def test_a_case_outside_the_readers_worklist_cannot_be_opened_by_url(
        client, reader, open_study, make_study):
    elsewhere = make_study("other-study", n=2)
    foreign_code = Case.objects.filter(study=elsewhere).first().code
    signed_in(client, reader)
    for url in (read_url(open_study, foreign_code), read_url(elsewhere, foreign_code),
                read_url(open_study, "NOSUCHCODE")):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "not in your worklist" in response.content.decode()
        assert "reading-config" not in response.content.decode()


def test_a_repeat_read_is_refused_before_its_date_as_an_unknown_case_is(client, reader, open_study, submit_read):
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(6):
            submit_read(open_study, reader)
        case = ReadingSlot.objects.filter(study=open_study, reader=reader, round="repeat").first().case
        repeat_code = case_code(case=case, round="repeat")  # the code the repeat round shows
        signed_in(client, reader)
        unknown = client.get(read_url(open_study, "NOSUCHCD", "repeat"))
        early = client.get(read_url(open_study, repeat_code, "repeat"))
        def page(response) -> str:  # without the form's per-response CSRF token
            return re.sub(r'value="[^"]{64}"', "", response.content.decode())

        assert (early.status_code, page(early)) == (404, page(unknown))
        assert "reading-config" not in early.content.decode()

        clock.move_to(START + timedelta(days=30, minutes=1))
        signed_in(client, reader)  # the session of 30 days ago has expired
        assert client.get(read_url(open_study, repeat_code, "repeat")).status_code == 200
        assert client.get(read_url(open_study, case.code, "repeat")).status_code == 404


def test_a_case_already_read_is_not_reopened(client, reader, open_study, submit_read):
    code = submit_read(open_study, reader)
    response = signed_in(client, reader).get(read_url(open_study, code))
    assert response.status_code == 409
    assert "Already read" in response.content.decode()


def test_the_coordinator_page_is_for_coordinators_only(client, reader, open_study):
    url = reverse("web-coordinator", kwargs={"slug": open_study.slug})
    assert signed_in(client, reader).get(url).status_code == 403


def test_the_coordinator_sees_progress_per_reader_and_the_schedule(
        client, coordinator, reader, other_reader, open_study, submit_read):
    submit_read(open_study, reader)
    response = signed_in(client, coordinator).get(reverse("web-coordinator", kwargs={"slug": open_study.slug}))
    assert response.status_code == 200
    page = response.content.decode()
    rows = dict(re.findall(r'<tr data-reader="([^"]+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {reader.username, other_reader.username}
    assert "1 / 6" in rows[reader.username]
    assert "0 / 6" in rows[other_reader.username]
    assert "Repeat-read schedule" in page
    assert "waiting for first read" in page


def test_a_coordinator_finds_their_studies_on_the_worklist_page(client, coordinator, open_study):
    page = signed_in(client, coordinator).get("/").content.decode()
    assert reverse("web-coordinator", kwargs={"slug": open_study.slug}) in page


def test_the_coordinator_page_links_to_the_studys_data(client, coordinator, open_study, make_study):
    make_study("another-study", n=2)  # the page must show this study's links, not another's
    page = signed_in(client, coordinator).get(
        reverse("web-coordinator", kwargs={"slug": open_study.slug})).content.decode()
    assert "<h1>Study ct-study</h1>" in page
    for name in ("study-progress", "study-schedule", "study-reads", "study-audit"):
        assert f'href="{reverse(name, kwargs={"slug": open_study.slug})}"' in page
