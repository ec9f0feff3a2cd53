"""The reading room's pages. Thin views: check access, call one selector or service, render.

Pages run no inline script: the reading page's configuration (the blinded case payload, the
API URLs, the CSRF token) travels in a ``json_script`` block for the Vite bundle to read.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache

from readerstudy.core.permissions import is_coordinator
from readerstudy.studies import selectors, services
from readerstudy.studies.exceptions import NotInWorklist, ReadConflict, RepeatNotDue, StudyNotOpen
from readerstudy.studies.models import Round, Study
from readerstudy.web.csp import strict_csp


def _optional_url(name: str, **kwargs: Any) -> str | None:
    """The URL of an endpoint another part of the project may not have built yet."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def _upcoming_by_date(rows: list[dict[str, Any]]) -> list[tuple[Any, int]]:
    """Upcoming repeat reads as (date, how many): dates only, never which case."""
    counts = Counter(row["available_from"].date() for row in rows)
    return sorted(counts.items())


@never_cache
@strict_csp
@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    studies = []
    for study in selectors.studies_for_reader(reader=request.user):
        item = selectors.worklist_for(study=study, reader=request.user)
        item["upcoming_by_date"] = _upcoming_by_date(item["repeats_upcoming"])
        studies.append(item)
    coordinated = Study.objects.order_by("title") if is_coordinator(request.user) else Study.objects.none()
    return render(request, "web/worklist.html", {
        "studies": studies,
        "coordinated": coordinated,
        "config": {"csrfToken": get_token(request)},
    })


def _unavailable(request: HttpRequest, *, status: int, title: str, message: str) -> HttpResponse:
    return render(request, "web/case_unavailable.html", {"title": title, "message": message}, status=status)


@never_cache
@strict_csp
@login_required
def read_case(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    round_ = request.GET.get("round", Round.FIRST.value)
    study = selectors.study_for_reader(reader=request.user, slug=slug)
    if study is None:
        return _unavailable(request, status=404, title="Case not available",
                            message="This case is not in your worklist.")
    try:
        slot = services.case_open(study=study, reader=request.user, code=code, round=round_)
    except NotInWorklist:
        return _unavailable(request, status=404, title="Case not available",
                            message="This case is not in your worklist for this round.")
    except RepeatNotDue as exc:
        return render(request, "web/case_unavailable.html", {
            "title": "Repeat read not yet due",
            "message": "This repeat read opens after the washout period, on:",
            "available_from": exc.available_from,
        }, status=403)
    except ReadConflict:
        return _unavailable(request, status=409, title="Already read",
                            message="You have already submitted this read; it cannot be changed.")
    except StudyNotOpen:
        return _unavailable(request, status=409, title="Study not open",
                            message="This study is not open for reading.")
    query = f"?round={round_}"
    config = {
        "study": study.slug,
        "case": code,
        "round": round_,
        # The same blinded payload the API gives, in the page: the viewer starts one round trip
        # earlier (the API stays the way to reopen a case without reloading).
        "payload": selectors.case_payload_for_reader(study=study, slot=slot),
        "csrfToken": get_token(request),
        "urls": {
            "case": reverse("reading-case", kwargs={"slug": slug, "code": code}) + query,
            "reads": reverse("reading-reads", kwargs={"slug": slug}),
            "worklist": reverse("reading-worklist", kwargs={"slug": slug}),
            "home": reverse("web-worklist"),
            "read": reverse("web-read", kwargs={"slug": slug, "code": "__CASE__"}),
        },
    }
    return render(request, "web/reading.html", {"code": code, "round": round_, "config": config})


@never_cache
@strict_csp
@login_required
def coordinator(request: HttpRequest, slug: str) -> HttpResponse:
    if not is_coordinator(request.user):
        raise PermissionDenied("Only study coordinators may see this page.")
    study = get_object_or_404(Study, slug=slug)
    progress = selectors.progress_for(study=study)
    for row in progress:
        total = row["first_total"] + row["repeat_total"]
        row["done"] = row["first_done"] + row["repeat_done"]
        row["total"] = total
    schedule = selectors.repeat_schedule(study=study)
    links = [
        ("Study (API)", _optional_url("study-detail", slug=slug)),
        ("Progress (JSON)", _optional_url("study-progress", slug=slug)),
        ("Repeat-read schedule (JSON)", _optional_url("study-schedule", slug=slug)),
        ("All reads (JSON)", _optional_url("study-reads", slug=slug)),
        ("Audit log (JSON)", _optional_url("study-audit", slug=slug)),
    ]
    later = [
        ("Statistics and exports", _optional_url("web-exports", slug=slug)),
        ("Exports (JSON)", _optional_url("study-exports", slug=slug)),
        ("Model inference status (JSON)", _optional_url("study-inference", slug=slug)),
        ("Model predictions (JSON)", _optional_url("study-predictions", slug=slug)),
    ]
    return render(request, "web/coordinator.html", {
        "study": study,
        "progress": progress,
        "schedule": schedule,
        "schedule_states": sorted(Counter(row["state"] for row in schedule).items()),
        "links": links,
        "later": later,
    })


login = strict_csp(auth_views.LoginView.as_view(
    template_name="web/login.html", redirect_authenticated_user=True,
))
logout = strict_csp(auth_views.LogoutView.as_view())
