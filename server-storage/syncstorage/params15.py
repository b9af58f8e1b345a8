"""Query parameters of Storage 1.5 collection requests (section 5.7).

``ids``, ``newer``, ``older``, ``full``, ``limit``, ``offset`` and ``sort``;
anything else is ignored. A malformed value is a 400 with code 1.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pyramid.request import Request

from synccore.errors import ErrorCode, ProtocolError
from synccore.timestamps import parse_centis
from syncstorage.bso import valid_id
from syncstorage.offsets import decode_offset
from syncstorage.storage import ItemFilter

MAX_IDS = 100
SORT_ORDERS = ("newest", "oldest", "index")
_UNSIGNED = re.compile(r"[0-9]{1,18}")


def bad_request() -> ProtocolError:
    return ProtocolError(ErrorCode.ILLEGAL_METHOD)


def query_params(request: Request) -> Mapping[str, str]:
    """The decoded query string; 400 when it is not UTF-8 once percent-decoded."""
    try:
        return request.GET
    except UnicodeDecodeError:
        raise bad_request() from None


@dataclass(frozen=True)
class Listing:
    """A parsed collection GET: ``selection`` fetches one record beyond
    ``limit`` so the view knows whether another page follows."""
    selection: ItemFilter
    limit: int | None
    full: bool


def parse_ids(params: Mapping[str, str]) -> tuple[str, ...] | None:
    """``ids``: up to 100 comma-separated ids, spaces around them trimmed."""
    if "ids" not in params:
        return None
    ids = tuple(part.strip() for part in params["ids"].split(",") if part.strip())
    if len(ids) > MAX_IDS or not all(valid_id(item) for item in ids):
        raise bad_request()
    return ids


def parse_timestamp(value: str | None) -> int | None:
    """A non-negative decimal number of seconds, as centiseconds."""
    if value is None:
        return None
    try:
        centis = parse_centis(value)
    except ValueError:
        raise bad_request() from None
    if centis < 0 or value.strip().startswith("-"):
        raise bad_request()
    return centis


def parse_listing(params: Mapping[str, str]) -> Listing:
    sort = params.get("sort", "newest")
    if sort not in SORT_ORDERS:
        raise bad_request()
    newer, older = parse_timestamp(params.get("newer")), parse_timestamp(params.get("older"))
    limit = None
    if "limit" in params:
        if not _UNSIGNED.fullmatch(params["limit"]):
            raise bad_request()
        limit = int(params["limit"])
    after = None
    if "offset" in params:
        try:
            after = decode_offset(params["offset"], sort)
        except ValueError:
            raise bad_request() from None
        key = after[0]
        if sort != "index" and key is not None and (
                (newer is not None and key <= newer) or (older is not None and key >= older)):
            raise bad_request()  # the offset contradicts newer/older
    selection = ItemFilter(ids=parse_ids(params), newer=newer, older=older, sort=sort,
                           after=after, limit=None if limit is None else limit + 1)
    return Listing(selection=selection, limit=limit, full="full" in params)
