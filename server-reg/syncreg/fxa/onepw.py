"""The server's side of Mozilla's "onepw" key protocol.

The browser stretches the password and derives two independent values from
it: ``authPW``, which it sends here and which we keep only as a slow hash,
and ``unwrapBKey``, which never leaves the browser. We keep a random
``wrapKB``; the sync key is ``kB = wrapKB XOR unwrapBKey``, so this server
can never compute it.

Session tokens are 32 random bytes handed to the browser in hex; requests
are signed with Hawk under credentials derived from the token by HKDF
(SHA-256, empty salt, info ``identity.mozilla.com/picl/v1/sessionToken``):
the first 32 bytes are the Hawk id (in hex), the next 32 the Hawk key.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PROTOCOL_PREFIX = "identity.mozilla.com/picl/v1/"
TOKEN_BYTES = 32
KEY_BYTES = 32
_HEX = re.compile(r"[0-9a-f]+")


def hkdf(secret: bytes, info: str, length: int, salt: bytes = b"") -> bytes:
    """HKDF-SHA256 as onepw uses it (an empty salt equals a zero-filled one)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None,
                info=info.encode("ascii")).derive(secret)


def keyword(name: str) -> str:
    return PROTOCOL_PREFIX + name


@dataclass(frozen=True)
class HawkCredentials:
    id: str    # 64 hex characters: what the client puts in the Hawk header
    key: bytes


def token_credentials(token_hex: str, context: str = "sessionToken") -> HawkCredentials:
    """The Hawk credentials a client derives from one of its tokens."""
    out = hkdf(bytes.fromhex(token_hex), keyword(context), 3 * 32)
    return HawkCredentials(id=out[:32].hex(), key=out[32:64])


def new_token() -> str:
    """A fresh random token, in hex as clients carry it."""
    return secrets.token_hex(TOKEN_BYTES)


def new_wrap_kb() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def new_uid() -> str:
    """An account id: 32 lowercase hex characters, as Firefox expects."""
    return secrets.token_hex(16)


def is_hex(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and _HEX.fullmatch(value) is not None


def token_hash(token: str) -> str:
    """How codes and refresh tokens are stored: a copy of the table opens nothing."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))
