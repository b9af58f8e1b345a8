"""Helpers shared by the storage views."""
from __future__ import annotations

import json
from typing import Any

from pyramid.request import Request

from synccore.errors import ErrorCode, ProtocolError
from syncstorage.storage import CollectionModified


def parse_json_body(request: Request) -> Any:
    """The decoded JSON body; 400 code 6 (or 412) if it is not UTF-8 JSON."""
    try:
        return json.loads(request.body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise reject(request, ErrorCode.JSON_PARSE_FAILURE) from None


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are JavaScript, not JSON.
    raise ValueError(f"{name} is not JSON")


def check_precondition(request: Request) -> None:
    """Apply ``X-If-Unmodified-Since`` by reading the collection timestamp.

    Writes check it atomically inside their transaction; this read is for
    requests that end before writing (a rejected body, an all-failed batch),
    so the 412 still takes precedence as the protocol orders it.
    """
    since = request.if_unmodified_since
    if since is None:
        return
    stamp = request.registry.storage.collection_timestamp(request.user.userid,
                                                          request.collection)
    if stamp is not None and stamp > since:
        raise CollectionModified(stamp)


def reject(request: Request, code: ErrorCode) -> ProtocolError:
    """A protocol error, unless the precondition fails first (412 wins)."""
    check_precondition(request)
    return ProtocolError(code)
