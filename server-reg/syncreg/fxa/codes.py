"""One-time codes mailed to account holders: address confirmation and password reset.

They live in the registration server's reset-code store (``registry.reset_codes``)
under keys of their own (``fxa-verify:<uid>``, ``fxa-reset:<uid>``, which
no Sync 1.1 username can equal), with its shape (``XXXX-XXXX-XXXX-XXXX``),
hashing and expiry. One code is pending per account and purpose; asking
again replaces it. Wrong guesses count against the ``code_account`` rate
limit, like wrong reset codes of the User API.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from syncreg.ratelimit import RateLimiter
from syncreg.resetcodes import (
    PendingCode,
    ResetCodeStore,
    format_code,
    hash_code,
    is_code_shaped,
    same_hash,
)

VERIFY = "fxa-verify"
RESET = "fxa-reset"


class AccountCodes:
    def __init__(self, store: ResetCodeStore, limiter: RateLimiter,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.limiter = limiter
        self._clock = clock

    @staticmethod
    def _key(purpose: str, uid: str) -> str:
        return f"{purpose}:{uid}"

    def issue(self, purpose: str, uid: str, lifetime_seconds: int) -> str:
        """A new code for the account, replacing any pending one."""
        code = format_code(secrets.token_bytes(32))
        self.store.replace(PendingCode(
            username=self._key(purpose, uid), nonce=secrets.token_hex(16),
            code_hash=hash_code(code), expires_at=int(self._clock()) + lifetime_seconds))
        return code

    def consume(self, purpose: str, uid: str, code: str) -> bool:
        """Use the code up if it is the account's pending one. Raises RateLimited."""
        key = self._key(purpose, uid)
        self.limiter.check("code_account", key)
        code = code.strip().upper()
        pending = self.store.get(key)
        now = int(self._clock())
        good = (is_code_shaped(code) and pending is not None and pending.expires_at > now
                and same_hash(hash_code(code), pending.code_hash)
                and self.store.consume(key, pending.code_hash, now))
        if not good:
            self.limiter.hit("code_account", key)
        return good

    def cancel(self, purpose: str, uid: str) -> None:
        self.store.delete(self._key(purpose, uid))
