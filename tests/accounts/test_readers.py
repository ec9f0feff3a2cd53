"""Creating a reader applies AUTH_PASSWORD_VALIDATORS and the username rule on every way in:
the service, the create_reader command, the API and the coordinator's page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from readerstudy.accounts.services import reader_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

WEAK_PASSWORDS = {
    "a": "too short",
    "password123": "too common",
    "8410397215": "entirely numeric",
}
BAD_USERNAMES = {
    "=cmd|calc": "formula and pipe",
    "+SUM(A1)": "formula start",
    "-2+3": "formula start",
    "@evil": "formula start",
    "<b>x</b>": "markup",
    'dr"lee': "markup",
    "dr'lee": "markup",
    "dr lee": "space",
}


def _create(**fields):
    return reader_create(**({"username": "dr_lee", "password": PASSWORD, "role": "attending",
                             "years_experience": 12} | fields))


@pytest.mark.parametrize("password", WEAK_PASSWORDS)
def test_the_service_refuses_a_weak_password(password):
    with pytest.raises(ValidationError) as refused:
        _create(password=password)
    assert list(refused.value.message_dict) == ["password"]
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("username", BAD_USERNAMES)
def test_the_service_refuses_a_username_with_formula_or_markup_characters(username):
    with pytest.raises(ValidationError) as refused:
        _create(username=username)
    assert list(refused.value.message_dict) == ["username"]
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("clash", ["DR_LEE", "ｄｒ＿ｌｅｅ"])  # letter case; full-width forms (NFKC)
def test_a_username_that_clashes_after_normalisation_is_refused(clash):
    _create()
    with pytest.raises(ValidationError, match="already exists"):
        _create(username=clash)
    assert get_user_model().objects.count() == 1


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValidationError) as refused:
        _create(username="=x", password="1234")
    assert set(refused.value.message_dict) == {"username", "password"}


def test_a_good_reader_is_created_with_the_normalised_name():
    user = _create(username="ｄｒ＿ｋｉｍ")
    assert user.username == "dr_kim" and user.check_password(PASSWORD)


def test_the_command_refuses_a_weak_password_with_a_message():
    with pytest.raises(CommandError, match="password: This password is too short"):
        call_command("create_reader", "dr_lee", "--role", "attending", "--years", "3", "--password", "a")
    with pytest.raises(CommandError, match="username: A username may not start with"):
        call_command("create_reader", "@dr_lee", "--role", "attending", "--years", "3")
    assert not get_user_model().objects.exists()


def test_the_api_refuses_weak_passwords_bad_and_clashing_usernames_with_400(client_for, coordinator):
    api = client_for(coordinator)
    body = {"username": "dr_lee", "password": PASSWORD, "role": "attending", "years_experience": 12}
    users = get_user_model().objects.count()
    for fields, field in (({"password": "a"}, "password"), ({"password": "12345678"}, "password"),
                          ({"username": "=cmd|calc"}, "username"), ({"username": "<script>"}, "username")):
        response = api.post("/api/v1/readers/", body | fields, format="json")
        assert response.status_code == 400 and field in response.json(), fields
    assert get_user_model().objects.count() == users
    assert api.post("/api/v1/readers/", body, format="json").status_code == 201
    clash = api.post("/api/v1/readers/", body | {"username": "Dr_Lee"}, format="json")
    assert clash.status_code == 400 and "already exists" in clash.json()["username"][0]


def test_the_coordinators_page_shows_the_password_rules_errors(client, coordinator, make_study):
    study = make_study("ct-study", n=2)
    client.force_login(coordinator)
    url = reverse("web-reader-create", kwargs={"slug": study.slug})
    page = client.post(url, {"username": "dr_lee", "password": "password123", "role": "attending",
                             "years_experience": 3})
    assert page.status_code == 400
    assert "This password is too common." in page.content.decode()
    page = client.post(url, {"username": "+dr_lee", "password": PASSWORD, "role": "attending",
                             "years_experience": 3})
    assert page.status_code == 400 and "may not start with" in page.content.decode()
    assert not get_user_model().objects.filter(reader_profile__isnull=False).exists()
