"""The coordinator's pages through Django's test client: who may see them, and that each form
goes through the service the API and the commands use (so no path skips a rule)."""

from __future__ import annotations

import html
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from readerstudy.core.models import AuditEvent
from readerstudy.imaging.manifest import REQUIRED_COLUMNS
from readerstudy.imaging.models import Instance
from readerstudy.studies import services
from readerstudy.studies.models import Assignment, Case, ReadingSlot, Study
from readerstudy.studies.selectors import worklist_for
from tests.conftest import PASSWORD
from tests.imaging.factory import ct_case, write_manifest

pytestmark = pytest.mark.django_db

# Every coordinator page a GET reaches, by URL name (None: no study in the address).
STUDY_PAGES = ["web-coordinator", "web-study-settings", "web-study-cases", "web-study-readers", "web-study-open",
               "web-study-close", "web-schedule-csv"]
SITE_PAGES = ["web-coordinator-home", "web-study-create", "web-manifest-example"]


def signed_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def url(name: str, study: Study | None = None, **kwargs) -> str:
    if study is not None:
        kwargs["slug"] = study.slug
    return reverse(name, kwargs=kwargs or None)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def posted(form) -> dict:
    """What a browser sends for the form as shown (an unticked box and an empty list send nothing)."""
    return {name: value for name, value in form.initial.items() if value is not None and value is not False}


def problems_listed(page: str) -> list[str]:
    """The import report's list items, as text."""
    items = re.findall(r'<li class="problem">(.*?)</li>', page, re.S)
    return [html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip()) for item in items]


def zipped(root: Path, rows: list[dict], *, extra: dict[str, bytes] | None = None) -> SimpleUploadedFile:
    write_manifest(root / "manifest.csv", rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return SimpleUploadedFile("cases.zip", buffer.getvalue(), content_type="application/zip")


@pytest.fixture
def stored_files(settings, tmp_path):
    """Both DICOM storages in this test's folder; returns a function listing what they hold."""
    storages = dict(settings.STORAGES)
    for alias in ("dicom", "dicom_originals"):
        storages[alias] = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                           "OPTIONS": {"location": tmp_path / "storage" / alias}}
    settings.STORAGES = storages
    return lambda: sorted(p for p in (tmp_path / "storage").rglob("*") if p.is_file())


@pytest.fixture
def incoming(tmp_path) -> Path:
    root = tmp_path / "incoming"
    root.mkdir()
    return root


@pytest.fixture
def draft(db) -> Study:
    return Study.objects.create(slug="draft-ct", title="Draft CT study", modality="CT", seed=5, repeat_sample_size=0)


# ---- who may see the pages -----------------------------------------------------------------


@pytest.mark.parametrize("name", STUDY_PAGES + SITE_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in(client, open_study, name):
    response = client.get(url(name, open_study if name in STUDY_PAGES else None))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", STUDY_PAGES + SITE_PAGES)
def test_a_reader_gets_403_on_every_coordinator_page(client, reader, open_study, name):
    response = signed_in(client, reader).get(url(name, open_study if name in STUDY_PAGES else None))
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["web-study-open", "web-study-close", "web-study-readers", "web-study-settings"])
def test_a_reader_cannot_post_to_a_coordinator_page(client, reader, open_study, name):
    signed_in(client, reader)
    assert client.post(url(name, open_study), {"readers": [reader.pk]}).status_code == 403
    assert Study.objects.get(pk=open_study.pk).status == Study.Status.OPEN


def test_every_coordinator_form_needs_the_csrf_token(coordinator, open_study, draft):
    client = signed_in(Client(enforce_csrf_checks=True), coordinator)
    for target in (url("web-study-close", open_study), url("web-study-create"), url("web-study-cases", draft),
                   url("web-study-readers", draft), url("web-reader-create", draft)):
        assert client.post(target, {"title": "x"}).status_code == 403, target
    assert Study.objects.get(pk=open_study.pk).status == Study.Status.OPEN
    assert Study.objects.count() == 2


