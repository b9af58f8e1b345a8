"""Which account a person means by what they typed: a username or an e-mail address.

User API 1.0 §2.2/§2.3 and US-N3: an entry with ``@`` is turned into a
username by the server rule first and, if that is invalid or names no
account, by the rule Firefox applies; an entry without ``@`` is tried as it
is, then lower-cased as Firefox would send it. Anything that gives no valid
username (bad characters, an address that fails IDNA) simply finds nothing.
"""
from __future__ import annotations

from synccore.users import User, UserBackend
from syncreg.rules import client_username, is_valid_username, username_from_email


def candidate_usernames(entry: str) -> list[str]:
    """The valid usernames ``entry`` may stand for, the server rule's first."""
    entry = entry.strip()
    if not entry:
        return []
    server = username_from_email(entry) if "@" in entry else entry
    candidates = []
    for name in (server, client_username(entry)):
        if name is not None and is_valid_username(name) and name not in candidates:
            candidates.append(name)
    return candidates


def find_account(users: UserBackend, entry: str) -> User | None:
    """The first account among ``candidate_usernames(entry)``, or None."""
    for name in candidate_usernames(entry):
        user = users.get_user(name)
        if user is not None:
            return user
    return None
