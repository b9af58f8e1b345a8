"""Hawk authentication with token-server tokens (storage-1.5 §2, §11 "Auth")."""
from __future__ import annotations

import base64
import json
import time

import hawkauthlib
import pytest
import tokenlib
from webtest import TestRequest

from syncstorage.testing15 import TEST_SECRET, HawkClient, make_token


def assert_unauthorized(response) -> None:
    """§2: 401, JSON body 0, the Hawk challenge, and the server time for skew fixes."""
    assert response.status_int == 401
    assert response.body == b"0"
    assert response.content_type == "application/json"
    assert response.headers["WWW-Authenticate"] == "Hawk"
    assert "X-Weave-Timestamp" in response.headers


def test_valid_token_is_accepted(client):
    """§11: a valid Hawk request gets 200 on /info/collections."""
    response = client.get("/info/collections")
    assert response.status_int == 200
    assert response.json == {}


def test_missing_header(client):
    assert_unauthorized(client.get("/info/collections", sign=False, status=401))


def test_every_route_requires_hawk(client):
    """§2, §5.5: every protocol request needs Hawk (/info/configuration too)."""
    client.put("/storage/c/a", {"payload": "x"})
    for method, path in [("GET", "/info/collections"), ("GET", "/info/quota"),
                         ("GET", "/info/collection_usage"),
                         ("GET", "/info/collection_counts"),
                         ("GET", "/info/configuration"), ("DELETE", ""),
                         ("DELETE", "/storage"), ("GET", "/storage/c"),
                         ("POST", "/storage/c"), ("DELETE", "/storage/c"),
                         ("GET", "/storage/c/a"), ("PUT", "/storage/c/a"),
                         ("DELETE", "/storage/c/a")]:
        body = b'{"payload": "y"}' if method == "PUT" else b"[]" if method == "POST" else None
        assert_unauthorized(client.request(method, path, body=body, sign=False, status=401))
    assert client.get("/storage/c/a").json["payload"] == "x"


@pytest.mark.parametrize("header", [
    "Basic dXNlcjpwYXNz",
    "hawk id=\"x\", ts=\"1\", nonce=\"n\", mac=\"m\"",  # scheme is case-sensitive
    "Hawk",
    "Hawk id=",
    'Hawk id="abc" ts="1"',
    "Hawk garbage without equals",
])
def test_garbled_or_foreign_authorization(client, header):
    """§2 steps 1-2: missing/garbled header or non-Hawk scheme → 401."""
    response = client.get("/info/collections", sign=False, status=401,
                          headers={"Authorization": header})
    assert_unauthorized(response)


def test_missing_hawk_parameter(client):
    """§2 step 2: id, ts, nonce and mac are all required."""
    signed = client.get("/info/collections").request.headers["Authorization"]
    without_nonce = ", ".join(part for part in signed.split(", ")
                              if not part.startswith("nonce="))
    response = client.get("/info/collections", sign=False, status=401,
                          headers={"Authorization": without_nonce})
    assert_unauthorized(response)


def test_wrong_mac(app15):
    """§11: a MAC made with another key → 401."""
    token, _ = make_token(42)
    _, other_key = make_token(42)
    assert_unauthorized(HawkClient(app15, 42, token=token, key=other_key)
                        .get("/info/collections", status=401))


def test_tampered_token(app15):
    """§11: changing the token payload breaks its signature → 401."""
    token, key = make_token(42)
    raw = base64.urlsafe_b64decode(token)
    tampered = base64.urlsafe_b64encode(raw.replace(b'"uid": 42', b'"uid": 43')).decode()
    assert tampered != token
    assert_unauthorized(HawkClient(app15, 43, token=tampered, key=key)
                        .get("/info/collections", status=401))


@pytest.mark.parametrize("token", ["not base64!", "c2hvcnQ=", "x", "AAAA" * 8])
def test_undecodable_or_short_token(app15, token):
    """§2 step 3: bad base64 or an id of 32 bytes or less → 401."""
    client = HawkClient(app15, 42, token=token, key="key")
    assert_unauthorized(client.get("/info/collections", status=401))


def test_token_of_a_foreign_secret(app15):
    """§11: a token minted with another master secret → 401."""
    token, key = make_token(42, secret="someone-elses-secret")
    assert_unauthorized(HawkClient(app15, 42, token=token, key=key)
                        .get("/info/collections", status=401))


