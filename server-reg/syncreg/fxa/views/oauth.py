"""``/v1/oauth/...``, ``/v1/jwks`` and ``/v1/verify``: the OAuth endpoints."""
from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response

from syncreg.fxa import errors
from syncreg.fxa.views.common import json_body, json_response, with_session
from syncreg.tokenserver.oauth import InvalidTokenError, UnverifiableTokenError


@with_session
def authorization(request: Request) -> Response:
    oauth = request.registry.oauth
    return json_response(oauth.authorize(request.fxa_account, request.fxa_session,
                                         json_body(request)))


def token(request: Request) -> Response:
    """Three grants; ``authorization_code`` may and ``fxa-credentials`` must be
    Hawk-signed with the session."""
    body = json_body(request)
    oauth = request.registry.oauth
    grant = body.get("grant_type", "authorization_code")
    signed = "Authorization" in request.headers
    if grant == "authorization_code":
        session = request.registry.fxa_sessions.authenticate(request) if signed else None
        return json_response(oauth.exchange_code(body, session))
    if grant == "refresh_token":
        return json_response(oauth.refresh(body))
    if grant == "fxa-credentials":
        return _credentials_grant(request, body)
    raise errors.invalid_parameter("grant_type")


def _credentials_grant(request: Request, body: dict) -> Response:
    session = request.registry.fxa_sessions.authenticate(request)
    account = request.registry.accounts.store.get_account(session.uid)
    if account is None:
        raise errors.invalid_token("The account no longer exists")
    return json_response(request.registry.oauth.with_session(account, body))


def destroy(request: Request) -> Response:
    request.registry.oauth.destroy(json_body(request))
    return json_response({})


def jwks(request: Request) -> Response:
    return json_response({"keys": [request.registry.signing_keys.signer().public_jwk()]})


def verify(request: Request) -> Response:
    """What a token server elsewhere asks about our access tokens (remote mode)."""
    body = json_body(request)
    value = body.get("token")
    if not isinstance(value, str) or not value:
        raise errors.invalid_parameter("token")
    try:
        identity = request.registry.access_token_verifier.verify(value)
    except (InvalidTokenError, UnverifiableTokenError):
        raise errors.unauthorized(errors.Errno.INVALID_TOKEN, "Invalid token") from None
    return json_response({"user": identity.fxa_uid, "client_id": identity.client_id,
                          "scope": sorted(identity.scopes),
                          "generation": identity.generation or None,
                          "exp": identity.claims.get("exp")})
