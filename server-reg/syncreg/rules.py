"""What makes a username, an e-mail address and a password acceptable.

User API 1.0 section 2: the username syntax (US-N1/N2), the two ways a
username is derived from an e-mail address (the server rule of §2.2 and the
rule Firefox applies, §2.3), the e-mail syntax (US-M1) and the password
strength rule (US-P1).
"""
from __future__ import annotations

import base64
import hashlib
import re
from encodings import idna
from urllib.parse import unquote_to_bytes

USERNAME = re.compile(r"[A-Za-z0-9._-]+")
MAX_USERNAME_LENGTH = 32
MAX_EMAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 8

# US-M1. Local part: dot-separated atoms or one quoted string. Domain: a
# dotted quad (no range check) or labels whose last one is two or more letters.
_ATOM = r'[^<>()\[\]\\.,;:\s@"]+'
_LOCAL = rf'(?:{_ATOM}(?:\.{_ATOM})*|"[^"]*")'
_DOMAIN = r"(?:\d{1,3}(?:\.\d{1,3}){3}|(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})"
EMAIL = re.compile(rf"{_LOCAL}@{_DOMAIN}")


def is_valid_username(username: str) -> bool:
    """US-N1 syntax and the 32-character column limit (US-N2)."""
    return len(username) <= MAX_USERNAME_LENGTH and USERNAME.fullmatch(username) is not None


def _hashed_name(text: bytes) -> str:
    return base64.b32encode(hashlib.sha1(text).digest()).decode("ascii").lower()


def _to_ascii(part: str) -> str:
    """IDNA-2003 ToASCII of every dot-separated label (empty labels are invalid)."""
    return ".".join(idna.ToASCII(label).decode("ascii") for label in part.split("."))


def username_from_email(text: str) -> str | None:
    """The server's derivation (§2.2); None when ``text`` cannot give a username.

    Without ``@`` the text is taken as it is and must be a valid username.
    """
    if "@" not in text:
        return text if USERNAME.fullmatch(text) else None
    try:
        decoded = unquote_to_bytes(text).decode("utf-8")
        local, _, domain = decoded.partition("@")
        address = f"{_to_ascii(local)}@{_to_ascii(domain)}".lower()
    except UnicodeError:
        return None
    return _hashed_name(address.encode("ascii"))


def client_username(account: str) -> str:
    """What Firefox sends as the username for the account string it was given (§2.3)."""
    if USERNAME.fullmatch(account):
        return account.lower()
    return _hashed_name(account.lower().encode("utf-8"))


def email_matches_username(email: str, username: str) -> bool:
    """US-N3: ``username`` is the server's or the client's derivation of ``email``."""
    return username in (username_from_email(email), client_username(email))


def normalise_email(value: str) -> str | None:
    """The trimmed address if it passes US-M1 and fits the column, else None."""
    address = value.strip()
    if len(address) > MAX_EMAIL_LENGTH or not EMAIL.fullmatch(address):
        return None
    return address


def is_strong_password(password: str, username: str) -> bool:
    """US-P1, counting characters (the spec's accepted tightening of bytes)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return False
    return password.strip().lower() != username.strip().lower()
