"""OAuth 2 for Firefox: authorization codes with PKCE, refresh tokens, access tokens.

* ``authorize``: a signed-in session asks for a code for one of the known
  client ids. For the sync scope it must bring ``keys_jwe``, the sync key
  the page encrypted to the browser's ``keys_jwk``; the JWE is bound to the
  code and handed back, unopened, when the code is exchanged.
* ``exchange_code``: the code, once, within its lifetime, with the PKCE
  verifier whose SHA-256 is the code's challenge (S256 only).
* ``refresh`` and ``with_session`` (the ``fxa-credentials`` grant): more
  access tokens, for scopes already granted / allowed to a verified account.

Access tokens are RS256 JWTs (see ``syncreg.fxa.signing``): nothing is
stored for them, so ``/oauth/destroy`` can only drop refresh tokens.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from syncreg.fxa import errors
from syncreg.fxa.errors import Errno
from syncreg.fxa.onepw import token_hash
from syncreg.fxa.service import Accounts
from syncreg.fxa.signing import SigningKeySource
from syncreg.fxa.store import Account, AuthorizationCode, RefreshToken, Session

OLDSYNC = "https://identity.mozilla.com/apps/oldsync"
PROFILE = "profile"
# What Firefox asks for; a scope of the profile family implies nothing else.
GRANTABLE_SCOPES = frozenset({OLDSYNC, PROFILE, "profile:write", "profile:uid",
                              "profile:email"})
KEY_BEARING_SCOPES = frozenset({OLDSYNC})
# Firefox desktop and Thunderbird, as their sources name them.
DEFAULT_CLIENT_IDS = ("5882386c6d801776", "8269bacd7bbc7f80")


@dataclass(frozen=True)
class OAuthPolicy:
    client_ids: frozenset[str]
    code_seconds: int
    access_token_seconds: int
    access_token_max_seconds: int


def parse_scope(value: object) -> list[str]:
    """Requested scopes (a space-separated string), in order, without duplicates."""
    if not isinstance(value, str) or not value.strip():
        raise errors.invalid_parameter("scope")
    scopes: list[str] = []
    for scope in value.split():
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OAuth:
    def __init__(self, accounts: Accounts, keys: SigningKeySource, policy: OAuthPolicy):
        self.accounts = accounts
        self.store = accounts.store
        self.keys = keys
        self.policy = policy

    def check_client(self, client_id: object) -> str:
        if not isinstance(client_id, str) or client_id not in self.policy.client_ids:
            raise errors.bad_request(Errno.UNKNOWN_CLIENT, "Unknown client_id")
        return client_id

    def _grant(self, account: Account, requested: list[str]) -> str:
        granted = [scope for scope in requested if scope in GRANTABLE_SCOPES]
        if not granted:
            raise errors.bad_request(Errno.INVALID_PARAMETER, "No requested scope is allowed",
                                     validation={"keys": ["scope"]})
        if not account.verified:
            raise errors.unverified_account()
        return " ".join(granted)

    def lifetime(self, ttl: object) -> int:
        if ttl is None:
            return self.policy.access_token_seconds
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
            raise errors.invalid_parameter("ttl")
        return min(ttl, self.policy.access_token_max_seconds)

    def access_token(self, account: Account, client_id: str, scope: str,
                     lifetime: int) -> dict[str, Any]:
        token = self.keys.signer().access_token(account.uid, client_id, scope, lifetime,
                                                generation=account.verifier_set_at)
        return {"access_token": token, "token_type": "bearer", "scope": scope,
                "expires_in": lifetime, "auth_at": account.verifier_set_at // 1000}

    # -- the authorization code flow ---------------------------------------------

    def authorize(self, account: Account, session: Session, body: dict[str, Any]) \
            -> dict[str, Any]:
        client_id = self.check_client(body.get("client_id"))
        if body.get("response_type", "code") != "code":
            raise errors.invalid_parameter("response_type")
        if body.get("code_challenge_method") != "S256":
            raise errors.invalid_parameter("code_challenge_method")
        challenge = body.get("code_challenge")
        if not isinstance(challenge, str) or not 43 <= len(challenge) <= 128:
            raise errors.invalid_parameter("code_challenge")
        state = body.get("state")
        if not isinstance(state, str) or not state:
            raise errors.invalid_parameter("state")
        scope = self._grant(account, parse_scope(body.get("scope")))
        keys_jwe = body.get("keys_jwe")
        if keys_jwe is not None and (not isinstance(keys_jwe, str) or keys_jwe.count(".") != 4
                                     or len(keys_jwe) > 10_000):
            raise errors.invalid_parameter("keys_jwe")
        if KEY_BEARING_SCOPES.intersection(scope.split()) and keys_jwe is None:
            raise errors.missing_parameter("keys_jwe")
        # Sign-ins are rare: clearing codes nobody exchanged here keeps the table small.
        self.store.purge_expired_codes(self.accounts.now_ms())
        code = secrets.token_hex(32)
        self.store.add_code(token_hash(code), AuthorizationCode(
            uid=account.uid, client_id=client_id, scope=scope, code_challenge=challenge,
            keys_jwe=keys_jwe, session_id=session.id,
            expires_at=self.accounts.now_ms() + self.policy.code_seconds * 1000))
        redirect = (f"{self.accounts.public_base}/oauth/success/{client_id}"
                    f"?code={code}&state={state}")
        return {"code": code, "state": state, "redirect": redirect}

    def exchange_code(self, body: dict[str, Any], session: Session | None) -> dict[str, Any]:
        client_id = self.check_client(body.get("client_id"))
        code, verifier = body.get("code"), body.get("code_verifier")
        if not isinstance(code, str) or not code:
            raise errors.invalid_parameter("code")
        if not isinstance(verifier, str) or not 43 <= len(verifier) <= 128:
            raise errors.invalid_parameter("code_verifier")
        grant = self.store.take_code(token_hash(code), self.accounts.now_ms())
        if (grant is None or grant.client_id != client_id
                or not hmac.compare_digest(pkce_challenge(verifier), grant.code_challenge)
                or (session is not None and session.uid != grant.uid)):
            raise errors.bad_request(Errno.INVALID_PARAMETER, "Unknown, expired or "
                                     "mismatched authorization code")
        account = self.store.get_account(grant.uid)
        if account is None:
            raise errors.invalid_token("The account no longer exists")
        answer = self.access_token(account, client_id, grant.scope, self.lifetime(None))
        refresh = secrets.token_hex(32)
        now = self.accounts.now_ms()
        self.store.add_refresh_token(RefreshToken(token_hash=token_hash(refresh),
                                                  uid=account.uid, client_id=client_id,
                                                  scope=grant.scope, created_at=now,
                                                  last_used_at=now))
        answer["refresh_token"] = refresh
        if grant.keys_jwe is not None:
            answer["keys_jwe"] = grant.keys_jwe
        return answer

    # -- more access tokens ------------------------------------------------------

    def refresh(self, body: dict[str, Any]) -> dict[str, Any]:
        client_id = self.check_client(body.get("client_id"))
        refresh = body.get("refresh_token")
        stored = self.store.get_refresh_token(token_hash(refresh)) \
            if isinstance(refresh, str) else None
        if stored is None or stored.client_id != client_id:
            raise errors.bad_request(Errno.INVALID_TOKEN, "Invalid refresh token")
        account = self.store.get_account(stored.uid)
        if account is None:
            raise errors.invalid_token("The account no longer exists")
        requested = parse_scope(body["scope"]) if "scope" in body else stored.scope.split()
        if not set(requested) <= set(stored.scope.split()):
            raise errors.invalid_parameter("scope")
        self.store.touch_refresh_token(stored.token_hash, self.accounts.now_ms())
        return self.access_token(account, client_id, " ".join(requested),
                                 self.lifetime(body.get("ttl")))

    def with_session(self, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        client_id = self.check_client(body.get("client_id"))
        scope = self._grant(account, parse_scope(body.get("scope")))
        return self.access_token(account, client_id, scope, self.lifetime(body.get("ttl")))

    def destroy(self, body: dict[str, Any]) -> None:
        """Revoke a refresh token; access tokens expire by themselves."""
        for name in ("refresh_token", "token"):
            value = body.get(name)
            if isinstance(value, str) and value:
                self.store.delete_refresh_token(token_hash(value))
