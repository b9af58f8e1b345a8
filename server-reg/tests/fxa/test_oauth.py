"""OAuth for Firefox (accounts-firefox.md §3, §4): codes with PKCE bound to the
page's keys_jwe, refresh tokens, the fxa-credentials grant, JWT access tokens
that this process's token server accepts, and the JWK set."""
from __future__ import annotations

import secrets

import jwt
import pytest

from syncreg.fxa.oauth import OLDSYNC, pkce_challenge
from syncreg.fxa.testing import (
    FIREFOX_CLIENT_ID,
    BrowserKey,
    b64url,
    encrypt_jwe,
    key_id,
    stretch,
    xor,
)

EMAIL = "alice@example.com"
PASSWORD = "correct horse battery"
TOKEN_PATH = "/1.0/sync/1.5"


@pytest.fixture
def alice(client):
    return client.sign_up(EMAIL, PASSWORD)


def authorize(client, signed_in, verifier: str, *, status: int = 200, **changes):
    browser = BrowserKey()
    body = {"client_id": FIREFOX_CLIENT_ID, "state": "state-1", "scope": f"{OLDSYNC} profile",
            "access_type": "offline", "response_type": "code",
            "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
            "keys_jwe": encrypt_jwe(browser.public_jwk(), b'{"sealed": "for firefox"}')}
    body.update(changes)
    body = {name: value for name, value in body.items() if value is not None}
    return client.post("/v1/oauth/authorization", body, session=signed_in.session_token,
                       status=status)


def exchange(client, code: str, verifier: str, *, status: int = 200, session=None, **changes):
    body = {"grant_type": "authorization_code", "client_id": FIREFOX_CLIENT_ID, "code": code,
            "code_verifier": verifier, **changes}
    return client.post("/v1/oauth/token", body, session=session, status=status)


def sync_token(app, access_token: str, kid: str, status: int = 200):
    return app.get(TOKEN_PATH, headers={"Authorization": f"Bearer {access_token}",
                                        "X-KeyID": kid}, status=status)


def test_firefox_gets_the_pages_key_and_a_token_the_token_server_takes(client, alice,
                                                                     fxa_app):
    tokens, scoped_keys = client.connect_firefox(alice)
    key = scoped_keys[OLDSYNC]
    assert key["kid"] == key_id(alice.kb, int(key["kid"].split("-")[0]))
    assert set(tokens) >= {"access_token", "refresh_token", "keys_jwe", "token_type",
                           "expires_in", "scope"}
    # Firefox calls includes() on the scope: a string naming the sync scope.
    assert isinstance(tokens["scope"], str) and OLDSYNC in tokens["scope"].split()
    credentials = sync_token(fxa_app, tokens["access_token"], key["kid"]).json
    assert credentials["api_endpoint"] == f"http://localhost/1.5/{credentials['uid']}"


def test_access_tokens_are_rs256_jwts_with_what_the_token_server_reads(client, alice,
                                                                      fxa_app):
    tokens, _keys = client.connect_firefox(alice)
    header = jwt.get_unverified_header(tokens["access_token"])
    jwks = fxa_app.get("/v1/jwks").json["keys"]
    assert header["alg"] == "RS256" and header["typ"] == "at+jwt"
    assert [key["kid"] for key in jwks] == [header["kid"]]
    assert not {"d", "p", "q"} & set(jwks[0])  # public half only
    claims = jwt.decode(tokens["access_token"], jwt.PyJWK(jwks[0]).key, algorithms=["RS256"],
                        options={"verify_aud": False})
    account = fxa_app.app.registry.accounts_store.get_account(alice.uid)
    assert claims["sub"] == alice.uid and claims["iss"] == "http://localhost"
    assert claims["fxa-generation"] == account.verifier_set_at
    assert set(claims["scope"].split()) == {OLDSYNC, "profile"}


