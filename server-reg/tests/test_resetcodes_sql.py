"""Reset-code shape (US-RC1/RC4) and the SQL reset-code store, on every engine."""
from __future__ import annotations

import os
import threading

import pytest

from synccore.db import get_engine
from syncreg.resetcodes import PendingCode, format_code, hash_code, is_code_shaped
from syncreg.resetcodes.sql import SQLResetCodeStore


def test_codes_have_the_protocol_shape():
    """US-RC1: XXXX-XXXX-XXXX-XXXX from A-Z0-9."""
    codes = {format_code(os.urandom(32)) for _ in range(200)}
    assert len(codes) == 200
    assert all(is_code_shaped(code) for code in codes)


@pytest.mark.parametrize("code", [
    "", "ABCD-EFGH-IJKL-MNO", "abcd-efgh-ijkl-mnop", "ABCD-EFGH-IJKL-MNOP-QRST",
    "ABCD-EFGH-IJKL-MNOP\n", "ABCDEFGHIJKLMNOP", "ABCD_EFGH_IJKL_MNOP", "key",
])
def test_shape_is_a_full_match(code):
    """US-RC4 / §11 #3: the whole string must have the shape, not a prefix of it."""
    assert not is_code_shaped(code)


@pytest.fixture
def store(database_url):
    store = SQLResetCodeStore(get_engine(database_url))
    store.upgrade_schema()
    return store


def pending(username: str, code: str, expires_at: int) -> PendingCode:
    return PendingCode(username=username, nonce=os.urandom(8).hex(), code_hash=hash_code(code),
                       expires_at=expires_at)


A_CODE = "AAAA-BBBB-CCCC-DDDD"
B_CODE = "ZZZZ-YYYY-XXXX-WWWW"


def test_one_code_per_user(store):
    """US-RC3: replacing keeps a single pending code."""
    assert store.get("alice") is None
    first = pending("alice", A_CODE, 1000)
    store.replace(first)
    assert store.get("alice") == first
    second = pending("alice", B_CODE, 2000)
    store.replace(second)
    assert store.get("alice") == second
    assert not store.consume("alice", hash_code(A_CODE), 0)


def test_consume_is_single_use_and_checks_expiry_and_owner(store):
    """US-RC2, US-RC4, US-RC5."""
    store.replace(pending("alice", A_CODE, 1000))
    store.replace(pending("bob", B_CODE, 1000))
    assert not store.consume("alice", hash_code(B_CODE), 10)  # bob's code
    assert not store.consume("alice", hash_code(A_CODE), 1000)  # expired at 1000
    assert store.consume("alice", hash_code(A_CODE), 999)
    assert not store.consume("alice", hash_code(A_CODE), 999)
    assert store.get("alice") is None
    assert store.get("bob") is not None


def test_delete_and_purge(store):
    store.replace(pending("alice", A_CODE, 100))
    store.replace(pending("bob", B_CODE, 200))
    store.replace(pending("carol", A_CODE, 300))
    store.delete("carol")
    store.delete("nobody")
    assert store.purge_expired(150) == 1
    assert store.get("alice") is None and store.get("bob") is not None
    assert store.purge_expired(150) == 0
    store.ping()


def test_concurrent_consume_succeeds_once(store):
    """US-RC5 under concurrency: one code opens one change."""
    store.replace(pending("alice", A_CODE, 1000))
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def consume() -> None:
        barrier.wait()
        results.append(store.consume("alice", hash_code(A_CODE), 10))

    threads = [threading.Thread(target=consume) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
