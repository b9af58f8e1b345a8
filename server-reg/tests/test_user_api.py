"""User API 1.0 through the composed application, on every engine.

Rule ids (``US-...``) refer to ``shared/specs/user-1.0.md``. The ``reg_app``
fixture mails to an in-process SMTP server and allows free-form usernames;
``strict_app`` turns the e-mail/username check on.
"""
from __future__ import annotations

import json
import threading

import pytest

from synccore.testing import basic_auth, make_settings, make_test_app
from syncreg.nodes import SYNC_11
from syncreg.testing import TEST_PUBLIC_URL as PUBLIC_URL

PASSWORD = "first password"
NEW_PASSWORD = "second password"
WBO = json.dumps({"id": "abc", "payload": "encrypted stuff"})

# Input-validation cases are many and touch the database only to look an
# account up: they run on SQLite; every flow below runs on every engine.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def create(app, username: str, email: str = "someone@example.com",
           password: str = PASSWORD, **kwargs):
    return app.put(f"/user/1.0/{username}", json.dumps({"email": email, "password": password}),
                   **kwargs)


def code_of(response) -> int:
    assert response.status_int == 400
    assert response.content_type == "application/json"
    assert response.body.strip() == response.body  # the bare number (§1)
    return int(response.body)


def storage_status(app, username: str, password: str) -> int:
    return app.get(f"/1.1/{username}/info/collections", headers=basic_auth(username, password),
                   status="*").status_int


def registry(app):
    return app.app.registry


# -- routing (US-R*) ---------------------------------------------------------

def test_both_version_spellings(reg_app):
    """US-R1."""
    create(reg_app, "alice")
    assert reg_app.get("/user/1.0/alice").text == "1"
    assert reg_app.get("/user/1/alice").text == "1"
    assert reg_app.get("/user/2.0/alice", status=404)


def test_trailing_slash_is_ignored(reg_app):
    """US-R2."""
    response = reg_app.put("/user/1/alice/", json.dumps(
        {"email": "a@example.com", "password": PASSWORD}))
    assert response.text == "alice"
    assert reg_app.get("/user/1.0/alice/").text == "1"


@SQLITE_ONLY
@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/user/1.0/alice"),
    ("PUT", "/user/1.0/alice/node/weave"),
    ("GET", "/user/1.0/alice/password"),
    ("POST", "/user/1.0/alice/password_reset"),
    ("GET", "/user/1.0/alice/email"),
    ("DELETE", "/misc/1.0/captcha_html"),
])
def test_known_path_other_method_is_405(reg_app, method, path):
    """US-R3: routing is decided before authentication."""
    assert reg_app.request(path, method=method, status="*").status_int == 405


@SQLITE_ONLY
@pytest.mark.parametrize("path", [
    "/user/1.0/alice/nothing", "/user/1.0/a%20b", "/user/1.0/al%C3%A9", "/user/1.0/",
    "/user/1.0/alice/node", "/user/1.0/a%ff",
])
def test_unknown_paths_are_404(reg_app, path):
    """US-N1, US-R3."""
    assert reg_app.get(path, status="*").status_int == 404


# -- US-EX ---------------------------------------------------------------------

def test_exists(reg_app):
    """US-EX1, US-R6, US-R8."""
    response = reg_app.get("/user/1.0/alice")
    assert (response.text, response.content_type) == ("0", "text/plain")
    assert "X-Weave-Timestamp" in response.headers
    create(reg_app, "alice")
    assert reg_app.get("/user/1.0/alice").text == "1"
    assert reg_app.get("/user/1.0/Alice").text == "0"  # US-N2: case-sensitive


# -- US-PUT --------------------------------------------------------------------

def test_create(reg_app):
    """US-PUT9: 200 text/plain with the name as sent; the password opens storage."""
    response = create(reg_app, "Weave.Unit_Test-1")
    assert (response.text, response.content_type) == ("Weave.Unit_Test-1", "text/plain")
    assert "X-Weave-Timestamp" in response.headers
    assert storage_status(reg_app, "Weave.Unit_Test-1", PASSWORD) == 200
    user = registry(reg_app).users.get_user("Weave.Unit_Test-1")
    assert user.email == "someone@example.com"


def test_create_with_a_non_ascii_password(reg_app):
    """US-P2: nine é set at creation authenticate through Basic auth."""
    create(reg_app, "alice", password="é" * 9)
    assert storage_status(reg_app, "alice", "é" * 9) == 200


