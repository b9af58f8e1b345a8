"""Opaque paging offsets of Storage 1.5 collection listings.

An offset is a cursor, not a row count: the sort order plus the sort key
and id of the last record returned, in urlsafe base64 without padding. The
next page starts right after that record, so records added or deleted
between pages neither shift nor repeat the rest.
"""
from __future__ import annotations

import base64
import binascii
import re

_VERSION = "1"
_KEY = re.compile(r"-?[0-9]{1,15}")


def encode_offset(sort: str, key: int | None, record_id: str) -> str:
    text = "|".join((_VERSION, sort, "" if key is None else str(key), record_id))
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def decode_offset(token: str, sort: str) -> tuple[int | None, str]:
    """The ``(key, id)`` cursor in ``token``; ValueError if it is not one of
    ours or was made for another sort order."""
    try:
        padded = token + "=" * (-len(token) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise ValueError(f"undecodable offset {token!r}") from None
    parts = text.split("|", 3)
    if len(parts) != 4 or parts[0] != _VERSION or parts[1] != sort or not parts[3]:
        raise ValueError(f"offset {token!r} does not belong to this query")
    key_text = parts[2]
    if key_text and not _KEY.fullmatch(key_text):
        raise ValueError(f"offset {token!r} has a bad key")
    return (int(key_text) if key_text else None), parts[3]
