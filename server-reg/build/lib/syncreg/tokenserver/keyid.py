"""The key-state headers: ``X-KeyID`` and the legacy ``X-Client-State``.

``X-KeyID: <keys_changed_at>-<client state>``: a decimal key-rotation time
in milliseconds, then the first 16 bytes of SHA-256(kB) in urlsafe base64
(padding optional). The database keeps the client state as lowercase hex;
the token's ``fxa_kid`` carries it back in the ``%013d-<base64>`` form.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from syncreg.tokenserver import errors

_CLIENT_STATE = re.compile(r"^[a-zA-Z0-9._-]{1,32}$")
_KCA = re.compile(r"^[0-9]+$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
MAX_CLIENT_STATE_BYTES = 16


@dataclass(frozen=True)
class KeyState:
    keys_changed_at: int    # 0 = not reported
    client_state: str       # lowercase hex


def check_client_state_header(value: str | None) -> None:
    """400 unless the legacy header, when present, is well formed."""
    if value is not None and not _CLIENT_STATE.match(value):
        raise errors.invalid_client_state_value()


def parse_key_id(value: str | None, client_state_header: str | None) -> KeyState:
    """The key state a request declares; raises a ``TokenServerError``."""
    if value is None:
        raise errors.missing_key_id()
    kca_text, dash, state_text = value.strip().partition("-")
    if not dash or not _KCA.match(kca_text) or not _B64URL.match(state_text):
        raise errors.invalid_credentials()
    unpadded = state_text.rstrip("=")
    try:
        state = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError) as exc:
        raise errors.invalid_credentials() from exc
    if not 1 <= len(state) <= MAX_CLIENT_STATE_BYTES:
        raise errors.invalid_client_state_value()
    client_state = state.hex()
    if client_state_header is not None and client_state_header.lower() != client_state:
        raise errors.client_state_mismatch()
    return KeyState(keys_changed_at=int(kca_text), client_state=client_state)


def format_key_id(keys_changed_at: int, client_state: str) -> str:
    """``fxa_kid``: ``0000000001234-qqo`` for (1234, "aaaa")."""
    state = base64.urlsafe_b64encode(bytes.fromhex(client_state)).rstrip(b"=").decode("ascii")
    return f"{keys_changed_at:013d}-{state}"