def test_the_coordinator_pages_run_no_inline_script(client, coordinator, open_study):
    signed_in(client, coordinator)
    for name in ("web-coordinator", "web-study-settings", "web-study-cases", "web-study-readers"):
        response = client.get(url(name, open_study))
        assert response.status_code == 200
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert "<script" not in response.content.decode()
        assert re.search(r' on[a-z]+="', response.content.decode()) is None


# ---- the studies ---------------------------------------------------------------------------


def test_the_home_page_lists_every_study_with_its_status_cases_readers_and_progress(
        client, coordinator, reader, open_study, draft, submit_read):
    submit_read(open_study, reader)
    page = signed_in(client, coordinator).get(url("web-coordinator-home")).content.decode()
    rows = dict(re.findall(r'<tr data-study="([^"]+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {open_study.slug, draft.slug}
    assert "open" in rows[open_study.slug] and "draft" in rows[draft.slug]
    total = ReadingSlot.objects.filter(study=open_study).count()
    assert f"1 of {total}" in rows[open_study.slug]
    assert re.search(r"<td>6</td>\s*<td>2</td>", rows[open_study.slug]), "6 cases, 2 readers"
    assert "not open yet" in rows[draft.slug]
    assert f'href="{url("web-study-create")}"' in page


def test_a_coordinator_finds_the_studies_from_every_page_but_a_reader_does_not(client, coordinator, reader,
                                                                               open_study):
    assert f'href="{url("web-coordinator-home")}"' in signed_in(client, coordinator).get("/").content.decode()
    client.logout()
    assert url("web-coordinator-home") not in signed_in(client, reader).get("/").content.decode()


def test_a_coordinator_creates_a_study_with_its_answer_form(client, coordinator):
    response = signed_in(client, coordinator).post(url("web-study-create"), {
        "title": "Vertebral fractures, MRI", "slug": "vfx-mri", "modality": "MR", "description": "",
        "ask_confidence": "on", "ask_three_tier": "on", "measurements": ["anterior_height", "vertebral_angle"],
        "washout_days": "35", "repeat_sample_size": "10", "repeat_same_patients": "on", "seed": "",
    })
    study = Study.objects.get(slug="vfx-mri")
    assert response.status_code == 302 and response["Location"] == url("web-study-cases", study)
    assert (study.modality, study.washout_days, study.repeat_sample_size) == ("MR", 35, 10)
    assert study.ask_three_tier and not study.ask_features
    assert study.measurements == ["anterior_height", "vertebral_angle"]
    assert study.status == Study.Status.DRAFT and study.created_by == coordinator
    assert study.seed is not None  # an empty seed box: the model drew one
    event = AuditEvent.objects.get(study_slug="vfx-mri")
    assert (event.verb, event.actor) == ("created", coordinator)


def test_a_study_form_with_mistakes_says_which_and_creates_nothing(client, coordinator, draft):
    response = signed_in(client, coordinator).post(url("web-study-create"), {
        "title": "Another", "slug": draft.slug, "modality": "PET", "washout_days": "0", "repeat_sample_size": "5",
    })
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"slug", "modality", "washout_days"}
    assert "Please correct the fields marked below." in response.content.decode()
    assert Study.objects.count() == 1


def test_changing_the_settings_is_saved_and_audited_with_the_fields_changed(client, coordinator, draft):
    form = signed_in(client, coordinator).get(url("web-study-settings", draft)).context["form"]
    data = posted(form)
    data |= {"washout_days": 45, "title": "Draft CT study, v2"}
    response = client.post(url("web-study-settings", draft), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.washout_days, draft.title) == (45, "Draft CT study, v2")
    event = AuditEvent.objects.get(study_slug=draft.slug, verb="changed")
    assert event.details["fields"] == ["title", "washout_days"]


def test_after_the_first_read_the_frozen_settings_are_shown_disabled_and_cannot_change(
        client, coordinator, reader, open_study, submit_read):
    submit_read(open_study, reader)
    response = signed_in(client, coordinator).get(url("web-study-settings", open_study))
    form = response.context["form"]
    assert all(form.fields[name].disabled for name in Study.FROZEN_FIELDS)
    assert form.fields["slug"].disabled and not form.fields["title"].disabled
    assert "Reads exist for this study" in response.content.decode()
    data = posted(form)
    client.post(url("web-study-settings", open_study), data | {"washout_days": 3, "title": "Renamed",
                                                             "slug": "renamed"})
    open_study.refresh_from_db()
    assert (open_study.washout_days, open_study.title, open_study.slug) == (30, "Renamed", "ct-study")


def test_the_settings_page_shows_the_services_refusal_on_the_field(client, coordinator, draft, monkeypatch):
    """A rule the form cannot see (here a change made meanwhile elsewhere) comes back from the service."""
    from django.core.exceptions import ValidationError

    def refuse(**_kwargs):
        raise ValidationError({"modality": "The study already has cases imported as CT: its modality cannot change."})

    monkeypatch.setattr(services, "study_save", refuse)
    form = signed_in(client, coordinator).get(url("web-study-settings", draft)).context["form"]
    data = posted(form)
    response = client.post(url("web-study-settings", draft), data | {"modality": "MR"})
    assert response.status_code == 200
    assert response.context["form"].errors["modality"] == [
        "The study already has cases imported as CT: its modality cannot change."]


# ---- opening and closing -------------------------------------------------------------------


def test_opening_asks_for_confirmation_then_draws_every_readers_order(client, coordinator, make_study, reader):
    study = make_study("to-open", n=4, repeat_sample_size=0)
    services.assignment_create(study=study, reader=reader)
    signed_in(client, coordinator)
    confirm = client.get(url("web-study-open", study))
    assert "Open the study for reading?" in confirm.content.decode()
    assert Study.objects.get(pk=study.pk).status == Study.Status.DRAFT  # a GET changes nothing
    response = client.post(url("web-study-open", study), follow=True)
    assert Study.objects.get(pk=study.pk).status == Study.Status.OPEN
    assert ReadingSlot.objects.filter(study=study, reader=reader).count() == 4
    assert messages_of(response) == ["The study is open: its readers now see it on their worklist."]
    assert AuditEvent.objects.filter(study_slug=study.slug, verb="changed", actor=coordinator).exists()


def test_opening_a_study_without_cases_shows_the_services_reason(client, coordinator, draft):
    response = signed_in(client, coordinator).post(url("web-study-open", draft), follow=True)
    assert messages_of(response) == [
        "The study was not opened: The study has no cases to read: import cases first."]
    assert Study.objects.get(pk=draft.pk).status == Study.Status.DRAFT


def test_closing_asks_for_confirmation_and_a_closed_study_stays_closed(client, coordinator, open_study):
    signed_in(client, coordinator)
    assert "cannot be reopened" in client.get(url("web-study-close", open_study)).content.decode()
    closed = client.post(url("web-study-close", open_study), follow=True)
    assert messages_of(closed) == ["The study is closed: no more reads are taken."]
    assert Study.objects.get(pk=open_study.pk).status == Study.Status.CLOSED
    response = client.post(url("web-study-open", open_study), follow=True)
    assert messages_of(response) == ["The study was not opened: A closed study cannot be reopened."]


def test_a_draft_cannot_be_closed(client, coordinator, draft):
    response = signed_in(client, coordinator).post(url("web-study-close", draft), follow=True)
    assert messages_of(response) == [
        "The study was not closed: A draft study has not been opened, so there is nothing to close."]
    assert Study.objects.get(pk=draft.pk).status == Study.Status.DRAFT


# ---- the overview --------------------------------------------------------------------------


def test_the_overview_says_what_to_do_next(client, coordinator, draft, make_study, reader):
    signed_in(client, coordinator)
    assert 'data-next-step="import"' in client.get(url("web-coordinator", draft)).content.decode()
    study = make_study("with-cases", n=2)
    assert 'data-next-step="assign"' in client.get(url("web-coordinator", study)).content.decode()
    services.assignment_create(study=study, reader=reader)
    page = client.get(url("web-coordinator", study)).content.decode()
    assert 'data-next-step="ready"' in page and f'href="{url("web-study-open", study)}"' in page
    services.study_open(study=study)
    page = client.get(url("web-coordinator", study)).content.decode()
    assert 'data-next-step="open"' in page and f'href="{url("web-study-close", study)}"' in page
    assert f'href="{url("web-study-open", study)}"' not in page


def test_the_overview_links_to_the_model_and_export_pages_and_keeps_json_for_scripts(
        client, coordinator, open_study):
    page = signed_in(client, coordinator).get(url("web-coordinator", open_study)).content.decode()
    nav = re.search(r'<nav class="study-nav".*?</nav>', page, re.S).group(0)
    for name in ("web-study-settings", "web-study-cases", "web-study-readers", "web-exports", "web-inference"):
        assert f'href="{url(name, open_study)}"' in nav, name
    scripts = re.search(r'<section class="card api-links">.*?</section>', page, re.S).group(0)
    assert "For scripts (API)" in scripts
    assert f'href="{reverse("study-progress", kwargs={"slug": open_study.slug})}"' in scripts


def test_the_schedule_is_summarised_per_reader_and_downloads_as_the_commands_csv(
        client, coordinator, reader, other_reader, open_study, submit_read):
    for _ in range(6):
        submit_read(open_study, reader)
    page = signed_in(client, coordinator).get(url("web-coordinator", open_study)).content.decode()
    summary = dict(re.findall(r'<tr data-schedule-reader="([^"]+)">(.*?)</tr>', page, re.S))
    cells = {name: re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S) for name, row in summary.items()}
    # reader, total, done, due, in washout, next due, waiting for first read
    assert cells[reader.username][1:5] == ["2", "0", "0", "2"]
    assert cells[reader.username][6] == "0"
    assert cells[other_reader.username][1:5] == ["2", "0", "0", "0"]
    assert cells[other_reader.username][6] == "2"
    assert "Every repeat read (4 rows)" in page

    response = client.get(url("web-schedule-csv", open_study))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="ct-study-repeat-schedule.csv"' in response["Content-Disposition"]
    out = io.StringIO()
    call_command("repeat_schedule", "--study", open_study.slug, "--csv", stdout=out)
    assert response.content.decode() == out.getvalue()
    assert len(out.getvalue().splitlines()) == 5


