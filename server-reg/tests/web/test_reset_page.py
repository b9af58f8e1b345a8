"""US-WR: the password-reset pages through the composed application, on every
engine: the request page, the mailed link, the new-password page, every
error of US-WR5 with its marker phrase, escaping, limits and captcha."""
from __future__ import annotations

import dataclasses
import logging
import time

import pytest
import sqlalchemy as sa

from synccore.testing import basic_auth, make_settings, make_test_app
from syncreg.rules import client_username, username_from_email
from syncreg.testing import TEST_PUBLIC_URL, free_port

OLD = "old password"
NEW = "mynewpassword"
PAGE = "/weave-password-reset"


def only_form(response):
    """US-WR: every page with a form has exactly one."""
    assert response.text.count("<form") == 1, response.text
    return response.form


def named_fields(form) -> list[str]:
    """The names the form submits (webtest lists an unnamed button as None)."""
    return [name for name in form.fields if name is not None]


def storage_status(app, username: str, password: str) -> int:
    return app.get(f"/1.1/{username}/info/collections", headers=basic_auth(username, password),
                   status="*").status_int


def ask_for_link(app, smtp_server, entry: str) -> dict[str, str]:
    """Submit the request page with ``entry``; return the mailed link's query."""
    form = only_form(app.get(PAGE))
    form["username"] = entry
    page = form.submit()
    assert "next 6 hours" in page.text
    link, query = smtp_server.messages[-1].reset_link()
    assert link == f"{TEST_PUBLIC_URL}weave-password-reset?username={query['username']}" \
                   f"&key={query['key']}"
    return query


def open_link(app, query: dict[str, str]):
    return app.get(PAGE, params=query)


def submit_passwords(app, query, password: str, confirm: str | None = None):
    form = only_form(open_link(app, query))
    form["password"] = password
    form["confirm"] = password if confirm is None else confirm
    return form.submit("pchange")


def error_of(page) -> str:
    """The text of the page's form-level error message."""
    [message] = page.html.select("#form-message.message-error")
    assert message["role"] == "alert"
    return message.get_text(" ", strip=True)


@pytest.fixture
def alice(reg_app):
    return reg_app.app.registry.users.create_user("alice", OLD, "alice@example.com")


# -- the request page (US-WR1, US-WR4) -----------------------------------------

def test_request_page_is_one_form_with_one_named_field(reg_app):
    page = reg_app.get(PAGE)
    assert page.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    form = only_form(page)
    assert (form.method.upper(), form.action) == ("POST", PAGE)
    assert named_fields(form) == ["username"]
    assert page.html.select_one("button[type=submit]").get("name") is None
    label = page.html.select_one("label[for=username]")
    assert label.get_text() == "Username or email address"
    assert page.html.select_one('link[rel=stylesheet]')["href"] == "/media/site.css"


def test_request_by_username_mails_the_link(reg_app, smtp_server, alice):
    query = ask_for_link(reg_app, smtp_server, "alice")
    assert query["username"] == "alice"
    [mail] = smtp_server.messages
    assert mail.recipients == ["alice@example.com"]


def test_request_by_email_address_finds_the_derived_account(reg_app, smtp_server):
    """US-WR7: typing the address resets the account named by its §2.2 derivation."""
    name = username_from_email("tarek@mozilla.com")
    reg_app.app.registry.users.create_user(name, OLD, "tarek@mozilla.com")
    query = ask_for_link(reg_app, smtp_server, "  Tarek@Mozilla.com ")
    assert query["username"] == name == "4bkawybiacr7h7sslleintbmrimswa5z"


def test_request_by_address_falls_back_to_the_client_rule(reg_app, smtp_server):
    """US-N3: an account Firefox named from a non-ASCII address is found too."""
    address = "Françios@valid.test"
    name = client_username(address)
    assert name != username_from_email(address)
    reg_app.app.registry.users.create_user(name, OLD, "francios@valid.test")
    assert ask_for_link(reg_app, smtp_server, address)["username"] == name


UNKNOWN_OR_INVALID = ["nobody", "nobody@example.com", "user\r\nname", "%3Cscript%3E",
                      "bad name!", "bo%EF%bb@badcharacter.test", "a@b..c", "x" * 33]


def test_unknown_or_invalid_accounts_are_refused_with_code_3(reg_app, smtp_server, alice):
    for entry in UNKNOWN_OR_INVALID:
        form = only_form(reg_app.get(PAGE))
        form["username"] = entry
        page = form.submit()
        assert page.status_int == 200, entry
        assert error_of(page) == ("Your request could not be processed: there is no "
                                  "account with this username or email address (error 3).")
        assert page.html.select_one("#username")["aria-invalid"] == "true"
        assert only_form(page)["username"].value == entry
    assert smtp_server.messages == []


