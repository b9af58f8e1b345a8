"""GET /1.0/sync/1.5: the success answer and every request-level error
(tokenserver-1.0 §2, §3.3, §7, §9)."""
from __future__ import annotations

import json

import pytest
import tokenlib

from synccore.testing import make_settings, make_test_app
from syncreg.tokenserver.minting import TokenMinter
from syncreg.tokenserver.testing import MASTER_SECRET, PUBLIC_URL, key_id_header

FIELDS = {"id", "key", "uid", "api_endpoint", "duration", "hashalg", "hashed_fxa_uid",
          "node_type"}


def assert_error(response, http_status: int, status: str, location: str, name: str,
                 description: str) -> None:
    assert response.status_int == http_status
    assert response.content_type == "application/json"
    assert response.json == {"status": status, "errors": [
        {"location": location, "name": name, "description": description}]}
    assert response.headers["X-Timestamp"].isdigit()


# -- success -------------------------------------------------------------------

def test_new_account_gets_credentials(signing_key, get_token, fxa_uid, ts_app):
    response = get_token(signing_key.access_token(fxa_uid, generation=1234), "1234-qqo")
    body = response.json
    assert set(body) == FIELDS
    assert response.content_type == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    timestamp = int(response.headers["X-Timestamp"])
    uid = body["uid"]
    assert isinstance(uid, int) and uid >= 2**31  # never a Sync 1.1 user id
    assert body["api_endpoint"] == f"{PUBLIC_URL}1.5/{uid}"
    assert (body["duration"], body["hashalg"], body["node_type"]) == (3600, "sha256", None)

    # The id/key pair is a tokenlib token the storage node can check.
    data = tokenlib.parse_token(body["id"], secret=MASTER_SECRET, now=timestamp)
    assert data["uid"] == uid
    assert data["node"] == PUBLIC_URL
    assert data["expires"] == timestamp + 3600
    assert data["fxa_uid"] == fxa_uid
    assert data["fxa_kid"] == "0000000001234-qqo"
    assert data["hashed_fxa_uid"] == body["hashed_fxa_uid"]
    assert len(body["hashed_fxa_uid"]) == 32
    assert len(data["hashed_device_id"]) == 32
    assert tokenlib.get_derived_secret(body["id"], secret=MASTER_SECRET) == body["key"]
    with pytest.raises(ValueError):
        tokenlib.parse_token(body["id"], secret="another secret", now=timestamp)

    history = ts_app.app.registry.tokenserver_users.get_user_history(
        "sync-1.5", f"{fxa_uid}@api.accounts.firefox.com")
    row = history.current
    assert (row.uid, row.generation, row.keys_changed_at, row.client_state, row.node) == (
        uid, 1234, 1234, "aaaa", PUBLIC_URL)


def test_same_request_keeps_the_uid(sync_token, ts_app, fxa_uid):
    first = sync_token(1234, 1234, "aaaa").json
    second = sync_token(1234, 1234, "aaaa").json
    assert second["uid"] == first["uid"]
    assert second["id"] != first["id"]  # a fresh salt every time
    history = ts_app.app.registry.tokenserver_users.get_user_history(
        "sync-1.5", f"{fxa_uid}@api.accounts.firefox.com")
    assert history.old_client_states == frozenset()


def test_fxa_kid_falls_back_to_generation(signing_key, get_token, fxa_uid):
    body = get_token(signing_key.access_token(fxa_uid, generation=42), "0-qqo").json
    assert tokenlib.parse_token(body["id"], secret=MASTER_SECRET)["fxa_kid"] == \
        "0000000000042-qqo"


@pytest.mark.parametrize(("query", "expected"), [
    ("?duration=10", 10), ("?duration=3599", 3599), ("?duration=0", 3600),
    ("?duration=abc", 3600), ("?duration=99999999", 3600), ("?duration=-5", 3600),
    ("?duration=3600", 3600), ("", 3600)])
def test_duration_parameter(signing_key, get_token, fxa_uid, query, expected):
    response = get_token(signing_key.access_token(fxa_uid), path="/1.0/sync/1.5" + query)
    assert response.json["duration"] == expected
    data = tokenlib.parse_token(response.json["id"], secret=MASTER_SECRET)
    assert data["expires"] == int(response.headers["X-Timestamp"]) + expected


def test_configured_duration_node_type_and_metrics_secret(database_url, signing_key,
                                                          fxa_uid):
    app = make_test_app(make_settings(
        database_url, master_secret=f"{MASTER_SECRET} older-secret",
        **{"tokenserver.jwks": signing_key.jwks_json(), "tokenserver.oauth_server_url": "",
           "tokenserver.token_duration_seconds": "300", "tokenserver.node_type": "mysql",
           "tokenserver.metrics_hash_secret": "metrics-secret"}))
    response = app.get("/1.0/sync/1.5", headers={
        "Authorization": "Bearer " + signing_key.access_token(fxa_uid), "X-KeyID": "1-qqo"})
    body = response.json
    assert (body["duration"], body["node_type"]) == (300, "mysql")
    metrics = TokenMinter(MASTER_SECRET, "metrics-secret")
    assert body["hashed_fxa_uid"] == metrics.hashed_fxa_uid(fxa_uid)
    data = tokenlib.parse_token(body["id"], secret=MASTER_SECRET)  # the first secret signs
    assert data["hashed_device_id"] == metrics.hashed_device_id(body["hashed_fxa_uid"])