# ---- cases ---------------------------------------------------------------------------------


def test_a_zip_is_imported_and_the_cases_are_listed(client, coordinator, draft, incoming, stored_files):
    upload = zipped(incoming, [ct_case(incoming, n=6)])
    response = signed_in(client, coordinator).post(url("web-study-cases", draft), {"file": upload}, follow=True)
    case = Case.objects.get(study=draft)
    assert messages_of(response) == ["Imported 1 case: 2 series, 70 images."]
    assert f'data-case="{case.code}"' in response.content.decode()
    assert AuditEvent.objects.get(study_slug=draft.slug, verb="imported").actor == coordinator


def test_a_refused_import_lists_every_problem_with_its_row_or_file_and_imports_nothing(
        client, coordinator, draft, incoming, stored_files):
    rows = [ct_case(incoming, n=6) | {"label": "unsure"},
            ct_case(incoming, "P0002/ct", n=6, patient_id="MRN-2", case_id="case-2")]
    upload = zipped(incoming, rows, extra={"P0002/ct/junk.dcm": b"not dicom"})
    response = signed_in(client, coordinator).post(url("web-study-cases", draft), {"file": upload})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert problems_listed(page) == [
        "manifest row 2 unknown label 'unsure' (use one of: benign, malignant)",
        "P0002/ct/junk.dcm not a DICOM file (no DICM prefix after the 128-byte preamble)",
    ]
    assert not Case.objects.exists() and not Instance.objects.exists() and stored_files() == []


