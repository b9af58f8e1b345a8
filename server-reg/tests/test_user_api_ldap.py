"""User API 1.0 with the accounts in a real slapd: what depends on the user store.

A directory's ``mail`` attribute holds ASCII only, so an address that passes
the protocol's syntax check (US-M1 allows a non-ASCII local part) can still be
refused by the store: that is the protocol's "no valid e-mail address" (code
12), never a 500. The whole account life on LDAP is in ``test_end_to_end``.
"""
from __future__ import annotations

import json

from synccore.testing import basic_auth
from syncreg.rules import client_username, username_from_email

PASSWORD = "first password"
NON_ASCII = "Françios@valid.test"


def create(app, username: str, email: str, **kwargs):
    return app.put(f"/user/1.0/{username}", json.dumps({"email": email, "password": PASSWORD}),
                   **kwargs)


def code_of(response) -> int:
    assert response.status_int == 400
    assert response.content_type == "application/json"
    return int(response.body)


def entry_of(app, username: str) -> str:
    return f"uid={username},{app.app.registry.users.layout.users_base_dn}"


def test_address_the_directory_cannot_keep_is_code_12_at_creation(slapd, make_ldap_app):
    """US-PUT3 / US-N3: both derivations of a non-ASCII address pass the
    strict check, then the directory refuses the address: 12, no account."""
    app = make_ldap_app(slapd)
    for username in (username_from_email(NON_ASCII), client_username(NON_ASCII)):
        assert code_of(create(app, username, NON_ASCII, status=400)) == 12
        assert app.get(f"/user/1.0/{username}").text == "0"
        assert slapd.read_attribute(entry_of(app, username), "uid") == []
    # An ASCII address for the same name is fine.
    username = username_from_email(NON_ASCII)
    ascii_app = make_ldap_app(slapd, **{"auth.strict_usernames": "false"})
    assert create(ascii_app, username, "francios@valid.test").text == username
    assert slapd.read_attribute(entry_of(ascii_app, username), "mail") == \
        [b"francios@valid.test"]


def test_address_the_directory_cannot_keep_is_code_12_on_change(slapd, make_ldap_app,
                                                               smtp_server):
    """US-EM2: 12, and the address on file stays as it was."""
    app = make_ldap_app(slapd)
    username = username_from_email("alice@example.com")
    create(app, username, "alice@example.com")
    auth = basic_auth(username, PASSWORD)

    response = app.post(f"/user/1.0/{username}/email", NON_ASCII.encode(), headers=auth,
                        status=400)
    assert code_of(response) == 12
    assert app.app.registry.users.get_user(username).email == "alice@example.com"

    response = app.post(f"/user/1.0/{username}/email", b" new@email.com ", headers=auth)
    assert response.text == "new@email.com"  # US-EM3
    assert slapd.read_attribute(entry_of(app, username), "mail") == [b"new@email.com"]
    # The reset mail goes to the new address.
    assert app.get(f"/user/1.0/{username}/password_reset").text == "success"
    assert smtp_server.messages[-1].recipients == ["new@email.com"]


def test_reset_and_cancel_with_directory_accounts(slapd, make_ldap_app, smtp_server):
    """US-PR, US-PRD, US-PW2 on a directory account: a cancelled code is refused,
    a fresh one sets the password in the directory."""
    app = make_ldap_app(slapd, **{"auth.strict_usernames": "false"})
    create(app, "alice", "alice@example.com")
    app.get("/user/1.0/alice/password_reset")
    first = smtp_server.messages[-1].reset_link()[1]["key"]
    app.delete("/user/1.0/alice/password_reset", headers=basic_auth("alice", PASSWORD))
    response = app.post("/user/1.0/alice/password", b"newpasswordhere",
                        headers={"X-Weave-Password-Reset": first}, status=400)
    assert code_of(response) == 10

    # Cancelled: the next request mails a new code.
    app.get("/user/1.0/alice/password_reset")
    second = smtp_server.messages[-1].reset_link()[1]["key"]
    assert second != first
    assert smtp_server.messages[-1].recipients == ["alice@example.com"]
    app.post("/user/1.0/alice/password", b"newpasswordhere",
             headers={"X-Weave-Password-Reset": second})
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD), status=401)
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", "newpasswordhere"),
            status=200)
