"""The RSA key that signs our OAuth access tokens (RS256 JWTs).

The key is made on first use and kept either in the accounts database
(shared by every process and box using it) or, with
``accounts.signing_key_file``, in a PEM file created with mode 0600. Its
public half is published as a JWK at ``/v1/jwks`` and, when the token server
runs in the same process, trusted by it directly.

Access tokens carry what the token server reads: ``sub`` (account id),
``scope``, ``fxa-generation`` (time of the last password change, ms), with
``typ: at+jwt`` in the header and the key's ``kid``.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from synccore.settings import ConfigurationError
from syncreg.fxa.store import AccountStore

KEY_NAME = "access-tokens"
KEY_BITS = 2048


def generate_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


class AccessTokenSigner:
    def __init__(self, private_pem: str, issuer: str):
        key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the signing key is not an RSA key")
        self._key = key
        self.issuer = issuer
        public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        # A stable kid: the same key gets the same id in every process.
        thumb = hashlib.sha256(json.dumps({"e": public["e"], "kty": "RSA", "n": public["n"]},
                                          separators=(",", ":")).encode()).digest()
        self.kid = base64.urlsafe_b64encode(thumb[:12]).rstrip(b"=").decode("ascii")
        self._public_jwk = {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def public_jwk(self) -> dict[str, Any]:
        return dict(self._public_jwk)

    def access_token(self, uid: str, client_id: str, scope: str, lifetime_seconds: int,
                     generation: int, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {"iss": self.issuer, "sub": uid, "aud": client_id, "client_id": client_id,
                  "scope": scope, "iat": issued, "exp": issued + lifetime_seconds,
                  "jti": uuid.uuid4().hex, "fxa-generation": generation}
        return jwt.encode(claims, self._key, algorithm="RS256",
                          headers={"typ": "at+jwt", "kid": self.kid})


def _pem_from_file(path: str) -> str:
    """The key in ``path``, made there (mode 0600) if the file does not exist."""
    path = os.path.expanduser(path)
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read()
    except FileNotFoundError:
        pass
    except (OSError, UnicodeError) as exc:
        raise ConfigurationError(f"accounts.signing_key_file: cannot read {path}: {exc}") \
            from exc
    pem = generate_pem()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        with open(path, encoding="ascii") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigurationError(f"accounts.signing_key_file: cannot create {path}: {exc}") \
            from exc
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(pem)
    return pem


class SigningKeySource:
    """Loads (or makes) the key once, on first use, then hands out the signer.

    Loading is deferred so that building the application never touches the
    database: ``sync-admin db upgrade`` builds it before the tables exist.
    """

    def __init__(self, store: AccountStore, issuer: str, key_file: str = "",
                 on_loaded: Callable[[AccessTokenSigner], None] | None = None):
        self.store = store
        self.issuer = issuer
        self.key_file = key_file
        self.on_loaded = on_loaded
        self._signer: AccessTokenSigner | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._signer is not None

    def signer(self) -> AccessTokenSigner:
        signer = self._signer
        if signer is not None:
            return signer
        with self._lock:
            if self._signer is None:
                if self.key_file:
                    pem = _pem_from_file(self.key_file)
                else:
                    pem = self.store.get_signing_key(KEY_NAME) or self.store.add_signing_key(
                        KEY_NAME, generate_pem(), int(time.time() * 1000))
                try:
                    signer = AccessTokenSigner(pem, self.issuer)
                except ValueError as exc:
                    raise ConfigurationError(f"unusable access-token signing key: {exc}") \
                        from exc
                if self.on_loaded is not None:
                    self.on_loaded(signer)
                self._signer = signer
            return self._signer