def _signed_token(payload: bytes, secret: str = TEST_SECRET) -> str:
    """A correctly signed token around an arbitrary payload (tokenlib's layout)."""
    manager = tokenlib.TokenManager(secret=secret)
    return base64.urlsafe_b64encode(payload + manager._get_signature(payload)).decode()


@pytest.mark.parametrize("payload", [
    b"not json",
    b"[1, 2]",
    json.dumps({"node": "http://localhost", "expires": 9e9, "salt": "a"}).encode(),
    json.dumps({"uid": "42", "node": "http://localhost", "expires": 9e9,
                "salt": "a"}).encode(),
    json.dumps({"uid": -1, "node": "http://localhost", "expires": 9e9, "salt": "a"}).encode(),
    json.dumps({"uid": 42, "node": "http://localhost", "salt": "a"}).encode(),
    json.dumps({"uid": 42, "node": "http://localhost", "expires": "soon",
                "salt": "a"}).encode(),
    json.dumps({"uid": 42, "node": "http://localhost", "expires": 9e9}).encode(),
    json.dumps({"uid": 42, "node": "http://localhost", "expires": 9e9, "salt": "a",
                "fxa_uid": "not/valid"}).encode(),
    json.dumps({"uid": 42, "node": "http://localhost", "expires": 9e9, "salt": "a",
                "hashed_fxa_uid": "abc"}).encode(),
])
def test_bad_claims(app15, payload):
    """§2 step 5, §2.1: bad JSON or a missing/invalid claim → 401."""
    token = _signed_token(payload)
    key = "a-key"
    if payload.startswith(b"{") and b'"salt"' in payload:
        key = tokenlib.get_derived_secret(token, secret=TEST_SECRET)
    assert_unauthorized(HawkClient(app15, 42, token=token, key=key)
                        .get("/info/collections", status=401))


def test_unknown_claims_are_ignored(app15):
    """§2 step 5: unknown keys (e.g. tokenserver_origin) are ignored."""
    client = HawkClient(app15, 42, tokenserver_origin="rust", hashed_device_id="abc123",
                        hashed_fxa_uid="c0e0d0d186810ad2f8446a471166b220")
    assert client.get("/info/collections").status_int == 200


def test_uid_must_match_the_path(app15):
    """§11: a token for uid 42 on /1.5/43/... → 401 (we follow [Py], not 400)."""
    client = HawkClient(app15, 42)
    response = client.get(url="/1.5/43/info/collections", status=401)
    assert_unauthorized(response)
    assert_unauthorized(client.put(None, {"payload": "x"}, url="/1.5/43/storage/c/a",
                                   status=401))


def test_recently_expired_token_reaches_info_collections_only(app15):
    """§2.2, §11: expired 1 h ago → /info/collections 200, everything else 401."""
    client = HawkClient(app15, 42, expires=time.time() - 3600)
    assert client.get("/info/collections").status_int == 200
    assert_unauthorized(client.get("/storage/x", status=401))
    assert_unauthorized(client.get("/info/quota", status=401))
    assert_unauthorized(client.put("/storage/x/a", {"payload": "p"}, status=401))


def test_long_expired_token_is_refused_everywhere(app15):
    """§2.2, §11: expired 3 h ago (beyond the 2 h grace) → 401 on both."""
    client = HawkClient(app15, 42, expires=time.time() - 3 * 3600)
    assert_unauthorized(client.get("/info/collections", status=401))
    assert_unauthorized(client.get("/storage/x", status=401))


def test_grace_window_is_configurable(make_app15):
    """§2.2: expired_token_grace_seconds sets the window."""
    app = make_app15(**{"storage15.expired_token_grace_seconds": 60})
    client = HawkClient(app, 42, expires=time.time() - 120)
    assert_unauthorized(client.get("/info/collections", status=401))


def test_token_for_another_node(app15, make_app15):
    """§2 step 7: a token minted for another node is refused (configurable)."""
    client = HawkClient(app15, 42, node="https://other-node.example.com")
    assert_unauthorized(client.get("/info/collections", status=401))
    relaxed = make_app15(**{"storage15.check_token_node": "false"})
    client = HawkClient(relaxed, 42, node="https://other-node.example.com")
    assert client.get("/info/collections").status_int == 200


def test_node_comparison_ignores_default_port_and_trailing_slash(app15):
    client = HawkClient(app15, 42, node="HTTP://LOCALHOST:80/")
    assert client.get("/info/collections").status_int == 200