def test_keys_jwe_is_handed_over_unopened(client, alice):
    verifier = b64url(secrets.token_bytes(32))
    browser = BrowserKey()
    sealed = encrypt_jwe(browser.public_jwk(), b'{"k": "only firefox reads this"}')
    code = authorize(client, alice, verifier, keys_jwe=sealed).json["code"]
    tokens = exchange(client, code, verifier, session=alice.session_token).json
    assert tokens["keys_jwe"] == sealed
    assert browser.decrypt(tokens["keys_jwe"]) == b'{"k": "only firefox reads this"}'


def test_a_code_works_once_with_its_verifier(client, alice):
    verifier = b64url(secrets.token_bytes(32))
    grant = authorize(client, alice, verifier).json
    assert grant["state"] == "state-1"
    assert grant["redirect"].startswith("http://localhost/oauth/success/" + FIREFOX_CLIENT_ID)
    other_verifier = b64url(secrets.token_bytes(32))
    assert exchange(client, grant["code"], other_verifier, status=400).json["errno"] == 107
    # A refused attempt used the code up too: codes are taken atomically.
    assert exchange(client, grant["code"], verifier, status=400).json["errno"] == 107

    grant = authorize(client, alice, verifier).json
    exchange(client, grant["code"], verifier)
    assert exchange(client, grant["code"], verifier, status=400).json["errno"] == 107


def test_a_code_is_bound_to_its_client_and_account(client, alice):
    verifier = b64url(secrets.token_bytes(32))
    code = authorize(client, alice, verifier).json["code"]
    assert exchange(client, code, verifier, client_id="8269bacd7bbc7f80",
                    status=400).json["errno"] == 107
    bob = client.sign_up("bob@example.com", PASSWORD)
    code = authorize(client, alice, verifier).json["code"]
    assert exchange(client, code, verifier, session=bob.session_token,
                    status=400).json["errno"] == 107


def test_expired_codes_are_refused(client, alice, fxa_app):
    verifier = b64url(secrets.token_bytes(32))
    code = authorize(client, alice, verifier).json["code"]
    accounts = fxa_app.app.registry.accounts
    real_clock = accounts._clock
    accounts._clock = lambda: real_clock() + 3600
    try:
        assert exchange(client, code, verifier, status=400).json["errno"] == 107
    finally:
        accounts._clock = real_clock


@pytest.mark.parametrize("changes, errno", [
    ({"client_id": "0123456789abcdef"}, 162),
    ({"code_challenge_method": "plain"}, 107),
    ({"code_challenge": "short"}, 107),
    ({"state": None}, 107),
    ({"scope": "https://identity.mozilla.com/apps/send"}, 107),
    ({"keys_jwe": None}, 108),
    ({"keys_jwe": "not.a.jwe"}, 107),
    ({"response_type": "token"}, 107),
])
def test_authorization_refuses(client, alice, changes, errno):
    verifier = b64url(secrets.token_bytes(32))
    assert authorize(client, alice, verifier, status=400, **changes).json["errno"] == errno


def test_authorization_needs_a_session(client):
    body = {"client_id": FIREFOX_CLIENT_ID, "scope": "profile", "state": "s",
            "code_challenge": "x" * 43, "code_challenge_method": "S256"}
    assert client.post("/v1/oauth/authorization", body, status=401).json["errno"] == 110


def test_refresh_tokens_give_access_tokens_until_destroyed(client, alice, fxa_app):
    tokens, keys = client.connect_firefox(alice)
    refresh = {"grant_type": "refresh_token", "client_id": FIREFOX_CLIENT_ID,
               "refresh_token": tokens["refresh_token"]}
    fresh = client.post("/v1/oauth/token", {**refresh, "scope": OLDSYNC, "ttl": 60}).json
    assert fresh["scope"] == OLDSYNC and fresh["expires_in"] == 60
    sync_token(fxa_app, fresh["access_token"], keys[OLDSYNC]["kid"])
    wider = client.post("/v1/oauth/token", {**refresh, "scope": f"{OLDSYNC} profile:write"},
                        status=400)
    assert wider.json["errno"] == 107
    # Firefox destroys the refresh token right after signing in.
    client.post("/v1/oauth/destroy", {"client_id": FIREFOX_CLIENT_ID,
                                      "token": tokens["refresh_token"]})
    assert client.post("/v1/oauth/token", refresh, status=400).json["errno"] == 110
    # Unknown tokens and access tokens (stateless) are accepted quietly.
    client.post("/v1/oauth/destroy", {"token": "0" * 64})
    client.post("/v1/oauth/destroy", {"token": fresh["access_token"]})


