"""``/v1/password/...``: change (the sync key stays) and reset (new keys).

A change is made from a session of the account and proves the old password
again; the page computes the new ``wrapKB`` from the unchanged sync key and
the new password. A reset starts from a code mailed to the address.
"""
from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response

from syncreg.fxa.views.common import (
    client,
    email_field,
    hex_field,
    json_body,
    json_response,
    string_field,
    with_session,
)


@with_session
def change(request: Request) -> Response:
    body = json_body(request)
    old_auth_pw = hex_field(body, "oldAuthPW")
    auth_pw, wrap_kb = hex_field(body, "authPW"), hex_field(body, "wrapKB")
    accounts = request.registry.accounts
    accounts.change_password(request.fxa_account, request.fxa_session, old_auth_pw, auth_pw,
                             wrap_kb, client(request))
    return json_response({"uid": request.fxa_account.uid, "verified": True,
                          "authAt": accounts.now_ms() // 1000})


def send_reset_code(request: Request) -> Response:
    request.registry.accounts.send_reset(email_field(json_body(request)), client(request))
    return json_response({})


def reset(request: Request) -> Response:
    body = json_body(request)
    email, auth_pw = email_field(body), hex_field(body, "authPW")
    code = string_field(body, "code", max_length=64)
    account = request.registry.accounts.reset(email, code, auth_pw)
    return json_response({"uid": account.uid})
