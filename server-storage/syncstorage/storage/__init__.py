"""The storage contract: what every storage backend does and guarantees.

Data model. Records live in collections; both are per user (``userid``, an
integer). A record is identified by ``(userid, collection, id)``. Timestamps
are integer centiseconds. ``expiry`` is in whole seconds; a record is visible
while ``now_seconds < expiry``. Expired records are invisible to every read
and count, and a write to an expired id replaces it as if it were new.
Ids and other strings compare exactly (case, spaces, any Unicode); callers
never pass U+0000 or lone surrogates (PostgreSQL text cannot hold U+0000).

Every collection that has been written has a *last-modified* timestamp,
kept in a per-collection row together with the record count and payload
bytes, so the info/* queries never scan records. The rules:

* a write of at least one record sets it to the request timestamp;
* a delete sets it to the request timestamp if the collection has a row
  (even when nothing matched) and never creates a row;
* ``delete_storage`` removes every row;
* it never moves backwards.

Each user also has a *storage timestamp*: the greatest of the collections'
last-modified and the time of the latest ``delete_collection`` (of an
existing collection) or ``delete_storage`` given ``now``. Deleting therefore
advances it instead of letting it fall back to an older collection's time.

Storage 1.5 asks writes for strictly increasing timestamps:
``require_newer=True`` makes a write raise ``StaleTimestampError`` (changing
nothing) when ``now`` is not after the target collection's last-modified
(the storage timestamp for ``delete_collection`` and ``delete_storage``, which
must advance it); the caller retries later.

Batch uploads (Storage 1.5) stage records under a batch id bound to one
(user, collection) until ``commit_batch`` applies them all at once, with one
timestamp, or not at all. Staged records are invisible to every read. A
batch expires at its creation time plus ``ttl_seconds``; expired, committed,
unknown or foreign batch ids raise ``BatchNotFoundError``.

Concurrency contract. Each write method is one atomic transaction: either
everything it was asked to do happens or nothing does. Writers to the same
(user, collection) are serialized, and the ``if_unmodified_since`` check is
made inside that serialization, so it cannot race with another writer.
Readers see a consistent snapshot. A write that cannot get its locks in time
raises ``BackendConflict``; any other backend failure raises ``BackendError``.
"""
from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from synccore.exceptions import BackendConflict, BackendError

__all__ = [
    "NO_EXPIRY",
    "BackendConflict",
    "BackendError",
    "BatchNotFoundError",
    "BatchTooLargeError",
    "CollectionModified",
    "ItemFilter",
    "ItemModified",
    "Record",
    "RecordWrite",
    "StaleTimestampError",
    "StorageBackend",
]

# Expiry stored for records without a TTL (about year 2036).
NO_EXPIRY = 2_100_000_000

SortOrder = Literal["oldest", "newest", "index"]


class CollectionModified(Exception):
    """``if_unmodified_since`` failed: the collection changed after that time."""

    def __init__(self, last_modified: int):
        super().__init__(last_modified)
        self.last_modified = last_modified


class ItemModified(CollectionModified):
    """An item-level ``if_unmodified_since`` failed: that record changed after it."""


class StaleTimestampError(Exception):
    """``require_newer``: ``now`` is not after ``last_modified``; nothing was written."""

    def __init__(self, last_modified: int):
        super().__init__(last_modified)
        self.last_modified = last_modified


class BatchNotFoundError(Exception):
    """No open batch with that id for this user and collection (or it expired)."""


class BatchTooLargeError(Exception):
    """The batch would exceed its record or payload-byte limit; nothing was staged."""


@dataclass(frozen=True)
class Record:
    """A stored record as readers see it (``ttl``/``expiry`` is never returned)."""
    id: str
    modified: int | None = None
    sortindex: int | None = None
    payload: str | None = None
    parentid: str | None = None
    predecessorid: str | None = None


@dataclass(frozen=True)
class RecordWrite:
    """An incoming record. ``None`` means the field was absent (left unchanged)."""
    id: str
    payload: str | None = None
    sortindex: int | None = None
    parentid: str | None = None
    predecessorid: str | None = None
    ttl_seconds: int | None = None


