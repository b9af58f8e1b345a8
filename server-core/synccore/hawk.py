"""Hawk request signatures: the protocol-level pieces shared by every service.

What the MAC covers, how it is computed, which host, port and request target
the client may have signed, the payload hash, and a replay cache of nonces.
Who the Hawk id names and which key it carries (a token, a session) is each
service's own policy and stays with it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import math
import threading
from collections import OrderedDict
from urllib.parse import urlsplit

from pyramid.request import Request

DEFAULT_PORTS = {"http": "80", "https": "443"}
# Parameters without which a Hawk header cannot be verified at all.
REQUIRED_PARAMS = ("id", "ts", "nonce", "mac")


class NonceCache:
    """Hawk nonces seen recently, per credentials id, to refuse replayed requests.

    In-process and bounded: a nonce is remembered while a request carrying
    it could still pass the timestamp check (its ts plus the window), or
    until ``max_entries`` newer ones push it out. A window of 0 means any ts
    is accepted, so nonces are kept until pushed out. Keys are digests of
    (id, nonce), so a long id costs no more memory than a short one.
    """

    def __init__(self, window_seconds: float, max_entries: int = 100_000):
        self.window_seconds = window_seconds or math.inf
        self.max_entries = max(1, max_entries)
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def is_fresh(self, credentials_id: str, nonce: str, timestamp: int, now: float) -> bool:
        """True the first time (id, nonce) is seen; remembers it."""
        key = hashlib.sha256(credentials_id.encode("utf-8") + b"\x00"
                             + nonce.encode("utf-8")).digest()[:16]
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

    def __len__(self) -> int:
        return len(self._seen)


def payload_hash(content_type: str, body: bytes) -> str:
    """Hawk's "hawk.1.payload" hash of a body under its media type."""
    media_type = content_type.split(";")[0].strip().lower()
    text = b"hawk.1.payload\n" + media_type.encode("ascii", "replace") + b"\n" + body + b"\n"
    return base64.b64encode(hashlib.sha256(text).digest()).decode("ascii")


def normalized_string(params: dict[str, str], method: str, resource: str, host: str,
                      port: str) -> str:
    """Hawk's "hawk.1.header" string (what the request MAC covers)."""
    return "\n".join(["hawk.1.header", params["ts"], params["nonce"], method.upper(),
                      resource, host.lower(), port, params.get("hash", ""),
                      params.get("ext", ""), ""])


def request_mac(key: bytes, params: dict[str, str], method: str, resource: str, host: str,
                port: str) -> str:
    """The base64 HMAC-SHA256 of the normalized string under ``key``."""
    text = normalized_string(params, method, resource, host, port)
    return base64.b64encode(hmac.new(key, text.encode("utf-8", "replace"), hashlib.sha256)
                            .digest()).decode("ascii")


def path_candidates(request: Request) -> list[str]:
    """Path and query the client may have signed.

    First the request target exactly as sent, when the WSGI server keeps it
    (``REQUEST_URI``/``RAW_URI``); then the decoded path quoted again, as
    libraries building the string from a parsed URL do (``%7E`` -> ``~``).
    """
    environ = request.environ
    candidates = []
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        if "://" in raw:  # absolute-form request target
            parts = urlsplit(raw)
            raw = parts.path + ("?" + parts.query if parts.query else "")
        candidates.append(raw)
    try:
        requoted = request.path_qs
    except UnicodeDecodeError:  # a path that is not UTF-8 once decoded
        requoted = None
    if requoted is not None and requoted not in candidates:
        candidates.append(requoted)
    return candidates


def _split_host(host_header: str, scheme: str) -> tuple[str, str]:
    host, sep, port = host_header.rpartition(":")
    if sep and port.isdigit():  # "[::1]" has no port: "1]" is not digits
        return host, port
    return host_header, DEFAULT_PORTS.get(scheme, "")


def host_candidates(request: Request, public_url: str | None) -> list[tuple[str, str]]:
    """(host, port) pairs the client may have signed with.

    First what the request says (``Host`` and the scheme, taking
    ``X-Forwarded-Proto`` from a TLS-terminating proxy into account), then
    the configured public URL, for proxies that rewrite ``Host``.
    """
    scheme = (request.headers.get("X-Forwarded-Proto") or request.scheme or "http")
    scheme = scheme.split(",")[0].strip().lower()
    host_header = request.headers.get("Host") or request.host
    candidates = [_split_host(host_header, scheme)]
    if public_url:
        parts = urlsplit(public_url)
        if parts.hostname:
            public = (parts.hostname, str(parts.port or DEFAULT_PORTS.get(parts.scheme, "")))
            if public not in candidates:
                candidates.append(public)
    return candidates


def mac_matches(request: Request, params: dict[str, str], key: bytes,
                public_url: str | None) -> bool:
    """Whether ``params["mac"]`` signs ``request`` under ``key`` for any
    host and request target the client may have used."""
    mac = params["mac"].encode("ascii", "replace")
    for host, port in host_candidates(request, public_url):
        for path in path_candidates(request):
            expected = request_mac(key, params, request.method, path, host, port)
            if hmac.compare_digest(expected.encode("ascii"), mac):
                return True
    return False
