"""Address confirmation, password change and password reset, with mail sent to a
real SMTP server: a change keeps the sync key, a reset makes a new one."""
from __future__ import annotations

import re

import pytest

from syncreg.fxa.oauth import OLDSYNC
from syncreg.fxa.testing import stretch, xor

EMAIL = "alice@example.com"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new password"


def code_in(mail, label: str) -> str:
    match = re.search(label + r":? ([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})", mail.text)
    assert match, mail.text
    return match.group(1)


@pytest.fixture
def fxa_overrides():
    return {"accounts.require_email_verification": "true"}


def test_sign_up_mails_a_confirmation_code(client, mails):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    assert signed_in.verified is False
    (mail,) = mails()
    assert mail.recipients == [EMAIL]
    code = code_in(mail, "Confirmation code")
    status = client.get("/v1/recovery_email/status", session=signed_in.session_token).json
    assert (status["verified"], status["email"]) == (False, EMAIL)
    assert client.get("/v1/session/status",
                      session=signed_in.session_token).json["state"] == "unverified"

    wrong = client.post("/v1/recovery_email/verify_code", {"uid": signed_in.uid,
                                                           "code": "AAAA-AAAA-AAAA-AAAA"},
                        session=signed_in.session_token, status=400)
    assert wrong.json["errno"] == 105
    client.post("/v1/recovery_email/verify_code", {"uid": signed_in.uid, "code": code.lower()},
                session=signed_in.session_token)
    assert client.get("/v1/recovery_email/status",
                      session=signed_in.session_token).json["verified"] is True
    client.connect_firefox(client.sign_in(EMAIL, PASSWORD))


def test_a_new_code_replaces_the_old_one(client, mails):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    client.post("/v1/recovery_email/resend_code", session=signed_in.session_token)
    first, second = mails()
    old, new = code_in(first, "Confirmation code"), code_in(second, "Confirmation code")
    assert old != new
    assert client.post("/v1/recovery_email/verify_code", {"code": old},
                       session=signed_in.session_token, status=400).json["errno"] == 105
    client.post("/v1/recovery_email/verify_code", {"code": new},
                session=signed_in.session_token)


def test_wrong_codes_are_rate_limited(client):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    for _ in range(10):
        client.post("/v1/recovery_email/verify_code", {"code": "AAAA-AAAA-AAAA-AAAA"},
                    session=signed_in.session_token, status=400)
    limited = client.post("/v1/recovery_email/verify_code", {"code": "AAAA-AAAA-AAAA-AAAA"},
                          session=signed_in.session_token, status=429)
    assert limited.json["errno"] == 114


def confirmed(client, mails):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    client.post("/v1/recovery_email/verify_code",
                {"code": code_in(mails()[-1], "Confirmation code")},
                session=signed_in.session_token)
    return client.sign_in(EMAIL, PASSWORD)


def test_a_password_change_keeps_the_key_and_ends_other_sessions(client, mails):
    page = confirmed(client, mails)
    other = client.sign_in(EMAIL, PASSWORD)
    kid = client.key_for_firefox(page)["kid"]
    fresh = stretch(EMAIL, NEW_PASSWORD)
    body = {"oldAuthPW": page.keys.auth_pw.hex(), "authPW": fresh.auth_pw.hex(),
            "wrapKB": xor(page.kb, fresh.unwrap_b_key).hex()}
    wrong_old = {**body, "oldAuthPW": stretch(EMAIL, "nope").auth_pw.hex()}
    assert client.post("/v1/password/change", wrong_old, session=page.session_token,
                       status=400).json["errno"] == 103
    assert client.post("/v1/password/change", body, status=401).json["errno"] == 110

    client.post("/v1/password/change", body, session=page.session_token)
    client.get("/v1/session/status", session=page.session_token)  # kept
    assert client.get("/v1/session/status", session=other.session_token,
                      status=401).json["errno"] == 110
    assert client.sign_in(EMAIL, PASSWORD, status=400).json["errno"] == 103
    again = client.sign_in(EMAIL, NEW_PASSWORD)
    assert again.kb == page.kb
    assert client.key_for_firefox(again)["kid"] == kid


def storage_uid(app, tokens, kid) -> int:
    return app.get("/1.0/sync/1.5", headers={
        "Authorization": f"Bearer {tokens['access_token']}", "X-KeyID": kid}).json["uid"]


def test_a_reset_makes_new_keys(client, mails, fxa_app):
    page = confirmed(client, mails)
    tokens, keys = client.connect_firefox(page)
    uid_before = storage_uid(fxa_app, tokens, keys[OLDSYNC]["kid"])
    client.post("/v1/password/forgot/send_code", {"email": EMAIL})
    mail = mails()[-1]
    code = code_in(mail, "enter the code")
    link = next(line for line in mail.text.splitlines() if line.startswith("http"))
    assert link.startswith("http://localhost/reset_password?email=") and code in link

    fresh = stretch(EMAIL, NEW_PASSWORD)
    body = {"email": EMAIL, "code": code, "authPW": fresh.auth_pw.hex()}
    wrong = client.post("/v1/password/forgot/reset", {**body, "code": "AAAA-AAAA-AAAA-AAAA"},
                        status=400)
    assert wrong.json["errno"] == 105
    case = client.post("/v1/password/forgot/reset", {**body, "email": EMAIL.upper()},
                       status=400)
    assert case.json["errno"] == 120 and case.json["email"] == EMAIL
    client.post("/v1/password/forgot/reset", body)
    assert client.post("/v1/password/forgot/reset", body,
                       status=400).json["errno"] == 105  # used up
    assert client.get("/v1/session/status", session=page.session_token,
                      status=401).json["errno"] == 110

    after = client.sign_in(EMAIL, NEW_PASSWORD)
    assert after.kb != page.kb
    tokens, new_keys = client.connect_firefox(after)
    new_kid = new_keys[OLDSYNC]["kid"]
    assert int(new_kid.split("-")[0]) > int(keys[OLDSYNC]["kid"].split("-")[0])
    # New keys, new (empty) storage bucket: the token server gives a new uid.
    assert storage_uid(fxa_app, tokens, new_kid) != uid_before


def test_reset_mail_is_silent_about_unknown_addresses(client, mails):
    client.post("/v1/password/forgot/send_code", {"email": "nobody@example.com"})
    assert mails() == []


def test_reset_mails_are_rate_limited(client, mails):
    confirmed(client, mails)
    for _ in range(5):
        client.post("/v1/password/forgot/send_code", {"email": EMAIL})
    assert client.post("/v1/password/forgot/send_code", {"email": EMAIL},
                       status=429).json["errno"] == 114


def test_turning_confirmation_off_lets_unconfirmed_accounts_in(client, fxa_mail, database_url):
    from synccore.testing import make_settings, make_test_app
    from syncreg.fxa.testing import AccountsClient
    assert client.sign_up(EMAIL, PASSWORD).verified is False
    relaxed = AccountsClient(make_test_app(make_settings(database_url, **{
        "accounts.enabled": "true", "accounts.require_email_verification": "false",
        "master_secret": "s", "tokenserver.oauth_server_url": ""})))
    signed_in = relaxed.sign_in(EMAIL, PASSWORD)
    assert signed_in.verified is True
    relaxed.connect_firefox(signed_in)