@dataclass(frozen=True)
class ItemFilter:
    """A selection of records; every given criterion must hold (AND).

    ``newer``/``older`` compare ``modified`` strictly and never match records
    without one; ``index_above``/``index_below`` likewise for ``sortindex``.
    Bounds may be fractional or beyond any stored value (``index_above=4.5``
    matches 5). Ids longer than 64 characters match nothing, and so does an
    empty ``ids``. Without ``sort`` records come in ascending id order (code
    point order, case-sensitive); records lacking the sort key come last;
    ties in any sort are broken by ascending id. ``limit`` <= 0 means no
    limit; ``offset`` applies only together with a positive ``limit``.

    ``after`` is a cursor ``(key, id)``: the sort key (``modified`` for
    newest/oldest, ``sortindex`` for index, ignored without ``sort``) and id
    of the last record already seen; only records after it in the order
    match (records without a key sort last). Unlike ``offset`` it stays
    exact when records are added or removed between pages.
    """
    ids: tuple[str, ...] | None = None
    parentid: str | None = None
    predecessorid: str | None = None
    newer: int | None = None
    older: int | None = None
    index_above: float | None = None
    index_below: float | None = None
    limit: int | None = None
    offset: int | None = None
    sort: SortOrder | None = None
    after: tuple[int | None, str] | None = None


@dataclass(frozen=True)
class CollectionUsage:
    count: int
    bytes: int


