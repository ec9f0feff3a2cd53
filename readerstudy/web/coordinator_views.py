"""The coordinator's pages: studies, their settings, cases, readers, opening and closing, and
the repeat-read schedule.

Thin views: check access (``coordinator_page``: coordinators only, anonymous visitors to the
login page, readers 403), validate the form, call the service the API, the commands and the
admin call, then redirect with a message (POST-redirect-GET). No inline script: plain forms.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from readerstudy.accounts.services import reader_create
from readerstudy.core.models import AuditEvent, audit
from readerstudy.core.permissions import is_coordinator
from readerstudy.imaging.importer import import_study_zip
from readerstudy.imaging.manifest import REQUIRED_COLUMNS
from readerstudy.imaging.validation import ImportRefused
from readerstudy.studies import selectors, services
from readerstudy.studies.answer_form import MEASUREMENTS
from readerstudy.studies.models import Study
from readerstudy.web.csp import strict_csp
from readerstudy.web.forms import (
    AssignForm,
    ImportForm,
    ReaderCreateForm,
    StudyForm,
    add_service_errors,
    import_max_bytes,
)

EXAMPLE_MANIFEST = settings.BASE_DIR / "docs" / "example-manifest.csv"


def coordinator_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Deny by default: anonymous visitors are sent to sign in, anyone but a coordinator gets 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if not is_coordinator(request.user):
            raise PermissionDenied("Only study coordinators may see this page.")
        return view(request, *args, **kwargs)

    return never_cache(strict_csp(login_required(wrapped)))


def _study(slug: str) -> Study:
    return get_object_or_404(Study, slug=slug)


def _to_study(study: Study, name: str = "web-coordinator") -> HttpResponse:
    return redirect(name, slug=study.slug)


def study_page_context(study: Study, section: str) -> dict[str, Any]:
    """What every study page shows around its content (``web/coordinator/base.html``): the study
    and its tabs, ``section`` naming the current one. The model and export pages use it too."""
    nav = [
        ("overview", "Overview", reverse("web-coordinator", kwargs={"slug": study.slug})),
        ("settings", "Settings", reverse("web-study-settings", kwargs={"slug": study.slug})),
        ("cases", "Cases", reverse("web-study-cases", kwargs={"slug": study.slug})),
        ("readers", "Readers", reverse("web-study-readers", kwargs={"slug": study.slug})),
        ("model", "Model", reverse("web-inference", kwargs={"slug": study.slug})),
        ("exports", "Statistics and exports", reverse("web-exports", kwargs={"slug": study.slug})),
    ]
    return {"study": study, "section": section, "study_nav": nav}


_study_context = study_page_context  # the name the model and export pages first imported


def _repeat_sample(study: Study) -> dict[str, int | bool]:
    """The repeat sample asked for and what the cases allow: a sample larger than the study's
    patients draws every patient, which the coordinator must hear before opening, not find
    later in the schedule."""
    patients = services.reading_cases(study).values("patient_pseudonym").distinct().count()
    asked = study.repeat_sample_size
    return {"asked": asked, "patients": patients, "drawn": min(asked, patients),
            "short": bool(asked) and asked > patients}


def _reader_counts(progress: list[dict[str, Any]]) -> dict[str, int]:
    """The assigned readers who are people, and the demo's simulated readers apart (their
    reads were generated): a page never counts a simulated reader as a person."""
    n_simulated = sum(1 for row in progress if row["simulated"])
    return {"n_people": len(progress) - n_simulated, "n_simulated": n_simulated}


def _next_step(study: Study, *, n_cases: int, n_readers: int) -> str:
    if study.status == Study.Status.DRAFT:
        if not n_cases:
            return "import"
        if not n_readers:
            return "assign"
        return "ready"
    return study.status


# ---- the studies -------------------------------------------------------------------------


@coordinator_page
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/coordinator/home.html", {"studies": selectors.studies_overview()})


@coordinator_page
@require_http_methods(["GET", "POST"])
def study_create(request: HttpRequest) -> HttpResponse:
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = services.study_save(study=form.instance, by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created the study “{study.title}”. Next: import its cases.")
            return _to_study(study, "web-study-cases")
    return render(request, "web/coordinator/study_form.html", {"form": form, "creating": True})


@coordinator_page
def coordinator(request: HttpRequest, slug: str) -> HttpResponse:
    """A study's overview: where it stands, what to do next, progress and the repeat schedule."""
    study = _study(slug)
    progress = selectors.progress_for(study=study)
    for row in progress:
        row["done"] = row["first_done"] + row["repeat_done"] + row["aided_done"]
        row["total"] = row["first_total"] + row["repeat_total"] + row["aided_total"]
    schedule = selectors.repeat_schedule(study=study)
    n_cases = services.reading_cases(study).count()
    n_training = study.cases.count() - n_cases
    api = [
        ("Study", reverse("study-detail", kwargs={"slug": slug})),
        ("Progress", reverse("study-progress", kwargs={"slug": slug})),
        ("Repeat-read schedule", reverse("study-schedule", kwargs={"slug": slug})),
        ("All reads", reverse("study-reads", kwargs={"slug": slug})),
        ("Audit log", reverse("study-audit", kwargs={"slug": slug})),
        ("Exports", reverse("study-exports", kwargs={"slug": slug})),
        ("Model inference status", reverse("study-inference", kwargs={"slug": slug})),
        ("Model predictions", reverse("study-predictions", kwargs={"slug": slug})),
    ]
    return render(request, "web/coordinator/study.html", study_page_context(study, "overview") | {
        "progress": progress,
        "repeat_sample": _repeat_sample(study),
        "schedule": schedule,
        "schedule_by_reader": selectors.repeat_schedule_by_reader(schedule),
        "schedule_states": sorted((state, sum(1 for r in schedule if r["state"] == state))
                                  for state in {r["state"] for r in schedule}),
        "n_cases": n_cases,
        "n_training": n_training,
        "n_readers": len(progress),
        **_reader_counts(progress),
        "measurement_labels": [MEASUREMENTS[m].label for m in study.measurements if m in MEASUREMENTS],
        "next_step": _next_step(study, n_cases=n_cases, n_readers=len(progress)),
        "api_links": [(label, url) for label, url in api if url],
    })


