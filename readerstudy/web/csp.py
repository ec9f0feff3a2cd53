"""A strict Content-Security-Policy for the reading room's pages.

Scripts come only from our own origin (configuration travels in ``json_script`` blocks, never
inline code). Cornerstone draws measurement labels with SVG ``style`` attributes, hence
``style-src-attr 'unsafe-inline'``; images decoded in the browser are ``blob:`` and ``data:``
URLs; the WASM codecs need ``'wasm-unsafe-eval'``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.http import HttpRequest, HttpResponseBase

# Any response (a class-based view's as_view() is typed as returning the base class).
Response = TypeVar("Response", bound=HttpResponseBase)

POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def strict_csp(view: Callable[..., Response]) -> Callable[..., Response]:
    """Sends ``POLICY`` with the view's response unless it already carries a policy."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> Response:
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response

    return wrapped
