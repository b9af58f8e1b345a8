"""Cross-cutting request handling: the request timestamp, trailing slashes,
and the translation of backend failures into protocol answers."""
from __future__ import annotations

import logging

from pyramid.exceptions import URLDecodeError
from pyramid.httpexceptions import HTTPException, HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from synccore.errors import crash_response, new_crash_id
from synccore.exceptions import BackendConflict, BackendError
from synccore.timestamps import format_centis, now_centis

logger = logging.getLogger("synccore")


def timestamp_tween_factory(handler, registry):
    """Take one timestamp per request and report it on every response.

    Views read ``request.timestamp`` (centiseconds); the response gets
    ``X-Weave-Timestamp`` unless a view set a more specific value.
    """
    backoff = registry.settings.get("server.backoff_seconds") or 0

    def timestamp_tween(request: Request) -> Response:
        request.timestamp = now_centis()
        # The raw WSGI path (bytes as latin-1): decoding it here would crash
        # on percent-encoded bytes that are not UTF-8 before any error view.
        path = request.environ.get("PATH_INFO", "")
        if len(path) > 1 and path.endswith("/"):
            request.environ["PATH_INFO"] = path.rstrip("/") or "/"
        response = handler(request)
        headers = response.headers
        if "X-Weave-Timestamp" not in headers:
            headers["X-Weave-Timestamp"] = format_centis(request.timestamp)
        if backoff and "X-Weave-Backoff" not in headers:
            headers["X-Weave-Backoff"] = str(backoff)
        return response

    return timestamp_tween


def _raw_path(request: Request) -> str:
    """The path for log lines, without decoding (it may not be UTF-8)."""
    return request.environ.get("SCRIPT_NAME", "") + request.environ.get("PATH_INFO", "")


def undecodable_path_view(exc: URLDecodeError, request: Request) -> Response:
    """A path whose percent-encoded bytes are not UTF-8 names no resource: 404."""
    return HTTPNotFound()


def backend_error_view(exc: BackendError, request: Request) -> Response:
    """503 with Retry-After; the details go to the log under a crash id."""
    settings = request.registry.settings
    crash_id = new_crash_id()
    if isinstance(exc, BackendConflict):
        retry_after = settings["server.conflict_retry_after_seconds"]
        logger.warning("conflict %s on %s %s: %s", crash_id, request.method,
                       _raw_path(request), exc)
    else:
        retry_after = settings["server.retry_after_seconds"]
        logger.error("backend failure %s on %s %s: %s", crash_id, request.method,
                     _raw_path(request), exc, exc_info=exc)
    response = crash_response(503, crash_id, retry_after)
    response.headers["X-Weave-Backoff"] = str(retry_after)
    return response


def unexpected_error_view(exc: Exception, request: Request) -> Response:
    """500 with a crash id; never a traceback on the wire."""
    if isinstance(exc, HTTPException):
        return exc
    crash_id = new_crash_id()
    logger.error("unexpected error %s on %s %s", crash_id, request.method, _raw_path(request),
                 exc_info=exc)
    return crash_response(500, crash_id)
