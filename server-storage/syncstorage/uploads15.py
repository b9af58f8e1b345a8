"""Request bodies of Storage 1.5 writes: decoding and per-item triage.

A POST body is a JSON array (``application/json``, ``text/plain`` or no
Content-Type) or one JSON object per line (``application/newlines``); a PUT
body is one JSON object. Whole-request problems (undecodable body, an
element that is not an object or has no id, duplicate ids, a known-bad
``crypto`` record) answer 400; an invalid item only lands in ``failed``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyramid.request import Request

from synccore.errors import ErrorCode, ProtocolError
from syncstorage.bso import InvalidBSOError, has_zero_iv, parse_bso, valid_id
from syncstorage.limits import UploadLimits
from syncstorage.storage import RecordWrite

JSON_TYPES = ("", "application/json", "text/plain")
NEWLINES = "application/newlines"
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def unsupported_media_type() -> ProtocolError:
    return ProtocolError(ErrorCode.UNKNOWN_ERROR, status=415)


def _decode_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError(ErrorCode.JSON_PARSE_FAILURE) from None


def _body_text(request: Request) -> str:
    try:
        return request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(ErrorCode.JSON_PARSE_FAILURE) from None


def read_object(request: Request) -> Any:
    """The decoded JSON body of a PUT."""
    if request.content_type.lower() not in JSON_TYPES:
        raise unsupported_media_type()
    return _decode_json(_body_text(request))


def read_items(request: Request) -> list[Any]:
    """The list of (not yet validated) items a POST carries."""
    content_type = request.content_type.lower()
    if content_type in JSON_TYPES:
        items = _decode_json(_body_text(request))
        if not isinstance(items, list):
            raise ProtocolError(ErrorCode.INVALID_WBO)
        return items
    if content_type != NEWLINES:
        raise unsupported_media_type()
    text = _body_text(request)
    if not text:
        return []
    lines = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
    items = []
    for line in lines:
        if not line.strip():
            raise ProtocolError(ErrorCode.JSON_PARSE_FAILURE)  # a blank line
        item = _decode_json(line)
        if not isinstance(item, dict):
            raise ProtocolError(ErrorCode.INVALID_WBO)
        items.append(item)
    return items


@dataclass
class Triage:
    """What to write, and the outcome to report for each id."""
    accepted: list[RecordWrite] = field(default_factory=list)
    success: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _check_whole_request(items: Sequence[Any], collection: str) -> None:
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or item.get("id") is None:
            raise ProtocolError(ErrorCode.INVALID_WBO)
        record_id = item["id"]
        if isinstance(record_id, str):
            if record_id in seen:
                raise ProtocolError(ErrorCode.INVALID_WBO)
            seen.add(record_id)
        payload = item.get("payload")
        if collection == "crypto" and isinstance(payload, str) \
                and has_zero_iv(RecordWrite(id="", payload=payload)):
            raise ProtocolError(ErrorCode.INVALID_WBO)


def triage(items: Sequence[Any], collection: str, limits: UploadLimits) -> Triage:
    """Validate every item, applying the per-request record and byte limits."""
    _check_whole_request(items, collection)
    result = Triage()
    total_bytes = 0
    for item in items:
        raw_id = item["id"]
        record_id = raw_id if isinstance(raw_id, str) else json.dumps(raw_id)
        if not valid_id(raw_id):
            result.failed[record_id] = "invalid id"
            continue
        try:
            record = parse_bso(item, raw_id, limits.max_record_payload_bytes)
        except InvalidBSOError as exc:
            result.failed[record_id] = exc.reason
            continue
        if len(result.accepted) >= limits.max_post_records:
            result.failed[record_id] = "retry bso"
            continue
        size = len(record.payload.encode("utf-8")) if record.payload is not None else 0
        if total_bytes + size > limits.max_post_bytes:
            result.failed[record_id] = "retry bytes"
            continue
        total_bytes += size
        result.accepted.append(record)
        result.success.append(raw_id)
    return result


def parse_put(request: Request, record_id: str, limits: UploadLimits) -> RecordWrite:
    """The record a PUT writes; 400 code 8 if the body is not a valid BSO."""
    body = read_object(request)
    try:
        record = parse_bso(body, record_id, limits.max_record_payload_bytes)
    except InvalidBSOError:
        raise ProtocolError(ErrorCode.INVALID_WBO) from None
    if request.matchdict.get("collection") == "crypto" and has_zero_iv(record):
        raise ProtocolError(ErrorCode.INVALID_WBO)
    return record


@dataclass(frozen=True)
class BatchMode:
    """What the ``batch``/``commit`` query parameters ask of a POST.

    ``batch_id`` None with ``create`` False is a plain POST; ``create``
    opens a batch; otherwise ``batch_id`` names an open one.
    """
    create: bool = False
    batch_id: str | None = None
    commit: bool = False


def parse_batch_mode(params: Any) -> BatchMode:
    """400 (code 1) for ``commit`` without ``batch``, ``commit`` other than
    ``true``, or a batch id that cannot be one of ours."""
    batch, commit = params.get("batch"), params.get("commit")
    if commit is not None and commit.lower() != "true":
        raise ProtocolError(ErrorCode.ILLEGAL_METHOD)
    if batch is None:
        if commit is not None:
            raise ProtocolError(ErrorCode.ILLEGAL_METHOD)
        return BatchMode()
    if batch == "" or batch.lower() == "true":
        # Opening and committing at once is a plain POST.
        return BatchMode() if commit is not None else BatchMode(create=True)
    if not _BATCH_ID.fullmatch(batch):
        raise ProtocolError(ErrorCode.ILLEGAL_METHOD)
    return BatchMode(batch_id=batch, commit=commit is not None)