def test_x_client_state_may_repeat_the_key_id(signing_key, get_token, fxa_uid):
    get_token(signing_key.access_token(fxa_uid), "1234-qqo",
              headers={"X-Client-State": "aaaa"})


def test_accept_json_variants(signing_key, get_token, fxa_uid):
    bearer = signing_key.access_token(fxa_uid)
    for accept in ("application/json", "application/json;q=0.9,*/*;q=0.2", "*/*"):
        get_token(bearer, headers={"Accept": accept})


def test_metrics_identifiers_match_the_reference_vector():
    minter = TokenMinter("example-master-secret", "metrics-secret")
    hashed = minter.hashed_fxa_uid("6d940dd41e636cc156074109b8092f96")
    assert hashed == "c0e0d0d186810ad2f8446a471166b220"
    assert minter.hashed_device_id(hashed) == "f77315e2757cb823f70f7c703110817e"


def test_minted_token_round_trips_through_tokenlib():
    minter = TokenMinter("example-master-secret", "metrics-secret")
    credentials = minter.mint(uid=42, node="https://sync.example.com",
                              fxa_uid="6d940dd41e636cc156074109b8092f96",
                              fxa_kid="1700000000000-Yw3NKWbEM2aRElRIu7JbTw",
                              expires=1700003600)
    manager = tokenlib.TokenManager(secret="example-master-secret")
    data = manager.parse_token(credentials.id, now=1700000000)
    assert {key: data[key] for key in ("uid", "node", "expires", "fxa_uid", "fxa_kid",
                                       "hashed_fxa_uid", "hashed_device_id")} == {
        "uid": 42, "node": "https://sync.example.com", "expires": 1700003600,
        "fxa_uid": "6d940dd41e636cc156074109b8092f96",
        "fxa_kid": "1700000000000-Yw3NKWbEM2aRElRIu7JbTw",
        "hashed_fxa_uid": "c0e0d0d186810ad2f8446a471166b220",
        "hashed_device_id": "f77315e2757cb823f70f7c703110817e"}
    assert len(data["salt"]) == 6
    assert manager.get_derived_secret(credentials.id) == credentials.key
    with pytest.raises(ValueError):
        manager.parse_token(credentials.id, now=1700003600)  # expired


# -- request errors ------------------------------------------------------------

def test_no_authorization(get_token):
    assert_error(get_token(None, status=401), 401, "error", "body", "", "Unauthorized")


@pytest.mark.parametrize("authorization", ["Bearer", "garbage", ""])
def test_authorization_without_a_token(ts_app, authorization):
    response = ts_app.get("/1.0/sync/1.5", headers={"Authorization": authorization,
                                                    "X-KeyID": "1-qqo"}, status=401)
    assert_error(response, 401, "error", "body", "", "Unauthorized")


@pytest.mark.parametrize("authorization", ["BrowserID abc.def", "Basic YTpi", "Hawk id=1"])
def test_unsupported_scheme(ts_app, authorization):
    response = ts_app.get("/1.0/sync/1.5", headers={"Authorization": authorization,
                                                    "X-KeyID": "1-qqo"}, status=401)
    assert_error(response, 401, "error", "body", "", "Unsupported")


def test_scheme_is_case_insensitive(ts_app, signing_key, fxa_uid):
    ts_app.get("/1.0/sync/1.5", headers={
        "Authorization": "bearer " + signing_key.access_token(fxa_uid), "X-KeyID": "1-qqo"})


def test_missing_key_id(signing_key, get_token, fxa_uid):
    response = get_token(signing_key.access_token(fxa_uid), None, status=401)
    assert_error(response, 401, "invalid-key-id", "header", "", "Missing X-KeyID header")


@pytest.mark.parametrize("key_id", ["1234qqo", "abc-qqo", "-qqo", "1234-state!", "1234-q",
                                    "12.5-qqo", "1234-qq o", "+12-qqo"])
def test_malformed_key_id(signing_key, get_token, fxa_uid, key_id):
    response = get_token(signing_key.access_token(fxa_uid), key_id, status=401)
    assert_error(response, 401, "invalid-credentials", "body", "", "Unauthorized")


@pytest.mark.parametrize("key_id", ["1234-", "1234-" + "A" * 24])  # 0 and 18 bytes
def test_key_id_state_length(signing_key, get_token, fxa_uid, key_id):
    response = get_token(signing_key.access_token(fxa_uid), key_id, status=400)
    assert_error(response, 400, "error", "header", "X-Client-State",
                 "Invalid client state value")


