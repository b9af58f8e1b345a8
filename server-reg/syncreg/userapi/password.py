"""US-PW, US-PR and US-PRD: changing and resetting the password."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from synccore.auth import basic_auth
from synccore.errors import ErrorCode, ProtocolError, service_unavailable
from syncreg.passwordreset import NoEmailOnFile, ResetUnavailable, UnknownAccount
from syncreg.rules import is_strong_password
from syncreg.userapi.common import (
    client_addr,
    count_and_limit,
    require_query_captcha,
    text_response,
)

RESET_HEADER = "X-Weave-Password-Reset"


def _unavailable(request: Request) -> Exception:
    """US-PR1/US-PRD1: no way to mail reset codes."""
    return service_unavailable("password reset is not configured",
                               request.registry.settings["server.retry_after_seconds"])


def _new_password(request: Request) -> str:
    """US-PW1: the whole body, UTF-8, untrimmed; 7 when missing, 9 when weak."""
    try:
        password = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(ErrorCode.MISSING_PASSWORD) from None
    if not password:
        raise ProtocolError(ErrorCode.MISSING_PASSWORD)
    if not is_strong_password(password, request.matchdict["username"]):
        raise ProtocolError(ErrorCode.WEAK_PASSWORD)
    return password


@basic_auth
def _change_with_credentials(context, request: Request) -> Response:
    """US-PW3: authorised by the current password."""
    request.registry.users.set_password(request.user.username, request.new_password)
    return text_response("success")


def change_password(context, request: Request) -> Response:
    """US-PW: by a reset code in ``X-Weave-Password-Reset``, else by Basic auth."""
    request.new_password = _new_password(request)
    code = request.headers.get(RESET_HEADER)
    if code is None:
        return _change_with_credentials(context, request)
    username = request.matchdict["username"]
    if request.registry.users.get_user(username) is None:
        raise HTTPNotFound()
    resets = request.registry.password_resets
    if not resets.consume_code_and_set_password(username, code, request.new_password):
        raise ProtocolError(ErrorCode.INVALID_RESET_CODE)
    return text_response("success")


def request_reset(request: Request) -> Response:
    """US-PR: checks in the reference order (user, e-mail, captcha), then the mail."""
    count_and_limit(request, "reset_address", client_addr(request))
    resets = request.registry.password_resets
    try:
        user = resets.account_for_reset(request.matchdict["username"])
    except ResetUnavailable:
        raise _unavailable(request) from None
    except UnknownAccount:
        raise ProtocolError(ErrorCode.INVALID_USERNAME) from None
    except NoEmailOnFile:
        raise ProtocolError(ErrorCode.NO_EMAIL) from None
    require_query_captcha(request)
    resets.send_reset(user)
    return text_response("success")


@basic_auth
def cancel_reset(context, request: Request) -> Response:
    """US-PRD: drop any pending code of the authenticated user."""
    resets = request.registry.password_resets
    if not resets.available:
        raise _unavailable(request)
    require_query_captcha(request)
    resets.cancel(request.user.username)
    return text_response("success")
