"""Hawk authentication of accounts requests with session tokens.

Mozilla's accounts server looks only at the Hawk id; we verify the request
the way Hawk means it to be verified, so that a leaked id alone opens
nothing: the session is looked up by the id, then the MAC is checked with
the session's key over the request (the host and port as the client saw
them: the ``Host`` header, else those of ``server.public_url``), the
timestamp must be within the allowed skew, the nonce unused, and a payload
hash, when a body was signed, must match the body.

Failures are 401s with Firefox's errnos: 110 unknown session (Firefox then
asks ``/session/status`` and ``/account/status``), 109 bad signature, 111
stale timestamp (with ``serverTime``, from which clients correct their
clock), 115 replayed nonce.
"""
from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

from hawkauthlib.utils import parse_authz_header
from pyramid.request import Request

from synccore import hawk
from synccore.hawk import NonceCache, payload_hash, request_mac  # noqa: F401 (re-exported)
from syncreg.fxa import errors
from syncreg.fxa.errors import Errno
from syncreg.fxa.onepw import is_hex
from syncreg.fxa.store import AccountStore, Session

logger = logging.getLogger("syncreg.fxa")

_BODY_METHODS = ("POST", "PUT", "PATCH")
# Recording every use of a session would be a write per request.
TOUCH_INTERVAL_MS = 60_000


class SessionAuthenticator:
    def __init__(self, store: AccountStore, public_url: str, skew_seconds: int,
                 nonces: NonceCache | None = None, clock: Callable[[], float] = time.time):
        self.store = store
        self.public_url = public_url
        self.skew_seconds = skew_seconds
        self.nonces = nonces or NonceCache(2 * skew_seconds)
        self._clock = clock

    def authenticate(self, request: Request) -> Session:
        """The session that signed ``request``; raises AccountsError (401)."""
        params = parse_authz_header(request, None)
        if not params or params.get("scheme", "").lower() != "hawk":
            raise errors.unauthorized(Errno.INVALID_TOKEN, "Missing Hawk authorization")
        if any(not params.get(name) for name in hawk.REQUIRED_PARAMS):
            raise errors.unauthorized(Errno.INVALID_SIGNATURE, "Incomplete Hawk header")
        session_id = params["id"].lower()
        session = self.store.get_session(session_id) if is_hex(session_id, 64) else None
        if session is None:
            raise errors.invalid_token()
        if not self._mac_matches(request, params, session.hawk_key):
            raise errors.unauthorized(Errno.INVALID_SIGNATURE, "Invalid request signature")
        if "hash" in params and request.method.upper() in _BODY_METHODS:
            expected = payload_hash(request.content_type or "", request.body)
            if not hmac.compare_digest(expected, params["hash"]):
                raise errors.unauthorized(Errno.INVALID_SIGNATURE, "Invalid payload hash")
        now = self._clock()
        try:
            timestamp = int(params["ts"])
        except ValueError:
            raise errors.unauthorized(Errno.INVALID_SIGNATURE, "Invalid Hawk ts") from None
        if abs(timestamp - now) > self.skew_seconds:
            raise errors.unauthorized(Errno.INVALID_TIMESTAMP, "Invalid timestamp in request "
                                      "signature", serverTime=int(now))
        if not self.nonces.is_fresh(session.id, params["nonce"], timestamp, now):
            raise errors.unauthorized(Errno.INVALID_NONCE, "Invalid nonce in request signature")
        now_ms = int(now * 1000)
        if now_ms - session.last_access_at >= TOUCH_INTERVAL_MS:
            self.store.touch_session(session.id, now_ms)
        return session

    def _mac_matches(self, request: Request, params: dict[str, str], key: bytes) -> bool:
        return hawk.mac_matches(request, params, key, self.public_url)