def test_burned_in_annotations_are_refused_unless_the_coordinator_ticks_the_box(
        client, coordinator, draft, incoming, stored_files):
    row = ct_case(incoming, n=6, edit=lambda ds, k: setattr(ds, "BurnedInAnnotation", "YES" if k == 2 else "NO"))
    signed_in(client, coordinator)
    refused = client.post(url("web-study-cases", draft), {"file": zipped(incoming, [row])})
    [problem] = problems_listed(refused.content.decode())
    assert problem.startswith("P0001/ct_axial/IM0002.dcm BurnedInAnnotation is YES")
    assert "Accept images marked as having burned-in annotations" in problem
    client.post(url("web-study-cases", draft), {"file": zipped(incoming, [row]), "allow_burned_in": "on"})
    assert Case.objects.filter(study=draft).count() == 1


def test_an_upload_over_the_import_limit_is_refused_before_unpacking(client, coordinator, draft, settings):
    settings.READERSTUDY_IMPORT_MAX_BYTES = 100
    upload = SimpleUploadedFile("big.zip", b"x" * 101, content_type="application/zip")
    response = signed_in(client, coordinator).post(url("web-study-cases", draft), {"file": upload})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "The zip is 101\xa0bytes, more than the import limit of 100\xa0bytes (READERSTUDY_IMPORT_MAX_BYTES)."]
    assert "100\xa0bytes unpacked" in response.content.decode()