def test_account_without_email_is_refused_with_code_12(reg_app, smtp_server):
    reg_app.app.registry.users.create_user("bob", OLD)
    page = reg_app.post(PAGE, {"username": "bob"})
    assert "could not be processed" in error_of(page)
    assert "(error 12)" in error_of(page)
    assert smtp_server.messages == []


def test_empty_entry_asks_for_one(reg_app):
    page = reg_app.post(PAGE, {"username": "  "})
    assert error_of(page) == "Enter your username or email address."


def test_mail_server_down_is_a_page_not_a_crash(alice_free_port_app):
    app = alice_free_port_app
    page = app.post(PAGE, {"username": "alice"})
    assert page.status_int == 200
    assert "the email could not be sent right now" in error_of(page)


@pytest.fixture
def alice_free_port_app(database_url):
    """Mail goes to a port where nothing listens."""
    app = make_test_app(make_settings(database_url, **{
        "mail.smtp_host": "127.0.0.1", "mail.smtp_port": str(free_port()),
        "mail.smtp_timeout_seconds": "5", "server.public_url": TEST_PUBLIC_URL}))
    app.app.registry.users.create_user("alice", OLD, "alice@example.com")
    return app


def test_without_mail_the_pages_say_reset_is_unavailable(database_url):
    """US-PR1 / US-WR: no mail server configured -> 503 pages with Retry-After."""
    app = make_test_app(make_settings(database_url, **{"mail.smtp_host": ""}))
    for response in (app.get(PAGE, status=503), app.post(PAGE, {"username": "a"}, status=503),
                     app.get(PAGE, params={"username": "a", "key": "K"}, status=503)):
        assert response.headers["Retry-After"] == "1800"
        assert response.content_type == "text/html"
        assert "Password reset is not available on this server" in error_of(response)


def test_database_failure_is_a_503_page(sqlite_url, smtp_server, caplog):
    app = make_test_app(make_settings(sqlite_url, **smtp_server.settings()))
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:  # the user store breaks
        conn.exec_driver_sql("ALTER TABLE users RENAME TO users_away")
    try:
        page = app.post(PAGE, {"username": "alice"}, status=503)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE users_away RENAME TO users")
        engine.dispose()
    assert page.content_type == "text/html"
    assert page.headers["Retry-After"] == "1800"
    assert "temporarily unavailable" in error_of(page)
    [reference] = page.html.select("code")
    assert f"backend failure {reference.get_text()} on POST {PAGE}" in caplog.text


def test_reset_mails_are_limited_per_account(database_url, smtp_server):
    app = make_test_app(make_settings(database_url, **smtp_server.settings(),
                                      **{"ratelimit.reset_account_limit": "1"}))
    app.app.registry.users.create_user("alice", OLD, "alice@example.com")
    app.post(PAGE, {"username": "alice"}, status=200)
    page = app.post(PAGE, {"username": "alice"}, status=429)
    assert int(page.headers["Retry-After"]) > 0
    assert page.content_type == "text/html"
    assert "too many attempts" in error_of(page).lower()
    assert len(smtp_server.messages) == 1


# -- the new-password page (US-WR2, US-WR3) ------------------------------------

def test_link_opens_the_new_password_page(reg_app, smtp_server, alice):
    query = ask_for_link(reg_app, smtp_server, "alice")
    page = open_link(reg_app, query)
    form = only_form(page)
    assert (form.method.upper(), form.action) == ("POST", PAGE)
    assert form["key"].value == query["key"] and form["username"].value == "alice"
    assert [form[name].attrs["type"] for name in ("key", "username", "password", "confirm")] \
        == ["hidden", "hidden", "password", "password"]
    assert "pchange" in form.fields
    assert not page.html.select("#form-message")


def test_error_parameter_is_shown_escaped(reg_app):
    page = reg_app.get(PAGE, params={"error": "<script>alert(1)</script>"})
    assert "<script>" not in page.text
    assert error_of(page) == "<script>alert(1)</script>"
    form = only_form(page)
    assert "key" not in form.fields and "username" not in form.fields


def test_other_queries_are_400(reg_app):
    """US-WR3: parameters, but neither key nor error."""
    for query in ("boo=1", "username=alice", "username=alice&boo"):
        page = reg_app.get(f"{PAGE}?{query}", status=400)
        assert page.content_type == "text/html"
        assert "This is not a password-reset link" in error_of(page)
        assert named_fields(only_form(page)) == ["username"]


def test_undecodable_link_is_400(reg_app):
    page = reg_app.get(f"{PAGE}?username=%ff&key=%fe", status=400)
    assert "damaged" in error_of(page)


