"""``/v1/account/...`` and ``/v1/recovery_email/...``: sign-up, sign-in, status,
address confirmation, deletion, and the metadata the page derives keys from."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from syncreg.fxa import errors
from syncreg.fxa.oauth import KEY_BEARING_SCOPES, parse_scope
from syncreg.fxa.onepw import is_hex
from syncreg.fxa.service import SignedIn
from syncreg.fxa.views.common import (
    client,
    email_field,
    hex_field,
    json_body,
    json_response,
    string_field,
    user_agent,
    wants_keys,
    with_session,
)

# A rotation secret of zeros keeps Mozilla's derivation of the legacy sync key.
NO_ROTATION_SECRET = "0" * 64


def _signed_in(request: Request, signed_in: SignedIn) -> Response:
    account = signed_in.account
    body: dict[str, Any] = {
        "uid": account.uid,
        "sessionToken": signed_in.session_token,
        "verified": account.verified,
        "authAt": request.registry.accounts.now_ms() // 1000,
        "keysChangedAt": account.keys_changed_at,
    }
    if wants_keys(request):
        # Only after the authPW was proven; useless without the password.
        body["wrapKB"] = account.wrap_kb.hex()
    return json_response(body)


def create(request: Request) -> Response:
    body = json_body(request)
    email, auth_pw = email_field(body), hex_field(body, "authPW")
    accounts = request.registry.accounts
    return _signed_in(request, accounts.create(email, auth_pw, user_agent(request),
                                               client(request)))


def login(request: Request) -> Response:
    body = json_body(request)
    email, auth_pw = email_field(body), hex_field(body, "authPW")
    accounts = request.registry.accounts
    return _signed_in(request, accounts.login(email, auth_pw, user_agent(request),
                                              client(request)))


def status(request: Request) -> Response:
    """GET ``?uid=`` (Firefox, after a 401) or POST ``{email}`` (the sign-in page)."""
    limiter = request.registry.rate_limiter
    limiter.check("lookup_address", client(request))
    limiter.hit("lookup_address", client(request))
    store = request.registry.accounts.store
    if request.method == "GET":
        uid = request.GET.get("uid", "")
        if not is_hex(uid, 32):
            raise errors.invalid_parameter("uid")
        return json_response({"exists": store.get_account(uid) is not None})
    account = store.find_account(email_field(json_body(request)))
    return json_response({"exists": account is not None})


def destroy(request: Request) -> Response:
    """Delete the account, proven by its authPW; its sync data goes with the next purge."""
    body = json_body(request)
    email, auth_pw = email_field(body), hex_field(body, "authPW")
    accounts = request.registry.accounts
    account = accounts.authenticate(email, auth_pw, client(request))
    accounts.destroy(account)
    for hook in request.registry.account_deletion_hooks:
        hook(account.uid)
    return json_response({})


@with_session
def scoped_key_data(request: Request) -> Response:
    """What the page needs to derive the sync key's ``kid`` (for a verified account)."""
    body = json_body(request)
    request.registry.oauth.check_client(body.get("client_id"))
    account = request.fxa_account
    if not account.verified:
        raise errors.unverified_account()
    return json_response({
        scope: {"identifier": scope, "keyRotationSecret": NO_ROTATION_SECRET,
                "keyRotationTimestamp": account.keys_changed_at}
        for scope in parse_scope(body.get("scope")) if scope in KEY_BEARING_SCOPES})


@with_session
def email_status(request: Request) -> Response:
    account = request.fxa_account
    return json_response({"email": account.email, "verified": account.verified,
                          "emailVerified": account.verified,
                          "sessionVerified": account.verified})


@with_session
def resend_code(request: Request) -> Response:
    account = request.fxa_account
    if not account.verified:
        limiter = request.registry.rate_limiter
        limiter.check("reset_account", account.uid)
        limiter.hit("reset_account", account.uid)
        request.registry.accounts.send_verification(account)
    return json_response({})


@with_session
def verify_code(request: Request) -> Response:
    body = json_body(request)
    code = string_field(body, "code", max_length=64)
    uid = body.get("uid", request.fxa_account.uid)
    if uid != request.fxa_account.uid:
        raise errors.invalid_parameter("uid")
    request.registry.accounts.verify(request.fxa_account, code)
    return json_response({})
