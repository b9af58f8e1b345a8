"""Hawk authentication of Storage 1.5 requests with token-server tokens.

A token is tokenlib's format: urlsafe base64 of a JSON payload followed by
its HMAC-SHA256 under a key derived from the master secret. Its Hawk key is
tokenlib's derived secret, so this node needs no per-user state: anything
minted by tokenlib with a configured master secret verifies here. Several
secrets may be configured (rotation); a token signed with any of them works.

Checks, each failing with 401: the header parses; the token signature and
claims; expiry (with a grace window for ``GET /info/collections``); the node
the token was minted for; the request MAC; the Hawk timestamp within the
allowed clock skew; the nonce not seen before for this token (replays); the
token's uid equal to the uid in the path. The 401 carries
``X-Weave-Timestamp`` (added to every response), from which clients correct
their clock.
"""
from __future__ import annotations

import functools
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import tokenlib
from hawkauthlib.utils import parse_authz_header
from pyramid.request import Request

from synccore import hawk
from synccore.errors import ErrorCode, ProtocolError
from synccore.hawk import NonceCache, host_candidates, path_candidates  # noqa: F401 (re-exported)

logger = logging.getLogger("syncstorage.hawk")

# Optional claims are opaque ids; anything else in them is refused.
_CLAIM_PATTERN = re.compile(r"[A-Za-z0-9=\-_]{1,64}")
_OPTIONAL_CLAIMS = ("fxa_uid", "fxa_kid", "hashed_fxa_uid", "hashed_device_id")


class InvalidTokenError(Exception):
    """The token is unusable (bad signature, malformed, wrong claims)."""


@dataclass(frozen=True)
class TokenUser:
    """Who a verified token speaks for; ``userid`` keys the storage."""
    userid: int
    node: str
    expires: float
    token_id: str
    fxa_uid: str | None = None
    fxa_kid: str | None = None
    hashed_fxa_uid: str | None = None
    hashed_device_id: str | None = None


class TokenVerifier:
    """Parses tokens signed with any of the master secrets."""

    def __init__(self, secrets: Sequence[str]):
        self._managers = [tokenlib.TokenManager(secret=secret) for secret in secrets]

    def parse(self, token: str) -> tuple[TokenUser, str]:
        """The token's identity and Hawk key, whether expired or not.

        Raises InvalidTokenError. Expiry is left to the caller because one route
        accepts recently expired tokens.
        """
        if not self._managers:
            raise InvalidTokenError("no master secret configured")
        for manager in self._managers:
            try:
                # now=-inf turns tokenlib's own expiry check off: ours, with
                # the grace window, comes later.
                data = manager.parse_token(token, now=-math.inf)
            except tokenlib.errors.InvalidSignatureError:
                continue
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidTokenError(f"malformed token: {exc}") from None
            return _claims(data, token), manager.get_derived_secret(token)
        raise InvalidTokenError("bad token signature")


def _claims(data: Any, token: str) -> TokenUser:
    if not isinstance(data, dict):
        raise InvalidTokenError("token payload is not an object")
    uid, node, expires, salt = (data.get(key) for key in ("uid", "node", "expires", "salt"))
    if not isinstance(uid, int) or isinstance(uid, bool) or uid < 0:
        raise InvalidTokenError("bad uid claim")
    if not isinstance(node, str) or not isinstance(salt, str):
        raise InvalidTokenError("bad node or salt claim")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool) \
            or not math.isfinite(expires):
        raise InvalidTokenError("bad expires claim")
    optional = {}
    for key in _OPTIONAL_CLAIMS:
        value = data.get(key)
        if value is not None and (not isinstance(value, str)
                                  or not _CLAIM_PATTERN.fullmatch(value)):
            raise InvalidTokenError(f"bad {key} claim")
        optional[key] = value
    if optional["hashed_fxa_uid"] is not None and (optional["fxa_uid"] is None
                                                   or optional["fxa_kid"] is None):
        raise InvalidTokenError("hashed_fxa_uid without fxa_uid and fxa_kid")
    return TokenUser(userid=uid, node=node, expires=float(expires), token_id=token,
                     **optional)


def normalized_request_string(request: Request, params: dict[str, str],
                              host: str, port: str, path: str | None = None) -> str:
    """Hawk's "hawk.1.header" string for this request (what the MAC covers)."""
    if path is None:
        path = (path_candidates(request) or [""])[0]
    return hawk.normalized_string(params, request.method, path, host, port)


