"""US-EX, US-PUT, US-DEL and US-EM: the account itself."""
from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from synccore.auth import basic_auth
from synccore.errors import ErrorCode, ProtocolError, service_unavailable
from synccore.users import InvalidEmail, UserExists
from syncreg.accounts import delete_account
from syncreg.captcha import CHALLENGE_FIELD, RESPONSE_FIELD
from syncreg.rules import (
    email_matches_username,
    is_strong_password,
    is_valid_username,
    normalise_email,
)
from syncreg.userapi.common import client_addr, count_and_limit, require_captcha, text_response

logger = logging.getLogger("syncreg")


def account_exists(request: Request) -> Response:
    """US-EX1: ``1`` or ``0``."""
    count_and_limit(request, "lookup_address", client_addr(request))
    exists = request.registry.users.get_user(request.matchdict["username"]) is not None
    return text_response("1" if exists else "0")


def _json_object(request: Request) -> dict[str, Any]:
    """US-PUT2: the body as a JSON object, else code 6."""
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError(ErrorCode.JSON_PARSE_FAILURE) from None
    if not isinstance(body, dict):
        raise ProtocolError(ErrorCode.JSON_PARSE_FAILURE)
    return body


def _checked_email(body: dict[str, Any], username: str, strict: bool) -> str:
    """US-PUT3/4: a valid address (``email``, or the written spec's ``e-mail``)."""
    raw = body.get("email", body.get("e-mail"))
    email = normalise_email(raw) if isinstance(raw, str) else None
    if email is None:
        raise ProtocolError(ErrorCode.NO_EMAIL)
    if strict and not email_matches_username(email, username):
        raise ProtocolError(ErrorCode.EMAIL_MISMATCH)
    return email


def _checked_password(body: dict[str, Any], username: str) -> str:
    """US-PUT5/6: present (7) and strong enough (9)."""
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise ProtocolError(ErrorCode.MISSING_PASSWORD)
    if not is_strong_password(password, username):
        raise ProtocolError(ErrorCode.WEAK_PASSWORD)
    return password


def _has_shared_secret(request: Request) -> bool:
    """US-PUT7: ``X-Weave-Secret`` equals the configured secret (never when unset)."""
    secret = request.registry.settings["reg.shared_secret"]
    given = request.headers.get("X-Weave-Secret")
    return bool(secret) and given is not None and hmac.compare_digest(
        given.encode("utf-8"), secret.encode("utf-8"))


def create_account(request: Request) -> Response:
    """US-PUT: the checks in the reference order, then the account."""
    username = request.matchdict["username"]
    registry = request.registry
    count_and_limit(request, "create_address", client_addr(request))
    count_and_limit(request, "create_account", username)
    if not is_valid_username(username):
        raise ProtocolError(ErrorCode.INVALID_USERNAME)
    if registry.users.get_user(username) is not None:
        raise ProtocolError(ErrorCode.CANNOT_OVERWRITE)
    body = _json_object(request)
    email = _checked_email(body, username, registry.settings["auth.strict_usernames"])
    password = _checked_password(body, username)
    if not _has_shared_secret(request):
        require_captcha(request, body.get(CHALLENGE_FIELD), body.get(RESPONSE_FIELD))
    if not registry.settings["reg.allow_new_users"]:
        logger.info("account creation refused: reg.allow_new_users is off")
        raise service_unavailable("account creation is disabled",
                                  registry.settings["server.retry_after_seconds"])
    try:
        registry.users.create_user(username, password, email)
    except UserExists:
        raise ProtocolError(ErrorCode.CANNOT_OVERWRITE) from None
    except InvalidEmail:  # valid, but more than the store can keep (LDAP: ASCII only)
        raise ProtocolError(ErrorCode.NO_EMAIL) from None
    return text_response(username)


@basic_auth
def remove_account(context, request: Request) -> Response:
    """US-DEL: the account and everything stored for it."""
    delete_account(request.registry, request.user)
    return text_response("1")


@basic_auth
def change_email(context, request: Request) -> Response:
    """US-EM: the raw-text body is the new address; answers the stored address."""
    try:
        email = normalise_email(request.body.decode("utf-8"))
    except UnicodeDecodeError:
        email = None
    if email is None:
        raise ProtocolError(ErrorCode.NO_EMAIL)
    try:
        request.registry.users.set_email(request.user.username, email)
    except InvalidEmail:  # the store cannot keep it; the old address stays
        raise ProtocolError(ErrorCode.NO_EMAIL) from None
    return text_response(email)