def test_link_problems_show_before_typing_a_password(reg_app, smtp_server, alice):
    query = ask_for_link(reg_app, smtp_server, "alice")
    assert "unable to locate your account" in error_of(
        open_link(reg_app, {**query, "username": "joe"}))
    assert "Username not provided" in error_of(open_link(reg_app, {"key": query["key"]}))
    altered = query["key"][:-1] + ("A" if query["key"][-1] != "A" else "B")
    assert "Key does not match with username" in error_of(
        open_link(reg_app, {**query, "key": altered}))


# -- setting the password (US-WR5, US-WR6, US-WR7) -----------------------------

def test_the_new_password_replaces_the_old_one_once(reg_app, smtp_server, alice):
    """US-WR6: the password typed is set, the old one fails, the link is spent."""
    query = ask_for_link(reg_app, smtp_server, "alice")
    done = submit_passwords(reg_app, query, NEW)
    assert done.status_int == 200
    assert "Password successfully changed" in done.text
    assert "<form" not in done.text
    assert storage_status(reg_app, "alice", OLD) == 401
    assert storage_status(reg_app, "alice", NEW) == 200
    again = submit_passwords(reg_app, query, "yet another password")
    assert "Key does not match with username" in error_of(again)
    assert storage_status(reg_app, "alice", NEW) == 200
    assert reg_app.app.registry.reset_codes.get("alice") is None


def test_every_refusal_keeps_key_and_username(reg_app, smtp_server, alice):
    """US-WR5 #2..#7 in order, each a 200 page with its marker phrase."""
    query = ask_for_link(reg_app, smtp_server, "alice")
    key = query["key"]
    altered = key[:-1] + ("A" if key[-1] != "A" else "B")
    cases = [
        ({"key": key, "password": NEW, "confirm": NEW}, "Username not provided", ""),
        ({"key": key, "username": "joe", "password": NEW, "confirm": NEW},
         "unable to locate your account", ""),
        ({"key": key, "username": "alice", "boo": "x"}, "Password not provided", "password"),
        ({"key": key, "username": "alice", "password": NEW, "confirm": NEW + "x"},
         "do not match", "confirm"),
        ({"key": key, "username": "alice", "password": NEW},  # no confirmation at all
         "do not match", "confirm"),
        ({"key": key, "username": "alice", "password": "short", "confirm": "short"},
         "at least 8", "password"),
        ({"key": altered, "username": "alice", "password": NEW, "confirm": NEW},
         "Key does not match with username", ""),
        ({"key": "", "username": "alice", "password": NEW, "confirm": NEW},
         "Key does not match with username", ""),
    ]
    for fields, marker, invalid_field in cases:
        page = reg_app.post(PAGE, fields)
        assert page.status_int == 200, fields
        assert marker in error_of(page), (fields, error_of(page))
        form = only_form(page)
        assert form["key"].value == fields["key"]
        if "username" in fields:
            assert form["username"].value == fields["username"]
        else:
            assert "username" not in form.fields
        for name in ("password", "confirm"):
            expected = "true" if name == invalid_field else None
            assert page.html.select_one(f"#{name}").get("aria-invalid") == expected
    # None of them changed anything.
    assert storage_status(reg_app, "alice", OLD) == 200
    assert "Password successfully changed" in submit_passwords(reg_app, query, NEW).text


def test_post_without_key_is_400(reg_app, alice):
    """US-WR5 #1 / US-WR7: POST {username, boo} -> 400."""
    page = reg_app.post(PAGE, {"username": "alice", "boo": "x"}, status=400)
    assert "no reset key" in error_of(page)
    reg_app.post(PAGE, {}, status=400)
    reg_app.post(PAGE, {"password": NEW, "confirm": NEW}, status=400)


def test_expired_code_is_refused(reg_app, smtp_server, alice):
    query = ask_for_link(reg_app, smtp_server, "alice")
    codes = reg_app.app.registry.reset_codes
    codes.replace(dataclasses.replace(codes.get("alice"), expires_at=int(time.time()) - 1))
    page = submit_passwords(reg_app, query, NEW)
    assert "Key does not match with username" in error_of(page)
    assert storage_status(reg_app, "alice", OLD) == 200


def test_email_address_in_the_username_field(reg_app, smtp_server):
    """A submitted username containing @ is converted (§2.2)."""
    name = username_from_email("test@example.com")
    reg_app.app.registry.users.create_user(name, OLD, "test@example.com")
    query = ask_for_link(reg_app, smtp_server, "test@example.com")
    page = reg_app.post(PAGE, {"key": query["key"], "username": "test@example.com",
                               "password": NEW, "confirm": NEW})
    assert "Password successfully changed" in page.text
    assert storage_status(reg_app, name, NEW) == 200


