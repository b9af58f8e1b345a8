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

import base64
import hashlib
import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

from hawkauthlib.utils import parse_authz_header
from pyramid.request import Request

from syncreg.fxa import errors
from syncreg.fxa.errors import Errno
from syncreg.fxa.onepw import is_hex
from syncreg.fxa.store import AccountStore, Session

logger = logging.getLogger("syncreg.fxa")

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_BODY_METHODS = ("POST", "PUT", "PATCH")
# Recording every use of a session would be a write per request.
TOUCH_INTERVAL_MS = 60_000


class NonceCache:
    """(session, nonce) pairs seen while their timestamp could still pass."""

    def __init__(self, window_seconds: float, max_entries: int = 100_000):
        self.window_seconds = window_seconds
        self.max_entries = max_entries
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def is_fresh(self, session_id: str, nonce: str, timestamp: int, now: float) -> bool:
        key = hashlib.sha256(f"{session_id}\0{nonce}".encode()).digest()[:16]
        with self._lock:
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen[key] = timestamp + self.window_seconds
            self._seen.move_to_end(key)
            while self._seen and (len(self._seen) > self.max_entries
                                  or next(iter(self._seen.values())) <= now):
                self._seen.popitem(last=False)
            return True


def payload_hash(content_type: str, body: bytes) -> str:
    media_type = content_type.split(";")[0].strip().lower()
    text = b"hawk.1.payload\n" + media_type.encode("ascii", "replace") + b"\n" + body + b"\n"
    return base64.b64encode(hashlib.sha256(text).digest()).decode("ascii")


def request_mac(key: bytes, params: dict[str, str], method: str, resource: str, host: str,
                port: str) -> str:
    text = "\n".join(["hawk.1.header", params["ts"], params["nonce"], method.upper(),
                      resource, host.lower(), port, params.get("hash", ""),
                      params.get("ext", ""), ""])
    return base64.b64encode(hmac.new(key, text.encode("utf-8"), hashlib.sha256)
                            .digest()).decode("ascii")


def _split_host(value: str, scheme: str) -> tuple[str, str]:
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        return host, port
    return value, _DEFAULT_PORTS.get(scheme, "")


def _hosts(request: Request, public_url: str) -> list[tuple[str, str]]:
    scheme = (request.headers.get("X-Forwarded-Proto") or request.scheme or "http")
    candidates = [_split_host(request.headers.get("Host") or request.host,
                              scheme.split(",")[0].strip().lower())]
    parts = urlsplit(public_url)
    if parts.hostname:
        public = (parts.hostname, str(parts.port or _DEFAULT_PORTS.get(parts.scheme, "")))
        if public not in candidates:
            candidates.append(public)
    return candidates


def _resources(request: Request) -> list[str]:
    """The request target as sent when the server keeps it, else rebuilt."""
    candidates = []
    raw = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    if raw and "://" in raw:  # absolute-form request target
        parts = urlsplit(raw)
        raw = parts.path + ("?" + parts.query if parts.query else "")
    if raw:
        candidates.append(raw)
    try:
        rebuilt = request.path_qs
    except UnicodeDecodeError:
        rebuilt = None
    if rebuilt is not None and rebuilt not in candidates:
        candidates.append(rebuilt)
    return candidates


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
        if any(not params.get(name) for name in ("id", "ts", "nonce", "mac")):
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
        mac = params["mac"]
        for host, port in _hosts(request, self.public_url):
            for resource in _resources(request):
                if hmac.compare_digest(request_mac(key, params, request.method, resource,
                                                   host, port).encode(), mac.encode()):
                    return True
        return False
