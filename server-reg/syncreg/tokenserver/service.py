"""The token server: a verified OAuth token in, Sync 1.5 storage credentials out."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from syncreg.nodes import NodeBackend, NoNodeAvailable
from syncreg.tokenserver import errors
from syncreg.tokenserver.assignment import UserAssigner
from syncreg.tokenserver.keyid import KeyState, format_key_id
from syncreg.tokenserver.minting import TokenMinter
from syncreg.tokenserver.oauth import (
    InvalidTokenError,
    OAuthVerifier,
    VerifiedToken,
    VerifierUnavailableError,
)
from syncreg.tokenserver.oauth.keys import TrustedKeys
from syncreg.tokenserver.rules import Claims
from syncreg.tokenserver.users import TokenUserBackend

logger = logging.getLogger("syncreg.tokenserver")

HASH_ALGORITHM = "sha256"
# What storage nodes accept in a token's fxa_uid.
_FXA_UID = re.compile(r"^[A-Za-z0-9=_-]{1,64}$")


@dataclass
class TokenServer:
    users: TokenUserBackend
    verifier: OAuthVerifier
    trusted_keys: TrustedKeys
    minter: TokenMinter | None        # None while no master secret is configured
    scope: str
    email_domain: str
    duration_seconds: int
    node_type: str | None
    allow_new_users: bool
    retry_after_seconds: int

    def identify(self, bearer_token: str) -> VerifiedToken:
        """The account behind an OAuth token that grants the sync scope."""
        try:
            identity = self.verifier.verify(bearer_token)
        except VerifierUnavailableError as exc:
            raise errors.unavailable(self.retry_after_seconds) from exc
        except InvalidTokenError as exc:
            logger.info("OAuth token refused: %s", exc)
            raise errors.unauthorized(exc.status) from exc
        if self.scope not in identity.scopes:
            logger.info("OAuth token lacks the scope %s", self.scope)
            raise errors.invalid_credentials()
        if not _FXA_UID.match(identity.fxa_uid):
            raise errors.invalid_credentials()
        return identity

    def duration(self, requested: int | None) -> int:
        """A shorter lifetime when the client asks for one, else the configured one."""
        if requested is not None and 0 < requested < self.duration_seconds:
            return requested
        return self.duration_seconds

    def issue(self, bearer_token: str, key_state: KeyState, nodes: NodeBackend,
              now_ms: int, requested_duration: int | None = None) -> dict[str, Any]:
        """The token response body for one request; raises ``TokenServerError``."""
        if self.minter is None:
            logger.error("token request refused: no master_secret is configured")
            raise errors.internal_error(503, {"Retry-After": str(self.retry_after_seconds)})
        identity = self.identify(bearer_token)
        claims = Claims(generation=identity.generation,
                        keys_changed_at=key_state.keys_changed_at,
                        client_state=key_state.client_state)
        assigner = UserAssigner(self.users, nodes, self.allow_new_users)
        try:
            user = assigner.assign(f"{identity.fxa_uid}@{self.email_domain}", claims,
                                   now_ms).user
        except NoNodeAvailable as exc:
            logger.error("no sync-1.5 node can take a user")
            raise errors.internal_error(
                503, {"Retry-After": str(self.retry_after_seconds)}) from exc
        duration = self.duration(requested_duration)
        credentials = self.minter.mint(
            uid=user.uid, node=user.node, fxa_uid=identity.fxa_uid,
            fxa_kid=format_key_id(user.keys_changed_at or user.generation, user.client_state),
            expires=now_ms // 1000 + duration)
        return {
            "id": credentials.id,
            "key": credentials.key,
            "uid": user.uid,
            "api_endpoint": api_endpoint(user.node, user.uid),
            "duration": duration,
            "hashalg": HASH_ALGORITHM,
            "hashed_fxa_uid": credentials.hashed_fxa_uid,
            "node_type": self.node_type,
        }


def api_endpoint(node: str, uid: int) -> str:
    """``https://sync.example.com/1.5/42``: the node URL (ending in ``/``) and the uid."""
    return f"{node if node.endswith('/') else node + '/'}1.5/{uid}"
