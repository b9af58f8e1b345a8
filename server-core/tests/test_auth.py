"""Basic credential parsing, the credential cache, and the authenticator
running against the real SQL user store on every engine."""
from __future__ import annotations

import base64
import hashlib

import pytest

from synccore.auth import Authenticator, CredentialCache, parse_basic_authorization
from synccore.db import get_engine
from synccore.passwords import HashingParameters, PasswordHashing
from synccore.users import User
from synccore.users.sql import SQLUserBackend


def basic(raw: bytes, scheme: str = "Basic") -> str:
    return f"{scheme} {base64.b64encode(raw).decode('ascii')}"


# -- parse_basic_authorization -------------------------------------------------

@pytest.mark.parametrize(("header", "expected"), [
    (basic(b"joe:secret"), ("joe", "secret")),
    (basic(b"joe:se:cr:et"), ("joe", "se:cr:et")),         # split at the first colon
    (basic(b"joe::"), ("joe", ":")),
    (basic(b"joe:"), ("joe", "")),
    (basic(b":secret"), ("", "secret")),
    (basic("joe:pässwörd 😀 密码".encode()), ("joe", "pässwörd 😀 密码")),
    (basic(b"joe:with space "), ("joe", "with space ")),
    (basic(b"joe:secret", scheme="basic"), ("joe", "secret")),
    (basic(b"joe:secret", scheme="BASIC"), ("joe", "secret")),
    ("  " + basic(b"joe:secret") + "  ", ("joe", "secret")),
])
def test_parse_accepts(header, expected):
    assert parse_basic_authorization(header) == expected


@pytest.mark.parametrize("header", [
    None,
    "",
    "Basic",
    "Basic ",
    basic(b"joesecret"),                        # no colon
    basic(b""),                                 # nothing at all
    basic(b"joe:\xff\xfe"),                     # password not UTF-8
    basic(b"j\xe9:secret"),                     # Latin-1, not UTF-8
    "Basic !!!not-base64!!!",
    "Basic am9lOnNlY3JldA",                     # padding missing
    "Basic am9l OnNlY3JldA==",                  # junk inside the token
    basic(b"joe:secret", scheme="Bearer"),
    basic(b"joe:secret", scheme="Digest"),
    "am9lOnNlY3JldA==",                         # no scheme
])
def test_parse_rejects(header):
    assert parse_basic_authorization(header) is None


# -- CredentialCache -----------------------------------------------------------

class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def user(userid: int = 1, version: str = "v1") -> User:
    return User(userid=userid, username=f"user{userid}", email=None,
                credential_version=version)


def test_cache_remembers_until_the_ttl_runs_out():
    clock = Clock()
    cache = CredentialCache(ttl_seconds=10, clock=clock)
    cache.remember("joe", "pw", user())
    clock.now += 9.99
    entry = cache.lookup("joe", "pw")
    assert entry is not None and entry.userid == 1 and entry.credential_version == "v1"
    clock.now += 0.01
    assert cache.lookup("joe", "pw") is None
    clock.now -= 5  # an expired entry is dropped, not merely hidden
    assert cache.lookup("joe", "pw") is None


def test_cache_ttl_counts_from_the_latest_remember():
    clock = Clock()
    cache = CredentialCache(ttl_seconds=10, clock=clock)
    cache.remember("joe", "pw", user())
    clock.now += 8
    cache.remember("joe", "pw", user())
    clock.now += 8
    assert cache.lookup("joe", "pw") is not None


def test_cache_matches_exact_credentials_only():
    cache = CredentialCache(clock=Clock())
    cache.remember("joe", "pw", user())
    assert cache.lookup("joe", "PW") is None
    assert cache.lookup("Joe", "pw") is None
    assert cache.lookup("joe", "pw ") is None
    assert cache.lookup("jo", "epw") is None
    assert cache.lookup("joe", "pw") is not None


def test_cache_is_a_bounded_lru():
    cache = CredentialCache(ttl_seconds=60, max_entries=3, clock=Clock())
    for name in ("a", "b", "c"):
        cache.remember(name, "pw", user())
    assert cache.lookup("a", "pw") is not None   # "a" is now the most recent
    cache.remember("d", "pw", user())            # evicts "b", the least recent
    assert cache.lookup("b", "pw") is None
    for name in ("a", "c", "d"):
        assert cache.lookup(name, "pw") is not None
    for index in range(100):
        cache.remember(f"x{index}", "pw", user())
    assert len(cache._entries) == 3
    assert cache.lookup("x99", "pw") is not None
    assert cache.lookup("a", "pw") is None


def test_cache_forget_and_clear():
    cache = CredentialCache(clock=Clock())
    cache.remember("joe", "pw", user(1))
    cache.remember("ann", "pw", user(2))
    cache.forget("joe", "pw")
    cache.forget("nobody", "pw")  # forgetting the unknown is harmless
    assert cache.lookup("joe", "pw") is None
    assert cache.lookup("ann", "pw").userid == 2
    cache.clear()
    assert cache.lookup("ann", "pw") is None


def test_cache_disabled_by_zero_ttl():
    cache = CredentialCache(ttl_seconds=0, clock=Clock())
    cache.remember("joe", "pw", user())
    assert cache.lookup("joe", "pw") is None
    assert len(cache._entries) == 0


