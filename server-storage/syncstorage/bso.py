"""Validation of incoming Basic Storage Objects (Storage 1.5, section 3.1).

Stricter than 1.1's WBOs: the only fields are ``id``, ``sortindex``,
``payload`` and ``ttl`` (``modified`` and ``collection`` are accepted and
ignored), anything else makes the object invalid, and numbers must be JSON
integers. A ``null`` value counts as an absent field. The reason strings are
what clients see in a POST's ``failed`` map.
"""
from __future__ import annotations

import re
from typing import Any

from syncstorage.storage import RecordWrite

MAX_SORTINDEX = 999_999_999
MAX_TTL_SECONDS = 999_999_999
ID_PATTERN = re.compile(r"[ -~]{1,64}")
_IGNORED_FIELDS = ("modified", "collection")
_FIELDS = ("id", "sortindex", "payload", "ttl", *_IGNORED_FIELDS)
# Known-broken clients encrypted keys with an all-zero IV; such a crypto
# record must never be stored.
_ZERO_IV = re.compile(r'"IV"\s*:\s*"AAAAAAAAAAAAAAAAAAAAAA=="')


class InvalidBSOError(ValueError):
    """The object is not a valid BSO; ``reason`` is the client-facing string."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def valid_id(value: Any) -> bool:
    """A BSO id: 1-64 printable ASCII characters."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def _integer(value: Any, reason: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidBSOError(reason)
    return value


def parse_bso(obj: Any, record_id: str, max_payload_bytes: int) -> RecordWrite:
    """Validate ``obj`` as the BSO stored under ``record_id`` (already validated)."""
    if not isinstance(obj, dict):
        raise InvalidBSOError("invalid bso")
    for field in obj:
        if field not in _FIELDS:
            raise InvalidBSOError(f"unknown field {field!r}")
    if obj.get("id") is not None and not valid_id(obj["id"]):
        raise InvalidBSOError("invalid id")
    sortindex = obj.get("sortindex")
    if sortindex is not None:
        sortindex = _integer(sortindex, "invalid sortindex", -MAX_SORTINDEX, MAX_SORTINDEX)
    payload = obj.get("payload")
    if payload is not None:
        if not isinstance(payload, str):
            raise InvalidBSOError("payload not a string")
        try:
            size = len(payload.encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate escaped in the JSON
            raise InvalidBSOError("payload not valid unicode") from None
        if "\x00" in payload:  # PostgreSQL text cannot hold U+0000
            raise InvalidBSOError("payload not valid unicode")
        if size > max_payload_bytes:
            raise InvalidBSOError("payload too large")
    ttl = obj.get("ttl")
    if ttl is not None:
        ttl = _integer(ttl, "invalid ttl", 0, MAX_TTL_SECONDS)
    return RecordWrite(id=record_id, payload=payload, sortindex=sortindex, ttl_seconds=ttl)


def has_zero_iv(record: RecordWrite) -> bool:
    """Whether a ``crypto`` record carries the known-bad all-zero IV."""
    return record.payload is not None and _ZERO_IV.search(record.payload) is not None
