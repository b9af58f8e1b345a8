"""Rate limits through the application: failed logins (on every Basic-auth API,
Storage 1.1 included), account creation, reset requests and lookups."""
from __future__ import annotations

import json

import pytest

from synccore.testing import basic_auth, make_settings, make_test_app

PASSWORD = "first password"


@pytest.fixture
def make_app(database_url, smtp_server):
    def factory(**overrides: str):
        return make_test_app(make_settings(database_url, **smtp_server.settings(),
                                           **{"auth.strict_usernames": "false", **overrides}))
    return factory


def create(app, username: str, address: str = "10.0.0.1", **kwargs):
    return app.put(f"/user/1.0/{username}", json.dumps(
        {"email": f"{username}@example.com", "password": PASSWORD}),
        extra_environ={"REMOTE_ADDR": address}, **kwargs)


def info(app, username: str, password: str, address: str = "10.0.0.1", **kwargs):
    return app.get(f"/1.1/{username}/info/collections", headers=basic_auth(username, password),
                   extra_environ={"REMOTE_ADDR": address}, status="*", **kwargs)


def assert_throttled(response, status: int = 429) -> None:
    assert response.status_int == status
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["X-Weave-Backoff"] == response.headers["Retry-After"]


def test_failed_logins_per_account_on_storage(make_app):
    """Guessing one account's password stops after the limit, from any address."""
    app = make_app(**{"ratelimit.login_account_limit": "3"})
    create(app, "alice")
    for number in range(3):
        assert info(app, "alice", "wrong", address=f"10.0.1.{number}").status_int == 401
    assert_throttled(info(app, "alice", "wrong", address="10.0.2.1"))
    # The right password is not checked either while the account is throttled ...
    assert_throttled(info(app, "alice", PASSWORD, address="10.0.2.2"))
    # ... and other accounts are not affected.
    create(app, "bob")
    assert info(app, "bob", PASSWORD).status_int == 200


def test_recently_verified_clients_keep_working(make_app):
    """A client whose password was verified before the attack is served from the
    credential cache, so guesses cannot lock it out."""
    app = make_app(**{"ratelimit.login_account_limit": "2"})
    create(app, "alice")
    assert info(app, "alice", PASSWORD).status_int == 200
    for _ in range(2):
        assert info(app, "alice", "wrong", address="10.6.6.6").status_int == 401
    assert_throttled(info(app, "alice", "wrong", address="10.6.6.6"))
    assert info(app, "alice", PASSWORD).status_int == 200


def test_failed_logins_per_address(make_app):
    """One address trying many accounts is held back; other addresses are not."""
    app = make_app(**{"ratelimit.login_address_limit": "3"})
    for name in ("a1", "a2", "a3", "a4"):
        create(app, name)
    for name in ("a1", "a2", "a3"):
        assert info(app, name, "wrong", address="10.9.9.9").status_int == 401
    assert_throttled(info(app, "a4", "wrong", address="10.9.9.9"))
    assert info(app, "a4", PASSWORD, address="10.9.9.8").status_int == 200


def test_user_api_logins_are_throttled_too(make_app):
    """US-DEL/US-PW/US-EM Basic auth counts the same failures."""
    app = make_app(**{"ratelimit.login_account_limit": "2"})
    create(app, "alice")
    auth = basic_auth("alice", "wrong")
    app.post("/user/1.0/alice/email", b"new@example.com", headers=auth, status=401)
    app.delete("/user/1.0/alice", headers=auth, status=401)
    assert_throttled(app.post("/user/1.0/alice/password", b"new password here", headers=auth,
                              status="*"))


def test_throttle_can_answer_503(make_app):
    """``ratelimit.status = 503``: the backoff Sync 1.1 clients obey."""
    app = make_app(**{"ratelimit.login_account_limit": "1", "ratelimit.status": "503"})
    create(app, "alice")
    info(app, "alice", "wrong")
    assert_throttled(info(app, "alice", "wrong"), status=503)


