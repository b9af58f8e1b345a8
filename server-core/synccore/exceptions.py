"""Exceptions shared by every backend (users, storage, nodes).

Backends translate driver errors into these; the web layer turns them into
HTTP answers in exactly one place (``synccore.tweens``).
"""
from __future__ import annotations


class BackendError(Exception):
    """A backend could not do its work (database down, timeout, driver error)."""

    def __init__(self, message: str = "backend error", original: BaseException | None = None):
        super().__init__(message if original is None else f"{message}: {original!r}")
        self.original = original


class BackendConflict(BackendError):
    """A concurrent request holds what this one needs; retrying later may succeed."""