class StorageBackend(abc.ABC):
    """Abstract storage. ``now`` arguments are centiseconds (the request time)."""

    # -- info ------------------------------------------------------------
    @abc.abstractmethod
    def collection_timestamps(self, userid: int) -> dict[str, int]:
        """Last-modified of every collection that has one."""

    @abc.abstractmethod
    def collection_usage(self, userid: int, now: int) -> dict[str, CollectionUsage]:
        """Count and payload bytes of the non-expired records, per non-empty collection."""

    @abc.abstractmethod
    def total_bytes(self, userid: int, now: int) -> int:
        """Payload bytes of every non-expired record of the user."""

    @abc.abstractmethod
    def collection_timestamp(self, userid: int, collection: str) -> int | None:
        """Last-modified of one collection, or None if it has no row."""

    @abc.abstractmethod
    def storage_timestamp(self, userid: int) -> int:
        """The user's storage timestamp (see above); 0 for a user with no data."""

    # -- reads -----------------------------------------------------------
    @abc.abstractmethod
    def get_records(self, userid: int, collection: str, selection: ItemFilter,
                    now: int) -> list[Record]:
        """Whole records matching ``selection``, in its order."""

    @abc.abstractmethod
    def get_ids(self, userid: int, collection: str, selection: ItemFilter,
                now: int) -> list[str]:
        """Ids of the records matching ``selection``, in its order."""

    @abc.abstractmethod
    def get_record(self, userid: int, collection: str, record_id: str,
                   now: int) -> Record | None:
        """One non-expired record, or None."""

    # -- writes ----------------------------------------------------------
    @abc.abstractmethod
    def write_records(self, userid: int, collection: str, records: Sequence[RecordWrite],
                      now: int, *, if_unmodified_since: int | None = None,
                      bump_on_metadata: bool = False,
                      item_unmodified_since: int | None = None,
                      default_payload: str | None = None, keep_expiry: bool = False,
                      require_newer: bool = False) -> dict[str, int | None]:
        """Create or update ``records`` atomically, in order (last write of an id wins).

        A record with a payload gets ``modified = now``. Without a payload,
        only the given metadata changes and ``modified`` stays unless
        ``bump_on_metadata`` is set (Storage 1.5 bumps it when ``sortindex``
        changes); a new record without payload keeps ``modified`` unset
        unless ``bump_on_metadata``. Every write sets the expiry from
        ``ttl_seconds`` (absent: never expires).

        Storage 1.5 options: ``default_payload`` is the payload of a record
        created without one; ``keep_expiry`` leaves an existing record's
        expiry alone when ``ttl_seconds`` is absent; ``item_unmodified_since``
        raises ``ItemModified`` if one of the written records exists with a
        later ``modified``; ``require_newer`` see above.

        Returns each id's ``modified`` after the write. Raises
        ``CollectionModified`` if the collection changed after
        ``if_unmodified_since``. Writing no records changes nothing.
        """

    @abc.abstractmethod
    def delete_records(self, userid: int, collection: str, selection: ItemFilter | None,
                       now: int, *, if_unmodified_since: int | None = None,
                       require_newer: bool = False) -> int:
        """Delete what ``selection`` selects (everything when None); return the count."""

    @abc.abstractmethod
    def delete_record(self, userid: int, collection: str, record_id: str, now: int, *,
                      if_unmodified_since: int | None = None,
                      require_newer: bool = False) -> bool:
        """Delete one non-expired record; False (and no change at all) if there is none.

        ``if_unmodified_since`` is compared with the record's ``modified``
        (``ItemModified``); the collection's last-modified becomes ``now``.
        """

    @abc.abstractmethod
    def delete_collection(self, userid: int, collection: str, now: int, *,
                          if_unmodified_since: int | None = None,
                          require_newer: bool = False) -> int:
        """Delete the collection's records and its row; return the record count.

        If the collection existed, the storage timestamp becomes ``now``.
        """

    @abc.abstractmethod
    def delete_storage(self, userid: int, now: int | None = None, *,
                       if_unmodified_since: int | None = None,
                       require_newer: bool = False) -> None:
        """Delete every record, collection row and batch of the user.

        With ``now`` the storage timestamp becomes ``now``; otherwise it is
        forgotten too. ``if_unmodified_since`` is compared with the storage
        timestamp (``CollectionModified``).
        """

    # -- batch uploads (Storage 1.5) -------------------------------------------
    @abc.abstractmethod
    def create_batch(self, userid: int, collection: str, records: Sequence[RecordWrite],
                     now: int, *, ttl_seconds: int,
                     if_unmodified_since: int | None = None,
                     max_records: int | None = None, max_bytes: int | None = None) -> str:
        """Open a batch, stage ``records`` in it, and return its id (urlsafe text).

        Raises ``CollectionModified`` if the collection changed after
        ``if_unmodified_since``; ``BatchTooLargeError`` if the staged records
        would number more than ``max_records`` or their payloads exceed
        ``max_bytes``. Changes nothing visible to reads.
        """

    @abc.abstractmethod
    def append_to_batch(self, userid: int, collection: str, batch_id: str,
                        records: Sequence[RecordWrite], now: int, *,
                        if_unmodified_since: int | None = None,
                        max_records: int | None = None, max_bytes: int | None = None) -> None:
        """Stage more records; a record staged again is merged into the earlier one
        (fields given later win). Raises ``BatchNotFoundError``, ``CollectionModified``
        or ``BatchTooLargeError`` (then nothing of this call is staged)."""

    @abc.abstractmethod
    def commit_batch(self, userid: int, collection: str, batch_id: str,
                     records: Sequence[RecordWrite], now: int, *,
                     if_unmodified_since: int | None = None,
                     max_records: int | None = None, max_bytes: int | None = None,
                     require_newer: bool = True) -> dict[str, int | None]:
        """Apply the staged records and then ``records`` in one transaction, and
        close the batch.

        Every applied record gets ``modified = now`` (whatever fields it
        has) and its expiry counted from ``now``; absent fields keep their
        stored values (a new record's payload defaults to ``""``). Either
        all of it happens or, on any error, nothing does and the batch stays
        open. Raises ``BatchNotFoundError``, ``CollectionModified``,
        ``BatchTooLargeError``, ``StaleTimestampError``. Returns each id's ``modified``.
        """

    @abc.abstractmethod
    def purge_expired_batches(self, now: int) -> int:
        """Remove expired batches with their staged records; return how many."""

    # -- maintenance -----------------------------------------------------
    @abc.abstractmethod
    def purge_expired(self, now: int, batch_size: int = 1000) -> Iterator[int]:
        """Physically remove expired records in batches; yield each batch's count.

        Expired upload batches are removed first (not counted).
        """

    @abc.abstractmethod
    def count_expired(self, now: int) -> int:
        """How many expired records are waiting to be purged."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise BackendError unless the backend answers."""