def test_existing_account_comes_first(reg_app):
    """US-PUT1: code 4, before the body is even parsed."""
    create(reg_app, "alice")
    assert code_of(create(reg_app, "alice", status=400)) == 4
    assert code_of(reg_app.put("/user/1.0/alice", "not json", status=400)) == 4


@SQLITE_ONLY
@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe",
                                  b"[" * 5000])
def test_body_must_be_a_json_object(reg_app, body):
    """US-PUT2 (and §11 #4: never a 500)."""
    assert code_of(reg_app.put("/user/1.0/alice", body, status=400)) == 6


@SQLITE_ONLY
@pytest.mark.parametrize("body", [
    {"password": PASSWORD},
    {"password": PASSWORD, "email": None},
    {"password": PASSWORD, "email": ""},
    {"password": PASSWORD, "email": 42},
    {"password": "x" * 9, "email": "bademailhere"},
    {"password": PASSWORD, "email": "a@b.com\nBcc: x@y.com"},
])
def test_email_must_be_valid(reg_app, body):
    """US-PUT3: a missing, empty or malformed address is code 12 (never a 500)."""
    assert code_of(reg_app.put("/user/1.0/alice", json.dumps(body), status=400)) == 12


def test_written_spec_email_field_is_accepted(reg_app):
    """§10: ``e-mail`` as in the written spec."""
    reg_app.put("/user/1.0/alice", json.dumps({"e-mail": "a@example.com",
                                                "password": PASSWORD}))
    assert registry(reg_app).users.get_user("alice").email == "a@example.com"


@SQLITE_ONLY
@pytest.mark.parametrize(("password", "code"), [
    (None, 7), ("", 7), (12345678, 7), (["x"], 7),
    ("x", 9), ("tarek2", 9), ("éééé", 9), (" ALICE12 ", 9),
])
def test_password_checks(reg_app, password, code):
    """US-PUT5 (7) and US-PUT6 (9)."""
    body = {"email": "a@example.com"}
    if password is not None:
        body["password"] = password
    assert code_of(reg_app.put("/user/1.0/alice12", json.dumps(body), status=400)) == code
    assert reg_app.get("/user/1.0/alice12").text == "0"


def test_missing_password_with_only_an_email(reg_app):
    """US-PUT reference shape: ``{"email": ok}`` gives 7."""
    response = reg_app.put("/user/1.0/alice", json.dumps({"email": "a@example.com"}),
                           status=400)
    assert code_of(response) == 7


def test_long_usernames_are_refused(reg_app):
    """US-N2: more than 32 characters is code 3."""
    assert code_of(create(reg_app, "x" * 33, status=400)) == 3
    assert create(reg_app, "x" * 32).text == "x" * 32


@pytest.fixture
def strict_app(database_url, smtp_server):
    return make_test_app(make_settings(database_url, **smtp_server.settings(),
                                       **{"server.public_url": PUBLIC_URL}))


def test_strict_usernames_are_the_default(strict_app):
    """US-PUT4: the username must be derived from the address (code 15)."""
    assert code_of(create(strict_app, "alice", "alice@example.com", status=400)) == 15
    assert code_of(create(strict_app, "kzyvtvrc765vbmi3b36ta67dlbreujxo", "other@example.com",
                          status=400)) == 15
    response = create(strict_app, "kzyvtvrc765vbmi3b36ta67dlbreujxo", "test@example.com")
    assert response.text == "kzyvtvrc765vbmi3b36ta67dlbreujxo"


def test_strict_check_accepts_either_derivation(strict_app):
    """US-N3: the server's (punycode) and Firefox's (UTF-8) derivations both match."""
    from syncreg.rules import client_username, username_from_email
    address = "Françios@valid.test"
    server_name, client_name = username_from_email(address), client_username(address)
    assert server_name != client_name
    create(strict_app, server_name, address)
    create(strict_app, client_name, address)
    assert strict_app.get(f"/user/1.0/{client_name}").text == "1"


def test_account_creation_can_be_switched_off(database_url):
    """US-PUT8: ``reg.allow_new_users = false`` answers 503 after the other checks."""
    app = make_test_app(make_settings(database_url, **{"reg.allow_new_users": "false",
                                                       "auth.strict_usernames": "false"}))
    assert code_of(create(app, "alice", password="x", status=400)) == 9
    response = create(app, "alice", status=503)
    assert int(response.headers["Retry-After"]) > 0
    assert app.get("/user/1.0/alice").text == "0"