@coordinator_page
@require_http_methods(["GET", "POST"])
def study_settings(request: HttpRequest, slug: str) -> HttpResponse:
    study = _study(slug)
    form = StudyForm(request.POST or None, instance=study)
    if request.method == "POST" and form.is_valid():
        if not form.has_changed():
            messages.info(request, "Nothing was changed.")
            return _to_study(study)
        try:
            study = services.study_save(study=form.instance, by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved: {', '.join(form.changed_data)}.")
            return _to_study(study)
    return render(request, "web/coordinator/study_form.html",
                  study_page_context(_study(slug), "settings") | {"form": form, "creating": False})


@coordinator_page
@require_http_methods(["GET", "POST"])
def study_open(request: HttpRequest, slug: str) -> HttpResponse:
    study = _study(slug)
    if request.method == "POST":
        try:
            services.study_open(study=study, by=request.user)
        except ValidationError as exc:
            messages.error(request, f"The study was not opened: {' '.join(exc.messages)}")
        else:
            messages.success(request, "The study is open: its readers now see it on their worklist.")
        return _to_study(study)
    return render(request, "web/coordinator/confirm.html", study_page_context(study, "overview") | {
        "action": "open",
        "repeat_sample": _repeat_sample(study),
        "n_cases": services.reading_cases(study).count(),
        "n_readers": study.assignments.count(),
    })


@coordinator_page
@require_http_methods(["GET", "POST"])
def study_close(request: HttpRequest, slug: str) -> HttpResponse:
    study = _study(slug)
    if request.method == "POST":
        try:
            services.study_close(study=study, by=request.user)
        except ValidationError as exc:
            messages.error(request, f"The study was not closed: {' '.join(exc.messages)}")
        else:
            messages.success(request, "The study is closed: no more reads are taken.")
        return _to_study(study)
    return render(request, "web/coordinator/confirm.html", study_page_context(study, "overview") | {"action": "close"})


@coordinator_page
def schedule_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The repeat-read schedule as CSV: the same as ``manage.py repeat_schedule --csv``."""
    study = _study(slug)
    out = io.StringIO()
    selectors.repeat_schedule_csv(study=study, out=out)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-repeat-schedule.csv"'
    return response


# ---- cases -------------------------------------------------------------------------------


@coordinator_page
@require_http_methods(["GET", "POST"])
def study_cases(request: HttpRequest, slug: str) -> HttpResponse:
    """The study's cases and the import of a zip (manifest + DICOM): all or nothing."""
    study = _study(slug)
    form = ImportForm(request.POST or None, request.FILES or None)
    refused: ImportRefused | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = import_study_zip(study=study, upload=data["file"], by=request.user,
                                      allow_burned_in=data["allow_burned_in"], keep_originals=data["keep_originals"])
        except ImportRefused as exc:
            refused = exc
        else:
            messages.success(request, (
                f"Imported {len(result.case_codes)} case{'s' if len(result.case_codes) != 1 else ''}: "
                f"{result.n_series} series, {result.n_instances} images."))
            return _to_study(study, "web-study-cases")
    cases = (study.cases.select_related("reference").annotate(n_series=Count("series"))
             .order_by("test_set", "source_case_id"))
    return render(request, "web/coordinator/cases.html", study_page_context(study, "cases") | {
        "form": form,
        "refused": refused,
        "cases": cases,
        "columns": REQUIRED_COLUMNS,
        "max_bytes": import_max_bytes(),
    }, status=400 if refused else 200)


@coordinator_page
def manifest_example(request: HttpRequest) -> FileResponse:
    """The example manifest of ``docs/import-manifest.md``, to start a study's own from."""
    if not EXAMPLE_MANIFEST.is_file():
        raise Http404("The example manifest is not installed.")
    return FileResponse(EXAMPLE_MANIFEST.open("rb"), as_attachment=True, filename="example-manifest.csv",
                        content_type="text/csv; charset=utf-8")


# ---- readers -----------------------------------------------------------------------------


def _readers_page(request: HttpRequest, study: Study, *, assign_form: AssignForm | None = None,
                  create_form: ReaderCreateForm | None = None, status: int = 200) -> HttpResponse:
    progress = selectors.progress_for(study=study)
    return render(request, "web/coordinator/readers.html", study_page_context(study, "readers") | {
        "progress": progress,
        **_reader_counts(progress),
        "assign_form": assign_form or AssignForm(study=study),
        "create_form": create_form or ReaderCreateForm(),
        "closed": study.status == Study.Status.CLOSED,
    }, status=status)


@coordinator_page
@require_http_methods(["GET", "POST"])
def study_readers(request: HttpRequest, slug: str) -> HttpResponse:
    """The assigned readers; POST assigns the readers ticked (``services.assignment_create``)."""
    study = _study(slug)
    if request.method == "GET":
        return _readers_page(request, study)
    form = AssignForm(request.POST, study=study)
    if form.is_valid():
        try:
            with transaction.atomic():  # all the readers ticked, or none
                for reader in form.cleaned_data["readers"]:
                    services.assignment_create(study=study, reader=reader, by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            names = ", ".join(r.username for r in form.cleaned_data["readers"])
            extra = " Their reading orders are drawn." if study.status == Study.Status.OPEN else (
                " Their reading orders are drawn when the study is opened.")
            messages.success(request, f"Assigned {names}.{extra}")
            return _to_study(study, "web-study-readers")
    return _readers_page(request, study, assign_form=form, status=400)


@coordinator_page
@require_POST
def reader_create_view(request: HttpRequest, slug: str) -> HttpResponse:
    """A new reader account (``accounts.services.reader_create``), assigned to this study."""
    study = _study(slug)
    form = ReaderCreateForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                user = reader_create(**form.cleaned_data)
                audit(actor=request.user, verb=AuditEvent.Verb.CREATED, obj=user, role=form.cleaned_data["role"])
                services.assignment_create(study=study, reader=user, by=request.user)
        except ValueError as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created the reader account {user.username} and assigned it to this study.")
            return _to_study(study, "web-study-readers")
    return _readers_page(request, study, create_form=form, status=400)


@coordinator_page
@require_http_methods(["GET", "POST"])
def reader_remove(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    study = _study(slug)
    reader = get_object_or_404(get_user_model(), username=username, assignments__study=study)
    if request.method == "POST":
        try:
            services.assignment_remove(study=study, reader=reader, by=request.user)
        except ValidationError as exc:
            messages.error(request, f"{reader.username} was not removed: {' '.join(exc.messages)}")
        else:
            messages.success(request, f"Removed {reader.username} from this study.")
        return _to_study(study, "web-study-readers")
    return render(request, "web/coordinator/confirm.html", study_page_context(study, "readers") | {
        "action": "remove", "reader": reader, "n_reads": study.reads.filter(reader=reader).count(),
    })
