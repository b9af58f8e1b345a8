"""Test support: both ends of the key protocol in Python, independent of the page's script.

* ``stretch``, ``sync_key``: what the sign-in page derives from the password
  and from kB (onepw, as Firefox's own modules define it);
* ``encrypt_jwe`` / ``decrypt_jwe``: the page sealing the sync key for
  Firefox's ``keys_jwk`` (ECDH-ES + A256GCM), and Firefox opening it;
* ``BrowserKey``: Firefox's ephemeral P-256 key pair of an OAuth flow;
* ``hawk_header``: a request signed with a session token, as Firefox signs it;
* ``AccountsClient``: a webtest client that signs up, signs in and asks for
  keys and tokens the way the page and Firefox do.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from syncreg.fxa.oauth import OLDSYNC, pkce_challenge
from syncreg.fxa.onepw import hkdf, keyword, token_credentials

FIREFOX_CLIENT_ID = "5882386c6d801776"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Stretched:
    auth_pw: bytes
    unwrap_b_key: bytes


def stretch(email: str, password: str) -> Stretched:
    quick = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32,
                       salt=keyword("quickStretch:" + email).encode("utf-8"),
                       iterations=1000).derive(password.encode("utf-8"))
    return Stretched(auth_pw=hkdf(quick, keyword("authPW"), 32, salt=b"\0"),
                     unwrap_b_key=hkdf(quick, keyword("unwrapBkey"), 32, salt=b"\0"))


def xor(a: bytes, b: bytes) -> bytes:
    assert len(a) == len(b)
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def key_id(kb: bytes, keys_changed_at: int) -> str:
    return f"{keys_changed_at}-{b64url(hashlib.sha256(kb).digest()[:16])}"


def sync_key(kb: bytes, keys_changed_at: int) -> dict[str, str]:
    return {"kty": "oct", "k": b64url(hkdf(kb, keyword("oldsync"), 64)),
            "kid": key_id(kb, keys_changed_at), "scope": OLDSYNC}


def _concat_kdf(shared: bytes) -> bytes:
    return hashlib.sha256(b"\0\0\0\1" + shared + b"\0\0\0\7A256GCM" + b"\0\0\0\0" * 2
                          + b"\0\0\1\0").digest()


def _public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big"))}


def _from_jwk(jwk: dict[str, str]) -> ec.EllipticCurvePublicKey:
    return ec.EllipticCurvePublicNumbers(int.from_bytes(unb64url(jwk["x"]), "big"),
                                         int.from_bytes(unb64url(jwk["y"]), "big"),
                                         ec.SECP256R1()).public_key()


class BrowserKey:
    """Firefox's key pair for one OAuth flow."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())

    def public_jwk(self) -> dict[str, str]:
        return _public_jwk(self.private_key.public_key())

    def keys_jwk(self) -> str:
        """The ``keys_jwk`` query parameter of the sign-in URL."""
        return b64url(json.dumps(self.public_jwk()).encode())

    def decrypt(self, jwe: str) -> bytes:
        return decrypt_jwe(jwe, self.private_key)


def encrypt_jwe(public_jwk: dict[str, str], plaintext: bytes) -> str:
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    header = {"alg": "ECDH-ES", "enc": "A256GCM", "epk": _public_jwk(ephemeral.public_key())}
    cek = _concat_kdf(ephemeral.exchange(ec.ECDH(), _from_jwk(public_jwk)))
    protected = b64url(json.dumps(header).encode())
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected.encode("ascii"))
    return ".".join([protected, "", b64url(iv), b64url(sealed[:-16]), b64url(sealed[-16:])])


