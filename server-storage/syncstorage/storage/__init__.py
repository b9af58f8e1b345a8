"""The storage contract: what every storage backend does and guarantees.

Data model. Records live in collections; both are per user (``userid``, an
integer). A record is identified by ``(userid, collection, id)``. Timestamps
are integer centiseconds. ``expiry`` is in whole seconds; a record is visible
while ``now_seconds < expiry``. Expired records are invisible to every read
and count, and a write to an expired id replaces it as if it were new.

Every collection that has been written has a *last-modified* timestamp,
kept in a per-collection row together with the record count and payload
bytes, so the info/* queries never scan records. The rules:

* a write of at least one record sets it to the request timestamp;
* a delete sets it to the request timestamp if the collection has a row
  (even when nothing matched) and never creates a row;
* ``delete_storage`` removes every row;
* it never moves backwards.

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
    "BackendConflict", "BackendError", "CollectionModified", "ItemFilter", "NO_EXPIRY",
    "Record", "RecordWrite", "StorageBackend",
]

# Expiry stored for records without a TTL (about year 2036).
NO_EXPIRY = 2_100_000_000

SortOrder = Literal["oldest", "newest", "index"]


class CollectionModified(Exception):
    """``if_unmodified_since`` failed: the collection changed after that time."""

    def __init__(self, last_modified: int):
        super().__init__(last_modified)
        self.last_modified = last_modified


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
    Without ``sort`` records come in ascending id order; ties in any sort are
    broken by ascending id. ``offset`` applies only together with ``limit``.
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
                      bump_on_metadata: bool = False) -> dict[str, int | None]:
        """Create or update ``records`` atomically, in order (last write of an id wins).

        A record with a payload gets ``modified = now``. Without a payload,
        only the given metadata changes and ``modified`` stays unless
        ``bump_on_metadata`` is set (Storage 1.5 bumps it when ``sortindex``
        changes); a new record without payload keeps ``modified`` unset
        unless ``bump_on_metadata``. Every write sets the expiry from
        ``ttl_seconds`` (absent: never expires).

        Returns each id's ``modified`` after the write. Raises
        ``CollectionModified`` if the collection changed after
        ``if_unmodified_since``. Writing no records changes nothing.
        """

    @abc.abstractmethod
    def delete_records(self, userid: int, collection: str, selection: ItemFilter | None,
                       now: int, *, if_unmodified_since: int | None = None) -> int:
        """Delete what ``selection`` selects (everything when None); return the count."""

    @abc.abstractmethod
    def delete_collection(self, userid: int, collection: str, now: int, *,
                          if_unmodified_since: int | None = None) -> int:
        """Delete the collection's records and its row; return the record count."""

    @abc.abstractmethod
    def delete_storage(self, userid: int) -> None:
        """Delete every record and collection row of the user."""

    # -- maintenance -----------------------------------------------------
    @abc.abstractmethod
    def purge_expired(self, now: int, batch_size: int = 1000) -> Iterator[int]:
        """Physically remove expired records in batches; yield each batch's count."""

    @abc.abstractmethod
    def count_expired(self, now: int) -> int:
        """How many expired records are waiting to be purged."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise BackendError unless the backend answers."""
