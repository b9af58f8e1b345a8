"""Validation of incoming Weave Basic Objects (Storage 1.1, section 4.1).

``parse_wbo`` turns one decoded JSON object into a ``RecordWrite`` or a
failure reason, using the exact reason strings clients see in a batch's
``failed`` map.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from syncstorage.storage import RecordWrite

MAX_ID_LENGTH = 64
MAX_SORTINDEX = 999_999_999
MAX_TTL_SECONDS = 31_536_000
# Lone UTF-16 surrogates: JSON can spell them (``"\\ud800"``), UTF-8 cannot.
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Limits:
    max_payload_bytes: int = 262_144


class InvalidWBO(ValueError):
    """The object is not a valid WBO; ``reason`` is the client-facing string."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def storable_text(text: str) -> bool:
    """Whether every engine can store ``text`` as it is.

    Lone surrogates have no UTF-8 form, and PostgreSQL text cannot hold
    U+0000; both are refused on every engine so behaviour never depends on
    the database. No Sync client sends either.
    """
    return "\x00" not in text and not _SURROGATE.search(text)


def has_nested_values(obj: dict) -> bool:
    return any(isinstance(value, (list, dict)) for value in obj.values())


def _identifier(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, (int, float)) and not (isinstance(value, float)
                                                  and not math.isfinite(value)):
        text = str(value)
    else:
        raise InvalidWBO(f"invalid {field}")
    if len(text) > MAX_ID_LENGTH or not storable_text(text):
        raise InvalidWBO(f"invalid {field}")
    return text


def _integer(value: Any, reason: str, *, allow_float_string: bool) -> int:
    """int for ints, truncated floats and numeric strings; InvalidWBO otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidWBO(reason)
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            if not allow_float_string:
                raise InvalidWBO(reason) from None
        try:
            number = float(text)
        except ValueError:
            raise InvalidWBO(reason) from None
        if not math.isfinite(number):
            raise InvalidWBO(reason)
        return int(number)
    raise InvalidWBO(reason)


def record_id_of(obj: dict) -> str | None:
    """The object's id as a string (for failure reporting), or None if absent."""
    return _identifier(obj.get("id"), "id")


def parse_wbo(obj: Any, record_id: str, limits: Limits = Limits()) -> RecordWrite:
    """Validate ``obj`` as the WBO stored under ``record_id``.

    Only the six client fields are taken; ``modified`` and any unknown
    scalar member are ignored.
    """
    if not isinstance(obj, dict) or has_nested_values(obj):
        raise InvalidWBO("invalid wbo")
    _identifier(obj.get("id"), "id")
    parentid = _identifier(obj.get("parentid"), "parentid")
    predecessorid = _identifier(obj.get("predecessorid"), "predecessorid")
    sortindex = obj.get("sortindex")
    if sortindex is not None:
        sortindex = _integer(sortindex, "invalid sortindex", allow_float_string=True)
        if not -MAX_SORTINDEX <= sortindex <= MAX_SORTINDEX:
            raise InvalidWBO("invalid sortindex")
    payload = obj.get("payload")
    if payload is not None:
        if not isinstance(payload, str) or not storable_text(payload):
            raise InvalidWBO("payload not a string")
        if len(payload) > limits.max_payload_bytes // 4 and \
                len(payload.encode("utf-8")) > limits.max_payload_bytes:
            raise InvalidWBO("payload too large")
    ttl = obj.get("ttl")
    if ttl is not None:
        ttl = _integer(ttl, "invalid ttl", allow_float_string=False)
        if not 0 <= ttl <= MAX_TTL_SECONDS:
            raise InvalidWBO("invalid ttl")
    return RecordWrite(id=record_id, payload=payload, sortindex=sortindex, parentid=parentid,
                       predecessorid=predecessorid, ttl_seconds=ttl)
