"""US-WD: the delete-account page through the composed application, on every
engine: the form and its CSRF token, every refusal, the login throttle, and
the removal of the account with all its data."""
from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

from synccore.testing import basic_auth, make_settings, make_test_app
from syncreg.nodes import SYNC_11
from syncreg.rules import username_from_email
from syncreg.web.csrf import COOKIE_NAME, CsrfGuard

PASSWORD = "correct horse battery"
PAGE = "/weave-delete-account"


def only_form(response):
    assert response.text.count("<form") == 1, response.text
    return response.form


def error_of(page) -> str:
    [message] = page.html.select("#form-message.message-error")
    assert message["role"] == "alert"
    return message.get_text(" ", strip=True)


def fill(app, username: str | None, password: str | None):
    form = only_form(app.get(PAGE))
    if username is not None:
        form["username"] = username
    if password is not None:
        form["password"] = password
    return form


def store_bookmark(app, username: str, password: str) -> None:
    record = {"id": "b1", "payload": json.dumps({"ciphertext": "secret"})}
    app.put(f"/1.1/{username}/storage/bookmarks/b1", json.dumps(record),
            headers={**basic_auth(username, password), "Content-Type": "application/json"})


def exists(app, username: str) -> bool:
    return app.get(f"/user/1.0/{username}").text == "1"


@pytest.fixture
def alice(reg_app):
    user = reg_app.app.registry.users.create_user("alice", PASSWORD, "alice@example.com")
    store_bookmark(reg_app, "alice", PASSWORD)
    return user


def test_form_explains_and_protects_itself(reg_app):
    page = reg_app.get(PAGE)
    assert page.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert "permanently removes your Sync account" in page.text
    assert "all the data stored for it" in page.text
    form = only_form(page)
    assert (form.method.upper(), form.action) == ("POST", PAGE)
    assert [form[name].attrs["type"] for name in ("csrf_token", "username", "password")] == \
        ["hidden", "text", "password"]
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE_NAME + "=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    assert "secure" not in cookie.lower()  # served over plain http here
    # A browser that has the cookie keeps it; the token changes with the page.
    again = reg_app.get(PAGE)
    assert "Set-Cookie" not in again.headers


def test_secure_cookie_over_https(reg_app):
    page = reg_app.get(PAGE, extra_environ={"wsgi.url_scheme": "https"})
    assert "secure" in page.headers["Set-Cookie"].lower()


def test_deletes_the_account_and_all_its_data(reg_app, alice):
    """US-WD2 / US-DEL2: records, reset code and node assignment go with the account."""
    registry = reg_app.app.registry
    registry.nodes.add_node(SYNC_11, "https://node1.example.test/", 10)
    assert reg_app.get("/user/1.0/alice/node/weave").text == "https://node1.example.test/"
    reg_app.get("/user/1.0/alice/password_reset")
    assert registry.reset_codes.get("alice") is not None
    assert registry.storage.collection_timestamps(alice.userid) != {}

    form = fill(reg_app, "alice", PASSWORD)
    done = form.submit()
    assert done.status_int == 200
    assert "Account removed." in done.text
    assert "<form" not in done.text
    assert COOKIE_NAME + "=;" in done.headers["Set-Cookie"]  # the token's job is done

    assert not exists(reg_app, "alice")
    reg_app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD),
                status=401)
    assert registry.storage.collection_timestamps(alice.userid) == {}
    assert registry.reset_codes.get("alice") is None
    assert registry.nodes.list_nodes(SYNC_11)[0].assigned == 0
    # The same name registered again starts empty.
    registry.users.create_user("alice", PASSWORD, "alice@example.com")
    assert reg_app.get("/1.1/alice/info/collections",
                       headers=basic_auth("alice", PASSWORD)).json == {}


def test_email_address_names_the_derived_account(reg_app):
    name = username_from_email("Test@Example.com")
    reg_app.app.registry.users.create_user(name, PASSWORD, "test@example.com")
    assert "Account removed." in fill(reg_app, " test@example.com ", PASSWORD).submit().text
    assert not exists(reg_app, name)