def test_clock_skew_beyond_the_window_gets_server_time(client):
    """Skew: a ts two days off → 401 carrying X-Weave-Timestamp to correct the clock."""
    response = client.get("/info/collections", status=401,
                          hawk_params={"ts": str(int(time.time()) - 2 * 86400)})
    assert_unauthorized(response)
    server_time = float(response.headers["X-Weave-Timestamp"])
    assert abs(server_time - time.time()) < 60
    # Re-signed with the server's time, the request succeeds.
    assert client.get("/info/collections",
                      hawk_params={"ts": str(int(server_time))}).status_int == 200


def test_skew_within_the_window_is_accepted(client):
    response = client.get("/info/collections",
                          hawk_params={"ts": str(int(time.time()) - 3 * 3600)})
    assert response.status_int == 200


def test_skew_window_is_configurable(make_app15):
    app = make_app15(**{"storage15.hawk_timestamp_skew_seconds": 30})
    client = HawkClient(app, 42)
    assert_unauthorized(client.get("/info/collections", status=401,
                                   hawk_params={"ts": str(int(time.time()) - 120)}))


def test_replayed_nonce_is_refused(client):
    """A request replayed with the same token, ts and nonce → 401."""
    params = {"ts": str(int(time.time())), "nonce": "b25jZS1vbmx5"}
    assert client.get("/info/collections", hawk_params=params).status_int == 200
    assert_unauthorized(client.get("/info/collections", hawk_params=params, status=401))
    # A fresh nonce is fine, and so is the same nonce under another token.
    assert client.get("/info/collections").status_int == 200
    other = HawkClient(client.app, 42)
    assert other.get("/info/collections", hawk_params=params).status_int == 200


def test_payload_hash_is_not_verified(client):
    """§2: a hash parameter enters the MAC but the body is not hashed."""
    params = {"hash": "bm90IHRoZSByZWFsIGhhc2g="}
    response = client.put("/storage/c/a", {"payload": "x"}, hawk_params=params)
    assert response.status_int == 200


def test_ext_parameter_is_part_of_the_mac(client):
    assert client.get("/info/collections", hawk_params={"ext": "app-data"}).status_int == 200
    signed = client.get("/info/collections", hawk_params={"ext": "one"}) \
        .request.headers["Authorization"]
    forged = signed.replace('ext="one"', 'ext="two"')
    assert_unauthorized(client.get("/info/collections", sign=False, status=401,
                                   headers={"Authorization": forged}))


def test_behind_a_tls_proxy(client):
    """§2: X-Forwarded-Proto https makes the default port 443, as the client signed."""
    request = TestRequest.blank("https://localhost/1.5/42/info/collections")
    hawkauthlib.sign_request(request, client.token, client.key)
    forwarded = TestRequest.blank("/1.5/42/info/collections")
    forwarded.headers["Host"] = "localhost"
    forwarded.headers["X-Forwarded-Proto"] = "https"
    forwarded.headers["Authorization"] = request.headers["Authorization"]
    assert client.app.do_request(forwarded).status_int == 200


def test_proxy_rewriting_host_matches_the_public_url(make_app15):
    """§2: a proxy that rewrites Host still verifies against server.public_url."""
    app = make_app15(**{"server.public_url": "https://sync.example.com/"})
    client = HawkClient(app, 42, node="https://sync.example.com")
    public = TestRequest.blank("https://sync.example.com/1.5/42/info/collections")
    hawkauthlib.sign_request(public, client.token, client.key)
    internal = TestRequest.blank("http://backend:8000/1.5/42/info/collections")
    internal.headers["Authorization"] = public.headers["Authorization"]
    assert app.do_request(internal).status_int == 200


def test_master_secret_from_environment_with_rotation(make_app15, monkeypatch):
    """SYNC_MASTER_SECRET overrides the ini; every listed secret verifies."""
    monkeypatch.setenv("SYNC_MASTER_SECRET", "new-secret, old-secret")
    app = make_app15()
    for secret in ("new-secret", "old-secret"):
        client = HawkClient(app, 42, secret=secret)
        assert client.get("/info/collections").status_int == 200
    stale = HawkClient(app, 42, secret=TEST_SECRET)
    assert_unauthorized(stale.get("/info/collections", status=401))


def test_without_master_secret_nothing_is_accepted(make_app15):
    app = make_app15(master_secret="")
    assert_unauthorized(HawkClient(app, 42).get("/info/collections", status=401))
