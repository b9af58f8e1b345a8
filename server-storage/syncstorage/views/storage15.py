"""Sync Storage API 1.5 views (Hawk auth), served under ``/1.5/{uid}``.

Each view reads validated input, makes its storage calls and sets the
protocol's timestamps; authentication, preconditions, size limits and the
conflict retry are decorators (``syncstorage.hawk``,
``syncstorage.decorators15``).
"""
from __future__ import annotations

import json
import logging

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from synccore.errors import ErrorCode, ProtocolError
from synccore.timestamps import format_centis
from syncstorage.decorators import add_quota_header, check_quota
from syncstorage.decorators15 import (
    check_read,
    check_write,
    collection_path,
    item_path,
    not_found,
    storage15_view,
    upload_limits,
    with_timestamps,
)
from syncstorage.formats import (
    bso_json,
    id_items,
    json_response,
    kilobytes_text,
    listing_response,
    negotiate_listing,
    timestamp_map_json,
)
from syncstorage.hawk import (
    HawkAuthenticator,
    HawkPolicy,
    NonceCache,
    TokenVerifier,
    hawk_auth,
    hawk_auth_with_grace,
)
from syncstorage.limits import UploadLimits
from syncstorage.offsets import encode_offset
from syncstorage.params15 import parse_ids, parse_listing, query_params
from syncstorage.storage import BatchNotFoundError, BatchTooLargeError, ItemFilter, RecordWrite
from syncstorage.uploads15 import Triage, parse_batch_mode, parse_put, read_items, triage

logger = logging.getLogger("syncstorage.storage15")

PREFIX = r"/1.5/{uid:[0-9]{1,10}}"
COLLECTION = r"{collection:[A-Za-z0-9._-]{1,32}}"

# How 1.5 writes treat absent fields (section 3.1) and timestamps (3.3).
WRITE_RULES = {"bump_on_metadata": True, "default_payload": "", "keep_expiry": True,
               "require_newer": True}


def _ids(request: Request) -> tuple[int, str]:
    return request.user.userid, request.collection


def _unmodified_since(request: Request) -> int | None:
    return request.preconditions.unmodified_since


def _modified_json(timestamp: int) -> str:
    return '{"modified":' + format_centis(timestamp) + "}"


# -- info ----------------------------------------------------------------------

def _storage_read(request: Request) -> int:
    """The storage timestamp, after applying the preconditions to it."""
    last_modified = request.registry.storage.storage_timestamp(request.user.userid)
    check_read(request, last_modified)
    return last_modified


def info_collections(request: Request) -> Response:
    last_modified = _storage_read(request)
    stamps = request.registry.storage.collection_timestamps(request.user.userid)
    last_modified = max([last_modified, *stamps.values()])
    return with_timestamps(json_response(timestamp_map_json(stamps), records=len(stamps)),
                           request, last_modified)


def info_quota(request: Request) -> Response:
    last_modified = _storage_read(request)
    used = request.registry.storage.total_bytes(request.user.userid, request.timestamp)
    quota_kb = request.registry.settings["storage.quota_kb"]
    body = f"[{kilobytes_text(used / 1024)},{kilobytes_text(quota_kb) if quota_kb else 'null'}]"
    return with_timestamps(json_response(body), request, last_modified)


def info_collection_usage(request: Request) -> Response:
    last_modified = _storage_read(request)
    usage = request.registry.storage.collection_usage(request.user.userid, request.timestamp)
    body = "{" + ",".join(f"{json.dumps(name)}:{kilobytes_text(item.bytes / 1024)}"
                          for name, item in usage.items()) + "}"
    return with_timestamps(json_response(body, records=len(usage)), request, last_modified)


def info_collection_counts(request: Request) -> Response:
    last_modified = _storage_read(request)
    usage = request.registry.storage.collection_usage(request.user.userid, request.timestamp)
    counts = {name: item.count for name, item in usage.items()}
    return with_timestamps(json_response(json.dumps(counts), records=len(counts)),
                           request, last_modified)


def info_configuration(request: Request) -> Response:
    last_modified = _storage_read(request)
    return with_timestamps(json_response(request.registry.upload_limits.configuration_json()),
                           request, last_modified)


# -- whole storage -------------------------------------------------------------

def delete_storage(request: Request) -> Response:
    request.registry.storage.delete_storage(
        request.user.userid, request.timestamp, if_unmodified_since=_unmodified_since(request),
        require_newer=True)
    return with_timestamps(json_response("{}"), request, request.timestamp, write=True)