def decrypt_jwe(jwe: str, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """What Firefox does with ``keys_jwe``, with its checks."""
    protected, cek, iv, ciphertext, tag = jwe.split(".")
    header = json.loads(unb64url(protected))
    if cek or header.get("alg") != "ECDH-ES" or header.get("enc") != "A256GCM" \
            or "apu" in header or "apv" in header:
        raise ValueError(f"unsupported JWE header {header}")
    key = _concat_kdf(private_key.exchange(ec.ECDH(), _from_jwk(header["epk"])))
    return AESGCM(key).decrypt(unb64url(iv), unb64url(ciphertext) + unb64url(tag),
                               protected.encode("ascii"))


def hawk_header(session_token: str, method: str, url: str, body: bytes | None = None,
                content_type: str = "application/json", ts: int | None = None,
                nonce: str | None = None) -> str:
    credentials = token_credentials(session_token)
    parts = urlsplit(url)
    port = str(parts.port or {"http": 80, "https": 443}[parts.scheme])
    ts_text = str(int(time.time()) if ts is None else ts)
    nonce = nonce or base64.b64encode(os.urandom(8)).decode("ascii")
    payload_hash = ""
    if body is not None:
        payload_hash = base64.b64encode(hashlib.sha256(
            b"hawk.1.payload\n" + content_type.encode() + b"\n" + body + b"\n").digest()
        ).decode("ascii")
    resource = parts.path + ("?" + parts.query if parts.query else "")
    text = "\n".join(["hawk.1.header", ts_text, nonce, method.upper(), resource,
                      (parts.hostname or "").lower(), port, payload_hash, "", ""])
    mac = base64.b64encode(hmac.new(credentials.key, text.encode(), hashlib.sha256)
                           .digest()).decode("ascii")
    extra = f', hash="{payload_hash}"' if payload_hash else ""
    return f'Hawk id="{credentials.id}", ts="{ts_text}", nonce="{nonce}"{extra}, mac="{mac}"'


@dataclass
class SignedIn:
    email: str
    uid: str
    session_token: str
    keys: Stretched
    wrap_kb: bytes | None
    verified: bool

    @property
    def kb(self) -> bytes:
        assert self.wrap_kb is not None
        return xor(self.wrap_kb, self.keys.unwrap_b_key)


class AccountsClient:
    """Drives the accounts API of a webtest ``TestApp`` like the page and Firefox."""

    base = "http://localhost"

    def __init__(self, app: Any):
        self.app = app

    def post(self, path: str, body: dict[str, Any] | None = None, *, session: str | None = None,
             status: int | str = 200, headers: dict[str, str] | None = None):
        data = json.dumps(body if body is not None else {}).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if session is not None:
            sent["Authorization"] = hawk_header(session, "POST", self.base + path, data)
        return self.app.post(path, data, headers=sent, status=status)

    def get(self, path: str, *, session: str | None = None, status: int | str = 200,
            headers: dict[str, str] | None = None):
        sent = dict(headers or {})
        if session is not None:
            sent["Authorization"] = hawk_header(session, "GET", self.base + path)
        return self.app.get(path, headers=sent, status=status)

    def _session(self, path: str, email: str, password: str, status: int) -> SignedIn | Any:
        keys = stretch(email, password)
        response = self.post(path, {"email": email, "authPW": keys.auth_pw.hex()},
                             status=status)
        if status != 200:
            return response
        body = response.json
        return SignedIn(email=email, uid=body["uid"], session_token=body["sessionToken"],
                        keys=keys, verified=body["verified"],
                        wrap_kb=bytes.fromhex(body["wrapKB"]) if "wrapKB" in body else None)

    def sign_up(self, email: str, password: str, status: int = 200) -> SignedIn | Any:
        return self._session("/v1/account/create?keys=true", email, password, status)

    def sign_in(self, email: str, password: str, status: int = 200) -> SignedIn | Any:
        return self._session("/v1/account/login?keys=true", email, password, status)

    def key_for_firefox(self, signed_in: SignedIn) -> dict[str, str]:
        data = self.post("/v1/account/scoped-key-data",
                         {"client_id": FIREFOX_CLIENT_ID, "scope": OLDSYNC},
                         session=signed_in.session_token).json
        return sync_key(signed_in.kb, data[OLDSYNC]["keyRotationTimestamp"])

    def connect_firefox(self, signed_in: SignedIn, scope: str = f"{OLDSYNC} profile") \
            -> tuple[dict[str, Any], dict[str, Any]]:
        """The whole OAuth flow: the page's authorization with keys_jwe, then
        Firefox's code exchange. Returns (token response, decrypted scoped keys)."""
        browser = BrowserKey()
        verifier = b64url(secrets.token_bytes(32))
        jwe = encrypt_jwe(browser.public_jwk(),
                          json.dumps({OLDSYNC: self.key_for_firefox(signed_in)}).encode())
        grant = self.post("/v1/oauth/authorization", {
            "client_id": FIREFOX_CLIENT_ID, "state": "s" * 22, "scope": scope,
            "access_type": "offline", "response_type": "code",
            "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
            "keys_jwe": jwe}, session=signed_in.session_token).json
        tokens = self.post("/v1/oauth/token", {
            "grant_type": "authorization_code", "client_id": FIREFOX_CLIENT_ID,
            "code": grant["code"], "code_verifier": verifier},
            session=signed_in.session_token).json
        return tokens, json.loads(browser.decrypt(tokens["keys_jwe"]))