def test_an_open_study_takes_no_import(client, coordinator, open_study, incoming, stored_files):
    signed_in(client, coordinator)
    page = client.get(url("web-study-cases", open_study)).content.decode()
    assert "cases can only be imported into a draft study" in page and 'type="file"' not in page
    response = client.post(url("web-study-cases", open_study), {"file": zipped(incoming, [ct_case(incoming, n=6)])})
    assert problems_listed(response.content.decode()) == [
        "study 'ct-study' is open: cases can only be imported into a draft study"]
    assert Case.objects.filter(study=open_study).count() == 6


def test_the_cases_page_explains_every_manifest_column_and_offers_the_example(client, coordinator, draft):
    signed_in(client, coordinator)
    page = client.get(url("web-study-cases", draft)).content.decode()
    missing = [column for column in REQUIRED_COLUMNS if f"<code>{column}</code>" not in page]
    assert missing == []
    example = client.get(url("web-manifest-example"))
    assert example["Content-Disposition"] == 'attachment; filename="example-manifest.csv"'
    assert b"".join(example.streaming_content) == (django_settings.BASE_DIR / "docs" / "example-manifest.csv").read_bytes()


# ---- readers -------------------------------------------------------------------------------


def test_only_readers_not_yet_assigned_are_offered(client, coordinator, reader, other_reader, attending, draft):
    services.assignment_create(study=draft, reader=reader)
    form = signed_in(client, coordinator).get(url("web-study-readers", draft)).context["assign_form"]
    assert list(form.fields["readers"].queryset) == [attending, other_reader]


def test_assigning_two_readers_to_a_draft_draws_their_orders_only_at_opening(
        client, coordinator, reader, other_reader, make_study):
    study = make_study("assign", n=4)
    response = signed_in(client, coordinator).post(url("web-study-readers", study),
                                                   {"readers": [reader.pk, other_reader.pk]}, follow=True)
    assert set(Assignment.objects.filter(study=study).values_list("reader__username", flat=True)) == {
        reader.username, other_reader.username}
    assert not ReadingSlot.objects.filter(study=study).exists()
    assert messages_of(response) == [
        "Assigned resident_a, resident_b. Their reading orders are drawn when the study is opened."]
    assert AuditEvent.objects.filter(study_slug=study.slug, verb="assigned", actor=coordinator).count() == 2


def test_a_reader_assigned_to_an_open_study_gets_their_orders_at_once(client, coordinator, attending, open_study):
    signed_in(client, coordinator).post(url("web-study-readers", open_study), {"readers": [attending.pk]})
    assert worklist_for(study=open_study, reader=attending)["next"] is not None


def test_a_user_without_a_reader_profile_cannot_be_assigned(client, coordinator, draft):
    response = signed_in(client, coordinator).post(url("web-study-readers", draft), {"readers": [coordinator.pk]})
    assert response.status_code == 400
    assert "readers" in response.context["assign_form"].errors
    assert not Assignment.objects.exists()


def test_a_coordinator_creates_a_reader_account_assigned_to_the_study(client, coordinator, draft):
    response = signed_in(client, coordinator).post(url("web-reader-create", draft), {
        "username": "dr_lee", "password": "a-long-password", "role": "attending", "years_experience": "12",
        "specialty": "musculoskeletal",
    })
    assert response.status_code == 302
    assignment = Assignment.objects.get(study=draft)
    user = assignment.reader
    assert user.username == "dr_lee" and user.check_password("a-long-password") and not user.is_staff
    assert (user.reader_profile.role, user.reader_profile.years_experience) == ("attending", 12)
    assert AuditEvent.objects.filter(verb="created", object_type="auth.user", actor=coordinator).exists()