# -- collections ---------------------------------------------------------------

def get_collection(request: Request) -> Response:
    listing = parse_listing(query_params(request))
    content_type = negotiate_listing(request.headers.get("Accept"))
    if content_type is None:
        raise ProtocolError(ErrorCode.UNKNOWN_ERROR, status=406)
    storage, (userid, collection) = request.registry.storage, _ids(request)
    # The timestamp is read before the records: a write in between shows up
    # in this page and again in the next sync, never in neither.
    last_modified = storage.collection_timestamp(userid, collection) or 0
    check_read(request, last_modified)
    records = [] if listing.limit == 0 else storage.get_records(
        userid, collection, listing.selection, request.timestamp)
    next_offset = None
    if listing.limit is not None and len(records) > listing.limit:
        records = records[:listing.limit]
        last, sort = records[-1], listing.selection.sort or "newest"
        next_offset = encode_offset(sort, last.sortindex if sort == "index" else last.modified,
                                    last.id)
    items = [bso_json(record) for record in records] if listing.full \
        else id_items(record.id for record in records)
    response = listing_response(items, content_type)
    if next_offset is not None:
        response.headers["X-Weave-Next-Offset"] = next_offset
    return with_timestamps(response, request, last_modified)


def post_collection(request: Request) -> Response:
    mode = parse_batch_mode(query_params(request))
    storage, (userid, collection) = request.registry.storage, _ids(request)
    if _unmodified_since(request) is not None:
        check_write(request, storage.collection_timestamp(userid, collection) or 0)
    limits = request.registry.upload_limits
    result = triage(read_items(request), collection, limits)
    if result.accepted or mode.commit:
        check_quota(request)
    if mode.create or (mode.batch_id is not None and not mode.commit):
        return _stage(request, mode.batch_id, result)
    if mode.batch_id is not None:
        _commit(request, mode.batch_id, result.accepted)
    elif result.accepted:
        storage.write_records(userid, collection, result.accepted, request.timestamp,
                              if_unmodified_since=_unmodified_since(request), **WRITE_RULES)
    body = ('{"modified":' + format_centis(request.timestamp) + ',"success":'
            + json.dumps(result.success) + ',"failed":' + json.dumps(result.failed) + "}")
    response = with_timestamps(json_response(body), request, request.timestamp, write=True)
    add_quota_header(request, response)
    return response


def _stage(request: Request, batch_id: str | None, result: Triage) -> Response:
    """Open a batch (``batch_id`` None) or add to one: 202, nothing visible yet."""
    storage, (userid, collection) = request.registry.storage, _ids(request)
    limits = request.registry.upload_limits
    options = {"if_unmodified_since": _unmodified_since(request),
               "max_records": limits.max_total_records, "max_bytes": limits.max_total_bytes}
    try:
        if batch_id is None:
            batch_id = storage.create_batch(
                userid, collection, result.accepted, request.timestamp,
                ttl_seconds=request.registry.settings["storage15.batch_ttl_seconds"], **options)
        else:
            storage.append_to_batch(userid, collection, batch_id, result.accepted,
                                    request.timestamp, **options)
    except BatchNotFoundError:
        raise ProtocolError(ErrorCode.ILLEGAL_METHOD) from None
    except BatchTooLargeError:
        raise ProtocolError(ErrorCode.SIZE_LIMIT_EXCEEDED) from None
    body = ('{"batch":' + json.dumps(batch_id) + ',"success":' + json.dumps(result.success)
            + ',"failed":' + json.dumps(result.failed) + "}")
    last_modified = storage.collection_timestamp(userid, collection) or 0
    return with_timestamps(json_response(body, status=202), request, last_modified)


def _commit(request: Request, batch_id: str, records: list[RecordWrite]) -> None:
    storage, (userid, collection) = request.registry.storage, _ids(request)
    limits = request.registry.upload_limits
    try:
        storage.commit_batch(userid, collection, batch_id, records, request.timestamp,
                             if_unmodified_since=_unmodified_since(request),
                             max_records=limits.max_total_records,
                             max_bytes=limits.max_total_bytes)
    except BatchNotFoundError:
        raise ProtocolError(ErrorCode.ILLEGAL_METHOD) from None
    except BatchTooLargeError:
        raise ProtocolError(ErrorCode.SIZE_LIMIT_EXCEEDED) from None


