"""The RSA public keys whose signatures the token server trusts.

Keys come from three places:

* ``tokenserver.jwks`` - a JWK set written inline as JSON or kept in a file;
* ``TrustedKeys.add()`` - any component may publish a key at start-up (a
  bundled accounts service adds the key it signs access tokens with);
* while no key is configured, the OAuth server's published set at
  ``fetch_url`` (``{oauth_server}/v1/jwks``), cached for ``cache_seconds``.
  Added keys do not stop this: a token naming one of them by its ``kid`` is
  checked without fetching, any other (Mozilla's accounts next to a bundled
  service) against the fetched set as well.

Only RSA signing keys are kept, and only their public members: a private
JWK given by mistake is reduced to its public half.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from synccore.settings import ConfigurationError

logger = logging.getLogger("syncreg.tokenserver")

_PUBLIC_MEMBERS = ("kty", "n", "e", "kid", "alg", "use")
FAILED_FETCH_RETRY_SECONDS = 60
MAX_JWKS_BYTES = 1024 * 1024


def public_jwk(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The public members of an RSA signing JWK; ValueError if it is not one."""
    if not isinstance(jwk, Mapping):
        raise ValueError("a JWK must be a JSON object")
    if jwk.get("kty") != "RSA":
        raise ValueError(f"unsupported key type {jwk.get('kty')!r} (RSA expected)")
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
        raise ValueError("the key is not an RS256 signing key")
    if not isinstance(jwk.get("n"), str) or not isinstance(jwk.get("e"), str):
        raise ValueError("the key lacks its modulus or exponent")
    return {name: jwk[name] for name in _PUBLIC_MEMBERS if name in jwk}


def _to_key(jwk: Mapping[str, Any]) -> jwt.PyJWK:
    try:
        return jwt.PyJWK(public_jwk(jwk), algorithm="RS256")
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise ValueError(f"unusable JWK: {exc}") from exc


def jwks_members(document: Any) -> list[Any]:
    """The keys of ``{"keys": [...]}``, a bare list of JWKs or a single JWK."""
    if isinstance(document, Mapping):
        if "keys" in document:
            keys = document["keys"]
            if not isinstance(keys, list):
                raise ValueError('"keys" must be a list')
            return keys
        return [document]
    if isinstance(document, list):
        return document
    raise ValueError("a JWK set must be a JSON object or list")


def read_jwks_setting(value: str) -> list[dict[str, Any]]:
    """The JWKs named by ``tokenserver.jwks``: inline JSON, or the path of a JSON file."""
    text = value.strip()
    if not text:
        return []
    if not text.startswith(("{", "[")):
        try:
            with open(os.path.expanduser(text), encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise ConfigurationError(f"tokenserver.jwks: cannot read {value!r}: {exc}") \
                from exc
    try:
        members = jwks_members(json.loads(text))
        for member in members:
            _to_key(member)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise ConfigurationError(f"tokenserver.jwks: {exc}") from exc
    return [public_jwk(member) for member in members]


class TrustedKeys:
    """A thread-safe, appendable set of trusted verification keys."""

    def __init__(self, jwks: Iterable[Mapping[str, Any]] = (), fetch_url: str = "",
                 fetch_timeout_seconds: float = 10, cache_seconds: float = 3600):
        self._lock = threading.Lock()
        self._keys: list[jwt.PyJWK] = []
        self._jwks: list[dict[str, Any]] = []
        self.fetch_url = fetch_url
        self.fetch_timeout_seconds = fetch_timeout_seconds
        self.cache_seconds = cache_seconds
        self._fetched: list[jwt.PyJWK] = []
        self._fetched_at: float | None = None
        self._fetch_failed_at: float | None = None
        for jwk in jwks:
            self.add(jwk)
        self._configured = bool(self._keys)

    def add(self, jwk: Mapping[str, Any]) -> None:
        """Trust tokens signed by this RSA key. Raises ValueError for an unusable key."""
        key = _to_key(jwk)
        public = public_jwk(jwk)
        with self._lock:
            if public not in self._jwks:
                self._jwks.append(public)
                self._keys.append(key)

    def jwks(self) -> list[dict[str, Any]]:
        """The configured and added keys as public JWKs."""
        with self._lock:
            return list(self._jwks)

    def verification_keys(self, kid: str | None = None) -> list[jwt.PyJWK]:
        """Keys to try, those whose ``kid`` matches first."""
        with self._lock:
            keys = list(self._keys)
        if self._consults_fetched(kid, keys):
            keys += self._fetched_keys()
        return sorted(keys, key=lambda key: key.key_id != kid) if kid else keys

    def fetch_unavailable(self, kid: str | None = None) -> bool:
        """Whether a token naming ``kid`` needs the published key set, and the
        last attempt to fetch it failed with nothing fetched before."""
        with self._lock:
            keys = list(self._keys)
            failed = self._fetch_failed_at is not None and not self._fetched
        return failed and self._consults_fetched(kid, keys)

    def _consults_fetched(self, kid: str | None, keys: list[jwt.PyJWK]) -> bool:
        own = kid is not None and any(key.key_id == kid for key in keys)
        return bool(self.fetch_url) and not self._configured and not own

    def _fetched_keys(self) -> list[jwt.PyJWK]:
        now = time.monotonic()
        with self._lock:
            if self._fetched_at is not None and now - self._fetched_at < self.cache_seconds:
                return self._fetched
            if (self._fetch_failed_at is not None
                    and now - self._fetch_failed_at < FAILED_FETCH_RETRY_SECONDS):
                return self._fetched
        try:
            keys = self._fetch()
        except (OSError, ValueError) as exc:
            logger.warning("cannot fetch the OAuth JWK set from %s: %s", self.fetch_url, exc)
            with self._lock:
                self._fetch_failed_at = now
                return self._fetched
        with self._lock:
            self._fetched, self._fetched_at, self._fetch_failed_at = keys, now, None
            return keys

    def _fetch(self) -> list[jwt.PyJWK]:
        request = urllib.request.Request(self.fetch_url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=self.fetch_timeout_seconds) as response:
            document = json.loads(response.read(MAX_JWKS_BYTES))
        keys = []
        for member in jwks_members(document):
            try:
                keys.append(_to_key(member))
            except ValueError:
                continue  # a published set may hold keys of other kinds
        return keys
