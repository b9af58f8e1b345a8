"""Cross-cutting behaviour of the Storage 1.5 views, stacked as decorators,
and the helpers that put the protocol's timestamps on responses.

* ``storage15_view``: parses ``X-If-Modified-Since`` /
  ``X-If-Unmodified-Since`` (400 if malformed, negative or both), turns a
  failed write precondition into 412, and retries a write once when its
  timestamp would not be strictly newer than the collection's, answering
  503 + ``Retry-After`` if it still is not.
* ``collection_path`` / ``item_path``: the path names as request attributes
  (an invalid BSO id names no resource: 404).
* ``upload_limits``: ``Content-Length`` (413) and the ``X-Weave-*`` size
  hints (400 code 17) before the body is read.
"""
from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from pyramid.httpexceptions import HTTPNotModified
from pyramid.request import Request
from pyramid.response import Response

from synccore.errors import ErrorCode, ProtocolError
from synccore.timestamps import format_centis, now_centis
from syncstorage.bso import valid_id
from syncstorage.params15 import bad_request, parse_timestamp
from syncstorage.storage import CollectionModified, StaleTimestampError

logger = logging.getLogger("syncstorage.storage15")

_UNSIGNED = re.compile(r"[0-9]{1,18}")
# Request header -> the limit it is checked against.
_SIZE_HINTS = {
    "X-Weave-Records": "max_post_records",
    "X-Weave-Bytes": "max_post_bytes",
    "X-Weave-Total-Records": "max_total_records",
    "X-Weave-Total-Bytes": "max_total_bytes",
}


@dataclass(frozen=True)
class Preconditions:
    """The request's precondition headers, in centiseconds."""
    modified_since: int | None = None
    unmodified_since: int | None = None


def not_found() -> ProtocolError:
    return ProtocolError(ErrorCode.UNKNOWN_ERROR, status=404)


def with_timestamps(response: Response, request: Request, last_modified: int, *,
                    write: bool = False) -> Response:
    """``X-Last-Modified``, and ``X-Weave-Timestamp`` never earlier than it."""
    response.headers["X-Last-Modified"] = format_centis(last_modified)
    stamp = last_modified if write else max(request.timestamp, last_modified)
    response.headers["X-Weave-Timestamp"] = format_centis(stamp)
    return response


def precondition_failed(request: Request, last_modified: int) -> ProtocolError:
    error = ProtocolError(ErrorCode.UNKNOWN_ERROR, status=412)
    with_timestamps(error, request, last_modified)
    return error


def check_read(request: Request, resource_timestamp: int) -> None:
    """304 (GET/HEAD only) or 412 against the resource's last-modified."""
    conditions: Preconditions = request.preconditions
    if conditions.unmodified_since is not None \
            and resource_timestamp > conditions.unmodified_since:
        raise precondition_failed(request, resource_timestamp)
    if conditions.modified_since is not None and request.method in ("GET", "HEAD") \
            and resource_timestamp <= conditions.modified_since:
        raise with_timestamps(HTTPNotModified(), request, resource_timestamp)


def check_write(request: Request, resource_timestamp: int) -> None:
    """412 before a write even starts (the storage re-checks atomically)."""
    since = request.preconditions.unmodified_since
    if since is not None and resource_timestamp > since:
        raise precondition_failed(request, resource_timestamp)


def _parse_preconditions(request: Request) -> Preconditions:
    modified = request.headers.get("X-If-Modified-Since")
    unmodified = request.headers.get("X-If-Unmodified-Since")
    if modified is not None and unmodified is not None:
        raise bad_request()
    return Preconditions(parse_timestamp(modified), parse_timestamp(unmodified))


def _conflict(request: Request) -> ProtocolError:
    retry_after = request.registry.settings["server.conflict_retry_after_seconds"]
    error = ProtocolError(ErrorCode.UNKNOWN_ERROR, status=503)
    error.headers["Retry-After"] = str(retry_after)
    return error


def storage15_view(view: Callable) -> Callable:
    """Preconditions, 412 answers and the strictly-increasing-timestamp retry."""

    @functools.wraps(view)
    def wrapper(context, request):
        request.preconditions = _parse_preconditions(request)
        for attempt in (1, 2):
            try:
                return view(context, request)
            except CollectionModified as exc:
                raise precondition_failed(request, exc.last_modified) from None
            except StaleTimestampError as exc:
                # Another write of this collection got the same (or a later)
                # timestamp: wait for the clock, then try once more.
                if attempt == 2:
                    logger.warning("write conflict on %s: last-modified %s",
                                   request.path_info, exc.last_modified)
                    raise _conflict(request) from None
                time.sleep(0.01)
                request.timestamp = max(now_centis(), request.timestamp)
        raise AssertionError("unreachable")

    return wrapper


def collection_path(view: Callable) -> Callable:
    """``request.collection`` from the path (its syntax is enforced by the route)."""

    @functools.wraps(view)
    def wrapper(context, request):
        request.collection = request.matchdict["collection"]
        return view(context, request)

    return wrapper


def item_path(view: Callable) -> Callable:
    """``request.collection`` and ``request.item_id``; 404 for an id no BSO can have."""

    @functools.wraps(view)
    def wrapper(context, request):
        request.collection = request.matchdict["collection"]
        item_id = request.matchdict["item"]
        if not valid_id(item_id):
            raise not_found()
        request.item_id = item_id
        return view(context, request)

    return wrapper


def upload_limits(view: Callable) -> Callable:
    """413 for a body over ``max_request_bytes``; 400 for a size hint over its limit."""

    @functools.wraps(view)
    def wrapper(context, request):
        limits = request.registry.upload_limits
        length = request.content_length
        if length is not None and length > limits.max_request_bytes:
            raise ProtocolError(ErrorCode.SIZE_LIMIT_EXCEEDED, status=413)
        if request.method == "POST":
            for header, limit_name in _SIZE_HINTS.items():
                value = request.headers.get(header)
                if value is None:
                    continue
                if not _UNSIGNED.fullmatch(value.strip()):
                    raise bad_request()
                if int(value) > getattr(limits, limit_name):
                    raise ProtocolError(ErrorCode.SIZE_LIMIT_EXCEEDED)
        if length is None and len(request.body) > limits.max_request_bytes:
            raise ProtocolError(ErrorCode.SIZE_LIMIT_EXCEEDED, status=413)
        return view(context, request)

    return wrapper