def test_concurrent_creation_gives_one_account(reg_app):
    """US-PUT8: the loser of a creation race gets code 4, never a 500."""
    statuses: list[tuple[int, bytes]] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        response = create(reg_app, "racer", status="*")
        statuses.append((response.status_int, response.body))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [(200, b"racer")] + [(400, b"4")] * 3


# -- US-DEL --------------------------------------------------------------------

@SQLITE_ONLY
@pytest.mark.parametrize("credentials", [None, ("alice", "wrong password"),
                                         ("bob", PASSWORD), ("nobody", PASSWORD)])
def test_delete_needs_the_accounts_credentials(reg_app, credentials):
    """US-DEL1 / US-R5: 401 with the Basic challenge."""
    create(reg_app, "alice")
    create(reg_app, "bob")
    headers = basic_auth(*credentials) if credentials else {}
    path = "/user/1.0/nobody" if credentials and credentials[0] == "nobody" else \
        "/user/1.0/alice"
    response = reg_app.delete(path, headers=headers, status=401)
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Sync"'
    assert reg_app.get("/user/1.0/alice").text == "1"


def test_delete_removes_the_account_and_all_its_data(reg_app, smtp_server):
    """US-DEL2, US-DEL3, US-RC5, §11 #6: records, reset codes and the node go too."""
    nodes = registry(reg_app).nodes
    nodes.add_node(SYNC_11, "https://node1.example.test/", 10)
    create(reg_app, "alice", "alice@example.com")
    reg_app.get("/user/1.0/alice/node/weave")
    auth = basic_auth("alice", PASSWORD)
    reg_app.put("/1.1/alice/storage/bookmarks/abc", WBO, headers=auth)
    reg_app.get("/user/1.0/alice/password_reset")
    code = smtp_server.messages[-1].reset_link()[1]["key"]

    response = reg_app.delete("/user/1.0/alice", headers=auth)
    assert (response.text, response.content_type) == ("1", "text/plain")
    assert reg_app.get("/user/1.0/alice").text == "0"
    assert storage_status(reg_app, "alice", PASSWORD) == 401
    assert nodes.get_assignment(SYNC_11, "alice") is None
    assert nodes.list_nodes(SYNC_11)[0].assigned == 0

    create(reg_app, "alice", "alice@example.com")  # the name again: nothing comes back
    assert reg_app.get("/1.1/alice/info/collections", headers=auth).json == {}
    assert not registry(reg_app).password_resets.verify_code("alice", code)


# -- US-NODE -------------------------------------------------------------------

def test_node_of_unknown_user_is_404(reg_app):
    """US-NODE1."""
    reg_app.get("/user/1.0/nobody/node/weave", status=404)


def test_single_box_node_is_the_public_url(reg_app):
    """US-NODE2/3: no node configured, the server's own public URL, as plain text."""
    create(reg_app, "alice")
    response = reg_app.get("/user/1.0/alice/node/weave")
    assert (response.text, response.content_type) == (PUBLIC_URL, "text/plain")


def test_fallback_node_is_normalised(database_url):
    """US-NODE2: a configured fallback gets a scheme and a trailing slash."""
    app = make_test_app(make_settings(database_url, **{"reg.fallback_node": "node.example.test",
                                                       "auth.strict_usernames": "false"}))
    create(app, "alice")
    assert app.get("/user/1.0/alice/node/weave").text == "https://node.example.test/"


def test_users_are_spread_over_nodes_and_keep_theirs(reg_app):
    """US-NODE3: least-loaded assignment, kept afterwards; credentials ignored (US-NODE4)."""
    nodes = registry(reg_app).nodes
    nodes.add_node(SYNC_11, "https://node1.example.test", 1)
    nodes.add_node(SYNC_11, "https://node2.example.test", 1)
    for name in ("alice", "bob", "carol"):
        create(reg_app, name)
    alice = reg_app.get("/user/1.0/alice/node/weave",
                        headers=basic_auth("alice", "wrong")).text
    bob = reg_app.get("/user/1.0/bob/node/weave").text
    assert {alice, bob} == {"https://node1.example.test/", "https://node2.example.test/"}
    assert reg_app.get("/user/1.0/alice/node/weave").text == alice
    # Both nodes full: a deliberate refusal is JSON null (US-NODE3).
    assert reg_app.get("/user/1.0/carol/node/weave").text == "null"
    nodes.set_capacity(SYNC_11, "https://node1.example.test/", 5)
    assert reg_app.get("/user/1.0/carol/node/weave").text == "https://node1.example.test/"


