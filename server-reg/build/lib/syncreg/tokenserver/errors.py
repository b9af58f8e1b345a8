"""Token server error answers: every status string of the protocol, in one place.

Every non-200 answer of the token endpoint is JSON (Firefox rejects anything
else) of the form ``{"status": ..., "errors": [{"location", "name",
"description"}]}``; Firefox copies a 401's ``status`` into its error cause.
"""
from __future__ import annotations

import enum
import json

from pyramid.response import Response


class Status(enum.StrEnum):
    ERROR = "error"
    INVALID_CREDENTIALS = "invalid-credentials"
    INVALID_KEY_ID = "invalid-key-id"
    INVALID_CLIENT_STATE = "invalid-client-state"
    INVALID_GENERATION = "invalid-generation"
    INVALID_KEYS_CHANGED_AT = "invalid-keysChangedAt"
    INVALID_TIMESTAMP = "invalid-timestamp"
    NEW_USERS_DISABLED = "new-users-disabled"
    INTERNAL_ERROR = "internal-error"


class TokenServerError(Exception):
    """Raise from the token server to answer with a protocol error."""

    def __init__(self, http_status: int, status: str, description: str,
                 location: str = "body", name: str = "",
                 headers: dict[str, str] | None = None):
        super().__init__(f"{http_status} {status}: {description}")
        self.http_status = http_status
        self.status = str(status)
        self.description = description
        self.location = location
        self.name = name
        self.headers = headers or {}

    def response(self) -> Response:
        body = {"status": self.status,
                "errors": [{"location": self.location, "name": self.name,
                            "description": self.description}]}
        response = Response(status=self.http_status, body=json.dumps(body).encode("utf-8"),
                            content_type="application/json", charset=None)
        response.headers.update(self.headers)
        return response


def unauthorized(status: Status = Status.ERROR, description: str = "Unauthorized",
                 location: str = "body", name: str = "") -> TokenServerError:
    return TokenServerError(401, status, description, location, name)


def unsupported_scheme() -> TokenServerError:
    return unauthorized(Status.ERROR, "Unsupported")


def invalid_credentials() -> TokenServerError:
    return unauthorized(Status.INVALID_CREDENTIALS)


def missing_key_id() -> TokenServerError:
    return unauthorized(Status.INVALID_KEY_ID, "Missing X-KeyID header", location="header")


def client_state_mismatch() -> TokenServerError:
    """X-Client-State and X-KeyID disagree."""
    return unauthorized(Status.INVALID_CLIENT_STATE)


def unacceptable_client_state(reason: str) -> TokenServerError:
    """A client-state change that the consistency rules refuse."""
    return unauthorized(Status.INVALID_CLIENT_STATE, f"Unacceptable client-state value {reason}",
                        location="header", name="X-Client-State")


def invalid_generation() -> TokenServerError:
    return unauthorized(Status.INVALID_GENERATION)


def invalid_keys_changed_at() -> TokenServerError:
    return unauthorized(Status.INVALID_KEYS_CHANGED_AT)


def new_users_disabled() -> TokenServerError:
    return unauthorized(Status.NEW_USERS_DISABLED)


def invalid_client_state_value() -> TokenServerError:
    return TokenServerError(400, Status.ERROR, "Invalid client state value", location="header",
                            name="X-Client-State")


def unsupported_application() -> TokenServerError:
    return TokenServerError(404, Status.ERROR, "Unsupported application", location="url",
                            name="application")


def unsupported_version(version: str) -> TokenServerError:
    return TokenServerError(404, Status.ERROR, "Unsupported application version",
                            location="url", name=version)


def not_acceptable() -> TokenServerError:
    return TokenServerError(406, Status.ERROR, "Unsupported Accept header: use application/json",
                            location="header", name="Accept")


def method_not_allowed() -> TokenServerError:
    return TokenServerError(405, Status.ERROR, "Method not allowed", location="url", name="",
                            headers={"Allow": "GET"})


def unavailable(retry_after_seconds: int,
                description: str = "Resource is not available") -> TokenServerError:
    return TokenServerError(503, Status.ERROR, description,
                            headers={"Retry-After": str(retry_after_seconds)})


def internal_error(http_status: int = 500,
                   headers: dict[str, str] | None = None) -> TokenServerError:
    return TokenServerError(http_status, Status.INTERNAL_ERROR, "Server error",
                            location="internal", headers=headers)
