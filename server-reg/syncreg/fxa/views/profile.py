"""``GET /v1/profile``: the profile server's answer, for a Bearer access token
with a ``profile`` scope signed by this service."""
from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response

from syncreg.fxa import errors
from syncreg.fxa.errors import Errno
from syncreg.fxa.views.common import json_response
from syncreg.tokenserver.oauth import InvalidTokenError, UnverifiableTokenError

PROFILE_SCOPES = frozenset({"profile", "profile:write", "profile:uid", "profile:email"})


def profile(request: Request) -> Response:
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise errors.unauthorized(Errno.INVALID_TOKEN, "Missing Bearer token")
    try:
        identity = request.registry.access_token_verifier.verify(value.strip())
    except (InvalidTokenError, UnverifiableTokenError):
        raise errors.unauthorized(Errno.INVALID_TOKEN, "Invalid token") from None
    if not PROFILE_SCOPES.intersection(identity.scopes):
        raise errors.AccountsError(403, Errno.INVALID_TOKEN, "The token lacks a profile scope")
    account = request.registry.accounts.store.get_account(identity.fxa_uid)
    if account is None:
        raise errors.unauthorized(Errno.INVALID_TOKEN, "The account no longer exists")
    return json_response({
        "uid": account.uid, "email": account.email, "locale": None, "displayName": None,
        "avatar": None, "avatarDefault": True, "amrValues": ["pwd", "email"],
        "twoFactorAuthentication": False, "subscriptions": [], "metricsEnabled": False})
