"""Cross-cutting behaviour of the storage views, stacked as decorators."""
from __future__ import annotations

import functools
from collections.abc import Callable

from pyramid.request import Request

from synccore.errors import ErrorCode, ProtocolError, bad_parameter
from synccore.timestamps import parse_centis
from syncstorage.formats import kilobytes_text

MAX_COLLECTION_LENGTH = 32


def if_unmodified_since(request: Request) -> int | None:
    """``X-If-Unmodified-Since`` in centiseconds (request method, reified)."""
    value = request.headers.get("X-If-Unmodified-Since")
    if value is None:
        return None
    try:
        centis = parse_centis(value)
    except ValueError:
        raise bad_parameter("X-If-Unmodified-Since") from None
    # Collection timestamps are positive: a negative value means the same as 0.
    return max(centis, 0)


def collection_view(view: Callable) -> Callable:
    """Validate ``{collection}`` from the path and expose it as ``request.collection``."""

    @functools.wraps(view)
    def wrapper(context, request):
        collection = request.matchdict["collection"]
        if len(collection) > MAX_COLLECTION_LENGTH:
            raise ProtocolError(ErrorCode.INVALID_COLLECTION)
        request.collection = collection
        return view(context, request)

    return wrapper


def body_size_limit(view: Callable) -> Callable:
    """400 code 17 for request bodies above ``storage.max_request_bytes``."""

    @functools.wraps(view)
    def wrapper(context, request):
        limit = request.registry.settings["storage.max_request_bytes"]
        length = request.content_length
        if (length is not None and length > limit) or len(request.body) > limit:
            raise ProtocolError(ErrorCode.SIZE_LIMIT_EXCEEDED)
        return view(context, request)

    return wrapper


def quota_remaining_bytes(request: Request) -> float | None:
    """Bytes left under the quota before this request, or None without quotas."""
    quota_kb = request.registry.settings["storage.quota_kb"]
    if not quota_kb:
        return None
    used = request.registry.storage.total_bytes(request.user.userid, request.timestamp)
    return quota_kb * 1024 - used


def check_quota(request: Request) -> None:
    """400 code 14 once the user has no space left (the write may overshoot)."""
    remaining = quota_remaining_bytes(request)
    request.quota_remaining = remaining
    if remaining is not None and remaining <= 0:
        raise ProtocolError(ErrorCode.OVER_QUOTA)


def add_quota_header(request: Request, response) -> None:
    remaining = getattr(request, "quota_remaining", None)
    if remaining is not None and remaining <= 1024 * 1024:
        response.headers["X-Weave-Quota-Remaining"] = kilobytes_text(remaining / 1024)
