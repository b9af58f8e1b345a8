"""Verification by the OAuth server's verify URL (tokenserver-1.0 §3.2), against a
real HTTP server on loopback."""
from __future__ import annotations

import json
import socket
import time

import pytest

from synccore.testing import make_settings, make_test_app
from syncreg.tokenserver.oauth import VerifierUnavailableError
from syncreg.tokenserver.oauth.remote import RemoteVerifier
from syncreg.tokenserver.testing import OLDSYNC, OAuthServer, key_id_header


@pytest.fixture
def oauth_server():
    with OAuthServer() as server:
        yield server


def make_app(database_url, oauth_url: str, mode: str = "remote", **settings):
    return make_test_app(make_settings(database_url, master_secret="s", **{
        "tokenserver.oauth_verifier": mode, "tokenserver.oauth_server_url": oauth_url,
        "tokenserver.oauth_timeout_seconds": "2", "server.retry_after_seconds": "120",
        **settings}))


def ask(app, bearer: str, key_id: str = "1-qqo", status: int = 200):
    return app.get("/1.0/sync/1.5", headers={"Authorization": f"Bearer {bearer}",
                                             "X-KeyID": key_id}, status=status)


def assert_unavailable(response) -> None:
    assert response.status_int == 503
    assert response.headers["Retry-After"] == "120"
    assert response.json == {"status": "error", "errors": [
        {"location": "body", "name": "", "description": "Resource is not available"}]}


def assert_refused(response, status: str = "invalid-credentials") -> None:
    assert response.status_int == 401
    assert response.json["status"] == status


def test_verified_token(database_url, oauth_server, fxa_uid):
    oauth_server.grant("opaque-token", fxa_uid, generation=1234)
    app = make_app(database_url, oauth_server.url)
    body = ask(app, "opaque-token", key_id_header(1234, "aaaa")).json
    assert body["api_endpoint"].endswith(f"/1.5/{body['uid']}")
    path, content_type, raw = oauth_server.requests[-1]
    assert (path, content_type, json.loads(raw)) == (
        "/v1/verify", "application/json", {"token": "opaque-token"})
    # The generation the OAuth server reported is enforced from now on.
    oauth_server.grant("older-token", fxa_uid, generation=1000)
    assert_refused(ask(app, "older-token", key_id_header(1234, "aaaa"), 401),
                   "invalid-generation")


def test_explicit_verify_url(database_url, oauth_server, fxa_uid):
    oauth_server.grant("opaque-token", fxa_uid)
    app = make_app(database_url, "", **{
        "tokenserver.oauth_verify_url": oauth_server.url + "/v1/verify"})
    ask(app, "opaque-token")


def test_unknown_token(database_url, oauth_server):
    assert_refused(ask(make_app(database_url, oauth_server.url), "unknown", status=401))


def test_scope_without_oldsync(database_url, oauth_server, fxa_uid):
    oauth_server.grant("profile-only", fxa_uid, scope=["profile"])
    assert_refused(ask(make_app(database_url, oauth_server.url), "profile-only", status=401))


@pytest.mark.parametrize("answer", [
    {"client_id": "c", "scope": [OLDSYNC]},
    {"user": "ab" * 16, "scope": [OLDSYNC]},
    {"user": "ab" * 16, "client_id": "c"},
    {"user": "ab" * 16, "client_id": "c", "scope": [OLDSYNC], "generation": "x"},
    ["not", "an", "object"],
])
def test_incomplete_answer(database_url, oauth_server, answer):
    oauth_server.tokens["odd"] = answer
    response = ask(make_app(database_url, oauth_server.url), "odd", status=401)
    assert response.json["status"] in ("invalid-credentials", "invalid-generation")


def test_oauth_server_failing(database_url, oauth_server, fxa_uid):
    oauth_server.grant("opaque-token", fxa_uid)
    oauth_server.failure = (500, {"message": "down"})
    assert_unavailable(ask(make_app(database_url, oauth_server.url), "opaque-token",
                           status=503))


def test_oauth_server_not_json(database_url, oauth_server, fxa_uid):
    oauth_server.failure = (200, b"<html>hello</html>")
    assert_refused(ask(make_app(database_url, oauth_server.url), "opaque-token", status=401))


def test_oauth_server_unreachable(database_url):
    with OAuthServer() as server:
        url = server.url  # closed when the block ends: connections are refused
    assert_unavailable(ask(make_app(database_url, url), "opaque-token", status=503))


def test_oauth_server_timeout(database_url):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        host, port = silent.getsockname()
        app = make_app(database_url, f"http://{host}:{port}",
                       **{"tokenserver.oauth_timeout_seconds": "0.2"})
        assert_unavailable(ask(app, "opaque-token", status=503))


def test_auto_mode_sends_only_opaque_tokens(database_url, oauth_server, signing_key,
                                            fxa_uid):
    from syncreg.tokenserver.testing import SigningKey
    oauth_server.grant("opaque-token", fxa_uid)
    app = make_app(database_url, oauth_server.url, mode="auto",
                   **{"tokenserver.jwks": signing_key.jwks_json()})
    ask(app, "opaque-token")
    assert len(oauth_server.requests) == 1
    ask(app, signing_key.access_token(fxa_uid))
    assert_refused(ask(app, SigningKey("stranger").access_token(fxa_uid), status=401))
    assert len(oauth_server.requests) == 1  # JWTs were judged locally


def test_auto_mode_judges_bad_jwts_locally(database_url, oauth_server, signing_key,
                                          fxa_uid):
    """§3.1: an expired JWT or one of the wrong type is refused without asking
    the verify URL, even if the OAuth server would accept it."""
    app = make_app(database_url, oauth_server.url, mode="auto",
                   **{"tokenserver.jwks": signing_key.jwks_json()})
    for token in (signing_key.access_token(fxa_uid, now=time.time() - 7200),
                  signing_key.access_token(fxa_uid, typ="JWT")):
        oauth_server.grant(token, fxa_uid)
        assert_refused(ask(app, token, status=401))
    assert oauth_server.requests == []


def test_auto_mode_with_the_oauth_server_down(database_url, signing_key, fxa_uid):
    """§3.2: keys and verify URL both out of reach → 503, whatever the token."""
    with OAuthServer() as server:
        url = server.url
    app = make_app(database_url, url, mode="auto")
    assert_unavailable(ask(app, signing_key.access_token(fxa_uid), status=503))
    assert_unavailable(ask(app, "opaque-token", status=503))


def test_auto_mode_without_keys_uses_the_verify_url(database_url, oauth_server, signing_key,
                                                    fxa_uid):
    # No key configured and the published key set is empty: JWTs go to /v1/verify.
    jwt_token = signing_key.access_token(fxa_uid)
    oauth_server.grant(jwt_token, fxa_uid)
    ask(make_app(database_url, oauth_server.url, mode="auto"), jwt_token)
    assert [path for path, _type, _body in oauth_server.requests] == ["/v1/verify"]


def test_remote_verifier_on_its_own(oauth_server):
    oauth_server.grant("t", "ab" * 16, scope=f"profile {OLDSYNC}", generation=5)
    identity = RemoteVerifier(oauth_server.url + "/v1/verify").verify("t")
    assert (identity.fxa_uid, identity.generation, identity.client_id, identity.scopes) == (
        "ab" * 16, 5, "sync-client", frozenset({"profile", OLDSYNC}))
    with pytest.raises(VerifierUnavailableError):
        RemoteVerifier("http://127.0.0.1:9/v1/verify", timeout_seconds=1).verify("t")