def same_node(token_node: str, public_url: str) -> bool:
    """Whether the token was minted for this node (scheme, host, port, path)."""
    return _canonical_url(token_node) == _canonical_url(public_url)


def _canonical_url(url: str) -> tuple[str, str, str, str]:
    try:
        parts = urlsplit(url.strip())
        port = str(parts.port or hawk.DEFAULT_PORTS.get(parts.scheme.lower(), ""))
    except ValueError:
        return ("", "", "", url)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port,
            parts.path.rstrip("/"))


@dataclass(frozen=True)
class HawkPolicy:
    """The knobs of the checks (see the storage15.* settings)."""
    public_url: str | None
    check_node: bool = True
    timestamp_skew_seconds: int = 86400
    expired_token_grace_seconds: int = 7200


class HawkAuthenticator:
    """Verifies one request; returns its TokenUser or raises InvalidTokenError."""

    def __init__(self, verifier: TokenVerifier, nonces: NonceCache, policy: HawkPolicy,
                 clock: Callable[[], float] = time.time):
        self.verifier = verifier
        self.nonces = nonces
        self.policy = policy
        self._clock = clock

    def authenticate(self, request: Request, *, allow_expired: bool = False) -> TokenUser:
        params = parse_authz_header(request, None)
        if not params or params.get("scheme") != "Hawk":
            raise InvalidTokenError("no Hawk authorization header")
        if any(not params.get(key) for key in hawk.REQUIRED_PARAMS):
            raise InvalidTokenError("missing Hawk parameter")
        try:
            user, key = self.verifier.parse(params["id"])
        except UnicodeError as exc:
            raise InvalidTokenError(f"malformed token: {exc}") from None
        now = self._clock()
        if user.expires <= now:
            grace = self.policy.expired_token_grace_seconds
            if not allow_expired or now - user.expires >= grace:
                raise InvalidTokenError("token expired")
        policy = self.policy
        if policy.check_node and policy.public_url and not same_node(user.node,
                                                                      policy.public_url):
            raise InvalidTokenError(f"token for node {user.node!r}")
        if not self._mac_matches(request, params, key):
            raise InvalidTokenError("bad Hawk MAC")
        try:
            timestamp = int(params["ts"])
        except ValueError:
            raise InvalidTokenError("bad Hawk ts") from None
        skew = policy.timestamp_skew_seconds
        if skew and abs(timestamp - now) > skew:
            raise InvalidTokenError(f"Hawk ts {timestamp} too far from server time {now:.0f}")
        # After the MAC check, so unsigned junk cannot fill the cache.
        if not self.nonces.is_fresh(params["id"], params["nonce"], timestamp, now):
            raise InvalidTokenError("replayed Hawk nonce")
        return user

    def _mac_matches(self, request: Request, params: dict[str, str], key: str) -> bool:
        return hawk.mac_matches(request, params, key.encode("ascii"), self.policy.public_url)


def unauthorized() -> ProtocolError:
    """401, body ``0``, with the Hawk challenge."""
    error = ProtocolError(ErrorCode.UNKNOWN_ERROR, status=401)
    error.headers["WWW-Authenticate"] = "Hawk"
    return error


def _hawk_view(view: Callable, allow_expired: bool) -> Callable:
    @functools.wraps(view)
    def wrapper(context, request):
        try:
            user = request.registry.hawk.authenticate(request, allow_expired=allow_expired)
        except InvalidTokenError as exc:
            logger.info("Hawk authentication failed on %s: %s", request.method, exc)
            raise unauthorized() from None
        path_uid = request.matchdict.get("uid", "")
        if not path_uid.isdigit() or int(path_uid) != user.userid:
            logger.info("token uid %s used for uid %s", user.userid, path_uid)
            raise unauthorized()
        request.user = user
        return view(context, request)

    return wrapper


def hawk_auth(view: Callable) -> Callable:
    """View decorator: a valid, unexpired token whose uid is ``{uid}``; sets ``request.user``."""
    return _hawk_view(view, allow_expired=False)


def hawk_auth_with_grace(view: Callable) -> Callable:
    """Like ``hawk_auth`` but accepts a token expired less than the grace window ago."""
    return _hawk_view(view, allow_expired=True)
