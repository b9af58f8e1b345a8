"""Query parameters of GET and DELETE on a collection (Storage 1.1, section 7)."""
from __future__ import annotations

import math
from collections.abc import Mapping

from synccore.errors import bad_parameter
from synccore.timestamps import parse_centis
from syncstorage.storage import ItemFilter

SORT_ORDERS = ("oldest", "newest", "index")
SELECTION_PARAMS = ("ids", "parentid", "predecessorid", "newer", "older", "index_above",
                    "index_below", "limit", "offset", "sort")


def _timestamp(params: Mapping[str, str], name: str) -> int | None:
    if name not in params:
        return None
    try:
        return parse_centis(params[name])
    except ValueError:
        raise bad_parameter(name) from None


def _number(params: Mapping[str, str], name: str) -> float | None:
    if name not in params:
        return None
    try:
        value = float(params[name])
    except ValueError:
        raise bad_parameter(name) from None
    if not math.isfinite(value):
        raise bad_parameter(name)
    return value


def _integer(params: Mapping[str, str], name: str) -> int | None:
    if name not in params:
        return None
    try:
        return int(params[name])
    except ValueError:
        raise bad_parameter(name) from None


def parse_selection(params: Mapping[str, str]) -> ItemFilter:
    """An ItemFilter from query parameters; 400 for a malformed value."""
    ids = None
    if "ids" in params:
        raw = params["ids"]
        ids = tuple(raw.split(",")) if raw else ()
    sort = params.get("sort")
    return ItemFilter(
        ids=ids,
        parentid=params.get("parentid"),
        predecessorid=params.get("predecessorid"),
        newer=_timestamp(params, "newer"),
        older=_timestamp(params, "older"),
        index_above=_number(params, "index_above"),
        index_below=_number(params, "index_below"),
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
