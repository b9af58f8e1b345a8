"""User API 1.0 while the account store is down: every endpoint that needs it
answers 503 with Retry-After and the crash-id body clients back off from, never
a 500 (US-R7, US-EX2, US-NODE5) — a database nobody listens on, and a real
slapd stopped under a running application."""
from __future__ import annotations

import json
import re

import pytest

from synccore.testing import basic_auth, make_settings, make_test_app
from syncreg.testing import TEST_PUBLIC_URL, free_port

PASSWORD = "correct horse battery"
CRASH_BODY = re.compile(r'^"application error: crash id [0-9a-f]{32}"$')
AUTH = basic_auth("alice", PASSWORD)
CREATE = json.dumps({"email": "bob@example.com", "password": PASSWORD}).encode()

# (method, path, body, headers): one request per User API endpoint.
USER_API_REQUESTS = [
    ("GET", "/user/1.0/alice", None, {}),  # US-EX2
    ("PUT", "/user/1.0/bob", CREATE, {}),  # US-PUT
    ("GET", "/user/1.0/alice/node/weave", None, {}),  # US-NODE5
    ("GET", "/user/1.0/alice/password_reset", None, {}),  # US-PR
    ("DELETE", "/user/1.0/alice/password_reset", None, AUTH),  # US-PRD
    ("POST", "/user/1.0/alice/password", b"new password here", AUTH),  # US-PW3
    ("POST", "/user/1.0/alice/password", b"new password here",
     {"X-Weave-Password-Reset": "ABCD-EFGH-IJKL-MNOP"}),  # US-PW2
    ("POST", "/user/1.0/alice/email", b"new@example.com", AUTH),  # US-EM
    ("DELETE", "/user/1.0/alice", None, AUTH),  # US-DEL
]


def assert_all_back_off(app) -> None:
    for method, path, body, headers in USER_API_REQUESTS:
        response = app.request(path, method=method, body=body, headers=headers,
                               expect_errors=True)
        assert response.status_int == 503, (method, path, response)
        assert response.headers["Retry-After"] == "1800"
        assert CRASH_BODY.match(response.text), response.text


def test_unreachable_database(smtp_server):
    url = f"mysql+pymysql://root@127.0.0.1:{free_port()}/x"
    app = make_test_app(make_settings(url, **smtp_server.settings(), **{
        "db.auto_migrate": "false", "auth.strict_usernames": "false",
        "server.public_url": TEST_PUBLIC_URL}))
    assert_all_back_off(app)
    assert smtp_server.messages == []


@pytest.fixture
def directory_app(private_slapd, make_ldap_app):
    app = make_ldap_app(private_slapd, **{"auth.strict_usernames": "false"})
    app.put("/user/1.0/alice", json.dumps({"email": "alice@example.com",
                                            "password": PASSWORD}))
    app.get("/1.1/alice/info/collections", headers=AUTH, status=200)  # now cached
    return app


def test_stopped_directory(private_slapd, directory_app, smtp_server):
    """The issue's "LDAP unreachable → 503 with Retry-After", for the User API;
    everything works again once the directory is back."""
    private_slapd.stop()
    assert_all_back_off(directory_app)
    assert smtp_server.messages == []

    private_slapd.start()
    assert directory_app.get("/user/1.0/alice").text == "1"
    assert directory_app.get("/user/1.0/alice/password_reset").text == "success"
    assert directory_app.post("/user/1.0/alice/email", b"new@example.com",
                              headers=AUTH).text == "new@example.com"
