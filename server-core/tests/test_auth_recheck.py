"""``auth.recheck_seconds``: trusting the account read for a cached credential
for a while, on the real SQL user store of every engine."""
from __future__ import annotations

import pytest

from synccore.auth import Authenticator, CredentialCache
from synccore.db import get_engine
from synccore.passwords import HashingParameters, PasswordHashing
from synccore.testing import make_settings
from synccore.users.sql import SQLUserBackend

RECHECK = 5.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def users(database_url) -> SQLUserBackend:
    hashing = PasswordHashing(HashingParameters(time_cost=1, memory_cost_kib=1024,
                                                parallelism=1))
    backend = SQLUserBackend(get_engine(database_url), hashing)
    backend.upgrade_schema()
    return backend


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def authenticator(users, clock) -> Authenticator:
    return Authenticator(users, CredentialCache(ttl_seconds=300, clock=clock),
                         recheck_seconds=RECHECK)


def test_password_change_takes_effect_within_the_recheck_delay(users, clock, authenticator):
    users.create_user("joe", "old")
    assert authenticator.authenticate("joe", "old") is not None
    users.set_password("joe", "new")
    clock.now += RECHECK - 0.5
    assert authenticator.authenticate("joe", "old") is not None  # the documented delay
    clock.now += 0.5
    assert authenticator.authenticate("joe", "old") is None
    assert authenticator.authenticate("joe", "new") is not None


def test_disabled_and_deleted_accounts_within_the_recheck_delay(users, clock, authenticator):
    users.create_user("joe", "secret")
    users.create_user("ann", "secret")
    assert authenticator.authenticate("joe", "secret") is not None
    assert authenticator.authenticate("ann", "secret") is not None
    users.set_disabled("joe", True)
    users.delete_user("ann")
    clock.now += RECHECK
    assert authenticator.authenticate("joe", "secret") is None
    assert authenticator.authenticate("ann", "secret") is None


def test_each_confirmed_read_starts_a_new_delay(users, clock, authenticator):
    created = users.create_user("joe", "secret")
    assert authenticator.authenticate("joe", "secret") is not None
    clock.now += RECHECK  # the account is read again here, unchanged
    assert authenticator.authenticate("joe", "secret").userid == created.userid
    users.set_password("joe", "new")
    clock.now += RECHECK - 0.5
    assert authenticator.authenticate("joe", "secret") is not None
    clock.now += 0.5
    assert authenticator.authenticate("joe", "secret") is None


def test_wrong_passwords_are_never_trusted(users, authenticator):
    users.create_user("joe", "secret")
    assert authenticator.authenticate("joe", "secret") is not None
    assert authenticator.authenticate("joe", "Secret") is None
    assert authenticator.authenticate("joe", "secret ") is None


def test_the_setting_reaches_the_authenticator(sqlite_url):
    from syncserver import main

    default = main({}, **make_settings(sqlite_url)).registry.authenticator
    assert default.recheck_seconds == 0
    tuned = main({}, **make_settings(sqlite_url, **{"auth.recheck_seconds": "2.5"}))
    assert tuned.registry.authenticator.recheck_seconds == 2.5
