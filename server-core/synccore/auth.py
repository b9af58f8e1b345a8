"""HTTP Basic authentication with a cache of verified credentials.

A password hash costs tens of milliseconds by design and every Sync 1.1
request carries Basic credentials, so a successful verification is
remembered for a short time. The cache key is an HMAC of the credentials
under a per-process random key, so the cache never holds a password or
anything that could be checked offline against one. An entry is honoured
only while the account's ``credential_version`` is unchanged, so a password
change or a disabled account takes effect at once, in every process.

Checking that costs one read of the account per request. A server can trade
it for speed with ``auth.recheck_seconds``: the account read for a cached
credential is then trusted for that many seconds, and a password change, a
disabled or a deleted account takes effect within that delay instead of at
once. The default, 0, reads the account on every request.
"""
from __future__ import annotations

import abc
import base64
import binascii
import functools
import hashlib
import hmac
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from pyramid.httpexceptions import HTTPUnauthorized
from pyramid.request import Request

from synccore.users import User, UserBackend

BASIC_REALM = 'Basic realm="Sync"'


def parse_basic_authorization(header: str | None) -> tuple[str, str] | None:
    """``(username, password)`` from an Authorization header, or None if unusable."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, separator, password = decoded.partition(":")
    if not separator:
        return None
    return username, password


@dataclass(frozen=True)
class _CachedCredential:
    userid: int
    credential_version: str
    expires_at: float
    # The account as last read from the user backend, and when.
    user: User | None = None
    checked_at: float = float("-inf")


class CredentialCache:
    """A bounded LRU of recently verified credentials."""

    def __init__(self, ttl_seconds: float = 300, max_entries: int = 10000,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._key = os.urandom(32)
        self._entries: OrderedDict[bytes, _CachedCredential] = OrderedDict()
        self._lock = threading.Lock()

    def _digest(self, username: str, password: str) -> bytes:
        message = username.encode("utf-8") + b"\x00" + password.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def lookup(self, username: str, password: str) -> _CachedCredential | None:
        if self.ttl_seconds <= 0:
            return None
        digest = self._digest(username, password)
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry.expires_at <= self._clock():
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return entry

    def remember(self, username: str, password: str, user: User) -> None:
        if self.ttl_seconds <= 0:
            return
        digest = self._digest(username, password)
        now = self._clock()
        entry = _CachedCredential(user.userid, user.credential_version,
                                  now + self.ttl_seconds, user, now)
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def confirm(self, username: str, password: str, user: User) -> None:
        """Note that the account behind a cached credential was just read, unchanged."""
        digest = self._digest(username, password)
        with self._lock:
            entry = self._entries.get(digest)
            if entry is not None:
                self._entries[digest] = replace(entry, user=user, checked_at=self._clock())

    def seconds_since_checked(self, entry: _CachedCredential) -> float:
        return self._clock() - entry.checked_at

    def forget(self, username: str, password: str) -> None:
        with self._lock:
            self._entries.pop(self._digest(username, password), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class LoginThrottle(abc.ABC):
    """Hook that slows down password guessing, per account and per client.

    Core only calls it; the package that owns rate limiting sets one on
    ``registry.authenticator.throttle``. It is consulted only for password
    checks that miss the credential cache, so a client whose password was
    verified recently keeps working while guesses at its account are held
    back.
    """

    @abc.abstractmethod
    def check(self, username: str, request: Request | None) -> None:
        """Raise an HTTP exception (429 or 503 with Retry-After) if checks must wait."""

    @abc.abstractmethod
    def failed(self, username: str, request: Request | None) -> None:
        """Record a failed password check for the account and the request's client."""


class Authenticator:
    """Checks username/password pairs against a user backend, through the cache.

    ``recheck_seconds`` (0: every time) is how long the account read for a
    cached credential is trusted before it is read again; see the module
    docstring for what that trades away.
    """

    def __init__(self, users: UserBackend, cache: CredentialCache,
                 throttle: LoginThrottle | None = None, recheck_seconds: float = 0.0):
        self.users = users
        self.cache = cache
        self.throttle = throttle
        self.recheck_seconds = recheck_seconds

    def authenticate(self, username: str, password: str,
                     request: Request | None = None) -> User | None:
        """The enabled account these credentials open, or None.

        ``request`` identifies the client for the login throttle, which may
        raise an HTTP exception instead of checking the password.
        """
        cached = self.cache.lookup(username, password)
        if cached is not None:
            if (self.recheck_seconds > 0 and cached.user is not None
                    and self.cache.seconds_since_checked(cached) < self.recheck_seconds):
                return cached.user
            user = self.users.get_user(username)
            if (user is not None and not user.disabled and user.userid == cached.userid
                    and user.credential_version == cached.credential_version):
                if self.recheck_seconds > 0:
                    self.cache.confirm(username, password, user)
                return user
            self.cache.forget(username, password)
        if self.throttle is not None:
            self.throttle.check(username, request)
        user = self.users.authenticate(username, password)
        if user is not None:
            self.cache.remember(username, password, user)
        elif self.throttle is not None:
            self.throttle.failed(username, request)
        return user


def unauthorized() -> HTTPUnauthorized:
    response = HTTPUnauthorized()
    response.headers["WWW-Authenticate"] = BASIC_REALM
    return response


def basic_auth(view: Callable) -> Callable:
    """View decorator: the Basic user must exist and equal ``{username}`` in the path.

    Sets ``request.user``. Everything else answers 401 with the Basic challenge.
    """

    @functools.wraps(view)
    def wrapper(context, request):
        credentials = parse_basic_authorization(request.headers.get("Authorization"))
        if credentials is None:
            raise unauthorized()
        username, password = credentials
        if username != request.matchdict.get("username"):
            raise unauthorized()
        user = request.registry.authenticator.authenticate(username, password, request)
        if user is None:
            raise unauthorized()
        request.user = user
        return view(context, request)

    return wrapper
