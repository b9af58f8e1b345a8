"""Conformance suite for the storage contract (``syncstorage.storage``).

Every promise made by the docstrings of ``StorageBackend``, ``ItemFilter``
and the module is checked here, so any backend can prove it keeps them.
Use it by subclassing ``StorageBackendTests`` (or some of the topic classes
it combines) in a test module and giving the class a ``storage`` fixture
that yields an empty backend::

    class TestMyStorage(StorageBackendTests):
        @pytest.fixture
        def storage(self):
            yield MyStorage(...)

Two hooks let a backend show more than its public methods can:
``stored_usage`` (an independent count of what is really stored, used to
check the cached counters) and ``failure_after`` (make the backend fail in
the middle of an operation, used to check atomicity). Without overrides the
first reads records back through the public API and the second skips.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from syncstorage.storage import (
    BackendConflict,
    BackendError,
    BatchNotFoundError,
    BatchTooLargeError,
    CollectionModified,
    CollectionUsage,
    ItemFilter,
    ItemModified,
    Record,
    RecordWrite,
    StaleTimestampError,
    StorageBackend,
)

# Request times in centiseconds, far enough apart to tell writes apart.
T0 = 170_000_000_000
T1 = T0 + 100
T2 = T0 + 200
T3 = T0 + 300
LATER = T0 + 100_000  # 1000 seconds on: every TTL used below has run out

USER = 1
OTHER_USER = 2
COLL = "bookmarks"
OTHER_COLL = "history"

KIB = 1024
MAX_PAYLOAD_BYTES = 256 * KIB
MAX_ID_LENGTH = 64


def write(record_id: str, payload: str | None = None, **fields: Any) -> RecordWrite:
    return RecordWrite(id=record_id, payload=payload, **fields)


def utf8_size(text: str | None) -> int:
    return len(text.encode("utf-8")) if text is not None else 0


def everything(storage: StorageBackend, collection: str = COLL, now: int = T3,
               userid: int = USER) -> dict[str, Record]:
    return {record.id: record
            for record in storage.get_records(userid, collection, ItemFilter(), now)}


@dataclass
class Snapshot:
    """Everything a reader can observe of some users' data at one time."""
    timestamps: dict[int, dict[str, int]] = field(default_factory=dict)
    storage_timestamps: dict[int, int] = field(default_factory=dict)
    usage: dict[int, dict[str, CollectionUsage]] = field(default_factory=dict)
    records: dict[tuple[int, str], list[Record]] = field(default_factory=dict)
    expired: int = 0


def snapshot(storage: StorageBackend, now: int,
             places: tuple[tuple[int, str], ...]) -> Snapshot:
    result = Snapshot(expired=storage.count_expired(now))
    for userid, collection in places:
        result.timestamps[userid] = storage.collection_timestamps(userid)
        result.storage_timestamps[userid] = storage.storage_timestamp(userid)
        result.usage[userid] = storage.collection_usage(userid, now)
        result.records[userid, collection] = storage.get_records(
            userid, collection, ItemFilter(), now)
    return result


class StorageTestBase:
    """Hooks and helpers shared by the topic classes below."""

    # -- hooks -----------------------------------------------------------
    def stored_usage(self, storage: StorageBackend, userid: int, collection: str,
                     now: int) -> CollectionUsage:
        """(count, bytes) of the non-expired records, found without the cached counters."""
        records = storage.get_records(userid, collection, ItemFilter(), now)
        return CollectionUsage(len(records), sum(utf8_size(r.payload) for r in records))

    def failure_after(self, storage: StorageBackend,
                      steps: int) -> AbstractContextManager[None]:
        """While active, make the backend fail (BackendError) at its ``steps``-th step."""
        pytest.skip("this backend offers no failure injection")

    # -- helpers ---------------------------------------------------------
    def assert_usage_exact(self, storage: StorageBackend, userid: int,
                           collections: list[str], now: int) -> None:
        usage = storage.collection_usage(userid, now)
        for collection in collections:
            stored = self.stored_usage(storage, userid, collection, now)
            if stored.count == 0:
                assert collection not in usage, (collection, usage)
            else:
                assert usage.get(collection) == stored, (collection, usage, stored)
        assert set(usage) <= set(collections)
        assert storage.total_bytes(userid, now) == sum(u.bytes for u in usage.values())