def test_the_credentials_grant_what_sync_asks_every_few_hours(client, alice, fxa_app):
    _tokens, keys = client.connect_firefox(alice)
    body = {"grant_type": "fxa-credentials", "client_id": FIREFOX_CLIENT_ID,
            "scope": OLDSYNC, "ttl": 6 * 3600}
    granted = client.post("/v1/oauth/token", body, session=alice.session_token).json
    assert granted["expires_in"] == 6 * 3600 and granted["scope"] == OLDSYNC
    sync_token(fxa_app, granted["access_token"], keys[OLDSYNC]["kid"])
    capped = client.post("/v1/oauth/token", {**body, "ttl": 10**9},
                         session=alice.session_token).json
    assert capped["expires_in"] == 86400
    assert client.post("/v1/oauth/token", body, status=401).json["errno"] == 110
    assert client.post("/v1/oauth/token", {**body, "ttl": "long"}, session=alice.session_token,
                       status=400).json["errno"] == 107
    assert client.post("/v1/oauth/token", {**body, "grant_type": "password"},
                       status=400).json["errno"] == 107


def test_the_verify_endpoint_for_a_token_server_elsewhere(client, alice, fxa_app):
    tokens, _keys = client.connect_firefox(alice)
    verified = client.post("/v1/verify", {"token": tokens["access_token"]}).json
    assert verified["user"] == alice.uid and OLDSYNC in verified["scope"]
    assert verified["client_id"] == FIREFOX_CLIENT_ID
    assert client.post("/v1/verify", {"token": "junk"}, status=401).json["errno"] == 110


def test_the_token_server_sees_a_stable_kid_and_a_growing_generation(client, alice, fxa_app):
    """Password change: same kid, newer generation, same storage uid."""
    tokens, keys = client.connect_firefox(alice)
    kid = keys[OLDSYNC]["kid"]
    before = sync_token(fxa_app, tokens["access_token"], kid).json["uid"]
    fresh = stretch(EMAIL, "a brand new password")
    client.post("/v1/password/change", {
        "oldAuthPW": alice.keys.auth_pw.hex(), "authPW": fresh.auth_pw.hex(),
        "wrapKB": xor(alice.kb, fresh.unwrap_b_key).hex()}, session=alice.session_token)
    again = client.sign_in(EMAIL, "a brand new password")
    tokens, keys = client.connect_firefox(again)
    assert keys[OLDSYNC]["kid"] == kid
    generation = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert generation["fxa-generation"] > int(kid.split("-")[0])
    assert sync_token(fxa_app, tokens["access_token"], kid).json["uid"] == before


def test_unverified_accounts_get_no_tokens(client, fxa_mail, database_url):
    from synccore.testing import make_settings, make_test_app
    from syncreg.fxa.testing import AccountsClient
    app = make_test_app(make_settings(database_url, **fxa_mail.settings(), **{
        "accounts.enabled": "true", "master_secret": "s", "tokenserver.oauth_server_url": ""}))
    unverified = AccountsClient(app).sign_up("carol@example.com", PASSWORD)
    assert unverified.verified is False
    assert AccountsClient(app).post("/v1/oauth/token", {
        "grant_type": "fxa-credentials", "client_id": FIREFOX_CLIENT_ID, "scope": OLDSYNC},
        session=unverified.session_token, status=400).json["errno"] == 104
    assert AccountsClient(app).post("/v1/account/scoped-key-data", {
        "client_id": FIREFOX_CLIENT_ID, "scope": OLDSYNC},
        session=unverified.session_token, status=400).json["errno"] == 104
