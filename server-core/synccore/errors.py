"""Protocol error codes and the one place that turns them into responses.

The numeric codes are shared by the storage and registration protocols
(User API 1.0, section 1). A 400 carrying a code has the bare decimal integer
as its body, with ``Content-Type: application/json``.
"""
from __future__ import annotations

import enum
import json
import logging
import uuid

from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPException,
    HTTPServiceUnavailable,
    HTTPTooManyRequests,
)
from pyramid.response import Response

logger = logging.getLogger("synccore.errors")


class ErrorCode(enum.IntEnum):
    # Storage 1.5 sends 0 as the generic body of 401, 404, 405, 412 and conflicts.
    UNKNOWN_ERROR = 0
    ILLEGAL_METHOD = 1
    INVALID_CAPTCHA = 2
    INVALID_USERNAME = 3
    CANNOT_OVERWRITE = 4
    USERID_MISMATCH = 5
    JSON_PARSE_FAILURE = 6
    MISSING_PASSWORD = 7
    INVALID_WBO = 8
    WEAK_PASSWORD = 9
    INVALID_RESET_CODE = 10
    UNSUPPORTED_FUNCTION = 11
    NO_EMAIL = 12
    INVALID_COLLECTION = 13
    OVER_QUOTA = 14
    EMAIL_MISMATCH = 15
    CLIENT_UPGRADE_REQUIRED = 16
    SIZE_LIMIT_EXCEEDED = 17


def protocol_error(code: ErrorCode, status: int = 400) -> Response:
    """A response whose body is the bare numeric code."""
    return Response(status=status, body=str(int(code)).encode("ascii"),
                    content_type="application/json", charset=None)


class ProtocolError(HTTPBadRequest):
    """Raise from a view to answer 400 with a numeric protocol code."""

    def __init__(self, code: ErrorCode, status: int = 400):
        super().__init__()
        self.code = code
        self.status = status
        self.body = str(int(code)).encode("ascii")
        self.content_type = "application/json"
        self.charset = None


def bad_parameter(name: str, detail: str = "") -> HTTPBadRequest:
    """400 for a malformed query parameter or header: a text page, no code."""
    message = f"Invalid value for {name}" + (f": {detail}" if detail else "")
    return HTTPBadRequest(body_template=message, explanation="")


def new_crash_id() -> str:
    return uuid.uuid4().hex


def crash_response(status: int, crash_id: str, retry_after: int | None = None) -> Response:
    """The JSON-string body Sync clients expect for 500 and 503 answers."""
    body = json.dumps(f"application error: crash id {crash_id}").encode("utf-8")
    response = Response(status=status, body=body, content_type="application/json",
                        charset=None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def service_unavailable(reason: str, retry_after: int) -> HTTPServiceUnavailable:
    response = HTTPServiceUnavailable(body_template=f"server issue: {reason}",
                                      explanation="")
    response.headers["Retry-After"] = str(retry_after)
    response.headers["X-Weave-Backoff"] = str(retry_after)
    return response


def too_many_requests(retry_after: int, status: int = 429) -> HTTPException:
    """Refuse a rate-limited request: 429, or 503 (the backoff 1.1 clients obey).

    Both carry ``Retry-After`` and ``X-Weave-Backoff`` so every client
    generation knows how long to wait.
    """
    if status == 503:
        return service_unavailable("too many requests", retry_after)
    response = HTTPTooManyRequests(body_template="too many requests", explanation="")
    response.headers["Retry-After"] = str(retry_after)
    response.headers["X-Weave-Backoff"] = str(retry_after)
    return response