def test_an_existing_username_is_refused_on_the_form_and_nothing_is_assigned(client, coordinator, reader, draft):
    response = signed_in(client, coordinator).post(url("web-reader-create", draft), {
        "username": reader.username, "password": "a-long-password", "role": "resident", "years_experience": "1",
    })
    assert response.status_code == 400
    assert response.context["create_form"].errors["username"] == ["A user named 'resident_a' already exists."]
    assert not Assignment.objects.exists()


def test_a_reader_without_reads_is_removed_with_their_orders(client, coordinator, reader, open_study):
    signed_in(client, coordinator)
    remove = url("web-reader-remove", open_study, username=reader.username)
    assert "has no reads in this study" in client.get(remove).content.decode()
    response = client.post(remove, follow=True)
    assert messages_of(response) == ["Removed resident_a from this study."]
    assert not Assignment.objects.filter(study=open_study, reader=reader).exists()
    assert not ReadingSlot.objects.filter(study=open_study, reader=reader).exists()
    assert AuditEvent.objects.get(verb="unassigned").details == {"reader": reader.username}


def test_a_reader_with_reads_stays_assigned(client, coordinator, reader, open_study, submit_read):
    submit_read(open_study, reader)
    signed_in(client, coordinator)
    remove = url("web-reader-remove", open_study, username=reader.username)
    confirm = client.get(remove).content.decode()
    assert "has submitted 1 read in this study" in confirm and "confirm-remove" not in confirm
    response = client.post(remove, follow=True)
    assert messages_of(response) == [
        "resident_a was not removed: resident_a has submitted 1 read in this study, so the assignment stays: "
        "reads are kept for the analysis and cannot be removed."]
    assert Assignment.objects.filter(study=open_study, reader=reader).exists()


def test_a_reader_assigned_elsewhere_is_not_found_here(client, coordinator, reader, draft, make_study):
    other = make_study("other", n=2)
    services.assignment_create(study=other, reader=reader)
    response = signed_in(client, coordinator).post(url("web-reader-remove", draft, username=reader.username))
    assert response.status_code == 404
    assert Assignment.objects.filter(study=other, reader=reader).exists()



def test_the_progress_of_an_assisted_study_counts_its_ai_aided_round(client, coordinator, make_study, reader,
                                                                      open_study):
    study = make_study("assisted-progress", n=4, repeat_sample_size=0, mode="assisted")
    services.assignment_create(study=study, reader=reader)
    services.study_open(study=study)
    aided_slots = ReadingSlot.objects.filter(study=study, reader=reader, round="aided").count()
    assert aided_slots == 4

    client = signed_in(client, coordinator)
    for name in ("web-coordinator", "web-study-readers"):
        page = client.get(url(name, study)).content.decode()
        assert "AI-aided round" in page, name
        row = re.search(rf'<tr data-reader="{reader.username}">(.*?)</tr>', page, re.S).group(1)
        assert "0 / 4" in row, name
    overview = client.get(url("web-coordinator", study)).content.decode()
    assert "0 of 8" in overview  # 4 unaided + 4 AI-aided reads, none done

    blinded = client.get(url("web-coordinator", open_study)).content.decode()
    assert "AI-aided round" not in blinded  # a blinded study has no such round


def test_a_repeat_sample_larger_than_the_study_is_said_before_opening(client, coordinator, make_study, reader):
    study = make_study("small-repeat", n=4, repeat_sample_size=20)
    services.assignment_create(study=study, reader=reader)
    client = signed_in(client, coordinator)
    for name in ("web-study-open", "web-coordinator"):
        page = html.unescape(client.get(url(name, study)).content.decode())
        assert "The study has 4 patients: every one of them is drawn (4, not 20)." in page, name

    services.study_open(study=study)
    assert ReadingSlot.objects.filter(study=study, reader=reader, round="repeat").count() == 4


def test_a_repeat_sample_the_study_can_hold_gets_no_warning(client, coordinator, open_study):
    page = signed_in(client, coordinator).get(url("web-coordinator", open_study)).content.decode()
    assert "repeat-sample-short" not in page
