"""Verification by the OAuth server: ``POST {verify_url}`` with ``{"token": ...}``.

A 200 answer must be a JSON object with ``user``, ``scope`` and
``client_id``; ``generation`` is optional. Any 4xx answer, or a 200 that
lacks those members, means the token is not valid (401). The server being
unreachable, timing out or failing with a 5xx means we cannot tell: 503, so
that Firefox backs off instead of throwing its token away.
"""
from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request

from syncreg.tokenserver.oauth import (
    InvalidTokenError,
    OAuthVerifier,
    VerifiedToken,
    VerifierUnavailableError,
    parse_generation,
    split_scopes,
)

logger = logging.getLogger("syncreg.tokenserver")

MAX_RESPONSE_BYTES = 64 * 1024


class RemoteVerifier(OAuthVerifier):
    def __init__(self, verify_url: str, timeout_seconds: float = 10):
        self.verify_url = verify_url
        self.timeout_seconds = timeout_seconds

    def verify(self, token: str) -> VerifiedToken:
        return self._identity(self._post(token))

    def _post(self, token: str) -> object:
        request = urllib.request.Request(
            self.verify_url, data=json.dumps({"token": token}).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                body = response.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code >= 500:
                logger.warning("OAuth verify URL %s answered %s", self.verify_url, exc.code)
                raise VerifierUnavailableError(f"verify URL answered {exc.code}") from exc
            raise InvalidTokenError(f"verify URL answered {exc.code}") from exc
        except (OSError, http.client.HTTPException) as exc:
            # URLError, timeouts and refused connections are all OSErrors.
            logger.warning("OAuth verify URL %s unreachable: %s", self.verify_url, exc)
            raise VerifierUnavailableError(f"verify URL unreachable: {exc}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise InvalidTokenError("verify URL answered with something other than JSON") \
                from exc

    @staticmethod
    def _identity(answer: object) -> VerifiedToken:
        if not isinstance(answer, dict):
            raise InvalidTokenError("verify answer is not a JSON object")
        user, client_id = answer.get("user"), answer.get("client_id")
        if not isinstance(user, str) or not user or not isinstance(client_id, str) \
                or "scope" not in answer:
            raise InvalidTokenError("verify answer lacks user, client_id or scope")
        return VerifiedToken(fxa_uid=user, scopes=split_scopes(answer["scope"]),
                             generation=parse_generation(answer.get("generation")),
                             client_id=client_id, claims=answer)
