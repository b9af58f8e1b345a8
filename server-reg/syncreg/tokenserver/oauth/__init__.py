"""Verification of the OAuth access tokens Firefox presents to the token server.

A verifier turns a bearer token into a ``VerifiedToken`` (account id,
generation, granted scopes) or raises:

* ``InvalidTokenError`` - the token is not acceptable (401);
* ``UnverifiableTokenError`` - this verifier cannot judge the token (not a JWT,
  no usable key); the combined verifier then asks the next one;
* ``KeySetUnavailableError`` - the same, because the OAuth server's published
  keys could not be fetched: if no other verifier judges the token, the
  answer is 503 (the accounts service is down), not 401;
* ``VerifierUnavailableError`` - the remote service could not be reached (503).

Which verifiers run is chosen by ``tokenserver.oauth_verifier``:

``local``  JWT access tokens checked against trusted RSA keys (offline).
``remote`` every token sent to the OAuth server's verify URL.
``auto``   local first; tokens that are not JWTs, or when no key is usable,
           go to the verify URL (when one is configured).

The trusted keys are a ``TrustedKeys`` registry: the configured JWKs plus
any other component (e.g. a bundled accounts service) may ``add()`` its own.
Checking the granted scope is left to the caller.
"""
from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass, field


class OAuthError(Exception):
    """Base class of verification failures."""


class InvalidTokenError(OAuthError):
    """The token is expired, forged, malformed or otherwise unacceptable."""

    def __init__(self, reason: str, status: str = "invalid-credentials"):
        super().__init__(reason)
        self.status = status


class UnverifiableTokenError(OAuthError):
    """This verifier cannot decide; another one may."""


class KeySetUnavailableError(UnverifiableTokenError):
    """The keys that could have signed the token could not be fetched."""


class VerifierUnavailableError(OAuthError):
    """The verification service did not answer."""


@dataclass(frozen=True)
class VerifiedToken:
    fxa_uid: str
    scopes: frozenset[str]
    generation: int = 0          # 0 when the token does not carry one
    issuer: str | None = None
    client_id: str | None = None
    claims: dict = field(default_factory=dict, compare=False, repr=False)


class OAuthVerifier(abc.ABC):
    @abc.abstractmethod
    def verify(self, token: str) -> VerifiedToken:
        """The identity behind ``token``; raises an ``OAuthError`` otherwise."""


class ChainedVerifier(OAuthVerifier):
    """Ask each verifier in turn while they answer ``UnverifiableTokenError``."""

    def __init__(self, verifiers: Iterable[OAuthVerifier]):
        self.verifiers = list(verifiers)

    def verify(self, token: str) -> VerifiedToken:
        reason = "no verifier configured"
        unavailable = False
        for verifier in self.verifiers:
            try:
                return verifier.verify(token)
            except UnverifiableTokenError as exc:
                reason = str(exc)
                unavailable = unavailable or isinstance(exc, KeySetUnavailableError)
        if unavailable:
            # Nobody could judge it because the accounts service is out of
            # reach: clients should back off, not discard their token.
            raise VerifierUnavailableError(reason)
        raise InvalidTokenError(reason)


def split_scopes(value: object) -> frozenset[str]:
    """Granted scopes from a claim: a list, or a string separated by spaces or commas.

    FxA issues space-separated scopes; some verifiers split on commas, so both
    separators are accepted.
    """
    if isinstance(value, str):
        items: Iterable[object] = value.replace(",", " ").split()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return frozenset()
    return frozenset(item.strip() for item in items if isinstance(item, str) and item.strip())


def parse_generation(value: object) -> int:
    """The ``fxa-generation`` / ``generation`` value; absent or null means 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidTokenError(f"generation is not an integer: {value!r}",
                                status="invalid-generation")
    return value
