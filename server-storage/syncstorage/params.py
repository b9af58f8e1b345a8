"""Query parameters of GET and DELETE on a collection (Storage 1.1, section 7)."""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

from pyramid.request import Request

from synccore.errors import bad_parameter
from synccore.timestamps import DECIMAL_NUMBER, parse_centis
from syncstorage.storage import ItemFilter
from syncstorage.wbo import storable_text

SORT_ORDERS = ("oldest", "newest", "index")
SELECTION_PARAMS = ("ids", "parentid", "predecessorid", "newer", "older", "index_above",
                    "index_below", "limit", "offset", "sort")
# limit/offset beyond this mean "no limit" / "past the end" alike, and stay
# inside every database's 32-bit integer range.
MAX_ROWS = 2**31 - 1
# Just outside the sortindex range (section 4.1), so clamping keeps the meaning.
SORTINDEX_BOUND = 1_000_000_000
_INTEGER = re.compile(r"[+-]?[0-9]+")


def query_params(request: Request) -> Mapping[str, str]:
    """The decoded query string; 400 when it is not UTF-8 once percent-decoded."""
    try:
        return request.GET
    except UnicodeDecodeError:
        raise bad_parameter("query string", "not UTF-8") from None


def _timestamp(params: Mapping[str, str], name: str) -> int | None:
    if name not in params:
        return None
    try:
        return parse_centis(params[name])
    except ValueError:
        raise bad_parameter(name) from None


def _index_bound(params: Mapping[str, str], name: str,
                 rounding: Callable[[float], int]) -> int | None:
    """A sortindex bound as the equivalent integer (sortindex is an integer).

    ``sortindex > 9.5`` is ``sortindex > 9`` (floor) and ``sortindex < 9.5`` is
    ``sortindex < 10`` (ceil); databases would otherwise cast the float to the
    column's integer type, rounding it or overflowing.
    """
    if name not in params:
        return None
    text = params[name].strip()
    if not DECIMAL_NUMBER.fullmatch(text):
        raise bad_parameter(name)
    value = float(text)
    if not math.isfinite(value):
        raise bad_parameter(name)
    return max(-SORTINDEX_BOUND, min(SORTINDEX_BOUND, rounding(value)))


def _integer(params: Mapping[str, str], name: str) -> int | None:
    if name not in params:
        return None
    text = params[name].strip()
    if not _INTEGER.fullmatch(text):
        raise bad_parameter(name)
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 16:  # clamp without converting thousands of digits
        return -MAX_ROWS if text.startswith("-") else MAX_ROWS
    return max(-MAX_ROWS, min(MAX_ROWS, int(text)))


def parse_selection(params: Mapping[str, str]) -> ItemFilter:
    """An ItemFilter from query parameters; 400 for a malformed value."""
    ids = None
    if "ids" in params:
        raw = params["ids"]
        # An id that could never be stored matches nothing, like one over 64 chars.
        ids = tuple(item for item in raw.split(",") if storable_text(item)) if raw else ()
    for name in ("parentid", "predecessorid"):
        if name in params and not storable_text(params[name]):
            ids = ()
    sort = params.get("sort")
    return ItemFilter(
        ids=ids,
        parentid=params.get("parentid"),
        predecessorid=params.get("predecessorid"),
        newer=_timestamp(params, "newer"),
        older=_timestamp(params, "older"),
        index_above=_index_bound(params, "index_above", math.floor),
        index_below=_index_bound(params, "index_below", math.ceil),
        limit=_integer(params, "limit"),
        offset=_integer(params, "offset"),
        sort=sort if sort in SORT_ORDERS else None,  # type: ignore[arg-type]
    )


def selects_everything(selection: ItemFilter) -> bool:
    """True when the filter has no criterion and no effective limit."""
    return (selection.ids is None and selection.parentid is None
            and selection.predecessorid is None and selection.newer is None
            and selection.older is None and selection.index_above is None
            and selection.index_below is None
            and (selection.limit is None or selection.limit <= 0))


def wants_full(params: Mapping[str, str]) -> bool:
    return bool(params.get("full"))
