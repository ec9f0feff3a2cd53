"""Security settings and headers: no start without a SECRET_KEY outside DEBUG, the HTTPS
switch, CSP on every HTML page (admin and API docs included), no-store on API JSON, JSON
errors under the API, and static files served with DEBUG off (what the demo runs with)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from readerstudy.web.csp import POLICY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def open_study(make_study, reader):
    from readerstudy.studies import services

    study = make_study("ct-study", n=4, repeat_sample_size=0)
    services.assignment_create(study=study, reader=reader)
    return services.study_open(study=study)


def _settings_in_subprocess(env: dict[str, str], names: list[str]) -> subprocess.CompletedProcess:
    code = ("import json; from django.conf import settings; "
            f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}, default=str))")
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG") and not k.startswith("READERSTUDY_")}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=clean | {"DJANGO_SETTINGS_MODULE": "readerstudy.settings"} | env)


def test_settings_refuse_to_load_without_a_secret_key_unless_debug():
    refused = _settings_in_subprocess({"DEBUG": "0"}, ["SECRET_KEY"])
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr
    assert _settings_in_subprocess({"DEBUG": "1"}, ["SECRET_KEY"]).returncode == 0


def test_the_https_switch_turns_on_hsts_redirect_and_secure_cookies():
    names = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
             "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_AGE",
             "SESSION_IDLE_TIMEOUT"]
    done = _settings_in_subprocess({"SECRET_KEY": "k" * 60, "READERSTUDY_HTTPS": "1", "READERSTUDY_PROXY_COUNT": "1",
                                    "SESSION_IDLE_TIMEOUT": "15"}, names)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 31536000, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"], "SESSION_COOKIE_AGE": 14 * 24 * 3600,
        "SESSION_IDLE_TIMEOUT": "0:15:00",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "signed_in"), [
    ("/login/", False), ("/admin/login/", False), ("/admin/", True), ("/admin/auth/user/", True),
    ("/admin/axes/accessattempt/", True), ("/api/docs/", True),
])
def test_every_html_page_carries_the_strict_content_security_policy(client, django_user_model, url, signed_in):
    if signed_in:
        client.force_login(django_user_model.objects.create_superuser("admin", password="x"))
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"] == POLICY


@pytest.mark.django_db
def test_the_api_docs_run_no_inline_script(client, coordinator):
    client.force_login(coordinator)
    page = client.get("/api/docs/").content.decode()
    assert "<script>" not in page.replace(" ", "") and 'src="/api/docs/?script=' in page


@pytest.mark.django_db
def test_api_json_is_not_stored_by_browsers_or_caches(client_for, reader):
    response = client_for(reader).get("/api/v1/me/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/no-such-thing/", "/dicomweb/studies/1/nothing", "/api/v1/reading/x/y/z/"])
def test_an_unknown_api_url_is_a_json_404(client, url):
    response = client.get(url)
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_an_unexpected_error_under_the_api_is_a_json_500(client_for, reader, monkeypatch):
    from readerstudy.studies import selectors

    def boom(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "studies_for_reader", boom)
    client = client_for(reader)
    client.raise_request_exception = False
    response = client.get("/api/v1/reading/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error. It has been logged."}
    assert "a bug" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[1, 2]", "3", '"text"', "null", "[" * 5000 + "]" * 5000,
                                  '{"a": ' * 20 + "1" + "}" * 20, '{"call": 1' + "0" * 5000 + "}"])
def test_json_bodies_that_are_not_objects_or_too_deep_are_400_with_a_message(client_for, reader, open_study, body):
    response = client_for(reader).post(f"/api/v1/reading/{open_study.slug}/reads/", body,
                                       content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json" and response.json()["detail"]


@pytest.mark.django_db
def test_static_files_are_served_with_debug_off_and_404s_list_no_urls(client, settings):
    assert settings.DEBUG is False
    css = client.get("/static/web/reading-room.css")
    assert css.status_code == 200 and b"{" in b"".join(css.streaming_content)
    missing = client.get("/no-such-page/").content.decode()
    assert "admin/" not in missing and "URLconf" not in missing


@pytest.mark.django_db
def test_a_json_body_larger_than_the_upload_limit_is_413(client_for, reader, open_study, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"call": "' + "x" * 2000 + '"}'
    response = client_for(reader).post(f"/api/v1/reading/{open_study.slug}/reads/", body,
                                       content_type="application/json")
    assert response.status_code == 413 and "larger than 1000 bytes" in response.json()["detail"]


def test_production_settings_pass_the_deployment_checks():
    key = "k-" + "x1y2z3" * 10
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG") and not k.startswith("READERSTUDY_")}
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security", "--fail-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=env | {"SECRET_KEY": key, "DEBUG": "0", "READERSTUDY_HTTPS": "1", "ALLOWED_HOSTS": "readerstudy.example.org"})
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout
