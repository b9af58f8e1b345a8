"""Test support for the token server: real keys, real JWTs, a real verify server.

* ``SigningKey`` - a freshly generated RSA key that publishes its public
  half as a JWK and signs RS256 access tokens the way an OAuth server does.
* ``OAuthServer`` - a small HTTP server on loopback that answers
  ``POST /v1/verify`` for the tokens it was told about and serves
  ``GET /v1/jwks``; it records what it was asked.
* ``key_id_header`` - the ``X-KeyID`` value for a keys_changed_at and a
  client state in hex.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

OLDSYNC = "https://identity.mozilla.com/apps/oldsync"
# The master secret and public URL the token server tests configure.
MASTER_SECRET = "test-master-secret"
PUBLIC_URL = "https://sync.example.test/"


def key_id_header(keys_changed_at: int, client_state_hex: str) -> str:
    state = base64.urlsafe_b64encode(bytes.fromhex(client_state_hex)).rstrip(b"=")
    return f"{keys_changed_at}-{state.decode('ascii')}"


class SigningKey:
    def __init__(self, kid: str | None = None):
        self.kid = kid or uuid.uuid4().hex[:8]
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def jwks_json(self) -> str:
        return json.dumps({"keys": [self.public_jwk()]})

    def access_token(self, fxa_uid: str, *, scope: str | list[str] = OLDSYNC,
                     generation: int | None = None, lifetime_seconds: int = 3600,
                     typ: str = "at+jwt", issuer: str = "https://accounts.example.test",
                     now: float | None = None, **claims: Any) -> str:
        """An RS256 JWT access token as an OAuth server issues it."""
        issued = int(time.time() if now is None else now)
        payload: dict[str, Any] = {"sub": fxa_uid, "scope": scope, "iss": issuer,
                                   "aud": "sync-client", "client_id": "sync-client",
                                   "iat": issued, "exp": issued + lifetime_seconds,
                                   "jti": uuid.uuid4().hex}
        if generation is not None:
            payload["fxa-generation"] = generation
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, self.private_key, algorithm="RS256",
                          headers={"typ": typ, "kid": self.kid})


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/v1/jwks":
            self.server.owner.jwks_requests += 1
            self._answer(200, {"keys": self.server.owner.jwks})
        else:
            self._answer(404, {"message": "not found"})

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        owner.requests.append((self.path, self.headers.get("Content-Type"), raw))
        if self.path != "/v1/verify":
            self._answer(404, {"message": "not found"})
            return
        try:
            token = json.loads(raw)["token"]
        except (ValueError, KeyError, TypeError):
            self._answer(400, {"code": 400, "message": "invalid request"})
            return
        if owner.failure is not None:
            self._answer(*owner.failure)
        elif token in owner.tokens:
            self._answer(200, owner.tokens[token])
        else:
            self._answer(401, {"code": 401, "errno": 108, "message": "Invalid token"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: OAuthServer


class OAuthServer:
    """A loopback OAuth server; use as a context manager."""

    def __init__(self) -> None:
        self.tokens: dict[str, Any] = {}
        self.jwks: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str | None, bytes]] = []
        self.jwks_requests = 0
        self.failure: tuple[int, Any] | None = None
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def grant(self, token: str, fxa_uid: str, scope: list[str] | None = None,
              generation: int | None = None, **extra: Any) -> None:
        """Make ``/v1/verify`` accept ``token`` for this account."""
        self.tokens[token] = {"user": fxa_uid, "client_id": "sync-client",
                              "scope": [OLDSYNC] if scope is None else scope,
                              "generation": generation, **extra}

    def __enter__(self) -> OAuthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
