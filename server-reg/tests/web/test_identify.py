"""Which account a typed username or e-mail address means (§2.2, §2.3, US-N3)."""
from __future__ import annotations

import base64
import hashlib

import pytest

from syncreg.web.identify import candidate_usernames


def firefox_name(account: str) -> str:
    """§2.3 as written: base32 of the SHA-1 of the lower-cased UTF-8 text."""
    digest = hashlib.sha1(account.lower().encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").lower()


@pytest.mark.parametrize(("entry", "expected"), [
    ("username", ["username"]),
    (" Alice ", ["Alice", "alice"]),
    ("test@example.com", ["kzyvtvrc765vbmi3b36ta67dlbreujxo"]),
    ("Test.User@Example.COM", ["qqmuiql5exgolhiczkvwedr3l2ko4dfb"]),
    # Server rule (punycode) first, then Firefox's (hash of the text as typed).
    ("Fran%c3%a7ios@valid.test", ["ym3nccfhvptfrhn7nkhhyvzgf2yl7r5y",
                                  firefox_name("Fran%c3%a7ios@valid.test")]),
    # Invalid for the server rule (bad UTF-8, bad characters); Firefox still hashes.
    ("bo%EF%bb@badcharacter.test", [firefox_name("bo%EF%bb@badcharacter.test")]),
    ("user name", [firefox_name("user name")]),
    ("", []),
    ("   ", []),
    ("x" * 33, []),
])
def test_candidate_usernames(entry, expected):
    assert candidate_usernames(entry) == expected
