"""The SQL storage backend: one implementation for SQLite, MySQL/MariaDB and
PostgreSQL, written in SQLAlchemy Core."""
from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from synccore.db import get_engine, ping, read_transaction, translate_db_errors, \
    write_transaction
from synccore.exceptions import BackendConflict
from synccore.migrations import MigrationSet, upgrade
from syncstorage.storage import NO_EXPIRY, CollectionModified, CollectionUsage, ItemFilter, \
    Record, RecordWrite, StorageBackend
from syncstorage.storage.dialects import insert_ignoring_duplicates, locks_rows
from syncstorage.storage.schema import bso, user_collections

MIGRATIONS = MigrationSet(name="storage", script_location="syncstorage.storage:migrations",
                          version_table="alembic_version_storage")

MAX_ID_LENGTH = 64
CONFLICT_RETRIES = 3

_RECORD_COLUMNS = (bso.c.id, bso.c.modified, bso.c.sortindex, bso.c.payload,
                   bso.c.parentid, bso.c.predecessorid)
# What a write needs to know of an existing row (never the payload itself).
_STATE_COLUMNS = (bso.c.id, bso.c.modified, bso.c.sortindex, bso.c.parentid,
                  bso.c.predecessorid, bso.c.payload_size, bso.c.expiry)

F = TypeVar("F", bound=Callable[..., Any])


def retry_on_conflict(func: F) -> F:
    """Retry a write transaction a few times when it lost a lock race."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(CONFLICT_RETRIES):
            try:
                return func(*args, **kwargs)
            except BackendConflict:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


@dataclass
class _RowState:
    """A record's state while a write request is applied to it."""
    modified: int | None = None
    sortindex: int | None = None
    parentid: str | None = None
    predecessorid: str | None = None
    payload: str | None = None
    payload_size: int = 0
    expiry: int = NO_EXPIRY
    stored: bool = False          # a row exists (possibly expired)
    stored_size: int = 0          # payload_size of the stored row
    payload_changed: bool = False
    replace_all: bool = False     # the stored row was expired: overwrite every column


def _seconds(now: int) -> int:
    return now // 100


def _selection_conditions(userid: int, collection: str, selection: ItemFilter,
                          now: int) -> list[Any] | None:
    """WHERE terms for ``selection``; None when it can match nothing."""
    conditions = [bso.c.userid == userid, bso.c.collection == collection,
                  bso.c.expiry > _seconds(now)]
    if selection.ids is not None:
        ids = [item for item in selection.ids if len(item) <= MAX_ID_LENGTH]
        if not ids:
            return None
        conditions.append(bso.c.id.in_(ids))
    if selection.parentid is not None:
        conditions.append(bso.c.parentid == selection.parentid)
    if selection.predecessorid is not None:
        conditions.append(bso.c.predecessorid == selection.predecessorid)
    if selection.newer is not None:
        conditions.append(bso.c.modified > selection.newer)
    if selection.older is not None:
        conditions.append(bso.c.modified < selection.older)
    if selection.index_above is not None:
        conditions.append(bso.c.sortindex > selection.index_above)
    if selection.index_below is not None:
        conditions.append(bso.c.sortindex < selection.index_below)
    return conditions


def _ordered(query: sa.Select, selection: ItemFilter) -> sa.Select:
    # "column IS NULL" first keeps NULLs last on every engine.
    if selection.sort == "index":
        query = query.order_by(bso.c.sortindex.is_(None), bso.c.sortindex.desc())
    elif selection.sort == "newest":
        query = query.order_by(bso.c.modified.is_(None), bso.c.modified.desc())
    elif selection.sort == "oldest":
        query = query.order_by(bso.c.modified.is_(None), bso.c.modified.asc())
    query = query.order_by(bso.c.id.asc())
    if selection.limit is not None and selection.limit > 0:
        query = query.limit(selection.limit)
        if selection.offset is not None and selection.offset > 0:
            query = query.offset(selection.offset)
    return query


def _record(row: Any) -> Record:
    return Record(id=row.id, modified=row.modified, sortindex=row.sortindex,
                  payload=row.payload, parentid=row.parentid,
                  predecessorid=row.predecessorid)


