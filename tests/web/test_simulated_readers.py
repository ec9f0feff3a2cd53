"""The demo's simulated readers on the coordinator's pages: labelled "simulated" wherever a
reader is listed, never counted as people, and never offered for assignment."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse

from readerstudy.accounts.services import reader_create
from readerstudy.studies import services
from readerstudy.studies.models import Assignment
from readerstudy.studies.selectors import worklist_for

pytestmark = pytest.mark.django_db

SIMULATED_TAG = re.compile(r'<span class="tag tag-simulated"[^>]*>simulated</span>')


@pytest.fixture
def simulated_reader(db):
    return reader_create(username="sim-attending-7y", password=None, role="attending",
                         years_experience=7, simulated=True)


@pytest.fixture
def study_with_simulated_reader(open_study, simulated_reader):
    """``open_study`` (two people assigned) with a simulated reader who read one case."""
    services.assignment_create(study=open_study, reader=simulated_reader)
    code = worklist_for(study=open_study, reader=simulated_reader)["next"]["code"]
    services.case_open(study=open_study, reader=simulated_reader, code=code, round="first")
    services.read_submit(study=open_study, reader=simulated_reader, data={
        "case": code, "round": "first", "submission_id": str(uuid.uuid4()),
        "call": "benign", "confidence": 20,
    })
    return open_study


def page_of(client, coordinator, name: str, **kwargs) -> str:
    client.force_login(coordinator)
    response = client.get(reverse(name, kwargs=kwargs or None))
    assert response.status_code == 200
    return response.content.decode()


def rows(page: str, attribute: str) -> dict[str, str]:
    return dict(re.findall(rf'<tr {attribute}="([^"]+)">(.*?)</tr>', page, re.S))


def test_the_overview_labels_the_simulated_reader_in_progress_and_schedule_and_counts_people_apart(
        client, coordinator, reader, other_reader, simulated_reader, study_with_simulated_reader):
    page = page_of(client, coordinator, "web-coordinator", slug=study_with_simulated_reader.slug)

    progress = rows(page, "data-reader")
    assert set(progress) == {reader.username, other_reader.username, simulated_reader.username}
    assert SIMULATED_TAG.search(progress[simulated_reader.username])
    assert not SIMULATED_TAG.search(progress[reader.username] + progress[other_reader.username])

    schedule = rows(page, "data-schedule-reader")
    assert SIMULATED_TAG.search(schedule[simulated_reader.username])
    assert not SIMULATED_TAG.search(schedule[reader.username])
    detail = [row for row in re.findall(r'<tr data-state="[^"]+">(.*?)</tr>', page, re.S)
              if simulated_reader.username in row]
    assert detail and all(SIMULATED_TAG.search(row) for row in detail)

    facts = re.search(r"<dt>Readers</dt><dd>(.*?)</dd>", page, re.S).group(1)
    assert re.sub(r"<[^>]+>|\s+", " ", facts).split("·")[0].split() == [
        "2", "+", "1", "simulated", "(generated", "reads)"]


def test_the_readers_page_labels_the_simulated_reader_and_counts_people_apart(
        client, coordinator, simulated_reader, study_with_simulated_reader):
    page = page_of(client, coordinator, "web-study-readers", slug=study_with_simulated_reader.slug)
    assert "<h2>Assigned readers (2 + 1 simulated)</h2>" in page
    assert SIMULATED_TAG.search(rows(page, "data-reader")[simulated_reader.username])


def test_the_studies_home_counts_simulated_readers_apart_from_people(
        client, coordinator, study_with_simulated_reader):
    page = page_of(client, coordinator, "web-coordinator-home")
    row = rows(page, "data-study")[study_with_simulated_reader.slug]
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    readers_cell = re.sub(r"<[^>]+>", "", cells[3]).split()
    assert readers_cell == ["2", "+", "1", "simulated"]


def test_a_study_without_simulated_readers_shows_no_label(client, coordinator, open_study):
    for name, kwargs in (("web-coordinator", {"slug": open_study.slug}),
                         ("web-study-readers", {"slug": open_study.slug}),
                         ("web-coordinator-home", {})):
        page = page_of(client, coordinator, name, **kwargs)
        assert not SIMULATED_TAG.search(page) and "simulated" not in page, name


def test_a_simulated_reader_is_not_offered_for_assignment_and_cannot_be_posted(
        client, coordinator, reader, other_reader, simulated_reader, make_study):
    draft = make_study("draft", n=2)
    client.force_login(coordinator)
    url = reverse("web-study-readers", kwargs={"slug": draft.slug})
    form = client.get(url).context["assign_form"]
    assert list(form.fields["readers"].queryset) == [reader, other_reader]
    assert simulated_reader.username not in client.get(url).content.decode()

    response = client.post(url, {"readers": [simulated_reader.pk]})
    assert response.status_code == 400
    assert "not one of the available choices" in response.content.decode()
    assert not Assignment.objects.filter(study=draft).exists()


def test_the_progress_and_schedule_json_say_which_reader_is_simulated(
        client_for, coordinator, reader, simulated_reader, study_with_simulated_reader):
    api = client_for(coordinator)
    slug = study_with_simulated_reader.slug
    progress = {row["reader"]: row["simulated"]
                for row in api.get(f"/api/v1/studies/{slug}/progress/").json()}
    schedule = {(row["reader"], row["simulated"])
                for row in api.get(f"/api/v1/studies/{slug}/schedule/").json()}
    assert progress[simulated_reader.username] is True and progress[reader.username] is False
    assert (simulated_reader.username, True) in schedule and (reader.username, False) in schedule
    assert (simulated_reader.username, False) not in schedule
