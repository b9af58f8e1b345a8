"""The contract of the accounts store: accounts, sessions, devices, OAuth grants.

What is kept, per account: the e-mail address (unique without regard to
case), a slow hash of ``authPW``, the random ``wrapKB``, whether the address
is verified, and three times in milliseconds: creation, the last password
change (``verifier_set_at``, the "generation" the token server sees) and the
last key change (``keys_changed_at``: sign-up and password reset; the time
in the sync key's ``kid``). Never the password, never the sync key.

Sessions are keyed by the Hawk id of their token and keep its Hawk key;
devices belong to a session; device commands are queued per target device
with an increasing index. OAuth authorization codes and refresh tokens are
stored only as SHA-256 hashes. Signing keys are named; ``add_signing_key``
keeps the first key written under a name, so processes starting together
agree on one.

Concurrency: ``take_code`` is atomic (a code is exchanged at most once);
``create_account`` fails with ``AccountExists`` when a concurrent creation
took the address; ``change_credentials`` replaces the password and drops the
other sessions, their devices and the refresh tokens in one transaction.
Failures of the store raise ``synccore.exceptions.BackendError``.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any


class AccountExists(Exception):
    """The e-mail address already has an account."""


@dataclass(frozen=True)
class Account:
    uid: str                 # 32 hex characters
    email: str               # as typed at sign-up: the salt of the password stretching
    auth_hash: str           # argon2 hash of authPW
    wrap_kb: bytes           # 32 random bytes
    verified: bool
    created_at: int          # milliseconds, like the two below
    verifier_set_at: int
    keys_changed_at: int


@dataclass(frozen=True)
class Session:
    id: str                  # the token's Hawk id, 64 hex characters
    uid: str
    hawk_key: bytes
    created_at: int
    last_access_at: int
    user_agent: str = ""


@dataclass(frozen=True)
class Device:
    id: str                  # 32 hex characters
    uid: str
    session_id: str | None
    name: str
    type: str
    created_at: int
    last_access_at: int
    push_callback: str | None = None
    push_public_key: str | None = None
    push_auth_key: str | None = None
    available_commands: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeviceCommand:
    index: int
    target: str              # device id
    sender: str | None       # device id
    command: str
    payload: dict[str, Any]
    created_at: int


@dataclass(frozen=True)
class AuthorizationCode:
    uid: str
    client_id: str
    scope: str               # space-separated
    code_challenge: str
    keys_jwe: str | None
    session_id: str | None
    expires_at: int          # milliseconds


@dataclass(frozen=True)
class RefreshToken:
    token_hash: str
    uid: str
    client_id: str
    scope: str
    created_at: int
    last_used_at: int


class AccountStore(abc.ABC):
    # -- accounts --------------------------------------------------------------

    @abc.abstractmethod
    def create_account(self, account: Account, session: Session) -> None:
        """Add the account with its first session. Raises AccountExists."""

    @abc.abstractmethod
    def get_account(self, uid: str) -> Account | None:
        """The account, or None."""

    @abc.abstractmethod
    def find_account(self, email: str) -> Account | None:
        """The account of this address, compared without regard to case, or None."""

    @abc.abstractmethod
    def set_verified(self, uid: str) -> None:
        """Mark the account's address verified."""

    @abc.abstractmethod
    def set_auth_hash(self, uid: str, auth_hash: str) -> None:
        """Store a new hash of the same authPW (stronger hashing parameters)."""

    @abc.abstractmethod
    def change_credentials(self, uid: str, auth_hash: str, wrap_kb: bytes,
                           verifier_set_at: int, keys_changed_at: int,
                           keep_session: str | None) -> None:
        """Replace the password (and maybe the keys); drop every session but
        ``keep_session`` with its devices, and every refresh token."""

    @abc.abstractmethod
    def delete_account(self, uid: str) -> bool:
        """Remove the account and everything kept for it; False if it did not exist."""

    # -- sessions --------------------------------------------------------------

    @abc.abstractmethod
    def add_session(self, session: Session) -> None:
        """Add a session of an existing account."""

    @abc.abstractmethod
    def get_session(self, session_id: str) -> Session | None:
        """The session, or None."""

    @abc.abstractmethod
    def touch_session(self, session_id: str, now: int) -> None:
        """Record that the session was used at ``now``."""

    @abc.abstractmethod
    def delete_session(self, session_id: str) -> None:
        """Remove the session and the device registered by it."""

    @abc.abstractmethod
    def list_sessions(self, uid: str) -> list[Session]:
        """The account's sessions, oldest first."""

    # -- devices and their commands ----------------------------------------------

    @abc.abstractmethod
    def save_device(self, device: Device) -> Device:
        """Add the device, or update it when its id exists for the account.

        A session has at most one device: registering another one for the
        same session replaces it. Returns the stored device.
        """

    @abc.abstractmethod
    def get_device(self, uid: str, device_id: str) -> Device | None:
        """The account's device, or None."""

    @abc.abstractmethod
    def list_devices(self, uid: str) -> list[Device]:
        """The account's devices, oldest first."""

    @abc.abstractmethod
    def delete_device(self, uid: str, device_id: str) -> bool:
        """Remove the device, its queued commands and its session; False if unknown."""

    @abc.abstractmethod
    def add_command(self, uid: str, target: str, sender: str | None, command: str,
                    payload: dict[str, Any], now: int) -> int:
        """Queue a command for the target device; returns its index."""

    @abc.abstractmethod
    def list_commands(self, uid: str, target: str, after_index: int,
                      limit: int) -> list[DeviceCommand]:
        """Commands queued for the device with an index above ``after_index``."""

    # -- OAuth -----------------------------------------------------------------

    @abc.abstractmethod
    def add_code(self, code_hash: str, code: AuthorizationCode) -> None:
        """Keep an authorization code until it is exchanged or expires."""

    @abc.abstractmethod
    def take_code(self, code_hash: str, now: int) -> AuthorizationCode | None:
        """Remove and return the unexpired code, or None. Atomic."""

    @abc.abstractmethod
    def add_refresh_token(self, token: RefreshToken) -> None:
        """Keep a refresh token (its hash)."""

    @abc.abstractmethod
    def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        """The refresh token, or None."""

    @abc.abstractmethod
    def touch_refresh_token(self, token_hash: str, now: int) -> None:
        """Record that the refresh token was used at ``now``."""

    @abc.abstractmethod
    def delete_refresh_token(self, token_hash: str) -> bool:
        """Revoke the refresh token; False if it was unknown."""

    @abc.abstractmethod
    def list_refresh_tokens(self, uid: str) -> list[RefreshToken]:
        """The account's refresh tokens, oldest first."""

    # -- signing keys and upkeep -------------------------------------------------

    @abc.abstractmethod
    def get_signing_key(self, name: str) -> str | None:
        """The private key stored under ``name`` (PEM), or None."""

    @abc.abstractmethod
    def add_signing_key(self, name: str, private_pem: str, now: int) -> str:
        """Store the key under ``name`` unless one exists; return the stored one."""

    @abc.abstractmethod
    def purge_expired_codes(self, now: int) -> int:
        """Remove authorization codes past their expiry; return how many."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise BackendError unless the store answers."""