def test_reflected_values_are_escaped(reg_app):
    """§11 #7: key and username come back in attributes, escaped."""
    evil = '"><script>alert(1)</script>'
    page = reg_app.post(PAGE, {"key": evil, "username": evil, "password": "x"})
    assert "<script>" not in page.text
    form = only_form(page)
    assert form["key"].value == evil and form["username"].value == evil


def test_wrong_codes_are_limited_per_account(database_url, smtp_server):
    app = make_test_app(make_settings(database_url, **smtp_server.settings(),
                                      **{"ratelimit.code_account_limit": "2"}))
    app.app.registry.users.create_user("alice", OLD, "alice@example.com")
    fields = {"username": "alice", "password": NEW, "confirm": NEW}
    for key in ("AAAA-AAAA-AAAA-AAAA", "BBBB-BBBB-BBBB-BBBB"):
        assert "Key does not match" in app.post(PAGE, {**fields, "key": key}).text
    page = app.post(PAGE, {**fields, "key": "CCCC-CCCC-CCCC-CCCC"}, status=429)
    assert int(page.headers["Retry-After"]) > 0
    assert "too many attempts" in error_of(page).lower()


def test_secrets_never_reach_the_log(reg_app, smtp_server, alice, caplog):
    caplog.set_level(logging.DEBUG)
    query = ask_for_link(reg_app, smtp_server, "alice")
    submit_passwords(reg_app, query, NEW, confirm=NEW + "x")
    assert "Password successfully changed" in submit_passwords(reg_app, query, NEW).text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "password of alice changed" in logged
    for secret in (OLD, NEW, query["key"]):
        assert secret not in logged


def test_other_methods_are_405(reg_app):
    reg_app.put(PAGE, status=405)
    reg_app.delete(PAGE, status=405)


# -- captcha (US-WR4 recommendation, §11 #9) -----------------------------------

@pytest.fixture
def captcha_app(database_url, smtp_server, site_verify):
    app = make_test_app(make_settings(database_url, **smtp_server.settings(),
                                      **site_verify.settings()))
    app.app.registry.users.create_user("alice", OLD, "alice@example.com")
    return app


def test_captcha_widget_is_in_the_request_form(captcha_app):
    page = captcha_app.get(PAGE)
    only_form(page)
    assert page.html.select_one("form div.g-recaptcha")["data-sitekey"] == "public-site-key"
    assert page.html.select_one("form script")["src"] == \
        "https://www.google.com/recaptcha/api.js"
    # The widget's scripts and frames may load; framing and form targets stay locked.
    policy = page.headers["Content-Security-Policy"]
    assert "default-src" not in policy and "frame-ancestors 'none'" in policy


def test_solved_captcha_sends_the_mail(captcha_app, smtp_server, site_verify):
    """The protocol's field, or the one the reCAPTCHA widget posts."""
    for sent, field in enumerate(("captcha-response", "g-recaptcha-response"), start=1):
        page = captcha_app.post(PAGE, {"username": "alice", field: site_verify.good_token})
        assert "next 6 hours" in page.text, field
        assert len(smtp_server.messages) == sent
        assert site_verify.requests[-1]["response"] == site_verify.good_token


def test_unsolved_captcha_is_refused_with_code_2(captcha_app, smtp_server):
    for fields in ({}, {"g-recaptcha-response": "wrong"},
                   {"captcha-challenge": "c", "captcha-response": ""}):
        page = captcha_app.post(PAGE, {"username": "alice", **fields})
        assert page.status_int == 200
        assert "(error 2)" in error_of(page), fields
    assert smtp_server.messages == []


def test_captcha_service_down_is_a_503_page(database_url, smtp_server):
    closed = f"http://127.0.0.1:{free_port()}/siteverify"
    app = make_test_app(make_settings(database_url, **smtp_server.settings(), **{
        "captcha.use": "true", "captcha.site_key": "k", "captcha.secret_key": "s",
        "captcha.verify_url": closed, "captcha.timeout_seconds": "5"}))
    app.app.registry.users.create_user("alice", OLD, "alice@example.com")
    page = app.post(PAGE, {"username": "alice", "g-recaptcha-response": "t"}, status=503)
    assert page.content_type == "text/html"
    assert "temporarily unavailable" in error_of(page)
    assert smtp_server.messages == []


def test_captcha_fields_do_not_count_as_a_password_form(captcha_app):
    """US-WR4: {username} plus captcha fields is still a request for a link."""
    page = captcha_app.post(PAGE, {"username": "alice", "captcha-challenge": "c",
                                   "captcha-response": "wrong"})
    assert "(error 2)" in error_of(page)
