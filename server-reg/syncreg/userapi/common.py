"""Helpers shared by the User API views."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPMethodNotAllowed
from pyramid.request import Request
from pyramid.response import Response

from synccore.errors import ErrorCode, ProtocolError
from syncreg.captcha import CHALLENGE_FIELD, RESPONSE_FIELD
from syncreg.ratelimit import client_address

USER_PREFIX = r"/user/{version:1\.0|1}/{username:[A-Za-z0-9._-]+}"


def text_response(body: str) -> Response:
    """US-R8: plain-text success bodies."""
    return Response(body=body.encode("utf-8"), content_type="text/plain", charset=None)


def client_addr(request: Request) -> str:
    return client_address(request, request.registry.settings["ratelimit.forwarded_header"])


def count_and_limit(request: Request, rule: str, key: str) -> None:
    """Refuse (RateLimited) once ``key`` used up ``rule``, else count this request."""
    limiter = request.registry.rate_limiter
    limiter.check(rule, key)
    limiter.hit(rule, key)


def require_captcha(request: Request, challenge: object, response: object) -> None:
    """400 code 2 unless the captcha is off or solved (US-PUT7, US-PR4, US-PRD2)."""
    verifier = request.registry.captcha
    if not verifier.enabled:
        return
    if not isinstance(challenge, (str, type(None))) or not isinstance(response, str):
        raise ProtocolError(ErrorCode.INVALID_CAPTCHA)
    if not verifier.verify(challenge, response, client_addr(request)):
        raise ProtocolError(ErrorCode.INVALID_CAPTCHA)


def require_query_captcha(request: Request) -> None:
    require_captcha(request, request.GET.get(CHALLENGE_FIELD), request.GET.get(RESPONSE_FIELD))


def method_not_allowed(request: Request) -> Response:
    """US-R3: the path exists, the method does not."""
    raise HTTPMethodNotAllowed()
