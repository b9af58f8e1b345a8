"""Helpers of the accounts API views: JSON in and out, Hawk sessions, fields."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from syncreg.fxa import errors
from syncreg.fxa.errors import Errno
from syncreg.fxa.onepw import is_hex
from syncreg.ratelimit import RateLimited, client_address
from syncreg.rules import normalise_email

MAX_BODY_BYTES = 64 * 1024


def json_response(data: Any, status: int = 200) -> Response:
    response = Response(status=status, body=json.dumps(data).encode("utf-8"),
                        content_type="application/json", charset=None)
    response.headers["Cache-Control"] = "no-store"
    return response


def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object (an empty body is an empty object), else errno 106."""
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise errors.AccountsError(413, Errno.REQUEST_TOO_LARGE, "Request body too large")
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        raise errors.AccountsError(413, Errno.REQUEST_TOO_LARGE, "Request body too large")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise errors.bad_request(Errno.INVALID_JSON, "Invalid JSON in request body") from None
    if not isinstance(body, dict):
        raise errors.bad_request(Errno.INVALID_JSON, "Invalid JSON in request body")
    return body


def hex_field(body: dict[str, Any], name: str, length: int = 64) -> bytes:
    value = body.get(name)
    if value is None:
        raise errors.missing_parameter(name)
    if not isinstance(value, str) or not is_hex(value.lower(), length):
        raise errors.invalid_parameter(name)
    return bytes.fromhex(value)


def email_field(body: dict[str, Any], name: str = "email") -> str:
    value = body.get(name)
    if value is None:
        raise errors.missing_parameter(name)
    email = normalise_email(value) if isinstance(value, str) else None
    if email is None:
        raise errors.invalid_parameter(name)
    return email


def string_field(body: dict[str, Any], name: str, max_length: int = 255,
                 default: str | None = None) -> str:
    value = body.get(name, default)
    if value is None:
        raise errors.missing_parameter(name)
    if not isinstance(value, str) or len(value) > max_length:
        raise errors.invalid_parameter(name)
    return value


def client(request: Request) -> str:
    return client_address(request, request.registry.settings["ratelimit.forwarded_header"])


def user_agent(request: Request) -> str:
    return (request.user_agent or "")[:255]


def wants_keys(request: Request) -> bool:
    return request.GET.get("keys") == "true"


def with_session(view: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Hawk-authenticate the request with a session token: sets
    ``request.fxa_session`` and ``request.fxa_account``."""

    @functools.wraps(view)
    def wrapper(request: Request) -> Response:
        registry = request.registry
        session = registry.fxa_sessions.authenticate(request)
        account = registry.accounts.store.get_account(session.uid)
        if account is None:
            raise errors.invalid_token("The account no longer exists")
        request.fxa_session = session
        request.fxa_account = account
        return view(request)

    return wrapper


def rate_limited(exc: RateLimited, request: Request) -> Response:
    return errors.error_view(errors.too_many_requests(exc.retry_after), request)
