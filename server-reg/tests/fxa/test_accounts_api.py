"""Sign-up, sign-in, account status and deletion (accounts-firefox.md §3, §4)."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from synccore.db import get_engine
from syncreg.fxa.testing import stretch

EMAIL = "alice@example.com"
PASSWORD = "correct horse battery"


def error(response) -> tuple[int, int]:
    return response.status_int, response.json["errno"]


def test_sign_up_returns_a_session_and_wrap_kb_only_when_asked(client):
    keys = stretch(EMAIL, PASSWORD)
    plain = client.post("/v1/account/create", {"email": EMAIL,
                                               "authPW": keys.auth_pw.hex()}).json
    assert set(plain) == {"uid", "sessionToken", "verified", "authAt", "keysChangedAt"}
    assert len(plain["uid"]) == 32 and len(plain["sessionToken"]) == 64
    assert plain["verified"] is True  # verification is off in these tests
    signed_in = client.sign_in(EMAIL, PASSWORD)
    assert signed_in.uid == plain["uid"] and len(signed_in.wrap_kb) == 32
    assert signed_in.session_token != plain["sessionToken"]


def test_the_same_key_on_every_sign_in(client):
    first = client.sign_up(EMAIL, PASSWORD)
    second = client.sign_in(EMAIL, PASSWORD)
    assert first.kb == second.kb
    assert client.key_for_firefox(first) == client.key_for_firefox(second)


def test_the_server_keeps_no_password_and_no_key(client, fxa_settings):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    engine = get_engine(fxa_settings["sqlalchemy.url"])
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM fxa_accounts")).mappings().one()
    stored = json.dumps({key: str(value) for key, value in row.items()})
    assert row["auth_hash"].startswith("$argon2id$")
    for secret in (PASSWORD, signed_in.keys.auth_pw.hex(), signed_in.keys.unwrap_b_key.hex(),
                   signed_in.kb.hex()):
        assert secret not in stored
    assert row["wrap_kb"] == signed_in.wrap_kb.hex()


def test_an_address_has_one_account_whatever_its_case(client):
    client.sign_up(EMAIL, PASSWORD)
    taken = client.sign_up("ALICE@example.com", "another password", status=400)
    assert error(taken) == (400, 101)


def test_sign_in_errors_firefox_knows(client):
    client.sign_up("Alice@Example.com", PASSWORD)
    assert error(client.sign_in("bob@example.com", PASSWORD, status=400)) == (400, 102)
    wrong = client.sign_in("Alice@Example.com", "wrong password", status=400)
    assert error(wrong) == (400, 103)
    # The address salts the stretching: another case gets the stored spelling back.
    case = client.sign_in("alice@example.com", PASSWORD, status=400)
    assert error(case) == (400, 120) and case.json["email"] == "Alice@Example.com"
    client.sign_in("Alice@Example.com", PASSWORD)


@pytest.mark.parametrize("body, errno", [
    ({"email": EMAIL}, 108),
    ({"authPW": "00" * 32}, 108),
    ({"email": "not an address", "authPW": "00" * 32}, 107),
    ({"email": EMAIL, "authPW": "zz" * 32}, 107),
    ({"email": EMAIL, "authPW": "00" * 31}, 107),
    ({"email": EMAIL, "authPW": 42}, 107),
])
def test_malformed_requests(client, body, errno):
    response = client.post("/v1/account/create", body, status=400)
    assert error(response) == (400, errno)
    assert set(response.json) >= {"code", "errno", "error", "message"}


def test_bodies_that_are_not_json_objects(fxa_app):
    for body in (b"{", b"[1, 2]", b"\xff\xfe", b'"text"'):
        response = fxa_app.post("/v1/account/login", body, status=400,
                                headers={"Content-Type": "application/json"})
        assert response.json["errno"] == 106


def test_unknown_endpoints_and_methods_answer_json(fxa_app):
    assert fxa_app.get("/v1/no/such/thing", status=404).json["errno"] == 404
    assert fxa_app.get("/v1/account/create", status=405).json["code"] == 405


def test_account_status_by_uid_and_by_email(client):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    assert client.get(f"/v1/account/status?uid={signed_in.uid}").json == {"exists": True}
    assert client.get("/v1/account/status?uid=" + "0" * 32).json == {"exists": False}
    assert client.get("/v1/account/status?uid=nothex", status=400).json["errno"] == 107
    assert client.post("/v1/account/status", {"email": "ALICE@example.com"}).json == \
        {"exists": True}
    assert client.post("/v1/account/status", {"email": "bob@example.com"}).json == \
        {"exists": False}


def test_failed_sign_ins_are_rate_limited_without_casual_backoff(client):
    client.sign_up(EMAIL, PASSWORD)
    for _ in range(10):
        client.sign_in(EMAIL, "wrong password", status=400)
    limited = client.sign_in(EMAIL, PASSWORD, status=429)
    assert limited.json["errno"] == 114 and int(limited.headers["Retry-After"]) > 0
    # Ordinary errors carry no Retry-After: Firefox would back off.
    assert "Retry-After" not in client.sign_in("bob@example.com", PASSWORD,
                                               status=400).headers


def test_deleting_the_account_needs_its_password(client, fxa_app):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    wrong = stretch(EMAIL, "wrong password").auth_pw.hex()
    assert error(client.post("/v1/account/destroy", {"email": EMAIL, "authPW": wrong},
                             status=400)) == (400, 103)
    client.post("/v1/account/destroy", {"email": EMAIL,
                                        "authPW": signed_in.keys.auth_pw.hex()})
    assert client.get(f"/v1/account/status?uid={signed_in.uid}").json == {"exists": False}
    # Firefox's session is gone with it: 401 errno 110, then it checks the status.
    assert error(client.get("/v1/session/status", session=signed_in.session_token,
                            status=401)) == (401, 110)
    client.sign_up(EMAIL, PASSWORD)  # the address is free again


def test_sign_ups_can_be_closed(fxa_mail, database_url):
    from synccore.testing import make_settings, make_test_app
    from syncreg.fxa.testing import AccountsClient
    app = make_test_app(make_settings(database_url, **{
        "accounts.enabled": "true", "accounts.require_email_verification": "false",
        "accounts.allow_new_accounts": "false", "master_secret": "s",
        "tokenserver.oauth_server_url": ""}))
    closed = AccountsClient(app).sign_up(EMAIL, PASSWORD, status=503)
    assert closed.json["errno"] == 201 and "Retry-After" not in closed.headers
