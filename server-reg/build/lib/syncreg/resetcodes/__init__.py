"""Password-reset codes: their shape, and the contract of the store that keeps them.

A code (US-RC1) is four groups of four characters from ``A-Z0-9`` joined by
``-``: about 82 bits. The store never holds a code, only its SHA-256 and
the random *nonce* it was derived from under a server secret (see
``syncreg.passwordreset``), so a copy of the table opens no account.

At most one code is pending per user (US-RC3). Concurrency: ``consume`` is
atomic, so of two requests presenting the same code at most one succeeds.
Failures of the store raise ``synccore.exceptions.BackendError``.
"""
from __future__ import annotations

import abc
import hashlib
import hmac
import re
from dataclasses import dataclass

CODE_PATTERN = re.compile(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3}")
CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def is_code_shaped(code: str) -> bool:
    """US-RC4: the whole string has the US-RC1 shape."""
    return CODE_PATTERN.fullmatch(code) is not None


def format_code(digest: bytes) -> str:
    """16 characters of ``CODE_ALPHABET`` from a (much longer) random digest."""
    number = int.from_bytes(digest, "big")
    characters = []
    for _ in range(16):
        number, index = divmod(number, len(CODE_ALPHABET))
        characters.append(CODE_ALPHABET[index])
    text = "".join(characters)
    return "-".join(text[i:i + 4] for i in range(0, 16, 4))


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


@dataclass(frozen=True)
class PendingCode:
    username: str
    nonce: str
    code_hash: str
    expires_at: int  # seconds since the epoch


class ResetCodeStore(abc.ABC):
    @abc.abstractmethod
    def get(self, username: str) -> PendingCode | None:
        """The user's pending code, expired or not, or None."""

    @abc.abstractmethod
    def replace(self, pending: PendingCode) -> None:
        """Make ``pending`` the user's only code."""

    @abc.abstractmethod
    def consume(self, username: str, code_hash: str, now: int) -> bool:
        """Delete the user's code if it has this hash and has not expired; True if so."""

    @abc.abstractmethod
    def delete(self, username: str) -> None:
        """Remove the user's code, if any."""

    @abc.abstractmethod
    def purge_expired(self, now: int) -> int:
        """Remove every expired code; return how many."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise BackendError unless the store answers."""
