"""Settings helpers fail loudly; the audit log is append-only."""

import pytest

from readerstudy.core.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list
from readerstudy.core.models import AuditEvent, audit


def test_env_helpers_parse_and_default(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL") is True and env_int("X_INT", 1) == 42
    assert env_list("X_LIST") == ["a", "b", "c"]
    assert env_int("X_MISSING", 7) == 7


@pytest.mark.parametrize(("helper", "value"), [(env_bool, "maybe"), (lambda n: env_int(n, 0), "ten")])
def test_env_helpers_refuse_bad_values_naming_the_variable(monkeypatch, helper, value):
    monkeypatch.setenv("X_BAD", value)
    with pytest.raises(ImproperlyConfiguredEnv, match="X_BAD"):
        helper("X_BAD")


@pytest.mark.django_db
def test_the_audit_log_is_append_only(coordinator):
    event = audit(actor=coordinator, verb=AuditEvent.Verb.EXPORTED, object_type="export", object_id="1")
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.update(verb="opened")
    assert AuditEvent.objects.get().verb == "exported"