def test_cache_never_holds_the_password():
    password = "correct horse battery staple é😀"
    cache = CredentialCache(clock=Clock())
    cache.remember("joe", password, user())
    other = CredentialCache(clock=Clock())
    other.remember("joe", password, user())
    (key, entry), = cache._entries.items()
    secret = password.encode("utf-8")
    # Neither the password nor an unkeyed hash of it (checkable offline).
    assert secret not in key and password not in repr(entry)
    for digest in (hashlib.sha256(secret), hashlib.sha256(b"joe\x00" + secret),
                   hashlib.sha256(b"joe:" + secret)):
        assert key != digest.digest()
    # Keyed per cache: the same credentials give unrelated keys elsewhere.
    assert list(other._entries) != [key]


# -- Authenticator against the SQL user store ------------------------------------

class CountingHashing(PasswordHashing):
    """Real argon2 hashing that counts password verifications."""

    def __init__(self) -> None:
        super().__init__(HashingParameters(time_cost=1, memory_cost_kib=1024, parallelism=1))
        self.verifications = 0

    def verify(self, stored_hash: str, password: str) -> bool:
        self.verifications += 1
        return super().verify(stored_hash, password)


@pytest.fixture
def users(database_url) -> SQLUserBackend:
    backend = SQLUserBackend(get_engine(database_url), CountingHashing())
    backend.upgrade_schema()
    return backend


@pytest.fixture
def authenticator(users) -> Authenticator:
    return Authenticator(users, CredentialCache(ttl_seconds=300))


def test_right_password_is_verified_once_then_cached(users, authenticator):
    created = users.create_user("joe", "secret")
    first = authenticator.authenticate("joe", "secret")
    assert first is not None and first.userid == created.userid
    verified = users.hashing.verifications
    for _ in range(3):
        assert authenticator.authenticate("joe", "secret").userid == created.userid
    assert users.hashing.verifications == verified


def test_wrong_password_after_a_cached_right_one_fails(users, authenticator):
    users.create_user("joe", "secret")
    assert authenticator.authenticate("joe", "secret") is not None
    assert authenticator.authenticate("joe", "Secret") is None
    assert authenticator.authenticate("joe", "secret ") is None
    assert authenticator.authenticate("joe", "") is None
    assert authenticator.authenticate("joe", "secret") is not None


def test_password_change_invalidates_the_cache_at_once(users, authenticator):
    users.create_user("joe", "old")
    assert authenticator.authenticate("joe", "old") is not None
    users.set_password("joe", "new")
    assert authenticator.authenticate("joe", "old") is None
    assert authenticator.authenticate("joe", "new") is not None
    # Changing back still refuses the cached entry made before the first change.
    users.set_password("joe", "old")
    assert authenticator.authenticate("joe", "new") is None
    assert authenticator.authenticate("joe", "old") is not None


def test_change_seen_through_another_process_cache(users):
    """Two processes (two authenticators) sharing the store: no stale cache anywhere."""
    first = Authenticator(users, CredentialCache())
    second = Authenticator(users, CredentialCache())
    users.create_user("joe", "old")
    assert first.authenticate("joe", "old") is not None
    assert second.authenticate("joe", "old") is not None
    users.set_password("joe", "new")
    assert first.authenticate("joe", "old") is None
    assert second.authenticate("joe", "old") is None


def test_disabling_invalidates_the_cache_at_once(users, authenticator):
    users.create_user("joe", "secret")
    assert authenticator.authenticate("joe", "secret") is not None
    users.set_disabled("joe", True)
    assert authenticator.authenticate("joe", "secret") is None
    users.set_disabled("joe", False)
    assert authenticator.authenticate("joe", "secret") is not None


def test_deleted_and_recreated_account(users, authenticator):
    old = users.create_user("joe", "secret")
    assert authenticator.authenticate("joe", "secret").userid == old.userid
    users.delete_user("joe")
    assert authenticator.authenticate("joe", "secret") is None
    new = users.create_user("joe", "secret")
    assert authenticator.authenticate("joe", "secret").userid == new.userid


def test_unknown_user_and_other_users_password(users, authenticator):
    users.create_user("joe", "joes")
    users.create_user("ann", "anns")
    assert authenticator.authenticate("nobody", "joes") is None
    assert authenticator.authenticate("joe", "joes") is not None
    assert authenticator.authenticate("ann", "joes") is None
    assert authenticator.authenticate("JOE", "joes") is None


@pytest.mark.parametrize("password", ["pässwörd", "密码😀", "a:b:c", " spaced ", "x" * 200])
def test_unusual_passwords(users, authenticator, password):
    users.create_user("joe", password)
    assert authenticator.authenticate("joe", password) is not None
    assert authenticator.authenticate("joe", password) is not None  # from the cache
    assert authenticator.authenticate("joe", password[:-1]) is None
    header = basic(f"joe:{password}".encode())
    assert authenticator.authenticate(*parse_basic_authorization(header)) is not None


def test_cache_expiry_rechecks_the_password(users):
    clock = Clock()
    authenticator = Authenticator(users, CredentialCache(ttl_seconds=5, clock=clock))
    users.create_user("joe", "secret")
    assert authenticator.authenticate("joe", "secret") is not None
    verified = users.hashing.verifications
    clock.now += 5
    assert authenticator.authenticate("joe", "secret") is not None
    assert users.hashing.verifications == verified + 1
