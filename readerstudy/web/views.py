"""The reading room's pages. Thin views: check access, call one selector or service, render.

Pages run no inline script: the reading page's configuration (the blinded case payload, the
API URLs, the CSRF token) travels in a ``json_script`` block for the Vite bundle to read.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from readerstudy.accounts import signin
from readerstudy.accounts.signin import SignInBusy
from readerstudy.core.errors import RETRY_AFTER_S
from readerstudy.core.permissions import is_coordinator
from readerstudy.studies import keymap, protocol, pseudonyms, selectors, services
from readerstudy.studies.exceptions import NotInWorklist, ReadConflict, RepeatNotDue, StudyNotOpen
from readerstudy.studies.models import Read, ReadingSlot, Round, Study
from readerstudy.web.csp import strict_csp

logger = logging.getLogger(__name__)


def reader_scope(user) -> str:
    """What the pages' browser storage (drafts, the outbox of unsent reads) is keyed by, so that
    each signed-in reader finds and sends only their own: the account's pk, no name."""
    return f"u{user.pk}"


def _upcoming_by_date(rows: list[dict[str, Any]]) -> list[tuple[Any, int]]:
    """Upcoming repeat reads as (date, how many): dates only, never which case."""
    counts = Counter(row["available_from"].date() for row in rows)
    return sorted(counts.items())


