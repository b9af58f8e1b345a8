"""Usernames, e-mail addresses and password strength (User API 1.0 §2)."""
from __future__ import annotations

import pytest

from syncreg.rules import (
    client_username,
    email_matches_username,
    is_strong_password,
    is_valid_username,
    normalise_email,
    username_from_email,
)


@pytest.mark.parametrize(("text", "username"), [
    ("username", "username"),
    ("test@test.com", "u2wqblarhim5su7pxemcbwdyryrghmuk"),
    ("test@example.com", "kzyvtvrc765vbmi3b36ta67dlbreujxo"),
    ("Test.User@Example.COM", "qqmuiql5exgolhiczkvwedr3l2ko4dfb"),
    ("tarek@mozilla.com", "4bkawybiacr7h7sslleintbmrimswa5z"),
    ("foo+bar@example.com", "zmy56dypm2ir5dtolscdkc6g7arcjrcd"),
    ("Fran%c3%a7ios@valid.test", "ym3nccfhvptfrhn7nkhhyvzgf2yl7r5y"),
])
def test_server_derivation_vectors(text, username):
    """§2.2 test vectors."""
    assert username_from_email(text) == username


@pytest.mark.parametrize("text", [
    "bo%EF%bb@badcharacter.test",  # bad UTF-8 after percent-decoding
    "user\r\nname", "%3Cscript%3E", "",  # no @ and not US-N1
    "a..b@example.com", "a@example..com",  # empty IDNA label
    "x" * 64 + ".y@example.com",  # label longer than 63
])
def test_server_derivation_rejects(text):
    """§2.2 steps 1, 2 and 4: invalid input gives no username (never a crash)."""
    assert username_from_email(text) is None


def test_client_rule():
    """§2.3: plain names are lower-cased, anything else hashed from UTF-8."""
    assert client_username("Weave_User-1.x") == "weave_user-1.x"
    assert client_username("test@example.com") == "kzyvtvrc765vbmi3b36ta67dlbreujxo"
    # Non-ASCII local part: the client hashes UTF-8, the server punycode.
    assert client_username("Françios@valid.test") != username_from_email("Françios@valid.test")


def test_either_rule_matches():
    """US-N3: the strict check accepts the server's and the client's derivation."""
    address = "Françios@valid.test"
    assert email_matches_username(address, username_from_email(address))
    assert email_matches_username(address, client_username(address))
    assert not email_matches_username(address, "someoneelse")


@pytest.mark.parametrize(("name", "valid"), [
    ("a", True), ("weave.unit_test-1", True), ("x" * 32, True), ("x" * 33, False),
    ("", False), ("a b", False), ("é", False), ("a@b", False),
])
def test_username_syntax(name, valid):
    """US-N1 and the 32-character limit of US-N2."""
    assert is_valid_username(name) is valid


@pytest.mark.parametrize(("address", "valid"), [
    ("tarek", False), ("tarek@moz", False), ("tarek@192.12.32334.3", False),
    ("bademailhere", False), ("newemail.com", False),
    ("tarek@mozilla.com", True), ("tarek+sync@mozilla.com", True),
    ("tarek@127.0.0.1", True), ("new@email.com", True), ('"odd local"@example.com', True),
    ("a@b.c", False), ("a b@example.com", False), ("a@exa_mple.com", False),
    ("x" * 250 + "@example.com", False),
])
def test_email_syntax(address, valid):
    """US-M1 vectors, and the 254-character column."""
    assert (normalise_email(address) is not None) is valid


def test_email_is_trimmed_not_stored_with_newline():
    """US-M1 / §11 #12: surrounding whitespace goes, a trailing newline is never stored."""
    assert normalise_email("  a@example.com\n") == "a@example.com"
    assert normalise_email("a@example.com\nb@example.com") is None


@pytest.mark.parametrize(("username", "password", "strong"), [
    ("tarek", "xx", False),
    ("tttttttt", "tttttttt", False),
    ("tarek", "tttttttt", True),
    ("cafécafécafé", "cafécafécafé", False),
    ("tarek", "tarek2", False),
    ("tarek", "xxxxxxxxx", True),
    ("tarek", "ééééééééé", True),
    ("Username1", "  username1 ", False),
    ("tarek", "éééé", False),  # 8 bytes but 4 characters: counted as characters
])
def test_password_strength(username, password, strong):
    """US-P1 vectors (counting characters, the spec's accepted tightening)."""
    assert is_strong_password(password, username) is strong