def test_key_id_example_of_the_spec(signing_key, get_token, fxa_uid, ts_app):
    """§2.1: ``1700000000000-Yw3NKWbEM2aRElRIu7JbTw`` is client state
    630dcd2966c4336691125448bbb25b4f (the first 16 bytes of SHA-256 of kB)."""
    response = get_token(signing_key.access_token(fxa_uid),
                         "1700000000000-Yw3NKWbEM2aRElRIu7JbTw",
                         headers={"X-Client-State": "630dcd2966c4336691125448bbb25b4f"})
    data = tokenlib.parse_token(response.json["id"], secret=MASTER_SECRET)
    assert data["fxa_kid"] == "1700000000000-Yw3NKWbEM2aRElRIu7JbTw"
    row = ts_app.app.registry.tokenserver_users.get_user_history(
        "sync-1.5", f"{fxa_uid}@api.accounts.firefox.com").current
    assert (row.keys_changed_at, row.client_state) == (
        1700000000000, "630dcd2966c4336691125448bbb25b4f")


def test_key_id_padding_is_optional(signing_key, get_token, fxa_uid):
    bearer = signing_key.access_token(fxa_uid)
    assert get_token(bearer, "1234-qqo=").json["uid"] == get_token(bearer, "1234-qqo").json["uid"]


@pytest.mark.parametrize("client_state", ["state!", "a" * 33, ""])
def test_client_state_syntax(signing_key, get_token, fxa_uid, client_state):
    response = get_token(signing_key.access_token(fxa_uid),
                         headers={"X-Client-State": client_state}, status=400)
    assert_error(response, 400, "error", "header", "X-Client-State",
                 "Invalid client state value")


def test_client_state_syntax_is_checked_before_credentials(get_token):
    response = get_token(None, headers={"X-Client-State": "state!"}, status=400)
    assert response.json["errors"][0]["name"] == "X-Client-State"


def test_client_state_differs_from_key_id(signing_key, get_token, fxa_uid):
    response = get_token(signing_key.access_token(fxa_uid), key_id_header(1234, "aaaa"),
                         headers={"X-Client-State": "bbbb"}, status=401)
    assert_error(response, 401, "invalid-client-state", "body", "", "Unauthorized")


def test_unknown_application(ts_app):
    response = ts_app.get("/1.0/xXx/token", status=404)
    assert_error(response, 404, "error", "url", "application", "Unsupported application")


def test_unknown_version(ts_app):
    response = ts_app.get("/1.0/sync/1.2", status=404)
    assert_error(response, 404, "error", "url", "1.2", "Unsupported application version")


def test_unknown_url(ts_app):
    ts_app.get("/1.0/sync", status=404)
    ts_app.get("/1.0/sync/1.5/extra", status=404)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_wrong_method(ts_app, method):
    response = ts_app.request("/1.0/sync/1.5", method=method, expect_errors=True)
    assert response.status_int == 405
    assert response.headers["Allow"] == "GET"
    assert response.content_type == "application/json"
    assert response.headers["X-Timestamp"].isdigit()


def test_unacceptable_accept(signing_key, get_token, fxa_uid):
    response = get_token(signing_key.access_token(fxa_uid),
                         headers={"Accept": "text/html"}, status=406)
    assert response.json["status"] == "error"


def test_trailing_slash(signing_key, get_token, fxa_uid):
    get_token(signing_key.access_token(fxa_uid), path="/1.0/sync/1.5/")


def test_no_master_secret_is_unavailable(database_url, signing_key, fxa_uid):
    app = make_test_app(make_settings(
        database_url, **{"tokenserver.jwks": signing_key.jwks_json(),
                         "tokenserver.oauth_server_url": "", "server.retry_after_seconds": "77"}))
    response = app.get("/1.0/sync/1.5", headers={
        "Authorization": "Bearer " + signing_key.access_token(fxa_uid), "X-KeyID": "1-qqo"},
        status=503)
    assert_error(response, 503, "internal-error", "internal", "", "Server error")
    assert response.headers["Retry-After"] == "77"


def test_error_bodies_are_json_objects(get_token):
    response = get_token(None, status=401)
    assert isinstance(json.loads(response.body), dict)


def test_database_failure_is_503(tmp_path, database_url, signing_key, fxa_uid):
    token_db = f"sqlite:///{tmp_path / 'tokens.db'}"
    app = make_test_app(make_settings(database_url, master_secret="s", **{
        "tokenserver.sqlalchemy.url": token_db, "tokenserver.jwks": signing_key.jwks_json(),
        "tokenserver.oauth_server_url": "", "server.retry_after_seconds": "99"}))
    engine = app.app.registry.tokenserver_users.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tokenserver_users")
    response = app.get("/1.0/sync/1.5", status=503, headers={
        "Authorization": "Bearer " + signing_key.access_token(fxa_uid), "X-KeyID": "1-qqo"})
    assert response.content_type == "application/json"
    assert response.json.startswith("application error: crash id ")
    assert response.headers["Retry-After"] == "99"
    assert response.headers["X-Timestamp"].isdigit()
    engine.dispose()