def test_forwarded_header_names_the_client(make_app):
    """Behind a proxy, the last hop of the configured header is the client."""
    app = make_app(**{"ratelimit.login_address_limit": "2",
                      "ratelimit.forwarded_header": "X-Forwarded-For"})
    for name in ("b1", "b2", "b3"):
        create(app, name)

    def attempt(name: str, forwarded: str):
        return app.get(f"/1.1/{name}/info/collections", status="*",
                       headers={**basic_auth(name, "wrong"), "X-Forwarded-For": forwarded},
                       extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    # A client cannot escape by sending its own header: the proxy appends the real hop.
    assert attempt("b1", "1.1.1.1, 203.0.113.9").status_int == 401
    assert attempt("b2", "2.2.2.2, 203.0.113.9").status_int == 401
    assert_throttled(attempt("b3", "3.3.3.3, 203.0.113.9"))
    assert attempt("b3", "203.0.113.10").status_int == 401


def test_account_creation_per_address_and_per_name(make_app):
    app = make_app(**{"ratelimit.create_address_limit": "2",
                      "ratelimit.create_account_limit": "2"})
    create(app, "c1")
    create(app, "c2")
    assert_throttled(create(app, "c3", status="*"))
    assert create(app, "c3", address="10.0.0.2").text == "c3"
    create(app, "c3", address="10.0.0.3", status=400)  # exists: 4, but counted
    assert_throttled(create(app, "c3", address="10.0.0.4", status="*"))


def test_lookups_per_address(make_app):
    """§11 #15: account-existence checks are rate-limited (user enumeration)."""
    app = make_app(**{"ratelimit.lookup_address_limit": "3"})
    environ = {"REMOTE_ADDR": "10.3.3.3"}
    for name in ("x1", "x2", "x3"):
        assert app.get(f"/user/1.0/{name}", extra_environ=environ).text == "0"
    assert_throttled(app.get("/user/1.0/x4", extra_environ=environ, status="*"))
    assert_throttled(app.get("/user/1.0/x4/node/weave", extra_environ=environ, status="*"))


def test_reset_requests_per_address_and_account(make_app, smtp_server):
    """§5.2: reset mails are limited per client and per account."""
    app = make_app(**{"ratelimit.reset_address_limit": "3",
                      "ratelimit.reset_account_limit": "2"})
    create(app, "alice")
    environ = {"REMOTE_ADDR": "10.4.4.4"}
    app.get("/user/1.0/alice/password_reset", extra_environ=environ)
    app.get("/user/1.0/alice/password_reset", extra_environ=environ)
    assert_throttled(app.get("/user/1.0/alice/password_reset", status="*",
                             extra_environ={"REMOTE_ADDR": "10.4.4.5"}))
    assert len(smtp_server.messages) == 2
    app.get("/user/1.0/nobody/password_reset", extra_environ=environ, status=400)
    assert_throttled(app.get("/user/1.0/nobody/password_reset", extra_environ=environ,
                             status="*"))


def test_wrong_reset_codes_per_account(make_app, smtp_server):
    """§5.2: guessing reset codes stops after a few tries."""
    app = make_app(**{"ratelimit.code_account_limit": "2"})
    create(app, "alice")
    app.get("/user/1.0/alice/password_reset")
    code = smtp_server.messages[-1].reset_link()[1]["key"]
    headers = {"X-Weave-Password-Reset": "AAAA-AAAA-AAAA-AAAA"}
    for _ in range(2):
        app.post("/user/1.0/alice/password", b"new password here", headers=headers,
                 status=400)
    assert_throttled(app.post("/user/1.0/alice/password", b"new password here",
                              headers={"X-Weave-Password-Reset": code}, status="*"))


def test_bad_status_setting_fails_at_start(database_url):
    from synccore.settings import ConfigurationError
    with pytest.raises(ConfigurationError):
        make_test_app(make_settings(database_url, **{"ratelimit.status": "418"}))
