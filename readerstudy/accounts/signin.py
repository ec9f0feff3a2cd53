"""A bound on password checks at once, so that a burst of sign-ins does not hold up the readers
already signed in.

A password check is PBKDF2 at Django's default iterations: about a second of CPU by design,
and the hash holds its thread for all of it. Fifty readers signing in at the start of a
session took every gunicorn thread, and the worklists and images of the readers already
signed in waited behind them (docs/deployment.md, "Readers under load"). Lowering the
iterations would trade the stored passwords' strength for speed; instead each process checks
at most ``READERSTUDY_SIGNIN_CONCURRENCY`` passwords at once, lets at most
``READERSTUDY_SIGNIN_QUEUE`` more wait their turn, first come first served, for at most
``READERSTUDY_SIGNIN_WAIT_SECONDS``, and refuses the rest at once with :class:`SignInBusy`
(the login page answers 503 with ``Retry-After`` and says so). With more gunicorn threads
than that bound, the other requests always find a free thread.

The bound wraps the login forms (:class:`BoundedAuthenticationForm`, the admin's
:class:`BoundedAdminAuthenticationForm`): they are the only ways in that check a password (the
API takes a session or a token, which costs no hash). Not an authentication backend: signed-in
sessions name the backend that let them in, and renaming Django's ``ModelBackend`` would sign
every reader out at the upgrade. A refused check is not a failed sign-in: it raises before
``authenticate`` runs, so django-axes never counts it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from readerstudy.core.errors import ServiceUnavailable

BUSY_MESSAGE = ("Many readers are signing in at this moment: your sign-in was not checked. "
                "Sign in again in a few seconds.")


class SignInBusy(ServiceUnavailable):
    """Too many password checks are running and waiting in this process: answered 503."""

    def __init__(self, message: str = BUSY_MESSAGE) -> None:
        super().__init__(message)


class FairGate:
    """At most ``concurrent`` holders at once; at most ``queue`` more wait, in arrival order,
    each for at most ``wait_s`` seconds; beyond that :meth:`slot` raises :class:`SignInBusy`.

    A released slot is handed to the longest waiter directly, so a newcomer never overtakes
    the queue (``threading.Semaphore`` wakes an arbitrary waiter).
    """

    def __init__(self, *, concurrent: int, queue: int, wait_s: float) -> None:
        if concurrent < 1 or queue < 0 or wait_s < 0:
            raise ValueError(f"A sign-in gate needs concurrent >= 1, queue >= 0 and wait_s >= 0; "
                             f"got {concurrent}, {queue}, {wait_s}.")
        self.concurrent, self.queue, self.wait_s = concurrent, queue, wait_s
        self._lock = threading.Lock()
        self._free = concurrent
        self._waiting: deque[threading.Event] = deque()

    @contextmanager
    def slot(self) -> Iterator[None]:
        self._acquire()
        try:
            yield
        finally:
            self._release()

    def _acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            if len(self._waiting) >= self.queue:
                raise SignInBusy()
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(self.wait_s):
            return
        with self._lock:
            if turn.is_set():  # handed over between the timeout and the lock
                return
            self._waiting.remove(turn)
        raise SignInBusy()

    def _release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()  # the slot passes on without being freed
            else:
                self._free += 1

    def state(self) -> tuple[int, int]:
        """(slots held, callers waiting) now: for tests and logs."""
        with self._lock:
            return self.concurrent - self._free, len(self._waiting)


_gate: FairGate | None = None
_gate_lock = threading.Lock()


def gate() -> FairGate:
    """This process's gate, made from the settings on first use (after gunicorn's fork)."""
    global _gate
    with _gate_lock:
        if _gate is None:
            _gate = FairGate(concurrent=settings.READERSTUDY_SIGNIN_CONCURRENCY,
                             queue=settings.READERSTUDY_SIGNIN_QUEUE,
                             wait_s=settings.READERSTUDY_SIGNIN_WAIT_SECONDS)
        return _gate


def reset_gate() -> None:
    """Forget this process's gate: the next sign-in makes one from the settings (tests)."""
    global _gate
    with _gate_lock:
        _gate = None


class BoundedAuthenticationForm(AuthenticationForm):
    """Django's login form with its password check inside this process's :func:`gate`.

    The whole of ``clean`` is inside: for an unknown username Django hashes the password
    anyway (so the time taken does not tell which usernames exist), and that hash costs as
    much as a real check. django-axes' lockout check runs in there too (one query).
    """

    def clean(self) -> dict[str, Any]:
        return _bounded_clean(self, super().clean)


class BoundedAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form (staff only), with the same bound: ``admin.site.login_form``."""

    def clean(self) -> dict[str, Any]:
        return _bounded_clean(self, super().clean)


def _bounded_clean(form: AuthenticationForm, clean: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``clean`` inside the gate, unless the form lacks a username or password: Django then
    checks nothing, and the reader hears at once which field is missing."""
    if not (form.cleaned_data.get("username") and form.cleaned_data.get("password")):
        return clean()
    with gate().slot():
        return clean()