class CollectionTimestampTests(StorageTestBase):
    """Last-modified rules of the module docstring."""

    def test_new_user_has_nothing(self, storage):
        assert storage.collection_timestamps(USER) == {}
        assert storage.collection_timestamp(USER, COLL) is None
        assert storage.collection_usage(USER, T1) == {}
        assert storage.total_bytes(USER, T1) == 0
        assert storage.get_ids(USER, COLL, ItemFilter(), T1) == []
        assert storage.get_records(USER, COLL, ItemFilter(), T1) == []
        assert storage.get_record(USER, COLL, "a", T1) is None

    def test_write_sets_last_modified(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        assert storage.collection_timestamps(USER) == {COLL: T1}
        assert storage.collection_timestamp(USER, COLL) == T1
        storage.write_records(USER, COLL, [write("b", "y")], T2)
        assert storage.collection_timestamp(USER, COLL) == T2

    def test_metadata_only_write_sets_last_modified(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        storage.write_records(USER, COLL, [write("a", sortindex=3)], T2)
        assert storage.collection_timestamp(USER, COLL) == T2
        storage.write_records(USER, OTHER_COLL, [write("new", sortindex=3)], T3)
        assert storage.collection_timestamps(USER) == {COLL: T2, OTHER_COLL: T3}

    def test_writing_no_records_changes_nothing(self, storage):
        assert storage.write_records(USER, COLL, [], T1) == {}
        assert storage.collection_timestamps(USER) == {}
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        assert storage.write_records(USER, COLL, [], T2) == {}
        assert storage.collection_timestamp(USER, COLL) == T1

    def test_never_moves_backwards(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T2)
        storage.write_records(USER, COLL, [write("b", "y")], T1)
        assert storage.collection_timestamp(USER, COLL) == T2
        storage.delete_records(USER, COLL, ItemFilter(ids=("b",)), T1)
        assert storage.collection_timestamp(USER, COLL) == T2
        storage.delete_records(USER, COLL, None, T1)
        assert storage.collection_timestamp(USER, COLL) == T2

    def test_delete_bumps_even_when_nothing_matched(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        assert storage.delete_records(USER, COLL, ItemFilter(ids=("missing",)), T2) == 0
        assert storage.collection_timestamp(USER, COLL) == T2
        assert storage.delete_records(USER, COLL, ItemFilter(ids=()), T3) == 0
        assert storage.collection_timestamp(USER, COLL) == T3
        assert set(everything(storage)) == {"a"}

    def test_delete_of_emptied_collection_bumps(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        assert storage.delete_records(USER, COLL, ItemFilter(ids=("a",)), T2) == 1
        assert storage.collection_timestamps(USER) == {COLL: T2}
        assert storage.delete_records(USER, COLL, None, T3) == 0
        assert storage.collection_timestamps(USER) == {COLL: T3}

    def test_delete_never_creates_a_row(self, storage):
        assert storage.delete_records(USER, COLL, None, T1) == 0
        assert storage.delete_records(USER, COLL, ItemFilter(ids=("a",)), T1) == 0
        assert storage.delete_records(USER, COLL, ItemFilter(sort="index", limit=1), T1) == 0
        assert storage.delete_collection(USER, COLL, T1) == 0
        assert storage.collection_timestamps(USER) == {}
        assert storage.collection_timestamp(USER, COLL) is None

    def test_deleting_every_record_keeps_the_row(self, storage):
        storage.write_records(USER, COLL, [write("a", "x"), write("b", "y")], T1)
        assert storage.delete_records(USER, COLL, None, T2) == 2
        assert storage.collection_timestamps(USER) == {COLL: T2}
        assert storage.collection_usage(USER, T2) == {}
        assert everything(storage) == {}

    def test_delete_collection_removes_records_and_row(self, storage):
        storage.write_records(USER, COLL, [write("a", "x"), write("b", "y")], T1)
        storage.write_records(USER, OTHER_COLL, [write("a", "z")], T1)
        assert storage.delete_collection(USER, COLL, T2) == 2
        assert storage.collection_timestamps(USER) == {OTHER_COLL: T1}
        assert everything(storage) == {}
        assert storage.collection_usage(USER, T2) == {OTHER_COLL: CollectionUsage(1, 1)}
        # Writing again starts a fresh collection.
        storage.write_records(USER, COLL, [write("c", "w")], T3)
        assert storage.collection_timestamp(USER, COLL) == T3
        assert set(everything(storage)) == {"c"}

    def test_delete_collection_counts_only_visible_records(self, storage):
        storage.write_records(USER, COLL, [write("a", "x"), write("gone", "y", ttl_seconds=0)],
                              T1)
        assert storage.delete_collection(USER, COLL, T2) == 1
        assert storage.count_expired(LATER) == 0

    def test_delete_storage_removes_everything_of_the_user(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        storage.write_records(USER, OTHER_COLL, [write("b", "y", ttl_seconds=0)], T1)
        storage.write_records(OTHER_USER, COLL, [write("a", "other")], T1)
        storage.delete_storage(USER)
        assert storage.collection_timestamps(USER) == {}
        assert storage.collection_usage(USER, T2) == {}
        assert storage.total_bytes(USER, T2) == 0
        assert everything(storage) == {}
        assert storage.count_expired(LATER) == 0
        assert storage.collection_timestamps(OTHER_USER) == {COLL: T1}
        assert everything(storage, userid=OTHER_USER)["a"].payload == "other"
        storage.delete_storage(USER)  # nothing left: still fine
        storage.write_records(USER, COLL, [write("a", "again")], T3)
        assert storage.collection_timestamps(USER) == {COLL: T3}


class UsageTests(StorageTestBase):
    """Counts and bytes (collection_usage, total_bytes)."""

    def test_counts_and_utf8_bytes(self, storage):
        storage.write_records(USER, COLL, [write("a", "abc"), write("b", "é" * 10),
                                           write("c", "😀"), write("d", "")], T1)
        storage.write_records(USER, OTHER_COLL, [write("a", "x" * 500)], T1)
        usage = storage.collection_usage(USER, T1)
        assert usage == {COLL: CollectionUsage(4, 3 + 20 + 4), OTHER_COLL: CollectionUsage(1, 500)}
        assert storage.total_bytes(USER, T1) == 527
        self.assert_usage_exact(storage, USER, [COLL, OTHER_COLL], T1)

    def test_records_without_payload_count_with_no_bytes(self, storage):
        storage.write_records(USER, COLL, [write("a", sortindex=1), write("b", "xy")], T1)
        assert storage.collection_usage(USER, T1) == {COLL: CollectionUsage(2, 2)}

    def test_overwrites_adjust_bytes(self, storage):
        storage.write_records(USER, COLL, [write("a", "x" * 100)], T1)
        storage.write_records(USER, COLL, [write("a", "x" * 10)], T2)
        assert storage.collection_usage(USER, T2) == {COLL: CollectionUsage(1, 10)}
        storage.write_records(USER, COLL, [write("a", sortindex=4)], T3)
        assert storage.collection_usage(USER, T3) == {COLL: CollectionUsage(1, 10)}
        storage.write_records(USER, COLL, [write("a", "")], T3)
        assert storage.collection_usage(USER, T3) == {COLL: CollectionUsage(1, 0)}

    def test_deletes_adjust_usage(self, storage):
        storage.write_records(USER, COLL, [write(str(i), "x" * i) for i in range(1, 6)], T1)
        storage.delete_records(USER, COLL, ItemFilter(ids=("1", "5", "missing")), T2)
        assert storage.collection_usage(USER, T2) == {COLL: CollectionUsage(3, 9)}
        storage.delete_records(USER, COLL, None, T3)
        assert storage.collection_usage(USER, T3) == {}
        assert storage.total_bytes(USER, T3) == 0


class ExpiryTests(StorageTestBase):
    """TTL: expired records are invisible to every read and count."""

    def test_expired_records_are_invisible_everywhere(self, storage):
        storage.write_records(USER, COLL, [
            write("short", "xxxx", ttl_seconds=10, sortindex=5, parentid="p"),
            write("long", "yy", ttl_seconds=1000, sortindex=1, parentid="p"),
            write("forever", "z"),
        ], T1)
        assert storage.collection_usage(USER, T1) == {COLL: CollectionUsage(3, 7)}
        after = T1 + 10 * 100
        assert storage.get_record(USER, COLL, "short", after) is None
        assert storage.get_ids(USER, COLL, ItemFilter(), after) == ["forever", "long"]
        assert [r.id for r in storage.get_records(USER, COLL, ItemFilter(), after)] == \
            ["forever", "long"]
        for selection in (ItemFilter(ids=("short",)), ItemFilter(parentid="p"),
                          ItemFilter(index_above=2), ItemFilter(sort="index", limit=1),
                          ItemFilter(newer=T0)):
            assert "short" not in storage.get_ids(USER, COLL, selection, after)
        assert storage.collection_usage(USER, after) == {COLL: CollectionUsage(2, 3)}
        assert storage.total_bytes(USER, after) == 3
        assert storage.delete_records(USER, COLL, ItemFilter(ids=("short",)), after) == 0
        assert storage.count_expired(after) == 1
        self.assert_usage_exact(storage, USER, [COLL], after)

    def test_ttl_boundary(self, storage):
        storage.write_records(USER, COLL, [write("a", "x", ttl_seconds=10)], T1)
        assert storage.get_record(USER, COLL, "a", T1 + 999) is not None
        assert storage.get_record(USER, COLL, "a", T1 + 1000) is None

    def test_ttl_zero_hides_at_once(self, storage):
        storage.write_records(USER, COLL, [write("a", "x", ttl_seconds=0)], T1)
        assert storage.get_record(USER, COLL, "a", T1) is None
        assert storage.get_ids(USER, COLL, ItemFilter(), T1) == []
        assert storage.collection_usage(USER, T1) == {}
        assert storage.count_expired(T1) == 1

    def test_every_write_sets_the_expiry(self, storage):
        storage.write_records(USER, COLL, [write("a", "x", ttl_seconds=10)], T1)
        storage.write_records(USER, COLL, [write("a", sortindex=2)], T2)  # no ttl: forever
        assert storage.get_record(USER, COLL, "a", LATER).payload == "x"
        storage.write_records(USER, COLL, [write("a", parentid="p", ttl_seconds=5)], T2)
        assert storage.get_record(USER, COLL, "a", T2 + 499) is not None
        assert storage.get_record(USER, COLL, "a", T2 + 500) is None

    def test_overwriting_an_expired_record_makes_a_new_one(self, storage):
        storage.write_records(USER, COLL, [write("a", "old" * 10, ttl_seconds=1, sortindex=5,
                                                 parentid="p", predecessorid="q")], T1)
        result = storage.write_records(USER, COLL, [write("a", sortindex=7)], LATER)
        assert result == {"a": None}
        record = storage.get_record(USER, COLL, "a", LATER)
        assert record == Record(id="a", modified=None, sortindex=7)
        assert storage.collection_usage(USER, LATER) == {COLL: CollectionUsage(1, 0)}
        # A later metadata-only write must not bring the old payload back.
        storage.write_records(USER, COLL, [write("a", parentid="new")], LATER + 1)
        record = storage.get_record(USER, COLL, "a", LATER + 1)
        assert record == Record(id="a", modified=None, sortindex=7, parentid="new")
        assert storage.collection_usage(USER, LATER + 1) == {COLL: CollectionUsage(1, 0)}
        self.assert_usage_exact(storage, USER, [COLL], LATER + 1)

    def test_overwriting_an_expired_record_with_a_payload(self, storage):
        storage.write_records(USER, COLL, [write("a", "x" * 50, ttl_seconds=1, sortindex=5,
                                                 parentid="p")], T1)
        storage.write_records(USER, COLL, [write("a", "new")], LATER)
        assert storage.get_record(USER, COLL, "a", LATER) == \
            Record(id="a", modified=LATER, payload="new")
        assert storage.collection_usage(USER, LATER) == {COLL: CollectionUsage(1, 3)}
        self.assert_usage_exact(storage, USER, [COLL], LATER)

    def test_expired_overwrite_with_bump_gets_a_modified(self, storage):
        storage.write_records(USER, COLL, [write("a", "x", ttl_seconds=0)], T1)
        result = storage.write_records(USER, COLL, [write("a", parentid="p")], T2,
                                       bump_on_metadata=True)
        assert result == {"a": T2}
        assert storage.get_record(USER, COLL, "a", T2) == Record(id="a", modified=T2,
                                                                parentid="p")

    def test_wholly_expired_collection_leaves_usage(self, storage):
        storage.write_records(USER, COLL, [write("a", "x", ttl_seconds=1)], T1)
        storage.write_records(USER, OTHER_COLL, [write("a", "y")], T1)
        assert storage.collection_usage(USER, LATER) == {OTHER_COLL: CollectionUsage(1, 1)}
        assert storage.total_bytes(USER, LATER) == 1


class WriteTests(StorageTestBase):
    """write_records: payloads, metadata-only writes, duplicates."""

    def test_write_and_read_back(self, storage):
        result = storage.write_records(USER, COLL, [
            write("a", "payload", sortindex=-3, parentid="p", predecessorid="q"),
            write("b", ""),
        ], T1)
        assert result == {"a": T1, "b": T1}
        assert storage.get_record(USER, COLL, "a", T1) == Record(
            id="a", modified=T1, sortindex=-3, payload="payload", parentid="p",
            predecessorid="q")
        assert storage.get_record(USER, COLL, "b", T1) == Record(id="b", modified=T1,
                                                                payload="")

    def test_payload_write_keeps_absent_metadata(self, storage):
        storage.write_records(USER, COLL, [write("a", "1", sortindex=3, parentid="p",
                                                 predecessorid="q")], T1)
        assert storage.write_records(USER, COLL, [write("a", "2")], T2) == {"a": T2}
        assert storage.get_record(USER, COLL, "a", T2) == Record(
            id="a", modified=T2, sortindex=3, payload="2", parentid="p", predecessorid="q")

    def test_metadata_only_write_keeps_modified_and_payload(self, storage):
        storage.write_records(USER, COLL, [write("a", "keep", sortindex=1)], T1)
        result = storage.write_records(USER, COLL, [write("a", sortindex=9, parentid="p")], T2)
        assert result == {"a": T1}
        assert storage.get_record(USER, COLL, "a", T2) == Record(
            id="a", modified=T1, sortindex=9, payload="keep", parentid="p")
        assert storage.get_ids(USER, COLL, ItemFilter(newer=T1), T2) == []

    def test_metadata_only_write_creates_a_record_without_modified(self, storage):
        result = storage.write_records(USER, COLL, [write("a", sortindex=11)], T1)
        assert result == {"a": None}
        assert storage.get_record(USER, COLL, "a", T1) == Record(id="a", sortindex=11)
        assert storage.get_ids(USER, COLL, ItemFilter(), T1) == ["a"]
        assert storage.get_ids(USER, COLL, ItemFilter(index_above=10), T1) == ["a"]
        assert storage.collection_usage(USER, T1) == {COLL: CollectionUsage(1, 0)}

    def test_bump_on_metadata(self, storage):
        storage.write_records(USER, COLL, [write("a", "x", sortindex=1)], T1)
        # sortindex given: modified moves.
        result = storage.write_records(USER, COLL, [write("a", sortindex=2)], T2,
                                       bump_on_metadata=True)
        assert result == {"a": T2}
        # ttl or parentid only: it stays.
        result = storage.write_records(USER, COLL, [write("a", ttl_seconds=1000)], T3,
                                       bump_on_metadata=True)
        assert result == {"a": T2}
        assert storage.get_record(USER, COLL, "a", T3).modified == T2
        # a new record without payload is stamped.
        result = storage.write_records(USER, COLL, [write("b", parentid="p")], T3,
                                       bump_on_metadata=True)
        assert result == {"b": T3}
        assert storage.get_record(USER, COLL, "b", T3) == Record(id="b", modified=T3,
                                                                parentid="p")

    def test_last_write_of_an_id_wins(self, storage):
        result = storage.write_records(USER, COLL, [write("a", "first", sortindex=1),
                                                    write("a", "second")], T1)
        assert result == {"a": T1}
        assert storage.get_record(USER, COLL, "a", T1) == Record(
            id="a", modified=T1, sortindex=1, payload="second")
        assert storage.collection_usage(USER, T1) == {COLL: CollectionUsage(1, 6)}

    def test_duplicates_apply_in_order(self, storage):
        storage.write_records(USER, COLL, [write("a", "p", sortindex=1),
                                           write("a", sortindex=2),
                                           write("b", sortindex=5),
                                           write("b", "late", parentid="x"),
                                           write("c", "short", ttl_seconds=0),
                                           write("c", "kept")], T1)
        assert everything(storage, now=T1) == {
            "a": Record(id="a", modified=T1, sortindex=2, payload="p"),
            "b": Record(id="b", modified=T1, sortindex=5, payload="late", parentid="x"),
            "c": Record(id="c", modified=T1, payload="kept"),
        }
        assert storage.collection_usage(USER, T1) == {COLL: CollectionUsage(3, 9)}

    def test_returns_every_id(self, storage):
        storage.write_records(USER, COLL, [write("old", "x")], T1)
        result = storage.write_records(USER, COLL, [write("old", sortindex=1),
                                                    write("new", "y"), write("bare", parentid="p")],
                                       T2)
        assert result == {"old": T1, "new": T2, "bare": None}

    def test_large_payloads(self, storage):
        payloads = ["a" * MAX_PAYLOAD_BYTES, "😀" * (MAX_PAYLOAD_BYTES // 4),
                    "é" * (MAX_PAYLOAD_BYTES // 2), ("xyz\n\"\\" * MAX_PAYLOAD_BYTES)[:100_000]]
        storage.write_records(USER, COLL, [write(str(i), p) for i, p in enumerate(payloads)], T1)
        stored = everything(storage, now=T1)
        for i, payload in enumerate(payloads):
            assert stored[str(i)].payload == payload
        expected = sum(utf8_size(p) for p in payloads)
        assert storage.collection_usage(USER, T1) == {COLL: CollectionUsage(4, expected)}
        # Overwriting a big payload with a small one gives the bytes back.
        storage.write_records(USER, COLL, [write("0", "small")], T2)
        assert storage.total_bytes(USER, T2) == expected - MAX_PAYLOAD_BYTES + 5


class TextTests(StorageTestBase):
    """Ids and payloads are exact strings: case, spaces, any Unicode."""

    def test_ids_are_case_sensitive(self, storage):
        storage.write_records(USER, COLL, [write("abc", "lower")], T1)
        assert storage.get_record(USER, COLL, "ABC", T1) is None
        storage.write_records(USER, COLL, [write("ABC", "upper")], T2)
        assert storage.get_record(USER, COLL, "abc", T2).payload == "lower"
        assert storage.get_record(USER, COLL, "ABC", T2).payload == "upper"
        assert storage.get_ids(USER, COLL, ItemFilter(), T2) == ["ABC", "abc"]
        assert storage.get_ids(USER, COLL, ItemFilter(ids=("ABC",)), T2) == ["ABC"]
        assert storage.delete_records(USER, COLL, ItemFilter(ids=("ABC",)), T3) == 1
        assert storage.get_record(USER, COLL, "abc", T3).payload == "lower"

    def test_ids_differing_in_case_in_one_batch(self, storage):
        storage.write_records(USER, COLL, [write("Key", "1"), write("key", "2"),
                                           write("KEY", "3")], T1)
        assert {r.id: r.payload for r in everything(storage, now=T1).values()} == \
            {"Key": "1", "key": "2", "KEY": "3"}
        assert storage.collection_usage(USER, T1) == {COLL: CollectionUsage(3, 3)}

    def test_ids_compare_exactly(self, storage):
        # Trailing spaces, accents and Unicode normal forms all make different ids.
        ids = ["a", "a ", "a  ", " a", "e", "é", "e\u0301", "ß", "ss", "İ", "i"]
        storage.write_records(USER, COLL, [write(i, f"<{i}>") for i in ids], T1)
        stored = everything(storage, now=T1)
        assert {i: r.payload for i, r in stored.items()} == {i: f"<{i}>" for i in ids}
        for record_id in ids:
            assert storage.get_record(USER, COLL, record_id, T1).payload == f"<{record_id}>"
            assert storage.get_ids(USER, COLL, ItemFilter(ids=(record_id,)), T1) == [record_id]
        assert storage.delete_records(USER, COLL, ItemFilter(ids=("a ",)), T2) == 1
        assert "a" in everything(storage, now=T2)

    def test_metadata_strings_compare_exactly(self, storage):
        storage.write_records(USER, COLL, [write("1", "x", parentid="p"),
                                           write("2", "x", parentid="P"),
                                           write("3", "x", parentid="p "),
                                           write("4", "x", predecessorid="q"),
                                           write("5", "x", predecessorid="Q")], T1)
        assert storage.get_ids(USER, COLL, ItemFilter(parentid="p"), T1) == ["1"]
        assert storage.get_ids(USER, COLL, ItemFilter(parentid="P"), T1) == ["2"]
        assert storage.get_ids(USER, COLL, ItemFilter(parentid="p "), T1) == ["3"]
        assert storage.get_ids(USER, COLL, ItemFilter(predecessorid="Q"), T1) == ["5"]

    def test_unicode_ids_and_payloads(self, storage):
        ids = ["😀", "日本語", "{6820f3ca-6e8a-4c6b-a4bc-6d5ec7ba0bbe}", "a\\b?c#d~e",
               "😀" * MAX_ID_LENGTH, "\u00e9" * MAX_ID_LENGTH]
        payloads = {record_id: f"{record_id} ✓ \U0001f980 \u2028 \t\n" for record_id in ids}
        storage.write_records(USER, COLL, [write(i, p, parentid=i[:MAX_ID_LENGTH])
                                           for i, p in payloads.items()], T1)
        for record_id, payload in payloads.items():
            record = storage.get_record(USER, COLL, record_id, T1)
            assert record.payload == payload
            assert record.parentid == record_id
            assert storage.get_ids(USER, COLL, ItemFilter(parentid=record_id), T1) == [record_id]
        assert storage.get_ids(USER, COLL, ItemFilter(), T1) == sorted(ids)
        assert storage.get_ids(USER, COLL, ItemFilter(ids=("😀", "日本語")), T1) == \
            ["日本語", "😀"]
        assert storage.total_bytes(USER, T1) == sum(utf8_size(p) for p in payloads.values())
        assert storage.delete_records(USER, COLL, ItemFilter(ids=("😀",)), T2) == 1
        assert "😀" not in everything(storage, now=T2)

    def test_id_order_is_code_point_order(self, storage):
        ids = ["b", "B", "a", "_", "~", "0", "10", "9", "ä", "z", "Ω", "中", "😀", "-", ".",
               "\uffff", "a b", "ab"]
        random.Random(7).shuffle(ids)
        storage.write_records(USER, COLL, [write(i, "x") for i in ids], T1)
        assert storage.get_ids(USER, COLL, ItemFilter(), T1) == sorted(ids)
        assert [r.id for r in storage.get_records(USER, COLL, ItemFilter(), T1)] == sorted(ids)


# Records used by the selection tests: (write time, records written then).
FILTER_DATA: tuple[tuple[int, tuple[RecordWrite, ...]], ...] = (
    (T1, (write("a", "A", sortindex=1, parentid="p1", predecessorid="x"),
          write("b", "B", sortindex=10, parentid="p1"))),
    (T2, (write("c", "C", sortindex=5, parentid="p2"),
          write("d", "D", parentid="P1"))),
    (T3, (write("e", "E", sortindex=10, predecessorid="x"),
          write("f", "F", sortindex=-3),
          write("g", sortindex=7),                      # no payload: no modified
          write("h", "H", sortindex=100, ttl_seconds=0, parentid="p1"))),  # expired
)
ALL_IDS = ["a", "b", "c", "d", "e", "f", "g"]
LONG_ID = "a" * (MAX_ID_LENGTH + 1)

# (selection, the ids it selects in order) over FILTER_DATA.
SELECTIONS: tuple[tuple[ItemFilter, list[str]], ...] = (
    (ItemFilter(), ALL_IDS),
    (ItemFilter(ids=("a", "c", "zz", "A", "h")), ["a", "c"]),
    (ItemFilter(ids=("f", "b")), ["b", "f"]),
    (ItemFilter(ids=(LONG_ID, "b", "x" * 100)), ["b"]),
    (ItemFilter(ids=(LONG_ID,)), []),
    (ItemFilter(ids=()), []),
    (ItemFilter(parentid="p1"), ["a", "b"]),
    (ItemFilter(parentid="P1"), ["d"]),
    (ItemFilter(predecessorid="x"), ["a", "e"]),
    (ItemFilter(newer=T1), ["c", "d", "e", "f"]),
    (ItemFilter(newer=T1 - 1), ["a", "b", "c", "d", "e", "f"]),
    (ItemFilter(older=T3), ["a", "b", "c", "d"]),
    (ItemFilter(older=T1), []),
    (ItemFilter(newer=T1, older=T3), ["c", "d"]),
    (ItemFilter(newer=T1, older=T2), []),
    (ItemFilter(newer=T2, older=T1), []),
    (ItemFilter(index_above=5), ["b", "e", "g"]),
    (ItemFilter(index_below=5), ["a", "f"]),
    (ItemFilter(index_above=1, index_below=10), ["c", "g"]),
    (ItemFilter(index_above=4.5), ["b", "c", "e", "g"]),
    (ItemFilter(index_below=-2.5), ["f"]),
    (ItemFilter(index_above=10), []),
    (ItemFilter(index_above=5, index_below=5), []),
    (ItemFilter(index_above=5.5), ["b", "e", "g"]),
    (ItemFilter(index_below=5.5), ["a", "c", "f"]),
    (ItemFilter(index_above=4.5, index_below=7.5), ["c", "g"]),
    (ItemFilter(index_above=-0.5, index_below=1.5), ["a"]),
    (ItemFilter(index_above=-1e300, index_below=1e300), ["a", "b", "c", "e", "f", "g"]),
    (ItemFilter(index_above=float("-inf")), ["a", "b", "c", "e", "f", "g"]),
    (ItemFilter(index_above=1e300), []),
    (ItemFilter(index_below=-1e300), []),
    (ItemFilter(newer=-10 ** 30, older=10 ** 30), ["a", "b", "c", "d", "e", "f"]),
    (ItemFilter(newer=10 ** 30), []),
    (ItemFilter(newer=T0, index_above=0, predecessorid="x"), ["a", "e"]),
    (ItemFilter(newer=T0, index_above=0, predecessorid="x", older=T3), ["a"]),
    (ItemFilter(ids=("e", "a", "b"), predecessorid="x", parentid="p1"), ["a"]),
    (ItemFilter(ids=("b", "e", "c"), index_above=5, newer=T2), ["e"]),
    (ItemFilter(sort="oldest"), ["a", "b", "c", "d", "e", "f", "g"]),
    (ItemFilter(sort="newest"), ["e", "f", "c", "d", "a", "b", "g"]),
    (ItemFilter(sort="index"), ["b", "e", "g", "c", "a", "f", "d"]),
    (ItemFilter(sort="index", parentid="p1"), ["b", "a"]),
    (ItemFilter(limit=2), ["a", "b"]),
    (ItemFilter(limit=2, offset=2), ["c", "d"]),
    (ItemFilter(limit=100, offset=5), ["f", "g"]),
    (ItemFilter(limit=2, offset=7), []),
    (ItemFilter(limit=2, offset=100), []),
    (ItemFilter(offset=3), ALL_IDS),
    (ItemFilter(limit=0), ALL_IDS),
    (ItemFilter(limit=-5), ALL_IDS),
    (ItemFilter(limit=2, offset=-5), ["a", "b"]),
    (ItemFilter(limit=10 ** 30), ALL_IDS),
    (ItemFilter(limit=10 ** 30, offset=5), ["f", "g"]),
    (ItemFilter(limit=1, offset=10 ** 30), []),
    (ItemFilter(limit=1, sort="oldest"), ["a"]),
    (ItemFilter(limit=2, sort="newest"), ["e", "f"]),
    (ItemFilter(limit=2, sort="index"), ["b", "e"]),
    (ItemFilter(limit=2, offset=1, sort="index"), ["e", "g"]),
    (ItemFilter(limit=2, offset=2, sort="newest", newer=T1), ["c", "d"]),
)
SELECTION_IDS = [repr(selection) for selection, _ in SELECTIONS]


class SelectionTests(StorageTestBase):
    """ItemFilter semantics, on reads and on deletes."""

    @pytest.fixture
    def filter_data(self, storage):
        for now, records in FILTER_DATA:
            storage.write_records(USER, COLL, list(records), now)
        return storage

    @pytest.fixture
    def neighbours(self, filter_data):
        """The same ids in another collection and for another user: never selected."""
        storage = filter_data
        storage.write_records(USER, OTHER_COLL, [write(i, "o", sortindex=6) for i in ALL_IDS],
                              T3)
        storage.write_records(OTHER_USER, COLL, [write(i, "u", sortindex=6) for i in ALL_IDS],
                              T3)
        return storage

    def test_reads(self, neighbours):
        storage = neighbours
        wrong = []
        for selection, expected in SELECTIONS:
            ids = storage.get_ids(USER, COLL, selection, T3)
            records = storage.get_records(USER, COLL, selection, T3)
            if ids != expected or [r.id for r in records] != expected:
                wrong.append((selection, expected, ids, [r.id for r in records]))
            for record in records:
                assert record == storage.get_record(USER, COLL, record.id, T3)
        assert wrong == []

    def test_full_records(self, filter_data):
        records = filter_data.get_records(USER, COLL, ItemFilter(ids=("a", "d", "g")), T3)
        assert records == [
            Record(id="a", modified=T1, sortindex=1, payload="A", parentid="p1",
                   predecessorid="x"),
            Record(id="d", modified=T2, payload="D", parentid="P1"),
            Record(id="g", sortindex=7),
        ]

    @pytest.mark.parametrize(("selection", "expected"), SELECTIONS, ids=SELECTION_IDS)
    def test_deletes(self, filter_data, selection, expected):
        storage = filter_data
        now = T3 + 50
        assert storage.delete_records(USER, COLL, selection, now) == len(expected)
        remaining = [i for i in ALL_IDS if i not in expected]
        assert storage.get_ids(USER, COLL, ItemFilter(), now) == remaining
        assert storage.collection_timestamp(USER, COLL) == now
        self.assert_usage_exact(storage, USER, [COLL], now)
        assert storage.count_expired(now) == 1  # "h" is not touched by selections

    def test_deletes_stay_in_their_collection(self, neighbours):
        storage = neighbours
        for step, (selection, _expected) in enumerate(reversed(SELECTIONS)):
            storage.delete_records(USER, COLL, selection, T3 + step + 1)
        now = T3 + len(SELECTIONS)
        assert storage.get_ids(USER, COLL, ItemFilter(), now) == []
        assert storage.get_ids(USER, OTHER_COLL, ItemFilter(), now) == ALL_IDS
        assert storage.get_ids(OTHER_USER, COLL, ItemFilter(), now) == ALL_IDS
        self.assert_usage_exact(storage, USER, [COLL, OTHER_COLL], now)
        self.assert_usage_exact(storage, OTHER_USER, [COLL], now)


class PreconditionTests(StorageTestBase):
    """if_unmodified_since: strictly greater fails, equal proceeds, nothing changes."""

    @pytest.fixture
    def modified_at_t2(self, storage):
        storage.write_records(USER, COLL, [write("a", "A", sortindex=1)], T1)
        storage.write_records(USER, COLL, [write("b", "B")], T2)
        return storage

    def _unchanged(self, storage):
        assert storage.collection_timestamps(USER) == {COLL: T2}
        assert storage.collection_usage(USER, T3) == {COLL: CollectionUsage(2, 2)}
        assert everything(storage) == {
            "a": Record(id="a", modified=T1, sortindex=1, payload="A"),
            "b": Record(id="b", modified=T2, payload="B"),
        }

    OPERATIONS: dict[str, Callable[..., Any]] = {
        "write": lambda s, since: s.write_records(
            USER, COLL, [write("a", "changed"), write("c", "new")], T3,
            if_unmodified_since=since),
        "write-metadata": lambda s, since: s.write_records(
            USER, COLL, [write("a", sortindex=9)], T3, if_unmodified_since=since),
        "delete-selection": lambda s, since: s.delete_records(
            USER, COLL, ItemFilter(ids=("a",)), T3, if_unmodified_since=since),
        "delete-nothing": lambda s, since: s.delete_records(
            USER, COLL, ItemFilter(ids=("zz",)), T3, if_unmodified_since=since),
        "delete-all": lambda s, since: s.delete_records(
            USER, COLL, None, T3, if_unmodified_since=since),
        "delete-collection": lambda s, since: s.delete_collection(
            USER, COLL, T3, if_unmodified_since=since),
    }

    @pytest.mark.parametrize("operation", list(OPERATIONS))
    def test_modified_since_fails_and_changes_nothing(self, modified_at_t2, operation):
        storage = modified_at_t2
        for since in (T2 - 1, T1, 0):
            with pytest.raises(CollectionModified) as caught:
                self.OPERATIONS[operation](storage, since)
            assert caught.value.last_modified == T2
            self._unchanged(storage)

    @pytest.mark.parametrize("operation", list(OPERATIONS))
    def test_equal_or_later_proceeds(self, modified_at_t2, operation):
        storage = modified_at_t2
        self.OPERATIONS[operation](storage, T2)
        if operation == "delete-collection":
            assert storage.collection_timestamp(USER, COLL) is None
        else:
            assert storage.collection_timestamp(USER, COLL) == T3
            self.OPERATIONS[operation](storage, T3 + 1)

    def test_collection_without_row_proceeds(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T2, if_unmodified_since=T1)
        assert storage.collection_timestamp(USER, COLL) == T2
        storage.write_records(USER, OTHER_COLL, [write("a", "x")], T2, if_unmodified_since=-500)
        assert storage.collection_timestamp(USER, OTHER_COLL) == T2
        assert storage.delete_records(USER, "ghost", None, T2, if_unmodified_since=-5) == 0
        assert storage.delete_collection(USER, "ghost", T2, if_unmodified_since=-5) == 0

    def test_check_covers_the_whole_collection(self, modified_at_t2):
        storage = modified_at_t2
        # "a" has not changed since T1, but "b" has.
        with pytest.raises(CollectionModified):
            storage.write_records(USER, COLL, [write("a", "x")], T3, if_unmodified_since=T1)
        # Another collection does not count.
        storage.write_records(USER, OTHER_COLL, [write("a", "x")], T3, if_unmodified_since=T1)

    def test_empty_write_with_failed_check_changes_nothing(self, modified_at_t2):
        storage = modified_at_t2
        with suppress(CollectionModified):
            storage.write_records(USER, COLL, [], T3, if_unmodified_since=T1)
        self._unchanged(storage)


class IsolationTests(StorageTestBase):
    """Users and collections never see each other's records."""

    def test_same_ids_in_other_users_and_collections(self, storage):
        storage.write_records(USER, COLL, [write("a", "1", sortindex=1)], T1)
        storage.write_records(USER, OTHER_COLL, [write("a", "22", sortindex=2)], T2)
        storage.write_records(OTHER_USER, COLL, [write("a", "333", sortindex=3)], T3)
        assert storage.get_record(USER, COLL, "a", T3).payload == "1"
        assert storage.get_record(USER, OTHER_COLL, "a", T3).payload == "22"
        assert storage.get_record(OTHER_USER, COLL, "a", T3).payload == "333"
        assert storage.get_record(OTHER_USER, OTHER_COLL, "a", T3) is None
        assert storage.collection_timestamps(USER) == {COLL: T1, OTHER_COLL: T2}
        assert storage.collection_timestamps(OTHER_USER) == {COLL: T3}
        assert storage.collection_usage(OTHER_USER, T3) == {COLL: CollectionUsage(1, 3)}
        assert storage.total_bytes(USER, T3) == 3

    def test_writes_and_deletes_stay_in_their_place(self, storage):
        for userid in (USER, OTHER_USER):
            for collection in (COLL, OTHER_COLL):
                storage.write_records(userid, collection, [write("a", "x"), write("b", "y")], T1)
        storage.write_records(USER, COLL, [write("a", "changed"), write("b", sortindex=4)], T2)
        storage.delete_records(USER, OTHER_COLL, ItemFilter(ids=("a",)), T2)
        storage.delete_collection(OTHER_USER, OTHER_COLL, T2)
        assert storage.get_record(USER, COLL, "a", T2).payload == "changed"
        assert storage.get_record(USER, OTHER_COLL, "b", T2).sortindex is None
        assert storage.get_ids(USER, OTHER_COLL, ItemFilter(), T2) == ["b"]
        assert storage.get_ids(OTHER_USER, COLL, ItemFilter(), T2) == ["a", "b"]
        assert storage.get_record(OTHER_USER, COLL, "a", T2).payload == "x"
        assert storage.collection_timestamps(USER) == {COLL: T2, OTHER_COLL: T2}
        assert storage.collection_timestamps(OTHER_USER) == {COLL: T1}
        for userid in (USER, OTHER_USER):
            self.assert_usage_exact(storage, userid, [COLL, OTHER_COLL], T2)

    def test_large_user_ids(self, storage):
        big = 2 ** 40 + 1
        storage.write_records(big, COLL, [write("a", "x")], T1)
        assert storage.get_record(big, COLL, "a", T1).payload == "x"
        assert storage.get_record(1, COLL, "a", T1) is None
        assert storage.collection_timestamps(big) == {COLL: T1}


class MaintenanceTests(StorageTestBase):
    """purge_expired and count_expired."""

    def test_nothing_to_purge(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        assert storage.count_expired(LATER) == 0
        assert list(storage.purge_expired(LATER)) == []
        assert storage.get_record(USER, COLL, "a", LATER).payload == "x"

    def test_purge_in_batches_keeps_usage_right(self, storage):
        for userid in (USER, OTHER_USER):
            storage.write_records(userid, COLL, [write(f"e{i}", "x" * (i + 1), ttl_seconds=5)
                                                 for i in range(4)]
                                  + [write("keep", "kept"), write("long", "y", ttl_seconds=5000)],
                                  T1)
            storage.write_records(userid, OTHER_COLL, [write("e", "zz", ttl_seconds=0)], T1)
        assert storage.count_expired(T1) == 2
        assert storage.count_expired(LATER) == 10
        before = {userid: storage.collection_usage(userid, LATER)
                  for userid in (USER, OTHER_USER)}
        assert before[USER] == {COLL: CollectionUsage(2, 5)}
        batches = list(storage.purge_expired(LATER, batch_size=3))
        assert sum(batches) == 10
        assert all(0 < batch <= 3 for batch in batches)
        assert len(batches) >= 4
        assert storage.count_expired(LATER) == 0
        for userid in (USER, OTHER_USER):
            assert storage.collection_usage(userid, LATER) == before[userid]
            self.assert_usage_exact(storage, userid, [COLL, OTHER_COLL], LATER)
            # Counters stay right once the survivors expire too, and after more writes.
            assert storage.collection_usage(userid, T0 + 600_000) == {
                COLL: CollectionUsage(1, 4)}
            storage.write_records(userid, COLL, [write("e0", "new")], LATER)
            assert storage.collection_usage(userid, LATER)[COLL] == CollectionUsage(3, 8)
            self.assert_usage_exact(storage, userid, [COLL, OTHER_COLL], LATER)
        # Purged collections keep their timestamps.
        assert storage.collection_timestamps(USER) == {COLL: LATER, OTHER_COLL: T1}

    def test_purge_leaves_live_records(self, storage):
        storage.write_records(USER, COLL, [write("a", "x", ttl_seconds=10), write("b", "y")], T1)
        assert list(storage.purge_expired(T1 + 999)) == []
        assert storage.get_ids(USER, COLL, ItemFilter(), T1 + 999) == ["a", "b"]
        assert list(storage.purge_expired(T1 + 1000)) == [1]
        assert storage.get_ids(USER, COLL, ItemFilter(), T1) == ["b"]
        assert storage.collection_usage(USER, T1) == {COLL: CollectionUsage(1, 1)}

    def test_purged_id_can_be_written_again(self, storage):
        storage.write_records(USER, COLL, [write("a", "old", ttl_seconds=0, sortindex=3)], T1)
        assert sum(storage.purge_expired(T1)) == 1
        storage.write_records(USER, COLL, [write("a", sortindex=4)], T2)
        assert storage.get_record(USER, COLL, "a", T2) == Record(id="a", sortindex=4)
        self.assert_usage_exact(storage, USER, [COLL], T2)

    def test_ping(self, storage):
        storage.ping()


class AtomicityTests(StorageTestBase):
    """A write that fails midway leaves nothing behind."""

    PLACES = ((USER, COLL), (USER, OTHER_COLL), (OTHER_USER, COLL))

    @pytest.fixture
    def populated(self, storage):
        storage.write_records(USER, COLL, [write("a", "A", sortindex=1), write("b", sortindex=2),
                                           write("x", "X", ttl_seconds=1), write("c", "C")], T1)
        storage.write_records(USER, OTHER_COLL, [write("a", "other")], T1)
        storage.write_records(OTHER_USER, COLL, [write("a", "user2")], T1)
        return storage

    def _fails_atomically(self, storage, operation: Callable[[], Any], now: int, *,
                          committed_steps: Callable[[Snapshot], Snapshot] | None = None) -> None:
        """Fail ``operation`` at each of its steps in turn: nothing may change.

        ``committed_steps`` maps the state before to the one other state a
        failure may leave: for operations made of several transactions.
        """
        before = snapshot(storage, now, self.PLACES)
        allowed = [before] if committed_steps is None else [before, committed_steps(before)]
        for steps in range(1, 100):
            try:
                with self.failure_after(storage, steps):
                    operation()
            except BackendError:
                assert snapshot(storage, now, self.PLACES) in allowed, f"failure at step {steps}"
                continue
            break
        else:
            pytest.fail("the operation never completed")
        assert steps > 1, "the failure was never injected"
        assert snapshot(storage, now, self.PLACES) != before

    def test_write(self, populated):
        batch = [write("a", "A2"), write("b", parentid="p"), write("new", "N"),
                 write("x", sortindex=9), write("bare", sortindex=5), write("a", sortindex=7)]
        self._fails_atomically(populated, lambda: populated.write_records(
            USER, COLL, batch, LATER), LATER)

    def test_first_write_of_a_collection(self, populated):
        self._fails_atomically(populated, lambda: populated.write_records(
            USER, "fresh", [write("a", "A"), write("b", sortindex=1)], LATER), LATER)
        assert populated.collection_timestamp(USER, "fresh") == LATER

    def test_delete_selection(self, populated):
        self._fails_atomically(populated, lambda: populated.delete_records(
            USER, COLL, ItemFilter(sort="index", limit=2), LATER), LATER)

    def test_delete_all(self, populated):
        self._fails_atomically(populated, lambda: populated.delete_records(
            USER, COLL, None, LATER), LATER)

    def test_delete_collection(self, populated):
        self._fails_atomically(populated, lambda: populated.delete_collection(
            USER, COLL, LATER), LATER)

    def test_delete_storage(self, populated):
        self._fails_atomically(populated, lambda: populated.delete_storage(USER), LATER)

    def test_delete_record(self, populated):
        self._fails_atomically(populated, lambda: populated.delete_record(
            USER, COLL, "a", LATER), LATER)

    def test_commit_batch(self, populated):
        batch = populated.create_batch(USER, COLL, [write("a", "staged"), write("n", "new")],
                                       T2, ttl_seconds=3600)
        # A failed commit leaves the batch open, so each retry can commit it.
        self._fails_atomically(populated, lambda: populated.commit_batch(
            USER, COLL, batch, [write("b", sortindex=8)], T3), T3)
        assert everything(populated)["a"].payload == "staged"

    def test_purge(self, populated):
        # Each yielded batch is its own transaction: a failure in a later one
        # keeps the batches already purged (invisible records only).
        self._fails_atomically(populated, lambda: list(populated.purge_expired(LATER)), LATER,
                               committed_steps=lambda before: replace(before, expired=0))


class ConcurrencyTests(StorageTestBase):
    """Concurrent writers and deleters leave exact counters; conflicts are BackendConflict."""

    THREADS = 6
    STEPS = 16

    def _run(self, storage, job: Callable[[random.Random, int], None]) -> int:
        """Run ``job(rng, step)`` STEPS times in each of THREADS threads; return conflicts."""
        barrier = threading.Barrier(self.THREADS)
        conflicts: list[BackendConflict] = []
        failures: list[BaseException] = []

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            try:
                barrier.wait()
                for step in range(self.STEPS):
                    try:
                        job(rng, step)
                    except BackendConflict as exc:
                        conflicts.append(exc)
            except BaseException as exc:  # reported below, in the test's thread
                failures.append(exc)

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(self.THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        # Retrying is the backend's job; a few lost races are acceptable, most must succeed.
        assert len(conflicts) <= self.THREADS * self.STEPS // 10, conflicts[:3]
        return len(conflicts)

    @staticmethod
    def _random_write(rng: random.Random, ids: list[str]) -> list[RecordWrite]:
        records = []
        for record_id in rng.sample(ids, rng.randint(1, 6)):
            kind = rng.random()
            ttl = rng.choice([None, None, None, 0, 5000])
            if kind < 0.25:
                records.append(write(record_id, sortindex=rng.randint(-5, 5), ttl_seconds=ttl))
            else:
                payload = rng.choice(["x", "é", "😀"]) * rng.randint(0, 200)
                records.append(write(record_id, payload, sortindex=rng.randint(-5, 5),
                                     ttl_seconds=ttl))
        return records

    def test_one_collection(self, storage):
        ids = [f"r{i}" for i in range(15)]
        storage.write_records(USER, COLL, [write(i, "seed") for i in ids], T1)

        def job(rng: random.Random, step: int) -> None:
            now = T2 + step
            choice = rng.random()
            if choice < 0.6:
                storage.write_records(USER, COLL, self._random_write(rng, ids), now)
            elif choice < 0.7:
                storage.delete_records(USER, COLL, ItemFilter(ids=tuple(rng.sample(ids, 3))), now)
            elif choice < 0.75:
                storage.delete_record(USER, COLL, rng.choice(ids), now)
            elif choice < 0.85:
                storage.delete_records(USER, COLL, ItemFilter(sort="index", limit=2), now)
            elif choice < 0.9:
                storage.delete_records(USER, COLL, None, now)
            elif choice < 0.95:
                storage.delete_collection(USER, COLL, now)
            else:
                storage.collection_usage(USER, now)

        self._run(storage, job)
        self.assert_usage_exact(storage, USER, [COLL], T2 + self.STEPS)
        self.assert_usage_exact(storage, USER, [COLL], LATER)
        stamp = storage.collection_timestamp(USER, COLL)
        assert stamp is None or T1 <= stamp < T2 + self.STEPS

    def test_many_collections_with_storage_deletes_and_purges(self, storage):
        collections = [f"c{i}" for i in range(4)]
        ids = [f"r{i}" for i in range(8)]

        def job(rng: random.Random, step: int) -> None:
            now = T2 + step
            choice = rng.random()
            if choice < 0.7:
                storage.write_records(USER, rng.choice(collections),
                                      self._random_write(rng, ids), now)
            elif choice < 0.8:
                storage.delete_records(USER, rng.choice(collections),
                                       ItemFilter(ids=tuple(rng.sample(ids, 2))), now)
            elif choice < 0.9:
                storage.delete_storage(USER)
            else:
                list(storage.purge_expired(now, batch_size=5))

        self._run(storage, job)
        final = T2 + self.STEPS
        self.assert_usage_exact(storage, USER, collections, final)
        # Every stored record belongs to a collection that has a timestamp.
        stamps = storage.collection_timestamps(USER)
        for collection in collections:
            if storage.get_ids(USER, collection, ItemFilter(), T1):
                assert collection in stamps
        list(storage.purge_expired(LATER))
        self.assert_usage_exact(storage, USER, collections, LATER)

    def test_concurrent_first_writes_of_one_collection(self, storage):
        def job(rng: random.Random, step: int) -> None:
            collection = f"new{step}"
            storage.write_records(USER, collection, [write(f"{rng.random()}", "abc")], T2 + step)

        conflicts = self._run(storage, job)
        collections = [f"new{step}" for step in range(self.STEPS)]
        self.assert_usage_exact(storage, USER, collections, T3)
        usage = storage.collection_usage(USER, T3)
        assert sum(u.count for u in usage.values()) == self.THREADS * self.STEPS - conflicts
        assert set(storage.collection_timestamps(USER)) == set(usage)


class StorageTimestampTests(StorageTestBase):
    """The user's storage timestamp and ``require_newer`` (Storage 1.5)."""

    def test_storage_timestamp(self, storage):
        assert storage.storage_timestamp(USER) == 0
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        storage.write_records(USER, OTHER_COLL, [write("a", "x")], T2)
        assert storage.storage_timestamp(USER) == T2
        assert storage.storage_timestamp(OTHER_USER) == 0
        # Deleting the newest collection advances it rather than falling back to T1.
        storage.delete_collection(USER, OTHER_COLL, T3)
        assert storage.storage_timestamp(USER) == T3
        storage.delete_collection(USER, "missing", T3 + 10)
        assert storage.storage_timestamp(USER) == T3
        storage.delete_storage(USER, T3 + 20)
        assert storage.storage_timestamp(USER) == T3 + 20
        assert storage.collection_timestamps(USER) == {}
        storage.delete_storage(USER)
        assert storage.storage_timestamp(USER) == 0

    def test_require_newer_refuses_stale_times_and_changes_nothing(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T2)
        refused = {
            "write": lambda now: storage.write_records(
                USER, COLL, [write("a", "y"), write("b", "z")], now, require_newer=True),
            "delete_records": lambda now: storage.delete_records(
                USER, COLL, None, now, require_newer=True),
            "delete_record": lambda now: storage.delete_record(
                USER, COLL, "a", now, require_newer=True),
            "delete_collection": lambda now: storage.delete_collection(
                USER, COLL, now, require_newer=True),
            "delete_storage": lambda now: storage.delete_storage(USER, now, require_newer=True),
        }
        for name, operation in refused.items():
            for now in (T1, T2):
                with pytest.raises(StaleTimestampError) as caught:
                    operation(now)
                assert caught.value.last_modified == T2, name
        assert everything(storage) == {"a": Record(id="a", modified=T2, payload="x")}
        assert storage.collection_timestamps(USER) == {COLL: T2}
        assert storage.storage_timestamp(USER) == T2
        # A collection without a timestamp takes any time.
        storage.write_records(USER, OTHER_COLL, [write("a", "x")], T1, require_newer=True)
        storage.write_records(USER, COLL, [write("b", "z")], T3, require_newer=True)
        assert storage.collection_timestamp(USER, COLL) == T3

    def test_collection_deletes_must_pass_the_storage_timestamp(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        storage.write_records(USER, OTHER_COLL, [write("a", "x")], T3)
        with pytest.raises(StaleTimestampError):
            storage.delete_collection(USER, COLL, T2, require_newer=True)
        with pytest.raises(StaleTimestampError):
            storage.delete_storage(USER, T2, require_newer=True)
        assert storage.collection_timestamps(USER) == {COLL: T1, OTHER_COLL: T3}
        assert storage.delete_collection(USER, COLL, T3 + 1, require_newer=True) == 1
        assert storage.storage_timestamp(USER) == T3 + 1

    def test_delete_storage_if_unmodified_since(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T2)
        with pytest.raises(CollectionModified) as caught:
            storage.delete_storage(USER, T3, if_unmodified_since=T1)
        assert caught.value.last_modified == T2
        assert set(everything(storage)) == {"a"}
        storage.delete_storage(USER, T3, if_unmodified_since=T2)
        assert everything(storage) == {}


class DeleteRecordTests(StorageTestBase):
    """delete_record (Storage 1.5): one record, checked against its own ``modified``."""

    def test_delete_one_record(self, storage):
        storage.write_records(USER, COLL, [write("a", "xx"), write("b", "y"),
                                           write("gone", "z", ttl_seconds=0)], T1)
        assert storage.delete_record(USER, COLL, "a", T2) is True
        assert storage.collection_timestamp(USER, COLL) == T2
        assert set(everything(storage)) == {"b"}
        assert storage.collection_usage(USER, T2) == {COLL: CollectionUsage(1, 1)}
        self.assert_usage_exact(storage, USER, [COLL], T2)

    def test_nothing_to_delete_changes_nothing(self, storage):
        storage.write_records(USER, COLL, [write("a", "x"), write("gone", "z", ttl_seconds=0)],
                              T1)
        assert storage.delete_record(USER, COLL, "missing", T2) is False
        assert storage.delete_record(USER, COLL, "gone", T2) is False
        assert storage.delete_record(USER, COLL, "A", T2) is False
        assert storage.delete_record(USER, OTHER_COLL, "a", T2) is False
        assert storage.delete_record(OTHER_USER, COLL, "a", T2) is False
        assert storage.collection_timestamps(USER) == {COLL: T1}
        assert storage.collection_timestamps(OTHER_USER) == {}
        assert storage.storage_timestamp(USER) == T1

    def test_item_precondition(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        storage.write_records(USER, COLL, [write("b", "y")], T2)
        with pytest.raises(ItemModified) as caught:
            storage.delete_record(USER, COLL, "b", T3, if_unmodified_since=T1)
        assert caught.value.last_modified == T2
        assert set(everything(storage)) == {"a", "b"}
        assert storage.collection_timestamp(USER, COLL) == T2
        # The record's own time counts, not the collection's.
        assert storage.delete_record(USER, COLL, "a", T3, if_unmodified_since=T1) is True


class WriteOptionTests(StorageTestBase):
    """write_records options used by Storage 1.5."""

    def test_default_payload(self, storage):
        storage.write_records(USER, COLL, [write("old", "kept"),
                                           write("dead", "old", ttl_seconds=0)], T1)
        storage.write_records(USER, COLL, [write("new", sortindex=1), write("old", sortindex=2),
                                           write("dead", sortindex=3)], T2,
                              default_payload="", bump_on_metadata=True)
        assert everything(storage, now=T2) == {
            "new": Record(id="new", modified=T2, sortindex=1, payload=""),
            "old": Record(id="old", modified=T2, sortindex=2, payload="kept"),
            "dead": Record(id="dead", modified=T2, sortindex=3, payload=""),
        }
        self.assert_usage_exact(storage, USER, [COLL], T2)

    def test_keep_expiry(self, storage):
        storage.write_records(USER, COLL, [write("a", "x", ttl_seconds=10)], T1)
        storage.write_records(USER, COLL, [write("a", sortindex=3), write("b", "y")], T1 + 500,
                              keep_expiry=True)
        assert storage.get_record(USER, COLL, "a", T1 + 999).sortindex == 3
        assert storage.get_record(USER, COLL, "a", T1 + 1000) is None
        assert storage.get_record(USER, COLL, "b", LATER).payload == "y"
        storage.write_records(USER, COLL, [write("b", ttl_seconds=1)], T2, keep_expiry=True)
        assert storage.get_record(USER, COLL, "b", T2 + 100) is None

    def test_item_unmodified_since(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T1)
        storage.write_records(USER, COLL, [write("b", "y")], T2)
        with pytest.raises(ItemModified) as caught:
            storage.write_records(USER, COLL, [write("a", "1"), write("b", "2")], T3,
                                  item_unmodified_since=T1)
        assert caught.value.last_modified == T2
        assert {r.payload for r in everything(storage).values()} == {"x", "y"}
        assert storage.collection_timestamp(USER, COLL) == T2
        # Unchanged or missing records pass.
        storage.write_records(USER, COLL, [write("a", "1"), write("new", "n")], T3,
                              item_unmodified_since=T1)
        assert everything(storage)["a"].payload == "1"


class CursorTests(StorageTestBase):
    """``ItemFilter.after``: paging by cursor."""

    @staticmethod
    def _cursor(record: Record, sort: str | None) -> tuple[int | None, str]:
        key = {"index": record.sortindex, "newest": record.modified,
               "oldest": record.modified}.get(sort or "")
        return key, record.id

    @pytest.mark.parametrize("sort", [None, "oldest", "newest", "index"])
    def test_pages_cover_the_order(self, storage, sort):
        for now, records in FILTER_DATA:
            storage.write_records(USER, COLL, list(records), now)
        storage.write_records(USER, COLL, [write("i", sortindex=10), write("j", "J")], T3)
        expected = storage.get_ids(USER, COLL, ItemFilter(sort=sort), T3)
        for size in (1, 2, 3):
            seen: list[str] = []
            after = None
            while True:
                page = storage.get_records(USER, COLL, ItemFilter(sort=sort, limit=size,
                                                                  after=after), T3)
                if not page:
                    break
                assert len(page) <= size
                seen.extend(record.id for record in page)
                after = self._cursor(page[-1], sort)
            assert seen == expected, size

    def test_cursor_survives_deletes(self, storage):
        storage.write_records(USER, COLL, [write(str(i), "x", sortindex=i) for i in range(6)], T1)
        first = storage.get_records(USER, COLL, ItemFilter(sort="index", limit=2), T1)
        assert [r.id for r in first] == ["5", "4"]
        storage.delete_records(USER, COLL, ItemFilter(ids=("5", "4", "3")), T2)
        rest = storage.get_ids(USER, COLL, ItemFilter(sort="index", after=(4, "4")), T2)
        assert rest == ["2", "1", "0"]


class BatchTests(StorageTestBase):
    """Batch uploads (Storage 1.5)."""

    HOUR = 3600

    def test_staged_records_appear_only_at_commit(self, storage):
        storage.write_records(USER, COLL, [write("old", "stored", sortindex=9, ttl_seconds=5000)],
                              T0)
        batch = storage.create_batch(USER, COLL, [write("a", "1", ttl_seconds=10),
                                                  write("b", sortindex=2)], T1,
                                     ttl_seconds=self.HOUR)
        assert batch and all(c.isalnum() or c in "-_" for c in batch)
        storage.append_to_batch(USER, COLL, batch, [write("a", sortindex=5),
                                                    write("old", sortindex=1)], T2)
        assert set(everything(storage)) == {"old"}
        assert storage.collection_timestamps(USER) == {COLL: T0}
        assert storage.collection_usage(USER, T2) == {COLL: CollectionUsage(1, 6)}
        result = storage.commit_batch(USER, COLL, batch, [write("c", "3")], T3)
        assert result == {"a": T3, "b": T3, "old": T3, "c": T3}
        assert everything(storage) == {
            "a": Record(id="a", modified=T3, sortindex=5, payload="1"),
            "b": Record(id="b", modified=T3, sortindex=2, payload=""),
            "old": Record(id="old", modified=T3, sortindex=1, payload="stored"),
            "c": Record(id="c", modified=T3, payload="3"),
        }
        assert storage.collection_timestamps(USER) == {COLL: T3}
        self.assert_usage_exact(storage, USER, [COLL], T3)
        # The ttl counts from the commit; an absent ttl keeps the stored expiry.
        assert storage.get_record(USER, COLL, "a", T3 + 999) is not None
        assert storage.get_record(USER, COLL, "a", T3 + 1000) is None
        assert storage.get_record(USER, COLL, "old", T0 + 499_999) is not None
        assert storage.get_record(USER, COLL, "old", T0 + 500_000) is None

    def test_closed_and_foreign_batches_are_not_found(self, storage):
        batch = storage.create_batch(USER, COLL, [write("a", "1")], T1, ttl_seconds=self.HOUR)
        attempts = {
            "unknown": lambda: storage.append_to_batch(USER, COLL, "nope", [], T2),
            "other user": lambda: storage.append_to_batch(OTHER_USER, COLL, batch, [], T2),
            "other collection": lambda: storage.commit_batch(USER, OTHER_COLL, batch, [], T2),
        }
        for name, attempt in attempts.items():
            with pytest.raises(BatchNotFoundError):
                attempt()
            assert storage.collection_timestamps(OTHER_USER) == {}, name
        storage.commit_batch(USER, COLL, batch, [], T2)
        with pytest.raises(BatchNotFoundError):
            storage.commit_batch(USER, COLL, batch, [], T3)
        with pytest.raises(BatchNotFoundError):
            storage.append_to_batch(USER, COLL, batch, [write("b", "2")], T3)
        assert set(everything(storage)) == {"a"}

    def test_expired_batches(self, storage):
        first = storage.create_batch(USER, COLL, [write("a", "1")], T1, ttl_seconds=10)
        second = storage.create_batch(USER, COLL, [write("b", "2")], T1, ttl_seconds=self.HOUR)
        with pytest.raises(BatchNotFoundError):
            storage.commit_batch(USER, COLL, first, [], T1 + 1000)
        assert storage.purge_expired_batches(T1 + 1000) == 1
        assert storage.purge_expired_batches(T1 + 1000) == 0
        storage.commit_batch(USER, COLL, second, [], T1 + 1000)
        assert set(everything(storage, now=T1 + 1000)) == {"b"}

    def test_too_large_stages_nothing(self, storage):
        with pytest.raises(BatchTooLargeError):
            storage.create_batch(USER, COLL, [write(str(i), "x") for i in range(3)], T1,
                                 ttl_seconds=self.HOUR, max_records=2)
        batch = storage.create_batch(USER, COLL, [write("a", "xx")], T1, ttl_seconds=self.HOUR,
                                     max_records=2, max_bytes=5)
        with pytest.raises(BatchTooLargeError):
            storage.append_to_batch(USER, COLL, batch, [write("b", "1"), write("c", "2")], T2,
                                    max_records=2, max_bytes=5)
        with pytest.raises(BatchTooLargeError):
            storage.append_to_batch(USER, COLL, batch, [write("b", "xxxx")], T2,
                                    max_records=2, max_bytes=5)
        storage.append_to_batch(USER, COLL, batch, [write("b", "xxx")], T2,
                                max_records=2, max_bytes=5)
        assert storage.commit_batch(USER, COLL, batch, [], T3) == {"a": T3, "b": T3}
        assert storage.collection_usage(USER, T3) == {COLL: CollectionUsage(2, 5)}

    def test_failed_commit_keeps_the_batch_open(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T2)
        batch = storage.create_batch(USER, COLL, [write("b", "1")], T2, ttl_seconds=self.HOUR)
        with pytest.raises(CollectionModified):
            storage.commit_batch(USER, COLL, batch, [], T3, if_unmodified_since=T1)
        with pytest.raises(StaleTimestampError):
            storage.commit_batch(USER, COLL, batch, [], T2)
        with pytest.raises(BatchTooLargeError):
            storage.commit_batch(USER, COLL, batch, [write("c", "2")], T3, max_records=1)
        assert set(everything(storage)) == {"a"}
        assert storage.collection_timestamp(USER, COLL) == T2
        assert storage.commit_batch(USER, COLL, batch, [], T3, if_unmodified_since=T2) == \
            {"b": T3}

    def test_create_checks_the_collection(self, storage):
        storage.write_records(USER, COLL, [write("a", "x")], T2)
        with pytest.raises(CollectionModified):
            storage.create_batch(USER, COLL, [write("b", "1")], T3, ttl_seconds=self.HOUR,
                                 if_unmodified_since=T1)
        batch = storage.create_batch(USER, COLL, [], T3, ttl_seconds=self.HOUR,
                                     if_unmodified_since=T2)
        storage.write_records(USER, COLL, [write("c", "x")], T3)
        with pytest.raises(CollectionModified):
            storage.append_to_batch(USER, COLL, batch, [write("b", "1")], T3 + 1,
                                    if_unmodified_since=T2)

    def test_delete_storage_drops_open_batches(self, storage):
        batch = storage.create_batch(USER, COLL, [write("a", "1")], T1, ttl_seconds=self.HOUR)
        storage.delete_storage(USER, T2)
        with pytest.raises(BatchNotFoundError):
            storage.commit_batch(USER, COLL, batch, [], T3)
        assert everything(storage) == {}


class StorageBackendTests(CollectionTimestampTests, UsageTests, ExpiryTests, WriteTests,
                              TextTests, SelectionTests, PreconditionTests, IsolationTests,
                              MaintenanceTests, AtomicityTests, ConcurrencyTests,
                              StorageTimestampTests, DeleteRecordTests, WriteOptionTests,
                              CursorTests, BatchTests):
    """Every test of the contract; subclass it with a ``storage`` fixture."""
