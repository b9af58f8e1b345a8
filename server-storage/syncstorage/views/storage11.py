"""Sync Storage API 1.1 views (Basic auth), served under ``/{1.1|1.0|1}/{username}``."""
from __future__ import annotations

import json

from pyramid.httpexceptions import HTTPMethodNotAllowed, HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from synccore.auth import basic_auth
from synccore.errors import ErrorCode, ProtocolError
from synccore.timestamps import format_centis
from syncstorage.decorators import add_quota_header, body_size_limit, check_quota, collection_view
from syncstorage.formats import (
    id_items,
    json_response,
    listing_response,
    negotiate,
    record_json,
    timestamp_map_json,
)
from syncstorage.params import parse_selection, query_params, selects_everything, wants_full
from syncstorage.storage import ItemFilter
from syncstorage.views.common import check_precondition, parse_json_body, reject
from syncstorage.wbo import (
    InvalidWBO,
    Limits,
    has_nested_values,
    parse_wbo,
    record_id_of,
    storable_text,
)

PREFIX = r"/{version:1\.1|1\.0|1}/{username:[A-Za-z0-9._-]+}"
NAME = r"[A-Za-z0-9._-]+"


def _limits(request: Request) -> Limits:
    return Limits(max_payload_bytes=request.registry.settings["storage.max_payload_bytes"])


# -- info ----------------------------------------------------------------------

def info_collections(request: Request) -> Response:
    stamps = request.registry.storage.collection_timestamps(request.user.userid)
    return json_response(timestamp_map_json(stamps), records=len(stamps))


def info_collection_counts(request: Request) -> Response:
    usage = request.registry.storage.collection_usage(request.user.userid, request.timestamp)
    counts = {name: item.count for name, item in usage.items()}
    return json_response(json.dumps(counts), records=len(counts))


def info_collection_usage(request: Request) -> Response:
    usage = request.registry.storage.collection_usage(request.user.userid, request.timestamp)
    return json_response(json.dumps({name: item.bytes / 1024 for name, item in usage.items()}))


def info_quota(request: Request) -> Response:
    used = request.registry.storage.total_bytes(request.user.userid, request.timestamp)
    quota_kb = request.registry.settings["storage.quota_kb"] or None
    if quota_kb is not None and quota_kb == int(quota_kb):
        quota_kb = int(quota_kb)  # 5120, not 5120.0
    return json_response(json.dumps([used / 1024, quota_kb]))


# -- collections ---------------------------------------------------------------

def get_collection(request: Request) -> Response:
    params = query_params(request)
    selection = parse_selection(params)
    storage, userid = request.registry.storage, request.user.userid
    if wants_full(params):
        records = storage.get_records(userid, request.collection, selection, request.timestamp)
        items = [record_json(record) for record in records]
    else:
        items = id_items(storage.get_ids(userid, request.collection, selection,
                                         request.timestamp))
    return listing_response(items, negotiate(request.headers.get("Accept")))


def post_collection(request: Request) -> Response:
    body = parse_json_body(request)
    if isinstance(body, dict):
        return _put_one(request, body.get("id"), body, from_body=True)
    if not isinstance(body, list):
        raise reject(request, ErrorCode.INVALID_WBO)
    accepted, success, failed = _triage_batch(request, body)
    if accepted:
        _check_quota_after_precondition(request)
        request.registry.storage.write_records(
            request.user.userid, request.collection, accepted, request.timestamp,
            if_unmodified_since=request.if_unmodified_since)
    else:
        check_precondition(request)
    body_text = ('{"modified":' + format_centis(request.timestamp) + ',"success":'
                 + json.dumps(success) + ',"failed":' + json.dumps(failed) + "}")
    response = json_response(body_text)
    add_quota_header(request, response)
    return response


def _check_quota_after_precondition(request: Request) -> None:
    """The quota check of a POST, which ranks after its 412 (ST-B1, ST-B6)."""
    try:
        check_quota(request)
    except ProtocolError:
        raise reject(request, ErrorCode.OVER_QUOTA) from None


def _triage_batch(request: Request, items: list) -> tuple[list, list[str], dict]:
    """Split a batch into accepted writes, successful ids and failure reasons."""
    settings = request.registry.settings
    max_records, max_bytes = settings["storage.max_post_records"], \
        settings["storage.max_post_bytes"]
    limits = _limits(request)
    accepted, success, failed = [], [], {}
    total_bytes = 0
    for index, item in enumerate(items):
        if not isinstance(item, dict) or has_nested_values(item):
            failed[""] = ["invalid wbo"]
            continue
        try:
            record_id = record_id_of(item)
        except InvalidWBO as exc:
            failed[str(item.get("id"))] = [exc.reason]
            continue
        if record_id is None or "/" in record_id:
            failed[record_id or ""] = ["invalid id"]
            continue
        try:
            record = parse_wbo(item, record_id, limits)
        except InvalidWBO as exc:
            failed[record_id] = [exc.reason]
            continue
        if index >= max_records:
            failed[record_id] = ["retry wbo"]
            continue
        if record.payload is not None:
            total_bytes += len(record.payload.encode("utf-8"))
        if total_bytes >= max_bytes:
            failed[record_id] = ["retry bytes"]
            continue
        accepted.append(record)
        success.append(record_id)
    return accepted, success, failed