# -- US-PW ---------------------------------------------------------------------

def test_change_password_with_credentials(reg_app):
    """US-PW3/PW4: success, the old password fails everywhere at once, the new works."""
    create(reg_app, "alice")
    assert storage_status(reg_app, "alice", PASSWORD) == 200  # now cached
    response = reg_app.post("/user/1.0/alice/password", NEW_PASSWORD.encode(),
                            headers=basic_auth("alice", PASSWORD))
    assert (response.text, response.content_type) == ("success", "text/plain")
    assert storage_status(reg_app, "alice", PASSWORD) == 401
    assert storage_status(reg_app, "alice", NEW_PASSWORD) == 200


def test_password_body_is_raw_utf8(reg_app):
    """US-P2, US-PW: the whole body, untrimmed, is the password."""
    create(reg_app, "alice")
    reg_app.post("/user/1.0/alice/password", " ünïcode pw ".encode(),
                 headers=basic_auth("alice", PASSWORD))
    assert storage_status(reg_app, "alice", " ünïcode pw ") == 200
    assert storage_status(reg_app, "alice", "ünïcode pw") == 401


@SQLITE_ONLY
@pytest.mark.parametrize(("body", "code"), [(b"", 7), (b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", 7),
                                            (b"short", 9), (b"alice123", 9)])
def test_new_password_checks(reg_app, body, code):
    """US-PW1 / §11 #5: coded errors."""
    create(reg_app, "alice123")
    response = reg_app.post("/user/1.0/alice123/password", body,
                            headers=basic_auth("alice123", PASSWORD), status=400)
    assert code_of(response) == code
    assert storage_status(reg_app, "alice123", PASSWORD) == 200


@SQLITE_ONLY
@pytest.mark.parametrize("credentials", [None, ("alice", "wrong password"),
                                         ("bob", PASSWORD)])
def test_change_password_needs_credentials(reg_app, credentials):
    """US-PW3."""
    create(reg_app, "alice")
    create(reg_app, "bob")
    headers = basic_auth(*credentials) if credentials else {}
    reg_app.post("/user/1.0/alice/password", NEW_PASSWORD.encode(), headers=headers,
                 status=401)
    assert storage_status(reg_app, "alice", PASSWORD) == 200


def test_change_password_with_a_reset_code(reg_app, smtp_server):
    """US-PW2: unknown user 404, bad code 10, a mailed code works once."""
    create(reg_app, "alice", "alice@example.com")
    headers = {"X-Weave-Password-Reset": "key"}
    reg_app.post("/user/1.0/_xx_/password", b"newpasswordhere", headers=headers, status=404)
    response = reg_app.post("/user/1.0/alice/password", b"newpasswordhere", headers=headers,
                            status=400)
    assert code_of(response) == 10
    reg_app.get("/user/1.0/alice/password_reset")
    code = smtp_server.messages[-1].reset_link()[1]["key"]
    headers = {"X-Weave-Password-Reset": code}
    assert reg_app.post("/user/1.0/alice/password", b"newpasswordhere",
                        headers=headers).text == "success"
    assert storage_status(reg_app, "alice", "newpasswordhere") == 200
    assert storage_status(reg_app, "alice", PASSWORD) == 401
    response = reg_app.post("/user/1.0/alice/password", b"yet another one", headers=headers,
                            status=400)
    assert code_of(response) == 10  # §11 #2: single use
    assert storage_status(reg_app, "alice", "newpasswordhere") == 200


def test_reset_code_of_another_user_is_refused(reg_app, smtp_server):
    """US-PW2: a code belonging to another user is code 10."""
    create(reg_app, "alice", "alice@example.com")
    create(reg_app, "bob", "bob@example.com")
    reg_app.get("/user/1.0/bob/password_reset")
    code = smtp_server.messages[-1].reset_link()[1]["key"]
    response = reg_app.post("/user/1.0/alice/password", b"newpasswordhere",
                            headers={"X-Weave-Password-Reset": code}, status=400)
    assert code_of(response) == 10


# -- US-PR / US-PRD --------------------------------------------------------------

def test_reset_request(reg_app, smtp_server):
    """US-PR5/PR6 and US-RM3: the link uses the configured public URL, not the Host."""
    create(reg_app, "alice", "alice@example.com")
    response = reg_app.get("/user/1.0/alice/password_reset",
                           headers={"Host": "attacker.example"})
    assert (response.text, response.content_type) == ("success", "text/plain")
    [mail] = smtp_server.messages
    assert mail.recipients == ["alice@example.com"]
    link, query = mail.reset_link()
    assert link.startswith(PUBLIC_URL + "weave-password-reset?username=alice&key=")
    assert query["username"] == "alice"


def test_reset_request_errors(reg_app, smtp_server):
    """US-PR2 (3) and US-PR3 (12); nothing is mailed."""
    assert code_of(reg_app.get("/user/1.0/nobody/password_reset", status=400)) == 3
    registry(reg_app).users.create_user("nomail", PASSWORD, None)
    assert code_of(reg_app.get("/user/1.0/nomail/password_reset", status=400)) == 12
    assert smtp_server.messages == []


def test_reset_without_mail_is_503(database_url):
    """US-PR1 / US-PRD1: no mail server configured."""
    app = make_test_app(make_settings(database_url, **{"mail.smtp_host": "",
                                                       "auth.strict_usernames": "false"}))
    create(app, "alice")
    assert "Retry-After" in app.get("/user/1.0/alice/password_reset", status=503).headers
    app.delete("/user/1.0/alice/password_reset", headers=basic_auth("alice", PASSWORD),
               status=503)


def test_mail_server_down_is_503(database_url):
    """US-PR5 / US-R7: a failing mail server is a backend failure."""
    from syncreg.testing import free_port
    app = make_test_app(make_settings(database_url, **{
        "mail.smtp_host": "127.0.0.1", "mail.smtp_port": str(free_port()),
        "auth.strict_usernames": "false"}))
    create(app, "alice")
    response = app.get("/user/1.0/alice/password_reset", status=503)
    assert response.headers["Retry-After"] == "1800"
    assert response.json.startswith("application error: crash id ")


def test_cancel_reset(reg_app, smtp_server):
    """US-PRD: Basic auth; the pending code stops working."""
    create(reg_app, "alice", "alice@example.com")
    reg_app.get("/user/1.0/alice/password_reset")
    code = smtp_server.messages[-1].reset_link()[1]["key"]
    reg_app.delete("/user/1.0/alice/password_reset", status=401)
    response = reg_app.delete("/user/1.0/alice/password_reset",
                              headers=basic_auth("alice", PASSWORD))
    assert (response.text, response.content_type) == ("success", "text/plain")
    reg_app.delete("/user/1.0/alice/password_reset", headers=basic_auth("alice", PASSWORD))
    response = reg_app.post("/user/1.0/alice/password", b"newpasswordhere",
                            headers={"X-Weave-Password-Reset": code}, status=400)
    assert code_of(response) == 10


# -- US-EM ---------------------------------------------------------------------

def test_change_email(reg_app):
    """US-EM2/EM3: trimmed, stored, echoed; no code 15 check."""
    create(reg_app, "alice")
    auth = basic_auth("alice", PASSWORD)
    response = reg_app.post("/user/1.0/alice/email", b"  new@email.com\n", headers=auth)
    assert (response.text, response.content_type) == ("new@email.com", "text/plain")
    assert registry(reg_app).users.get_user("alice").email == "new@email.com"


@SQLITE_ONLY
@pytest.mark.parametrize("body", [b"", b"newemail.com", b"tarek@moz", b"\xffa@b.com"])
def test_change_email_checks_the_address(reg_app, body):
    """US-EM2: code 12."""
    create(reg_app, "alice")
    response = reg_app.post("/user/1.0/alice/email", body,
                            headers=basic_auth("alice", PASSWORD), status=400)
    assert code_of(response) == 12


def test_change_email_needs_credentials(reg_app):
    """US-EM1 / US-R5: none, wrong or another account's credentials are 401."""
    create(reg_app, "alice")
    create(reg_app, "bob")
    reg_app.post("/user/1.0/alice/email", b"new@email.com", status=401)
    reg_app.post("/user/1.0/alice/email", b"new@email.com",
                 headers=basic_auth("alice", "wrong password"), status=401)
    reg_app.post("/user/1.0/alice/email", b"new@email.com",
                 headers=basic_auth("bob", PASSWORD), status=401)
    assert registry(reg_app).users.get_user("alice").email == "someone@example.com"


# -- US-CAP ----------------------------------------------------------------------

def test_captcha_page_is_404_while_captchas_are_off(reg_app):
    """US-CAP1."""
    reg_app.get("/misc/1.0/captcha_html", status=404)
    reg_app.post("/misc/1/captcha_html", status=404)
