"""Errors of the accounts API, in the shape Firefox's accounts client reads.

Every failure is a JSON object ``{code, errno, error, message}`` (plus
fields some errors add, such as ``email`` or ``serverTime``). Firefox keys
its behaviour on ``errno``: 110 (invalid token) makes it check
``/session/status`` and ``/account/status``, 120 (e-mail case) makes a
sign-in retry with the address we return. A ``Retry-After`` header puts its
accounts client into backoff, so only rate limiting sends one.
"""
from __future__ import annotations

import enum
import json
from http import HTTPStatus
from typing import Any

from pyramid.request import Request
from pyramid.response import Response


class Errno(enum.IntEnum):
    ACCOUNT_EXISTS = 101
    UNKNOWN_ACCOUNT = 102
    INCORRECT_PASSWORD = 103
    UNVERIFIED_ACCOUNT = 104
    INVALID_VERIFICATION_CODE = 105
    INVALID_JSON = 106
    INVALID_PARAMETER = 107
    MISSING_PARAMETER = 108
    INVALID_SIGNATURE = 109
    INVALID_TOKEN = 110
    INVALID_TIMESTAMP = 111
    REQUEST_TOO_LARGE = 113
    TOO_MANY_REQUESTS = 114
    INVALID_NONCE = 115
    INCORRECT_EMAIL_CASE = 120
    UNKNOWN_DEVICE = 123
    UNKNOWN_CLIENT = 162
    ACCOUNT_CREATION_DISABLED = 200
    SERVICE_UNAVAILABLE = 201
    UNKNOWN_ENDPOINT = 404


class AccountsError(Exception):
    """Raise from an accounts view; answered by ``error_view``."""

    def __init__(self, status: int, errno: Errno, message: str,
                 extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.errno = errno
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.status, "errno": int(self.errno),
                "error": HTTPStatus(self.status).phrase, "message": self.message,
                **self.extra}


def error_view(exc: AccountsError, request: Request) -> Response:
    response = Response(status=exc.status, body=json.dumps(exc.body()).encode("utf-8"),
                        content_type="application/json", charset=None)
    response.headers.update(exc.headers)
    return response


def bad_request(errno: Errno, message: str, **extra: Any) -> AccountsError:
    return AccountsError(400, errno, message, extra)


def invalid_parameter(name: str) -> AccountsError:
    return bad_request(Errno.INVALID_PARAMETER, f"Invalid parameter in request body: {name}",
                       validation={"keys": [name]})


def missing_parameter(name: str) -> AccountsError:
    return bad_request(Errno.MISSING_PARAMETER, f"Missing parameter in request body: {name}",
                       param=name)


def unauthorized(errno: Errno, message: str, **extra: Any) -> AccountsError:
    return AccountsError(401, errno, message, extra)


def invalid_token(message: str = "The authentication token could not be found") \
        -> AccountsError:
    return unauthorized(Errno.INVALID_TOKEN, message)


def unverified_account() -> AccountsError:
    return bad_request(Errno.UNVERIFIED_ACCOUNT, "Unconfirmed account")


def too_many_requests(retry_after: int) -> AccountsError:
    return AccountsError(429, Errno.TOO_MANY_REQUESTS, "Client has sent too many requests",
                         {"retryAfter": retry_after}, {"Retry-After": str(retry_after)})


def unavailable(message: str) -> AccountsError:
    """Refused by configuration (no mail server, sign-ups closed): no Retry-After."""
    return AccountsError(503, Errno.SERVICE_UNAVAILABLE, message)