def delete_collection(request: Request) -> Response:
    ids = parse_ids(query_params(request))
    storage, (userid, collection) = request.registry.storage, _ids(request)
    options = {"if_unmodified_since": _unmodified_since(request), "require_newer": True}
    if ids is None:
        storage.delete_collection(userid, collection, request.timestamp, **options)
    else:
        storage.delete_records(userid, collection, ItemFilter(ids=ids), request.timestamp,
                               **options)
    return with_timestamps(json_response(_modified_json(request.timestamp)), request,
                           request.timestamp, write=True)


# -- items ---------------------------------------------------------------------

def get_item(request: Request) -> Response:
    userid, collection = _ids(request)
    record = request.registry.storage.get_record(userid, collection, request.item_id,
                                                 request.timestamp)
    if record is None:
        raise not_found()
    check_read(request, record.modified or 0)
    return with_timestamps(json_response(bso_json(record)), request, record.modified or 0)


def put_item(request: Request) -> Response:
    record = parse_put(request, request.item_id, request.registry.upload_limits)
    check_quota(request)
    userid, collection = _ids(request)
    request.registry.storage.write_records(
        userid, collection, [record], request.timestamp,
        item_unmodified_since=_unmodified_since(request), **WRITE_RULES)
    response = with_timestamps(json_response(format_centis(request.timestamp)), request,
                               request.timestamp, write=True)
    add_quota_header(request, response)
    return response


def delete_item(request: Request) -> Response:
    userid, collection = _ids(request)
    found = request.registry.storage.delete_record(
        userid, collection, request.item_id, request.timestamp,
        if_unmodified_since=_unmodified_since(request), require_newer=True)
    if not found:
        raise not_found()
    return with_timestamps(json_response(_modified_json(request.timestamp)), request,
                           request.timestamp, write=True)


# -- errors outside the views ----------------------------------------------------

def method_not_allowed(request: Request) -> Response:
    raise ProtocolError(ErrorCode.UNKNOWN_ERROR, status=405)


def unknown_path(request: Request) -> Response:
    """Anything under ``/1.5/`` that names no resource: 404, body ``0``."""
    return not_found()


def _setup_authentication(config: Configurator) -> None:
    settings = config.get_settings()
    secrets = settings["master_secret"]
    if not secrets:
        logger.warning("master_secret is not set: every Storage 1.5 request will get 401")
    skew = settings["storage15.hawk_timestamp_skew_seconds"]
    config.registry.hawk = HawkAuthenticator(
        TokenVerifier(secrets),
        NonceCache(skew, settings["storage15.hawk_nonce_cache_max_entries"]),
        HawkPolicy(public_url=settings["server.public_url"],
                   check_node=settings["storage15.check_token_node"],
                   timestamp_skew_seconds=skew,
                   expired_token_grace_seconds=settings[
                       "storage15.expired_token_grace_seconds"]))


def includeme(config: Configurator) -> None:
    _setup_authentication(config)
    config.registry.upload_limits = UploadLimits.from_settings(config.get_settings())
    routes = {
        "info_collections": ("/info/collections", {"GET": info_collections}),
        "info_quota": ("/info/quota", {"GET": info_quota}),
        "info_collection_usage": ("/info/collection_usage", {"GET": info_collection_usage}),
        "info_collection_counts": ("/info/collection_counts",
                                   {"GET": info_collection_counts}),
        "info_configuration": ("/info/configuration", {"GET": info_configuration}),
        "root": ("", {"DELETE": delete_storage}),
        "storage": ("/storage", {"DELETE": delete_storage}),
        "collection": ("/storage/" + COLLECTION,
                       {"GET": get_collection, "POST": post_collection,
                        "DELETE": delete_collection}),
        "item": ("/storage/" + COLLECTION + "/{item:[^/]+}",
                 {"GET": get_item, "PUT": put_item, "DELETE": delete_item}),
    }
    for name, (path, views) in routes.items():
        route_name = f"storage15.{name}"
        config.add_route(route_name, PREFIX + path)
        for method, view in views.items():
            # Expired-token grace is for "did anything change?" polls only.
            auth = hawk_auth_with_grace if name == "info_collections" else hawk_auth
            decorators = [auth, storage15_view]
            if name == "collection":
                decorators.append(collection_path)
            elif name == "item":
                decorators.append(item_path)
            if method in ("PUT", "POST"):
                decorators.append(upload_limits)
            config.add_view(view, route_name=route_name, request_method=method,
                            decorator=tuple(decorators))
        config.add_view(method_not_allowed, route_name=route_name)
    config.add_notfound_view(unknown_path, path_info=r"^/1\.5(/|$)")
