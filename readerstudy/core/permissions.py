"""Permissions: deny by default; each view opts in to exactly what it allows."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


class DenyAll(BasePermission):
    """The project-wide default: a view that forgot to declare permissions serves nobody."""

    def has_permission(self, request, view) -> bool:
        return False


def is_coordinator(user) -> bool:
    """Study coordinators are staff users."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class IsCoordinator(BasePermission):
    message = "Only study coordinators may do this."

    def has_permission(self, request, view) -> bool:
        return is_coordinator(request.user)


class IsReader(BasePermission):
    """An authenticated active user; object access is checked by the fetch helpers."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_active)