def _due_by_date(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Repeat reads due, one line per day they became due: how many, and a link to the first of
    them (the rest follow one after another from the reading room). One row per read would list
    identical "due since" lines that tell the reader nothing more."""
    groups: dict[Any, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda row: row["available_from"]):
        day = row["available_from"].date()
        group = groups.setdefault(day, {"day": day, "count": 0, "code": row["code"]})
        group["count"] += 1
    return list(groups.values())


@never_cache
@strict_csp
@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    studies = []
    for study in selectors.studies_for_reader(reader=request.user):
        item = selectors.worklist_for(study=study, reader=request.user)
        item["upcoming_by_date"] = _upcoming_by_date(item["repeats_upcoming"])
        item["due_by_date"] = _due_by_date(item["repeats_due"])
        profile = getattr(request.user, "reader_profile", None)
        item["progress_page"] = study.is_teaching and profile is not None and profile.is_trainee
        studies.append(item)
    coordinated = Study.objects.order_by("title") if is_coordinator(request.user) else Study.objects.none()
    return render(request, "web/worklist.html", {
        "studies": studies,
        "coordinated": coordinated,
        "config": {"csrfToken": get_token(request), "readerScope": reader_scope(request.user)},
    })


def _unavailable(request: HttpRequest, *, status: int, title: str, message: str) -> HttpResponse:
    return render(request, "web/case_unavailable.html", {"title": title, "message": message}, status=status)


@never_cache
@strict_csp
@login_required
def read_case(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    round_ = request.GET.get("round", Round.FIRST.value)
    study = selectors.study_for_reader(reader=request.user, slug=slug)
    # Not assigned, unknown, not in the repeat sample, not yet due: one page, so that a reader
    # cannot tell them apart. The case is named by its code in the round (studies.pseudonyms).
    stored = study and pseudonyms.case_code_resolve(study=study, reader=request.user, round=round_, code=code)
    try:
        if study is None or not stored:  # no study: nothing stored either
            raise NotInWorklist(code)
        slot = services.case_open(study=study, reader=request.user, code=stored, round=round_)
    except (NotInWorklist, RepeatNotDue):
        return _unavailable(request, status=404, title="Case not available",
                            message="This case is not in your worklist for this round, or not available yet.")
    except ReadConflict:
        if study is not None and study.is_assisted and round_ == Round.FIRST and _aided_read_pending(
                study=study, reader=request.user, stored=str(stored)):
            # The unaided read is locked and its AI-aided read waits (a reload after the reveal,
            # or coming back to the case): that read, which shows the model's output again.
            return redirect(reverse("web-read", kwargs={"slug": slug, "code": code}) + f"?round={Round.AIDED.value}")
        if study is not None and study.is_teaching and round_ in (Round.FIRST, Round.REPEAT):
            # A trainee reviews a case read before, with its feedback (the page asks the server,
            # which refuses anyone the teaching study does not teach).
            return _review(request, study=study, code=code, stored=str(stored), round_=round_)
        return _unavailable(request, status=409, title="Already read",
                            message="You have already submitted this read; it cannot be changed.")
    except StudyNotOpen:
        return _unavailable(request, status=409, title="Study not open",
                            message="This study is not open for reading.")
    return _reading_page(request, study=study, slot=slot, code=code, round_=round_)


def _aided_read_pending(*, study: Study, reader, stored: str) -> bool:
    """Whether ``reader`` has an AI-aided read of the case (stored code ``stored``) still to make."""
    aided = {"study": study, "reader_id": reader.pk, "round": Round.AIDED, "case__code": stored}
    return ReadingSlot.objects.filter(**aided).exists() and not Read.objects.filter(**aided).exists()


def _review(request: HttpRequest, *, study: Study, code: str, stored: str, round_: str) -> HttpResponse:
    slot = ReadingSlot.objects.select_related("case").get(
        study=study, reader_id=request.user.pk, round=round_, case__code=stored)
    return _reading_page(request, study=study, slot=slot, code=code, round_=round_, review=True)


def _reading_page(request: HttpRequest, *, study: Study, slot: ReadingSlot, code: str, round_: str,
                  review: bool = False) -> HttpResponse:
    slug = study.slug
    query = f"?round={round_}"
    config = {
        "review": review,
        "study": study.slug,
        "case": code,
        "round": round_,
        # The same blinded payload the API gives, in the page: the viewer starts one round trip
        # earlier (the API stays the way to reopen a case without reloading).
        "payload": selectors.case_payload_for_reader(study=study, slot=slot),
        "csrfToken": get_token(request),
        # Drafts and unsent reads kept in the browser are the signed-in reader's own: another
        # reader on the same computer must not find (or send) them (their pk, nothing that names them).
        "readerScope": reader_scope(request.user),
        # The viewer's keys (readerstudy/studies/keymap.py: one table for the page, its help and the README).
        "keys": keymap.for_page(),
        "urls": {
            "case": reverse("reading-case", kwargs={"slug": slug, "code": code}) + query,
            "reads": reverse("reading-reads", kwargs={"slug": slug}),
            "worklist": reverse("reading-worklist", kwargs={"slug": slug}),
            "home": reverse("web-worklist"),
            "read": reverse("web-read", kwargs={"slug": slug, "code": "__CASE__"}),
            # What the server reveals of the model and the truth, asked after the read is locked
            # (and on opening an aided read); a 404 until then and in blinded studies.
            # A blinded study reveals nothing, ever: its page does not ask.
            "reveal": None if study.mode == protocol.BLINDED
            else reverse("trainee-feedback", kwargs={"slug": slug, "code": code}) + query,
            # A trainee's progress page (teaching studies; a 404 page for anyone it does not teach).
            "progress": reverse("web-progress", kwargs={"slug": slug}) if study.is_teaching else None,
        },
    }
    key_help = keymap.help_rows(protocol.questions_for(study, round_))
    return render(request, "web/reading.html",
                  {"code": code, "round": round_, "config": config, "key_help": key_help})


class LoginView(auth_views.LoginView):
    """Django's login view; a sign-in refused because too many are being checked at once
    (:class:`~readerstudy.accounts.signin.SignInBusy`) gets the form again with the reason,
    503 and ``Retry-After``, the username kept: the attempt is never dropped unsaid."""

    template_name = "web/login.html"
    redirect_authenticated_user = True
    authentication_form = signin.BoundedAuthenticationForm

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().post(request, *args, **kwargs)
        except SignInBusy as exc:
            logger.info("Sign-in of %r refused for now: %s password checks running, %s waiting.",
                        request.POST.get("username", ""), *signin.gate().state())
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
            response = self.render_to_response(self.get_context_data(form=form, busy=str(exc)), status=503)
            response["Retry-After"] = str(RETRY_AFTER_S)
            return response


login = strict_csp(LoginView.as_view())
logout = strict_csp(auth_views.LogoutView.as_view())