class SQLStorage(StorageBackend):
    def __init__(self, engine: Engine):
        self.engine = engine
        self._dialect = engine.dialect.name
        self._locks_rows = locks_rows(self._dialect)

    def upgrade_schema(self) -> None:
        upgrade(MIGRATIONS, self.engine)

    # -- info --------------------------------------------------------------
    @translate_db_errors
    def collection_timestamps(self, userid: int) -> dict[str, int]:
        query = sa.select(user_collections.c.collection, user_collections.c.last_modified) \
            .where(user_collections.c.userid == userid)
        with self.engine.connect() as conn:
            return {row.collection: row.last_modified for row in conn.execute(query)}

    @translate_db_errors
    def collection_timestamp(self, userid: int, collection: str) -> int | None:
        query = sa.select(user_collections.c.last_modified).where(
            user_collections.c.userid == userid, user_collections.c.collection == collection)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def _expired_usage(self, conn: Connection, userid: int, now: int) -> dict[str, tuple]:
        query = sa.select(bso.c.collection, sa.func.count(), sa.func.sum(bso.c.payload_size)) \
            .where(bso.c.userid == userid, bso.c.expiry <= _seconds(now)) \
            .group_by(bso.c.collection)
        return {row[0]: (row[1], int(row[2] or 0)) for row in conn.execute(query)}

    @translate_db_errors
    def collection_usage(self, userid: int, now: int) -> dict[str, CollectionUsage]:
        query = sa.select(user_collections.c.collection, user_collections.c.record_count,
                          user_collections.c.payload_bytes) \
            .where(user_collections.c.userid == userid)
        with read_transaction(self.engine) as conn:
            rows = conn.execute(query).all()
            expired = self._expired_usage(conn, userid, now) if rows else {}
        usage = {}
        for collection, count, size in rows:
            expired_count, expired_bytes = expired.get(collection, (0, 0))
            if count - expired_count > 0:
                usage[collection] = CollectionUsage(count - expired_count,
                                                    int(size) - expired_bytes)
        return usage

    def total_bytes(self, userid: int, now: int) -> int:
        return sum(usage.bytes for usage in self.collection_usage(userid, now).values())

    # -- reads -------------------------------------------------------------
    def _select(self, columns: Sequence[Any], userid: int, collection: str,
                selection: ItemFilter, now: int) -> list[Any]:
        conditions = _selection_conditions(userid, collection, selection, now)
        if conditions is None:
            return []
        query = _ordered(sa.select(*columns).where(*conditions), selection)
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    @translate_db_errors
    def get_records(self, userid: int, collection: str, selection: ItemFilter,
                    now: int) -> list[Record]:
        return [_record(row) for row in
                self._select(_RECORD_COLUMNS, userid, collection, selection, now)]

    @translate_db_errors
    def get_ids(self, userid: int, collection: str, selection: ItemFilter,
                now: int) -> list[str]:
        return [row.id for row in self._select((bso.c.id,), userid, collection, selection, now)]

    @translate_db_errors
    def get_record(self, userid: int, collection: str, record_id: str,
                   now: int) -> Record | None:
        query = sa.select(*_RECORD_COLUMNS).where(
            bso.c.userid == userid, bso.c.collection == collection, bso.c.id == record_id,
            bso.c.expiry > _seconds(now))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _record(row) if row is not None else None

    # -- write helpers -------------------------------------------------------
    def _lock_collection(self, conn: Connection, userid: int, collection: str,
                         create: bool) -> Any:
        """Serialize writers of this collection; return its row (or None)."""
        key = {"userid": userid, "collection": collection}
        if create and self._locks_rows:
            conn.execute(insert_ignoring_duplicates(self._dialect, user_collections).values(
                last_modified=0, record_count=0, payload_bytes=0, **key))
        query = sa.select(user_collections).where(
            user_collections.c.userid == userid, user_collections.c.collection == collection)
        if self._locks_rows:
            query = query.with_for_update()
        return conn.execute(query).first()

    @staticmethod
    def _check_unmodified(row: Any, if_unmodified_since: int | None) -> None:
        if (if_unmodified_since is not None and row is not None
                and row.last_modified > if_unmodified_since):
            raise CollectionModified(row.last_modified)

    def _save_collection(self, conn: Connection, userid: int, collection: str, row: Any,
                         now: int, count_delta: int, bytes_delta: int) -> None:
        key = {"userid": userid, "collection": collection}
        if row is None:
            conn.execute(user_collections.insert().values(
                last_modified=now, record_count=count_delta, payload_bytes=bytes_delta, **key))
            return
        conn.execute(user_collections.update().where(
            user_collections.c.userid == userid, user_collections.c.collection == collection)
            .values(last_modified=max(row.last_modified, now),
                    record_count=row.record_count + count_delta,
                    payload_bytes=row.payload_bytes + bytes_delta))

    def _load_states(self, conn: Connection, userid: int, collection: str,
                     ids: list[str], now: int) -> dict[str, _RowState]:
        states: dict[str, _RowState] = {}
        query = sa.select(*_STATE_COLUMNS).where(
            bso.c.userid == userid, bso.c.collection == collection,
            bso.c.id.in_(sa.bindparam("ids", expanding=True)))
        for row in conn.execute(query, {"ids": ids}):
            if row.expiry > _seconds(now):
                states[row.id] = _RowState(
                    modified=row.modified, sortindex=row.sortindex, parentid=row.parentid,
                    predecessorid=row.predecessorid, payload_size=row.payload_size,
                    expiry=row.expiry, stored=True, stored_size=row.payload_size)
            else:
                states[row.id] = _RowState(stored=True, stored_size=row.payload_size,
                                           replace_all=True)
        return states

    @staticmethod
    def _apply(state: _RowState, write: RecordWrite, now: int, bump_on_metadata: bool) -> None:
        if write.payload is not None:
            state.payload = write.payload
            state.payload_size = len(write.payload.encode("utf-8"))
            state.payload_changed = True
            state.modified = now
        elif bump_on_metadata and (write.sortindex is not None or state.modified is None):
            state.modified = now
        if write.sortindex is not None:
            state.sortindex = write.sortindex
        if write.parentid is not None:
            state.parentid = write.parentid
        if write.predecessorid is not None:
            state.predecessorid = write.predecessorid
        state.expiry = (_seconds(now) + write.ttl_seconds if write.ttl_seconds is not None
                        else NO_EXPIRY)

    def _persist(self, conn: Connection, userid: int, collection: str,
                 states: dict[str, _RowState]) -> tuple[int, int]:
        inserts, full_updates, metadata_updates = [], [], []
        count_delta = bytes_delta = 0
        for record_id, state in states.items():
            values = {"b_id": record_id, "modified": state.modified,
                      "sortindex": state.sortindex, "parentid": state.parentid,
                      "predecessorid": state.predecessorid, "expiry": state.expiry}
            if not state.stored:
                values.update(payload=state.payload, payload_size=state.payload_size)
                inserts.append(values)
                count_delta += 1
                bytes_delta += state.payload_size
            elif state.payload_changed or state.replace_all:
                values.update(payload=state.payload, payload_size=state.payload_size)
                full_updates.append(values)
                bytes_delta += state.payload_size - state.stored_size
            else:
                metadata_updates.append(values)
        if inserts:
            conn.execute(bso.insert().values(
                userid=userid, collection=collection, id=sa.bindparam("b_id")), inserts)
        where = (bso.c.userid == userid, bso.c.collection == collection,
                 bso.c.id == sa.bindparam("b_id"))
        metadata_columns = {name: sa.bindparam(name) for name in
                            ("modified", "sortindex", "parentid", "predecessorid", "expiry")}
        if full_updates:
            conn.execute(bso.update().where(*where).values(
                payload=sa.bindparam("payload"), payload_size=sa.bindparam("payload_size"),
                **metadata_columns), full_updates)
        if metadata_updates:
            conn.execute(bso.update().where(*where).values(**metadata_columns),
                         metadata_updates)
        return count_delta, bytes_delta

    # -- writes ------------------------------------------------------------
    @retry_on_conflict
    @translate_db_errors
    def write_records(self, userid: int, collection: str, records: Sequence[RecordWrite],
                      now: int, *, if_unmodified_since: int | None = None,
                      bump_on_metadata: bool = False) -> dict[str, int | None]:
        if not records:
            return {}
        ids = list(dict.fromkeys(record.id for record in records))
        with write_transaction(self.engine) as conn:
            row = self._lock_collection(conn, userid, collection, create=True)
            self._check_unmodified(row, if_unmodified_since)
            states = self._load_states(conn, userid, collection, ids, now)
            for record in records:
                state = states.setdefault(record.id, _RowState())
                self._apply(state, record, now, bump_on_metadata)
            count_delta, bytes_delta = self._persist(conn, userid, collection, states)
            self._save_collection(conn, userid, collection, row, now, count_delta, bytes_delta)
        return {record_id: state.modified for record_id, state in states.items()}

    @retry_on_conflict
    @translate_db_errors
    def delete_records(self, userid: int, collection: str, selection: ItemFilter | None,
                       now: int, *, if_unmodified_since: int | None = None) -> int:
        with write_transaction(self.engine) as conn:
            row = self._lock_collection(conn, userid, collection, create=False)
            if row is None:
                return 0
            self._check_unmodified(row, if_unmodified_since)
            in_collection = (bso.c.userid == userid, bso.c.collection == collection)
            if selection is None:
                deleted = conn.execute(bso.delete().where(*in_collection)).rowcount
                count_delta, bytes_delta = -row.record_count, -row.payload_bytes
            else:
                conditions = _selection_conditions(userid, collection, selection, now)
                victims = [] if conditions is None else conn.execute(_ordered(
                    sa.select(bso.c.id, bso.c.payload_size).where(*conditions),
                    selection)).all()
                deleted = 0
                for chunk_start in range(0, len(victims), 500):
                    chunk = [victim.id for victim in victims[chunk_start:chunk_start + 500]]
                    deleted += conn.execute(bso.delete().where(
                        *in_collection, bso.c.id.in_(chunk))).rowcount
                count_delta = -len(victims)
                bytes_delta = -sum(victim.payload_size for victim in victims)
            self._save_collection(conn, userid, collection, row, now, count_delta, bytes_delta)
        return deleted

    @retry_on_conflict
    @translate_db_errors
    def delete_collection(self, userid: int, collection: str, now: int, *,
                          if_unmodified_since: int | None = None) -> int:
        with write_transaction(self.engine) as conn:
            row = self._lock_collection(conn, userid, collection, create=False)
            if row is None:
                return 0
            self._check_unmodified(row, if_unmodified_since)
            deleted = conn.execute(bso.delete().where(
                bso.c.userid == userid, bso.c.collection == collection)).rowcount
            conn.execute(user_collections.delete().where(
                user_collections.c.userid == userid,
                user_collections.c.collection == collection))
        return deleted

    @retry_on_conflict
    @translate_db_errors
    def delete_storage(self, userid: int) -> None:
        with write_transaction(self.engine) as conn:
            if self._locks_rows:
                conn.execute(sa.select(user_collections.c.collection)
                             .where(user_collections.c.userid == userid)
                             .with_for_update()).all()
            conn.execute(bso.delete().where(bso.c.userid == userid))
            conn.execute(user_collections.delete().where(user_collections.c.userid == userid))

    # -- maintenance ---------------------------------------------------------
    @translate_db_errors
    def count_expired(self, now: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(bso)
                                .where(bso.c.expiry <= _seconds(now))).scalar() or 0

    def purge_expired(self, now: int, batch_size: int = 1000) -> Iterator[int]:
        while True:
            purged = self._purge_batch(now, batch_size)
            if not purged:
                return
            yield purged

    @retry_on_conflict
    @translate_db_errors
    def _purge_batch(self, now: int, batch_size: int) -> int:
        with write_transaction(self.engine) as conn:
            victims = conn.execute(
                sa.select(bso.c.userid, bso.c.collection, bso.c.id, bso.c.payload_size)
                .where(bso.c.expiry <= _seconds(now)).limit(batch_size)).all()
            per_collection: dict[tuple[int, str], list[Any]] = {}
            for victim in victims:
                per_collection.setdefault((victim.userid, victim.collection), []).append(victim)
            for (userid, collection), rows in sorted(per_collection.items()):
                row = self._lock_collection(conn, userid, collection, create=False)
                deleted = conn.execute(bso.delete().where(
                    bso.c.userid == userid, bso.c.collection == collection,
                    bso.c.id.in_([r.id for r in rows]),
                    bso.c.expiry <= _seconds(now))).rowcount
                if row is not None and deleted:
                    conn.execute(user_collections.update().where(
                        user_collections.c.userid == userid,
                        user_collections.c.collection == collection).values(
                        record_count=user_collections.c.record_count - deleted,
                        payload_bytes=user_collections.c.payload_bytes
                        - sum(r.payload_size for r in rows)))
        return len(victims)

    def ping(self) -> None:
        ping(self.engine)


def load_from_config(settings: dict[str, Any]) -> SQLStorage:
    engine = get_engine(settings["storage.sqlalchemy.url"] or settings["sqlalchemy.url"],
                        pool_size=settings["db.pool_size"],
                        pool_timeout_seconds=settings["db.pool_timeout_seconds"],
                        pool_recycle_seconds=settings["db.pool_recycle_seconds"],
                        sqlite_busy_timeout_ms=settings["db.sqlite_busy_timeout_ms"])
    storage = SQLStorage(engine)
    if settings["db.auto_migrate"]:
        storage.upgrade_schema()
    return storage
