"""Serialization of Sync responses.

JSON is written by hand around ``json.dumps`` of the strings so timestamps
always carry exactly two decimals (``1278109840.00``) as number literals.
"""
from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping, Sequence

from pyramid.response import Response

from synccore.timestamps import format_centis
from syncstorage.storage import Record

JSON = "application/json"
NEWLINES = "application/newlines"
WHOISI = "application/whoisi"
# Preference among offers of equal quality.
_OFFERS = (JSON, WHOISI, NEWLINES)

_dumps = json.dumps


def record_json(record: Record) -> str:
    parts = ['{"id":', _dumps(record.id)]
    if record.modified is not None:
        parts += [',"modified":', format_centis(record.modified)]
    if record.sortindex is not None:
        parts += [',"sortindex":', str(record.sortindex)]
    if record.parentid is not None:
        parts += [',"parentid":', _dumps(record.parentid)]
    if record.predecessorid is not None:
        parts += [',"predecessorid":', _dumps(record.predecessorid)]
    if record.payload is not None:
        parts += [',"payload":', _dumps(record.payload)]
    parts.append("}")
    return "".join(parts)


def timestamp_map_json(stamps: Mapping[str, int]) -> str:
    return "{" + ",".join(f"{_dumps(name)}:{format_centis(value)}"
                          for name, value in stamps.items()) + "}"


def kilobytes_text(kilobytes: float) -> str:
    """``0.0765625``, ``1024.0``: plain decimal, never an exponent or float noise."""
    text = f"{kilobytes:.10f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def json_response(body: str, records: int | None = None, status: int = 200) -> Response:
    response = Response(status=status, body=body.encode("utf-8"), content_type=JSON,
                        charset=None)
    if records is not None:
        response.headers["X-Weave-Records"] = str(records)
    return response


def _accept_quality(accept_header: str) -> dict[str, float]:
    """Quality of each offer: the most specific matching media range wins."""
    best: dict[str, tuple[int, float]] = {}
    for item in accept_header.split(","):
        media, *params = [part.strip() for part in item.split(";")]
        if not media:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        for offer in _OFFERS:
            if media == offer:
                specificity = 2
            elif media == "application/*":
                specificity = 1
            elif media == "*/*":
                specificity = 0
            else:
                continue
            if offer not in best or specificity > best[offer][0]:
                best[offer] = (specificity, quality)
    return {offer: quality for offer, (_, quality) in best.items()}


def negotiate(accept_header: str | None) -> str:
    """JSON unless the client prefers newlines or whoisi; never 406."""
    if not accept_header:
        return JSON
    quality = _accept_quality(accept_header)
    chosen, chosen_quality = JSON, quality.get(JSON, 0.0)
    for offer in (WHOISI, NEWLINES):
        if quality.get(offer, 0.0) > chosen_quality:
            chosen, chosen_quality = offer, quality[offer]
    return chosen


def listing_response(items: Sequence[str], content_type: str) -> Response:
    """A list of already-serialized JSON elements in the negotiated format."""
    if content_type == NEWLINES:
        body = "".join(item + "\n" for item in items).encode("utf-8")
    elif content_type == WHOISI:
        body = b"".join(_length_prefixed(item.encode("utf-8")) for item in items)
    else:
        body = ("[" + ",".join(items) + "]").encode("utf-8")
    response = Response(body=body, content_type=content_type, charset=None)
    response.headers["X-Weave-Records"] = str(len(items))
    return response


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def id_items(ids: Iterable[str]) -> list[str]:
    return [_dumps(item) for item in ids]


def bso_json(record: Record) -> str:
    """A Storage 1.5 BSO: ``id``, ``modified``, ``sortindex`` when set, ``payload``.

    Never ``ttl`` or the 1.1-only fields; a payload is always present.
    """
    parts = ['{"id":', _dumps(record.id)]
    if record.modified is not None:
        parts += [',"modified":', format_centis(record.modified)]
    if record.sortindex is not None:
        parts += [',"sortindex":', str(record.sortindex)]
    parts += [',"payload":', _dumps(record.payload or ""), "}"]
    return "".join(parts)


def negotiate_listing(accept_header: str | None) -> str | None:
    """JSON or newlines for a Storage 1.5 listing; None when neither is acceptable (406)."""
    if not accept_header or not accept_header.strip():
        return JSON
    quality = _accept_quality(accept_header)
    json_quality, newlines_quality = quality.get(JSON, 0.0), quality.get(NEWLINES, 0.0)
    if json_quality <= 0 and newlines_quality <= 0:
        return None
    return NEWLINES if newlines_quality > json_quality else JSON