def delete_collection(request: Request) -> Response:
    selection = parse_selection(query_params(request))
    request.registry.storage.delete_records(
        request.user.userid, request.collection,
        None if selects_everything(selection) else selection, request.timestamp,
        if_unmodified_since=request.if_unmodified_since)
    return json_response(format_centis(request.timestamp))


# -- items ---------------------------------------------------------------------

def get_item(request: Request) -> Response:
    record_id = request.matchdict["item"]
    record = request.registry.storage.get_record(
        request.user.userid, request.collection, record_id, request.timestamp) \
        if storable_text(record_id) else None
    if record is None:
        raise HTTPNotFound()
    return json_response(record_json(record))


def put_item(request: Request) -> Response:
    check_quota(request)
    return _put_one(request, request.matchdict["item"], parse_json_body(request),
                    from_body=False)


def _put_one(request: Request, record_id, body, *, from_body: bool) -> Response:
    """Store one WBO and answer with its ``modified`` (a bare JSON number)."""
    if from_body:
        if not isinstance(record_id, (str, int, float)) or isinstance(record_id, bool) \
                or "/" in str(record_id):
            raise reject(request, ErrorCode.INVALID_WBO)
        record_id = str(record_id)
        _check_quota_after_precondition(request)
    try:
        record = parse_wbo(body, record_id, _limits(request))
    except InvalidWBO:
        raise reject(request, ErrorCode.INVALID_WBO) from None
    if len(record_id) > 64 or not storable_text(record_id):
        raise reject(request, ErrorCode.INVALID_WBO)
    modified = request.registry.storage.write_records(
        request.user.userid, request.collection, [record], request.timestamp,
        if_unmodified_since=request.if_unmodified_since)[record_id]
    response = json_response(format_centis(modified) if modified is not None else "null")
    add_quota_header(request, response)
    return response


def delete_item(request: Request) -> Response:
    record_id = request.matchdict["item"]
    # An id no record can have still deletes nothing with a 200 (ST-DI2).
    ids = (record_id,) if storable_text(record_id) else ()
    request.registry.storage.delete_records(
        request.user.userid, request.collection, ItemFilter(ids=ids), request.timestamp,
        if_unmodified_since=request.if_unmodified_since)
    return json_response(format_centis(request.timestamp))


# -- whole storage -------------------------------------------------------------

def delete_storage(request: Request) -> Response:
    if "X-Confirm-Delete" not in request.headers:
        raise ProtocolError(ErrorCode.CANNOT_OVERWRITE)
    request.registry.storage.delete_storage(request.user.userid)
    return json_response(format_centis(request.timestamp))


# -- wrong methods -------------------------------------------------------------

def method_not_allowed(request: Request) -> Response:
    raise HTTPMethodNotAllowed()


def storage_root_fallback(request: Request) -> Response:
    # PUT or POST without a collection name is "no such collection" (404).
    if request.method in ("PUT", "POST"):
        raise HTTPNotFound()
    raise HTTPMethodNotAllowed()


def includeme(config) -> None:
    routes = {
        "info_collections": ("/info/collections", {"GET": info_collections}),
        "info_collection_counts": ("/info/collection_counts",
                                   {"GET": info_collection_counts}),
        "info_collection_usage": ("/info/collection_usage", {"GET": info_collection_usage}),
        "info_quota": ("/info/quota", {"GET": info_quota}),
        "storage": ("/storage", {"DELETE": delete_storage}),
        "collection": ("/storage/{collection:" + NAME + "}",
                       {"GET": get_collection, "POST": post_collection,
                        "PUT": post_collection, "DELETE": delete_collection}),
        "item": ("/storage/{collection:" + NAME + "}/{item:[^/]+}",
                 {"GET": get_item, "PUT": put_item, "DELETE": delete_item}),
    }
    for name, (path, views) in routes.items():
        route_name = f"storage11.{name}"
        config.add_route(route_name, PREFIX + path)
        for method, view in views.items():
            decorators = [basic_auth]
            if name in ("collection", "item"):
                decorators.append(collection_view)
            if method in ("PUT", "POST"):
                decorators.append(body_size_limit)
            config.add_view(view, route_name=route_name, request_method=method,
                            decorator=tuple(decorators))
        fallback = storage_root_fallback if name == "storage" else method_not_allowed
        config.add_view(fallback, route_name=route_name)
