"""Minting the Hawk credentials a storage node can check without a database.

The ``id`` is a tokenlib token (JSON payload + HMAC, signed with a key
derived from the master secret shared with the storage nodes); the ``key``
is the per-token secret tokenlib derives from the master secret, the
token's salt and the ``id``, which the storage node re-derives itself.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import tokenlib

DEVICE_NONE = "none"  # OAuth tokens identify no device


@dataclass(frozen=True)
class Credentials:
    id: str
    key: str
    expires: int
    hashed_fxa_uid: str


def _metrics_hash(secret: str, message: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"),
                    hashlib.sha256).hexdigest()[:32]


class TokenMinter:
    def __init__(self, secret: str, metrics_secret: str):
        """``secret``: the master secret that signs (the first configured one);
        ``metrics_secret``: keys the hashed identifiers sent for metrics."""
        self.secret = secret
        self.metrics_secret = metrics_secret

    def hashed_fxa_uid(self, fxa_uid: str) -> str:
        return _metrics_hash(self.metrics_secret, fxa_uid)

    def hashed_device_id(self, hashed_fxa_uid: str, device: str = DEVICE_NONE) -> str:
        return _metrics_hash(self.metrics_secret, hashed_fxa_uid + device)

    def mint(self, *, uid: int, node: str, fxa_uid: str, fxa_kid: str, expires: int) -> Credentials:
        hashed_fxa_uid = self.hashed_fxa_uid(fxa_uid)
        data = {
            "uid": uid,
            "node": node,
            "expires": expires,
            "fxa_uid": fxa_uid,
            "fxa_kid": fxa_kid,
            "hashed_fxa_uid": hashed_fxa_uid,
            "hashed_device_id": self.hashed_device_id(hashed_fxa_uid),
        }
        token = tokenlib.make_token(data, secret=self.secret)
        key = tokenlib.get_derived_secret(token, secret=self.secret)
        return Credentials(id=token, key=key, expires=expires, hashed_fxa_uid=hashed_fxa_uid)
