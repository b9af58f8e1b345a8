"""The user-store contract.

A user backend keeps accounts: a numeric ``userid`` (what storage is keyed
by), a unique ``username`` (exact, case-sensitive), an optional e-mail, a
password kept only as a slow hash, and a ``disabled`` flag.

Concurrency: every method is safe to call from many threads and processes at
once. ``create_user`` is atomic: of two concurrent creations of one name,
exactly one succeeds and the other raises ``UserExists``.

Failures of the backend itself (database or directory down) raise
``synccore.exceptions.BackendError``; the web layer answers 503.
"""
from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass


class UserExists(Exception):
    """The username is taken."""


class UserNotFound(Exception):
    """No such user."""


class InvalidEmail(ValueError):
    """The store cannot hold this e-mail address (an LDAP ``mail`` is ASCII only).

    ``create_user`` and ``set_email`` may raise it for an address that passed
    the protocol's syntax check; the account is left unchanged.
    """


@dataclass(frozen=True)
class User:
    userid: int
    username: str
    email: str | None
    disabled: bool = False
    # Changes whenever the password changes; credential caches compare it.
    credential_version: str = ""


class UserBackend(abc.ABC):
    @abc.abstractmethod
    def create_user(self, username: str, password: str, email: str | None = None) -> User:
        """Create an account. Raises UserExists if the name is taken."""

    @abc.abstractmethod
    def get_user(self, username: str) -> User | None:
        """The account called ``username``, or None."""

    @abc.abstractmethod
    def get_user_by_id(self, userid: int) -> User | None:
        """The account with this numeric id, or None."""

    @abc.abstractmethod
    def authenticate(self, username: str, password: str) -> User | None:
        """The account if the password is right and it is enabled, else None."""

    @abc.abstractmethod
    def set_password(self, username: str, password: str) -> None:
        """Replace the password. Raises UserNotFound."""

    @abc.abstractmethod
    def set_email(self, username: str, email: str | None) -> None:
        """Replace the e-mail address. Raises UserNotFound."""

    @abc.abstractmethod
    def set_disabled(self, username: str, disabled: bool) -> None:
        """Enable or disable the account. Raises UserNotFound."""

    @abc.abstractmethod
    def delete_user(self, username: str) -> None:
        """Remove the account. Raises UserNotFound."""

    @abc.abstractmethod
    def iter_users(self) -> Iterator[User]:
        """Every account, ordered by username."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise BackendError unless the backend answers."""
