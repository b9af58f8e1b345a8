"""Storage 1.5 credentials for the bench: a trusted signing key and token requests.

The bench plays the OAuth server: it makes one RSA key per run, the server
under test trusts its public half (``tokenserver.jwks``), and every
simulated account presents an access token signed with it to the token
server. Client processes are forked from the parent and so share the key.
"""
from __future__ import annotations

import functools
import hashlib

from syncreg.tokenserver.testing import SigningKey, key_id_header
from syncserver.bench.client import Recorder, Sync15Client

MASTER_SECRET = "bench-master-secret"
KEYS_CHANGED_AT = 1_700_000_000_000


@functools.cache
def signing_key() -> SigningKey:
    return SigningKey("bench")


def token_settings() -> dict[str, str]:
    """Application settings that make the token server trust the bench's key."""
    return {"master_secret": MASTER_SECRET, "tokenserver.jwks": signing_key().jwks_json(),
            "tokenserver.oauth_server_url": ""}


def connect15(host: str, port: int, username: str, recorder: Recorder) -> Sync15Client:
    """A token for the account ``username`` stands for, then a Hawk client on it."""
    digest = hashlib.sha256(username.encode("utf-8")).hexdigest()
    fxa_uid, client_state = digest[:32], digest[32:64]
    bearer = signing_key().access_token(fxa_uid, generation=KEYS_CHANGED_AT)
    return Sync15Client.connect(host, port, username, recorder, bearer,
                                key_id_header(KEYS_CHANGED_AT, client_state))