def test_firefox_style_name_finds_the_account(reg_app, alice):
    """US-N3: "Alice" is not an account, but Firefox would send "alice"."""
    assert "Account removed." in fill(reg_app, "Alice", PASSWORD).submit().text
    assert not exists(reg_app, "alice")


def test_missing_data(reg_app, alice):
    for username, password, invalid in [("", PASSWORD, ["username"]),
                                        ("alice", "", ["password"]),
                                        ("", "", ["username", "password"]),
                                        (None, None, ["username", "password"])]:
        form = only_form(reg_app.get(PAGE))
        fields = {"csrf_token": form["csrf_token"].value}
        if username is not None:
            fields.update(username=username, password=password)
        page = reg_app.post(PAGE, fields)
        assert page.status_int == 200
        assert error_of(page).startswith("Missing data"), fields
        marked = [name for name in ("username", "password")
                  if page.html.select_one(f"#{name}").get("aria-invalid") == "true"]
        assert marked == invalid
    assert exists(reg_app, "alice")


BAD_CREDENTIALS = [
    ("alice", "wrong password"),
    ("alice@example.com", PASSWORD),  # alice's address, but not what names her account
    ("nobody", PASSWORD),
    ("nobody@example.com", PASSWORD),
    ("bad name!", PASSWORD),
    ("bo%EF%bb@badcharacter.test", PASSWORD),
    ("a@b..c", PASSWORD),
]


def test_bad_credentials(reg_app, alice):
    for username, password in BAD_CREDENTIALS:
        page = fill(reg_app, username, password).submit()
        assert page.status_int == 200
        assert error_of(page).startswith("Bad credentials"), username
        form = only_form(page)
        assert form["username"].value == username
        assert form["password"].value == ""  # never sent back
    assert exists(reg_app, "alice")


def test_disabled_account_is_bad_credentials(reg_app, alice):
    reg_app.app.registry.users.set_disabled("alice", True)
    assert error_of(fill(reg_app, "alice", PASSWORD).submit()).startswith("Bad credentials")
    assert exists(reg_app, "alice")


def test_failed_attempts_are_throttled(database_url):
    """US-WD3: the login limits of Basic auth apply to the form."""
    app = make_test_app(make_settings(database_url, **{"ratelimit.login_account_limit": "2"}))
    app.app.registry.users.create_user("alice", PASSWORD)
    for _ in range(2):
        assert error_of(fill(app, "alice", "guess").submit()).startswith("Bad credentials")
    page = fill(app, "alice", PASSWORD).submit(status=429)
    assert page.content_type == "text/html"
    assert int(page.headers["Retry-After"]) > 0
    assert "too many attempts" in error_of(page).lower()
    assert exists(app, "alice")
    # Basic auth on the storage API is held back too: it is one limit.
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", "guess"), status=429)


# -- CSRF (US-WD3) --------------------------------------------------------------

def assert_refused(page, status: int, phrase: str, app) -> None:
    assert page.status_int == status
    assert phrase in error_of(page)
    assert "Nothing was deleted" in error_of(page)
    assert exists(app, "alice")


def test_missing_token_is_refused(reg_app, alice):
    reg_app.get(PAGE)  # the browser has the cookie, the foreign form has no token
    page = reg_app.post(PAGE, {"username": "alice", "password": PASSWORD}, status=403)
    assert_refused(page, 403, "not issued by this site", reg_app)
    # The refusal offers a fresh form, which works.
    form = only_form(page)
    assert form["username"].value == "alice"
    form["password"] = PASSWORD
    assert "Account removed." in form.submit().text


def test_missing_cookie_is_refused(reg_app, alice):
    form = fill(reg_app, "alice", PASSWORD)
    reg_app.reset()  # cookies off, or a cross-site POST (SameSite=Strict keeps it home)
    page = form.submit(status=403)
    assert_refused(page, 403, "Allow cookies for this site", reg_app)


