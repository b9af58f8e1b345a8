"""Offline verification of JWT access tokens (RS256) against trusted keys.

Rules: the JOSE header must say ``alg: RS256`` and ``typ: at+jwt`` (an
``application/`` prefix is allowed); the signature must verify with one of
the trusted keys (each is tried; a bad signature moves on to the next);
``exp`` is required and, like ``iat`` and ``nbf``, checked with a small
leeway; ``aud`` is not checked (the scope is what grants access); ``iss``
must be one of the accepted issuers when any are configured.

A string that is not a JWT at all, or the lack of any usable key, raises
``UnverifiableTokenError`` so that a remote verifier may take over; when the
keys to check it would have come from the OAuth server and could not be
fetched, ``KeySetUnavailableError``.
"""
from __future__ import annotations

from collections.abc import Sequence

import jwt

from syncreg.tokenserver.oauth import (
    InvalidTokenError,
    KeySetUnavailableError,
    OAuthVerifier,
    UnverifiableTokenError,
    VerifiedToken,
    parse_generation,
    split_scopes,
)
from syncreg.tokenserver.oauth.keys import TrustedKeys

ACCESS_TOKEN_TYPE = "at+jwt"


def _token_type(header: dict) -> str:
    value = str(header.get("typ", "")).lower()
    return value.removeprefix("application/")


class JWTVerifier(OAuthVerifier):
    def __init__(self, keys: TrustedKeys, leeway_seconds: float = 60,
                 accepted_issuers: Sequence[str] = ()):
        self.keys = keys
        self.leeway_seconds = leeway_seconds
        self.accepted_issuers = tuple(accepted_issuers)

    def verify(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise UnverifiableTokenError(f"not a JWT: {exc}") from exc
        if header.get("alg") != "RS256":
            raise InvalidTokenError(f"algorithm {header.get('alg')!r} is not accepted")
        if _token_type(header) != ACCESS_TOKEN_TYPE:
            raise InvalidTokenError(f"token type {header.get('typ')!r} is not an access token")
        kid = header.get("kid") if isinstance(header.get("kid"), str) else None
        keys = self.keys.verification_keys(kid)
        if not keys:
            self._check_key_set(kid)
            raise UnverifiableTokenError("no trusted key is available")
        for key in keys:
            try:
                claims = jwt.decode(token, key.key, algorithms=["RS256"],
                                    leeway=self.leeway_seconds,
                                    options={"verify_aud": False, "require": ["exp", "sub"]})
            except jwt.InvalidSignatureError:
                continue
            except jwt.InvalidTokenError as exc:
                raise InvalidTokenError(str(exc)) from exc
            return self._identity(claims)
        self._check_key_set(kid)
        raise InvalidTokenError("no trusted key signed this token")

    def _check_key_set(self, kid: str | None) -> None:
        """Raise KeySetUnavailableError if the key set to try was not fetched."""
        if self.keys.fetch_unavailable(kid):
            raise KeySetUnavailableError(
                f"the OAuth key set could not be fetched from {self.keys.fetch_url}")

    def _identity(self, claims: dict) -> VerifiedToken:
        issuer = claims.get("iss")
        if self.accepted_issuers and issuer not in self.accepted_issuers:
            raise InvalidTokenError(f"issuer {issuer!r} is not accepted")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidTokenError("the token names no account")
        client_id = claims.get("client_id")
        return VerifiedToken(
            fxa_uid=subject,
            scopes=split_scopes(claims.get("scope")),
            generation=parse_generation(claims.get("fxa-generation")),
            issuer=issuer if isinstance(issuer, str) else None,
            client_id=client_id if isinstance(client_id, str) else None,
            claims=claims)
