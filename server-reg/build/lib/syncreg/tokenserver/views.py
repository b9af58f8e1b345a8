"""``GET /1.0/sync/1.5``: the token endpoint.

Checks run cheapest first: application and version (404), ``Accept``
(406), header syntax (400), then the credentials (401/503). Every answer,
errors included, is JSON and carries ``X-Timestamp`` (integer seconds) so
clients can correct their clock before retrying.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from syncreg.tokenserver import errors
from syncreg.tokenserver.errors import TokenServerError
from syncreg.tokenserver.keyid import check_client_state_header, parse_key_id

ROUTE = "tokenserver.token"
# Any application and version, so that unknown ones get the protocol's 404;
# Storage 1.1's ``/1.0/{username}/storage`` is left to its own route.
PATTERN = "/1.0/{application:[^/]+}/{version:(?!storage$)[^/]+}"
APPLICATION = "sync"
VERSION = "1.5"


def _add_timestamp(request: Request, response: Response) -> None:
    response.headers["X-Timestamp"] = str(request.timestamp // 100)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


def token_endpoint(view: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Stamp every answer of the endpoint, whatever view or error produced it."""

    @functools.wraps(view)
    def wrapper(request: Request) -> Response:
        request.add_response_callback(_add_timestamp)
        return view(request)

    return wrapper


def _check_target(request: Request) -> None:
    if request.matchdict["application"] != APPLICATION:
        raise errors.unsupported_application()
    if request.matchdict["version"] != VERSION:
        raise errors.unsupported_version(request.matchdict["version"])


def _check_accept(request: Request) -> None:
    if "Accept" in request.headers and not request.accept.acceptable_offers(
            ["application/json"]):
        raise errors.not_acceptable()


def bearer_token(authorization: str | None) -> str:
    """The token of ``Authorization: Bearer <token>``; other schemes are unsupported."""
    if not authorization:
        raise errors.unauthorized()
    scheme, space, token = authorization.strip().partition(" ")
    if not space:
        raise errors.unauthorized()
    if scheme.lower() != "bearer":
        raise errors.unsupported_scheme()
    token = token.strip()
    if not token:
        raise errors.invalid_credentials()
    return token


def requested_duration(request: Request) -> int | None:
    value = request.GET.get("duration", "")
    return int(value) if value.isascii() and value.isdigit() else None


@token_endpoint
def get_token(request: Request) -> Response:
    _check_target(request)
    _check_accept(request)
    client_state = request.headers.get("X-Client-State")
    check_client_state_header(client_state)
    token = bearer_token(request.headers.get("Authorization"))
    key_state = parse_key_id(request.headers.get("X-KeyID"), client_state)
    body = request.registry.tokenserver.issue(
        token, key_state, request.registry.nodes, now_ms=request.timestamp * 10,
        requested_duration=requested_duration(request))
    return Response(body=json.dumps(body).encode("utf-8"), content_type="application/json",
                    charset=None)


@token_endpoint
def wrong_method(request: Request) -> Response:
    _check_target(request)
    raise errors.method_not_allowed()


def token_server_error(exc: TokenServerError, request: Request) -> Response:
    return exc.response()


def includeme(config: Configurator) -> None:
    config.add_route(ROUTE, PATTERN)
    config.add_view(get_token, route_name=ROUTE, request_method="GET")
    config.add_view(wrong_method, route_name=ROUTE)
    config.add_view(token_server_error, context=TokenServerError)
