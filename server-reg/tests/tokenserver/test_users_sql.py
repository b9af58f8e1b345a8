"""The SQL token-server account store, on every engine."""
from __future__ import annotations

import threading

import pytest

from synccore.db import get_engine
from syncreg.tokenserver.users import HISTORY_ROWS, RETIRED_GENERATION
from syncreg.tokenserver.users.schema import FIRST_UID
from syncreg.tokenserver.users.sql import SQLTokenUserBackend

S = "sync-1.5"
A = "a@example.test"
NODE = "https://node.example.test/"


@pytest.fixture
def users(database_url):
    backend = SQLTokenUserBackend(get_engine(database_url))
    backend.upgrade_schema()
    return backend


def test_no_history(users):
    assert users.get_user_history(S, A) is None


def test_uids_start_above_sync11_ids(users):
    first = users.create_user(S, A, 1, 0, "aa", NODE, 10)
    second = users.create_user(S, "b@example.test", 1, 0, "aa", NODE, 10)
    assert first.uid >= FIRST_UID
    assert second.uid > first.uid


def test_create_and_read(users):
    user = users.create_user(S, A, 5, 7, "aa", NODE, 10)
    assert users.get_user_by_uid(user.uid) == user
    assert (user.generation, user.keys_changed_at, user.client_state, user.node,
            user.created_at, user.replaced_at) == (5, 7, "aa", NODE, 10, None)
    history = users.get_user_history(S, A)
    assert history.current == user
    assert (history.old_client_states, history.first_seen_at) == (frozenset(), 10)
    assert users.get_user_history("sync-1.1", A) is None


def test_unknown_keys_changed_at_reads_as_zero(users):
    assert users.create_user(S, A, 5, 0, "aa", NODE, 10).keys_changed_at == 0
    assert users.get_user_history(S, A).current.keys_changed_at == 0


def test_replace(users):
    old = users.create_user(S, A, 1, 1, "aa", NODE, 10)
    new = users.replace_user(S, A, 2, 2, "bb", NODE, 20)
    assert new.uid != old.uid
    assert users.get_user_by_uid(old.uid).replaced_at == 20
    history = users.get_user_history(S, A)
    assert history.current == new
    assert history.old_client_states == frozenset({"aa"})
    assert history.first_seen_at == 10


def test_history_orders_by_generation_then_creation(users):
    users.create_user(S, A, 9, 0, "aa", NODE, 10)
    users.create_user(S, A, 3, 0, "bb", NODE, 20)  # newer row, older generation
    history = users.get_user_history(S, A)
    assert history.current.client_state == "aa"
    assert history.old_client_states == frozenset({"bb"})


def test_creation_race_marks_older_rows(users):
    older = users.create_user(S, A, 1, 0, "aa", NODE, 10)
    newer = users.create_user(S, A, 1, 0, "aa", NODE, 20)
    assert users.get_user_history(S, A).current.uid == newer.uid
    assert users.get_user_by_uid(older.uid).replaced_at == 20
    assert users.get_user_by_uid(newer.uid).replaced_at is None


def test_history_is_bounded(users):
    for index in range(HISTORY_ROWS + 5):
        users.replace_user(S, A, index, 0, f"{index:02x}", NODE, 100 + index)
    history = users.get_user_history(S, A)
    assert history.current.client_state == f"{HISTORY_ROWS + 4:02x}"
    assert len(history.old_client_states) == HISTORY_ROWS - 1


def test_update_never_goes_backwards(users):
    user = users.create_user(S, A, 10, 10, "aa", NODE, 1)
    assert users.update_user(user.uid, 20, 15)
    assert not users.update_user(user.uid, 19, 15)
    assert not users.update_user(user.uid, 20, 14)
    stored = users.get_user_by_uid(user.uid)
    assert (stored.generation, stored.keys_changed_at) == (20, 15)


def test_update_skips_replaced_rows(users):
    user = users.create_user(S, A, 10, 0, "aa", NODE, 1)
    users.replace_user(S, A, 11, 0, "bb", NODE, 2)
    assert not users.update_user(user.uid, 50, 0)


def test_concurrent_updates_keep_the_highest(users):
    user = users.create_user(S, A, 0, 0, "aa", NODE, 1)
    errors = []

    def bump(generation):
        try:
            users.update_user(user.uid, generation, generation)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(value,)) for value in range(1, 17)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A conflict may refuse a write, never move the values backwards.
    stored = users.get_user_by_uid(user.uid)
    assert all(type(exc).__name__ == "BackendConflict" for exc in errors)
    assert stored.generation == stored.keys_changed_at
    if not errors:
        assert stored.generation == 16


def test_retire(users):
    users.create_user(S, A, 1, 0, "aa", NODE, 1)
    assert users.retire_user(S, A, 50) == 1
    current = users.get_user_history(S, A).current
    assert current.retired and current.generation == RETIRED_GENERATION
    assert current.replaced_at == 50
    assert users.retire_user(S, A, 60) == 0


def test_replace_users_on_node(users):
    users.create_user(S, A, 1, 0, "aa", NODE, 1)
    users.create_user(S, "b@example.test", 1, 0, "aa", "https://other.test/", 1)
    assert users.replace_users_on_node(S, NODE, 5) == 1
    assert users.get_user_history(S, A).current.replaced_at == 5
    assert users.get_user_history(S, "b@example.test").current.replaced_at is None


def test_purgeable_rows(users):
    first = users.create_user(S, A, 1, 0, "aa", NODE, 1)
    second = users.replace_user(S, A, 2, 0, "bb", NODE, 100)
    users.replace_user(S, A, 3, 0, "cc", NODE, 200)
    assert [user.uid for user in users.iter_purgeable(S, 150, 10)] == [first.uid]
    assert [user.uid for user in users.iter_purgeable(S, 250, 10)] == [first.uid, second.uid]
    assert [user.uid for user in users.iter_purgeable(S, 250, 1)] == [first.uid]
    users.mark_purged(first.uid, 300)
    assert users.get_user_by_uid(first.uid).purged_at == 300
    assert [user.uid for user in users.iter_purgeable(S, 250, 10)] == [second.uid]
    # Purged rows still remember their client state.
    assert "aa" in users.get_user_history(S, A).old_client_states


def test_ping(users):
    users.ping()
