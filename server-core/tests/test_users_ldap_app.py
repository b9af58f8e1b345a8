"""The whole application with its accounts in a real slapd: Storage 1.1
clients authenticate with Basic credentials checked by the directory, and a
directory outage answers 503 with Retry-After, never 500."""
from __future__ import annotations

import json
import re

import pytest

from synccore.settings import ConfigurationError
from synccore.testing import basic_auth, make_settings, make_test_app

PASSWORD = "correct horse battery"
CRASH_BODY = re.compile(r'^"application error: crash id [0-9a-f]{32}"$')


@pytest.fixture
def ldap_app(sqlite_url):
    """Builds the application on a directory; closes its LDAP connections afterwards."""
    apps = []

    def build(server, users_base: str | None = None, **overrides: str):
        users_base = users_base or server.new_users_base()
        apps.append(make_test_app(make_settings(sqlite_url,
                                                **server.settings(users_base, **overrides))))
        return apps[-1]

    yield build
    for app in apps:
        app.app.registry.users.close()


def put_bookmark(app, username: str, password: str, record_id: str, payload: str, **kwargs):
    return app.put(f"/1.1/{username}/storage/bookmarks/{record_id}",
                   json.dumps({"id": record_id, "payload": payload}),
                   headers={**basic_auth(username, password),
                            "Content-Type": "application/json"}, **kwargs)


def assert_backs_off(response) -> None:
    assert response.status_int == 503, response
    assert response.headers["Retry-After"] == "1800"
    assert CRASH_BODY.match(response.text), response.text


def test_directory_accounts_sync_over_storage_11(slapd, ldap_app):
    app = ldap_app(slapd)
    users = app.app.registry.users
    alice = users.create_user("alice", PASSWORD, "alice@example.com")
    users.create_user("bob", "bob's password")

    put_bookmark(app, "alice", PASSWORD, "abc", "alice's bookmark")
    put_bookmark(app, "bob", "bob's password", "abc", "bob's bookmark")
    response = app.get("/1.1/alice/storage/bookmarks/abc", headers=basic_auth("alice", PASSWORD))
    assert response.json["payload"] == "alice's bookmark"
    response = app.get("/1.1/bob/storage/bookmarks?full=1",
                       headers=basic_auth("bob", "bob's password"))
    assert [record["payload"] for record in response.json] == ["bob's bookmark"]
    assert request_user_id(app, "alice") == alice.userid


def request_user_id(app, username: str) -> int:
    return app.app.registry.users.get_user(username).userid


def test_directory_refusals_are_401(slapd, ldap_app):
    app = ldap_app(slapd)
    users = app.app.registry.users
    users.create_user("alice", PASSWORD)
    for username, password in (("alice", "wrong password"), ("alice", ""), ("Alice", PASSWORD),
                               ("bob", PASSWORD)):
        response = app.get(f"/1.1/{username}/info/collections",
                           headers=basic_auth(username, password), status=401)
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Sync"'
    # Verified once, then refused at once after a password change or while
    # disabled, although the first check is cached.
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD), status=200)
    users.set_disabled("alice", True)
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD), status=401)
    users.set_disabled("alice", False)
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD), status=200)
    users.set_password("alice", "new password here")
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD), status=401)
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", "new password here"),
            status=200)


def test_user_api_keeps_accounts_in_the_directory(slapd, ldap_app):
    """User API 1.0 create, change password, delete: the entry follows."""
    users_base = slapd.new_users_base()
    app = ldap_app(slapd, users_base)
    name = "kzyvtvrc765vbmi3b36ta67dlbreujxo"  # derived from test@example.com
    dn = f"uid={name},{users_base}"
    response = app.put(f"/user/1.0/{name}",
                       json.dumps({"email": "test@example.com", "password": PASSWORD}),
                       headers={"Content-Type": "application/json"})
    assert response.text == name
    assert slapd.read_attribute(dn, "mail") == [b"test@example.com"]
    assert app.get(f"/user/1.0/{name}").text == "1"
    put_bookmark(app, name, PASSWORD, "abc", "x")

    app.post(f"/user/1.0/{name}/password", "another secret",
             headers=basic_auth(name, PASSWORD), status=200)
    app.get(f"/1.1/{name}/info/collections", headers=basic_auth(name, PASSWORD), status=401)
    app.get(f"/1.1/{name}/info/collections", headers=basic_auth(name, "another secret"),
            status=200)

    app.delete(f"/user/1.0/{name}", headers=basic_auth(name, "another secret"), status=200)
    assert slapd.read_attribute(dn, "uid") == []
    assert app.get(f"/user/1.0/{name}").text == "0"


def test_non_ascii_password_over_basic_auth(slapd, ldap_app):
    app = ldap_app(slapd)
    app.app.registry.users.create_user("alice", "ééééééééé")
    put_bookmark(app, "alice", "ééééééééé", "abc", "x")
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", "eeeeeeeee"), status=401)


def test_stopped_directory_answers_503_with_retry_after(private_slapd, ldap_app):
    app = ldap_app(private_slapd)
    app.app.registry.users.create_user("alice", PASSWORD)
    put_bookmark(app, "alice", PASSWORD, "abc", "x")  # credentials now cached
    app.get("/__heartbeat__", status=200)

    private_slapd.stop()
    for response in (
            app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD),
                    expect_errors=True),
            app.get("/1.1/alice/storage/bookmarks/abc",
                    headers=basic_auth("alice", "not the password"), expect_errors=True),
            put_bookmark(app, "alice", PASSWORD, "def", "y", expect_errors=True)):
        assert_backs_off(response)
    response = app.get("/__heartbeat__", expect_errors=True)
    assert response.status_int == 503
    assert response.headers["Retry-After"] == "1800"

    private_slapd.start()
    response = app.get("/1.1/alice/storage/bookmarks/abc", headers=basic_auth("alice", PASSWORD))
    assert response.json["payload"] == "x"
    app.get("/__heartbeat__", status=200)


def test_application_starts_while_the_directory_is_down(private_slapd, ldap_app):
    users_base = private_slapd.new_users_base()
    private_slapd.stop()
    app = ldap_app(private_slapd, users_base)
    assert_backs_off(app.get("/1.1/alice/info/collections",
                             headers=basic_auth("alice", PASSWORD), expect_errors=True))
    private_slapd.start()
    app.app.registry.users.create_user("alice", PASSWORD)
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD), status=200)


def test_misconfigured_directory_fails_at_start_up(sqlite_url):
    with pytest.raises(ConfigurationError, match="users_base_dn"):
        make_test_app(make_settings(sqlite_url, **{"users.backend": "synccore.users.ldap"}))