def test_forged_tokens_are_refused(reg_app, alice):
    for token in ("", "garbage", "123.abc", "\uff11\uff12.x", "9" * 20 + ".x",
                  reg_app.get(PAGE).form["csrf_token"].value + "x"):
        form = fill(reg_app, "alice", PASSWORD)
        form["csrf_token"] = token
        assert_refused(form.submit(status=403), 403, "not issued by this site", reg_app)


def test_token_of_another_browser_is_refused(reg_app, alice):
    form = fill(reg_app, "alice", PASSWORD)
    reg_app.set_cookie(COOKIE_NAME, "A" * 43)  # an attacker's own cookie value
    assert_refused(form.submit(status=403), 403, "not issued by this site", reg_app)


def test_token_of_another_form_is_refused(reg_app, alice):
    form = fill(reg_app, "alice", PASSWORD)
    form["csrf_token"] = reg_app.app.registry.csrf.issue(_request_with_cookie(reg_app),
                                                         "sign-in")
    assert_refused(form.submit(status=403), 403, "not issued by this site", reg_app)


def _request_with_cookie(app):
    from pyramid.request import Request
    request = Request.blank("/", cookies={COOKIE_NAME: app.cookies[COOKIE_NAME]})
    request.registry = app.app.registry
    return request


def test_old_tokens_expire(reg_app, alice):
    now = [1_000_000.0]
    reg_app.app.registry.csrf = CsrfGuard(os.urandom(32), max_age_seconds=600,
                                          clock=lambda: now[0])
    form = fill(reg_app, "alice", PASSWORD)
    now[0] += 601
    assert_refused(form.submit(status=403), 403, "This form has expired", reg_app)
    form = fill(reg_app, "alice", PASSWORD)
    now[0] += 600
    assert "Account removed." in form.submit().text


def test_token_of_a_process_with_another_secret_is_refused(reg_app, alice):
    """Processes must share web.csrf_secret; a foreign signature is refused."""
    form = fill(reg_app, "alice", PASSWORD)
    reg_app.app.registry.csrf = CsrfGuard(os.urandom(32))
    assert_refused(form.submit(status=403), 403, "not issued by this site", reg_app)


def test_configured_secret_is_shared_by_apps(database_url):
    settings = make_settings(database_url, **{"web.csrf_secret": "shared"})
    first, second = make_test_app(settings), make_test_app(settings)
    second.app.registry.users.create_user("alice", PASSWORD)
    form = fill(first, "alice", PASSWORD)
    second.cookiejar = first.cookiejar
    page = second.post(PAGE, {name: form[name].value
                              for name in ("csrf_token", "username", "password")})
    assert "Account removed." in page.text


# -- failures ------------------------------------------------------------------

def test_failed_deletion_keeps_the_account_usable(sqlite_url, caplog):
    """US-WD2: a failure part-way answers 503 `Deletion failed.`; the account stays
    enabled so the user can retry."""
    app = make_test_app(make_settings(sqlite_url))
    app.app.registry.users.create_user("alice", PASSWORD)
    store_bookmark(app, "alice", PASSWORD)
    form = fill(app, "alice", PASSWORD)
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:  # the reset-code store breaks
        conn.exec_driver_sql("ALTER TABLE reset_codes RENAME TO reset_codes_away")
    try:
        page = form.submit(status=503)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE reset_codes_away RENAME TO reset_codes")
        engine.dispose()
    assert page.headers["Retry-After"] == "1800"
    assert page.content_type == "text/html"
    assert "Deletion failed." in error_of(page)
    assert "deleting alice failed" in caplog.text
    assert exists(app, "alice")
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD), status=200)
    assert "Account removed." in fill(app, "alice", PASSWORD).submit().text


def test_other_methods_are_405(reg_app):
    reg_app.put(PAGE, status=405)
    reg_app.delete(PAGE, status=405)
