"""CSRF protection for the account forms: a signed double-submit cookie.

No server-side session is kept. The browser holds a random *nonce* in a
``SameSite=Strict``, ``HttpOnly`` cookie; each served form carries a token
``<issued>.<mac>`` where ``mac`` is an HMAC, under a server secret, of the
form's name, the nonce and the issue time. A submission is accepted only
with the cookie, a token made for that form and that nonce, and an issue
time no older than ``max_age_seconds``. Another site can neither read the
token nor make the browser send the cookie with its own POST, and a
cookie planted by a sibling domain is useless without the secret.
"""
from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from pyramid.request import Request
from pyramid.response import Response

COOKIE_NAME = "syncserver_csrf"
FIELD_NAME = "csrf_token"
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")
# Tolerated clock difference between processes for a token "from the future".
_SKEW_SECONDS = 60
# The nonce given to a browser that had none, for the rest of that request.
_ISSUED_NONCE = "syncreg.web.csrf_nonce"


class CsrfProblem(enum.Enum):
    """Why a submission was refused; each has its own message for the user."""

    NO_COOKIE = "no cookie"  # cookies off, or a cross-site POST (SameSite keeps it home)
    EXPIRED = "expired"  # a genuine token, too old
    INVALID = "invalid"  # no token, or one not made for this form and this browser


def _mac(secret: bytes, form: str, nonce: str, issued: int) -> str:
    digest = hmac.new(secret, f"{form}\n{nonce}\n{issued}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _secure_cookie(request: Request) -> bool:
    """Mark the cookie Secure when the page is served over HTTPS, directly or, behind
    a proxy that keeps the Host, under an https public URL."""
    if request.scheme == "https":
        return True
    public = urlsplit(request.registry.settings.get("server.public_url", ""))
    return public.scheme == "https" and public.netloc == request.host


class CsrfGuard:
    def __init__(self, secret: bytes, max_age_seconds: int = 7200,
                 clock: Callable[[], float] = time.time):
        self._secret = secret
        self.max_age_seconds = max_age_seconds
        self._clock = clock

    def _nonce(self, request: Request) -> str | None:
        nonce = request.environ.get(_ISSUED_NONCE) or request.cookies.get(COOKIE_NAME)
        return nonce if nonce is not None and _NONCE.fullmatch(nonce) else None

    def issue(self, request: Request, form: str) -> str:
        """A token for ``form``; sets the nonce cookie on the response if the browser
        has none yet (several open forms share one nonce)."""
        nonce = self._nonce(request)
        if nonce is None:
            nonce = secrets.token_urlsafe(32)
            secure = _secure_cookie(request)
            path = (request.script_name or "") + "/"

            def set_cookie(request: Request, response: Response) -> None:
                response.set_cookie(COOKIE_NAME, nonce, path=path, secure=secure,
                                    httponly=True, samesite="Strict")

            request.add_response_callback(set_cookie)
            # A second form on this request must use the same nonce.
            request.environ[_ISSUED_NONCE] = nonce
        issued = int(self._clock())
        return f"{issued}.{_mac(self._secret, form, nonce, issued)}"

    def check(self, request: Request, form: str, token: str | None) -> CsrfProblem | None:
        """None if ``token`` (the submitted field) is good for ``form``, else why not."""
        nonce = self._nonce(request)
        if nonce is None:
            return CsrfProblem.NO_COOKIE
        if not token:
            return CsrfProblem.INVALID
        issued_text, _, mac = token.partition(".")
        if not issued_text.isascii() or not issued_text.isdigit() or len(issued_text) > 12:
            return CsrfProblem.INVALID
        issued = int(issued_text)
        if not hmac.compare_digest(mac.encode("utf-8"),
                                   _mac(self._secret, form, nonce, issued).encode("ascii")):
            return CsrfProblem.INVALID
        age = self._clock() - issued
        if age > self.max_age_seconds or age < -_SKEW_SECONDS:
            return CsrfProblem.EXPIRED
        return None


def forget_cookie(request: Request, response: Response) -> None:
    """Drop the nonce cookie (after the form's purpose is done)."""
    response.delete_cookie(COOKIE_NAME, path=(request.script_name or "") + "/")


def secret_from_setting(value: str) -> bytes:
    """The configured signing key, or a random one for this process."""
    return value.encode("utf-8") if value else os.urandom(32)
