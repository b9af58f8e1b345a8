"""The SQL storage backend: one implementation for SQLite, MySQL/MariaDB and
PostgreSQL, written in SQLAlchemy Core."""
from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from synccore.db import (
    get_engine,
    ping,
    single_statement_reads,
    translate_db_errors,
    write_transaction,
)
from synccore.exceptions import BackendConflict
from synccore.migrations import MigrationSet, upgrade
from syncstorage.storage import (
    NO_EXPIRY,
    BatchNotFoundError,
    CollectionModified,
    CollectionUsage,
    ItemFilter,
    ItemModified,
    Record,
    RecordWrite,
    StaleTimestampError,
    StorageBackend,
    sql_batches,
)
from syncstorage.storage.dialects import (
    insert_ignoring_duplicates,
    locks_rows,
    update_existing_rows,
    upsert_greatest,
)
from syncstorage.storage.schema import (
    batch_upload_items,
    batch_uploads,
    bso,
    user_collections,
    user_storage,
)

MIGRATIONS = MigrationSet(name="storage", script_location="syncstorage.storage:migrations",
                          version_table="alembic_version_storage")

MAX_ID_LENGTH = 64
CONFLICT_RETRIES = 3

_RECORD_COLUMNS = (bso.c.id, bso.c.modified, bso.c.sortindex, bso.c.payload,
                   bso.c.parentid, bso.c.predecessorid)
# What a write needs to know of an existing row (never the payload itself).
_STATE_COLUMNS = (bso.c.id, bso.c.modified, bso.c.sortindex, bso.c.parentid,
                  bso.c.predecessorid, bso.c.payload_size, bso.c.expiry)

# Statements of the hot paths, built once with bind parameters: building a
# statement and its cache key costs several times more than running it.
_TIMESTAMPS = sa.select(user_collections.c.collection, user_collections.c.last_modified) \
    .where(user_collections.c.userid == sa.bindparam("userid"))
# The newest collection and the floor a storage-wide delete leaves, in one
# round trip; built once because building it costs more than running it.
_STORAGE_TIMESTAMP = sa.select(
    sa.select(sa.func.max(user_collections.c.last_modified))
    .where(user_collections.c.userid == sa.bindparam("userid")).scalar_subquery(),
    sa.select(user_storage.c.last_modified)
    .where(user_storage.c.userid == sa.bindparam("userid")).scalar_subquery())
_RECORD = sa.select(*_RECORD_COLUMNS).where(
    bso.c.userid == sa.bindparam("userid"), bso.c.collection == sa.bindparam("collection"),
    bso.c.id == sa.bindparam("id"), bso.c.expiry > sa.bindparam("now_seconds"))
_COLLECTION = sa.select(user_collections).where(
    user_collections.c.userid == sa.bindparam("userid"),
    user_collections.c.collection == sa.bindparam("collection"))
_COLLECTION_FOR_UPDATE = _COLLECTION.with_for_update()
_INSERT_COLLECTION = user_collections.insert()
_UPDATE_COLLECTION = user_collections.update().where(
    user_collections.c.userid == sa.bindparam("b_userid"),
    user_collections.c.collection == sa.bindparam("b_collection")).values(
    last_modified=sa.bindparam("last_modified"), record_count=sa.bindparam("record_count"),
    payload_bytes=sa.bindparam("payload_bytes"))
_STATES = sa.select(*_STATE_COLUMNS).where(
    bso.c.userid == sa.bindparam("userid"), bso.c.collection == sa.bindparam("collection"),
    bso.c.id.in_(sa.bindparam("ids", expanding=True)))
_INSERT_RECORDS = bso.insert().values(
    userid=sa.bindparam("b_userid"), collection=sa.bindparam("b_collection"),
    id=sa.bindparam("b_id"))
_RECORD_KEY = {"userid": "b_userid", "collection": "b_collection", "id": "b_id"}
_METADATA_COLUMNS = ["modified", "sortindex", "parentid", "predecessorid", "expiry"]

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


def _unexpired() -> Any:
    # ``expiry + 0`` keeps planners off ix_bso_user_expiry: nearly every record
    # is unexpired, so that index would scan all of a user's records (SQLite
    # picks it when it has no statistics) instead of the few that the primary
    # key or a ``newer`` range on ix_bso_modified find.
    return bso.c.expiry + sa.literal_column("0") > sa.bindparam("now_seconds")


def _selection_params(userid: int, collection: str, selection: ItemFilter,
                      now: int) -> dict[str, Any] | None:
    """Bind values of the selection's terms; None when it can match nothing.

    Which keys are present decides the shape of the statement (see
    ``_selection_conditions``), so statements can be built once per shape.
    """
    params: dict[str, Any] = {"userid": userid, "collection": collection,
                              "now_seconds": _seconds(now)}
    if selection.ids is not None:
        ids = [item for item in selection.ids if len(item) <= MAX_ID_LENGTH]
        if not ids:
            return None
        params["ids"] = ids
    for name in ("parentid", "predecessorid"):
        value = getattr(selection, name)
        if value is not None:
            params[name] = value
    for name in ("newer", "older"):
        value = getattr(selection, name)
        if value is not None:
            params[name] = _clamped(value, _BIGINT_MAX)
    # Integer bounds selecting the same integers, inside the column's range: a
    # fractional bound would be rounded when cast to the column type.
    if selection.index_above is not None:
        params["index_above"] = math.floor(_clamped(selection.index_above, _INTEGER_MAX))
    if selection.index_below is not None:
        params["index_below"] = math.ceil(_clamped(selection.index_below, _INTEGER_MAX))
    if selection.after is not None:
        key, params["after_id"] = selection.after
        if key is not None:
            params["after_key"] = key
    if selection.limit is not None and selection.limit > 0:
        params["limit"] = _clamped(selection.limit, _INTEGER_MAX)
        if selection.offset is not None and selection.offset > 0:
            params["offset"] = _clamped(selection.offset, _INTEGER_MAX)
    return params


_INTEGER_MAX = 2 ** 31 - 1
_BIGINT_MAX = 2 ** 63 - 1


def _clamped(value: float, bound: int) -> Any:
    """``value`` limited to ``[-bound, bound]``, so the database can bind it."""
    return max(-bound, min(bound, value))


def _selection_conditions(params: dict[str, Any], selection: ItemFilter) -> list[Any]:
    """WHERE terms, as bind parameters, for the keys of ``_selection_params``."""
    conditions = [bso.c.userid == sa.bindparam("userid"),
                  bso.c.collection == sa.bindparam("collection"), _unexpired()]
    if "ids" in params:
        conditions.append(bso.c.id.in_(sa.bindparam("ids", expanding=True)))
    if "parentid" in params:
        conditions.append(bso.c.parentid == sa.bindparam("parentid"))
    if "predecessorid" in params:
        conditions.append(bso.c.predecessorid == sa.bindparam("predecessorid"))
    if "newer" in params:
        conditions.append(bso.c.modified > sa.bindparam("newer"))
    if "older" in params:
        conditions.append(bso.c.modified < sa.bindparam("older"))
    if "index_above" in params:
        conditions.append(bso.c.sortindex > sa.bindparam("index_above"))
    if "index_below" in params:
        conditions.append(bso.c.sortindex < sa.bindparam("index_below"))
    if "after_id" in params:
        conditions.append(_after_cursor(selection, "after_key" in params))
    return conditions


def _after_cursor(selection: ItemFilter, has_key: bool) -> Any:
    """Records after ``selection.after`` in ``_ordered``'s order (NULL keys last)."""
    last_id = sa.bindparam("after_id")
    column = {"index": bso.c.sortindex, "newest": bso.c.modified,
              "oldest": bso.c.modified}.get(selection.sort or "")
    if column is None:
        return bso.c.id > last_id
    if not has_key:
        return sa.and_(column.is_(None), bso.c.id > last_id)
    key = sa.bindparam("after_key")
    beyond = column > key if selection.sort == "oldest" else column < key
    return sa.or_(beyond, sa.and_(column == key, bso.c.id > last_id), column.is_(None))


def _ordered(query: sa.Select, params: dict[str, Any], selection: ItemFilter) -> sa.Select:
    # "column IS NULL" first keeps NULLs last on every engine.
    if selection.sort == "index":
        query = query.order_by(bso.c.sortindex.is_(None), bso.c.sortindex.desc())
    elif selection.sort == "newest":
        query = query.order_by(bso.c.modified.is_(None), bso.c.modified.desc())
    elif selection.sort == "oldest":
        query = query.order_by(bso.c.modified.is_(None), bso.c.modified.asc())
    query = query.order_by(bso.c.id.asc())
    if "limit" in params:
        query = query.limit(sa.bindparam("limit", type_=sa.Integer))
        if "offset" in params:
            query = query.offset(sa.bindparam("offset", type_=sa.Integer))
    return query


# Selection statements by (columns, shape). Building a statement and its cache
# key costs far more than running it, and the shapes are few.
_SELECTIONS: dict[tuple, sa.Select] = {}


def _selection_query(columns: Sequence[Any], userid: int, collection: str,
                     selection: ItemFilter, now: int) -> tuple[sa.Select, dict] | None:
    """The statement selecting ``columns`` of ``selection`` and its bind values."""
    params = _selection_params(userid, collection, selection, now)
    if params is None:
        return None
    key = (tuple(column.key for column in columns), tuple(params), selection.sort)
    query = _SELECTIONS.get(key)
    if query is None:
        query = _ordered(sa.select(*columns).where(*_selection_conditions(params, selection)),
                         params, selection)
        _SELECTIONS[key] = query
    return query, params


def _record(row: Any) -> Record:
    return Record(id=row.id, modified=row.modified, sortindex=row.sortindex,
                  payload=row.payload, parentid=row.parentid,
                  predecessorid=row.predecessorid)


class SQLStorage(StorageBackend):
    def __init__(self, engine: Engine):
        self.engine = engine
        self._reads = single_statement_reads(engine)
        self._dialect = engine.dialect.name
        self._locks_rows = locks_rows(self._dialect)
        self._update_records = update_existing_rows(
            self._dialect, bso, _RECORD_KEY, ["payload", "payload_size", *_METADATA_COLUMNS])
        self._update_metadata = update_existing_rows(self._dialect, bso, _RECORD_KEY,
                                                     _METADATA_COLUMNS)

    def upgrade_schema(self) -> None:
        upgrade(MIGRATIONS, self.engine)

    # -- info --------------------------------------------------------------
    @translate_db_errors
    def collection_timestamps(self, userid: int) -> dict[str, int]:
        with self._reads.connect() as conn:
            return {row.collection: row.last_modified
                    for row in conn.execute(_TIMESTAMPS, {"userid": userid})}

    @translate_db_errors
    def collection_timestamp(self, userid: int, collection: str) -> int | None:
        query = sa.select(user_collections.c.last_modified).where(
            user_collections.c.userid == userid, user_collections.c.collection == collection)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    @translate_db_errors
    def storage_timestamp(self, userid: int) -> int:
        with self.engine.connect() as conn:
            return self._storage_timestamp(conn, userid)

    @translate_db_errors
    def collection_usage(self, userid: int, now: int) -> dict[str, CollectionUsage]:
        # One statement, so the counters and the expired rows subtracted from
        # them come from one snapshot (READ COMMITTED gives each statement its own).
        expired = sa.select(
            bso.c.collection, sa.func.count().label("records"),
            sa.func.coalesce(sa.func.sum(bso.c.payload_size), 0).label("size")) \
            .where(bso.c.userid == userid, bso.c.expiry <= _seconds(now)) \
            .group_by(bso.c.collection).subquery()
        query = sa.select(
            user_collections.c.collection,
            user_collections.c.record_count - sa.func.coalesce(expired.c.records, 0),
            user_collections.c.payload_bytes - sa.func.coalesce(expired.c.size, 0)) \
            .select_from(user_collections.outerjoin(
                expired, expired.c.collection == user_collections.c.collection)) \
            .where(user_collections.c.userid == userid)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {collection: CollectionUsage(int(count), int(size))
                for collection, count, size in rows if count > 0}

    def total_bytes(self, userid: int, now: int) -> int:
        return sum(usage.bytes for usage in self.collection_usage(userid, now).values())

    # -- reads -------------------------------------------------------------
    def _select(self, columns: Sequence[Any], userid: int, collection: str,
                selection: ItemFilter, now: int) -> list[Any]:
        built = _selection_query(columns, userid, collection, selection, now)
        if built is None:
            return []
        with self._reads.connect() as conn:
            return conn.execute(*built).all()

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
        with self._reads.connect() as conn:
            row = conn.execute(_RECORD, {"userid": userid, "collection": collection,
                                         "id": record_id, "now_seconds": _seconds(now)}).first()
        return _record(row) if row is not None else None

    # -- write helpers -------------------------------------------------------
    def _lock_collection(self, conn: Connection, userid: int, collection: str,
                         create: bool) -> Any:
        """Serialize writers of this collection; return its row (or None).

        With ``create`` a missing row is inserted (``last_modified`` 0) and
        locked, so a writer always holds the row lock even when a concurrent
        delete removes the row it was waiting for. The locking select comes
        first: an existing row is then locked exclusively at once, never
        shared first (two shared locks both upgrading is a deadlock).
        """
        key = {"userid": userid, "collection": collection}
        if not self._locks_rows:
            return conn.execute(_COLLECTION, key).first()  # BEGIN IMMEDIATE serializes already
        for _attempt in range(CONFLICT_RETRIES):
            row = conn.execute(_COLLECTION_FOR_UPDATE, key).first()
            if row is not None or not create:
                return row
            conn.execute(insert_ignoring_duplicates(self._dialect, user_collections).values(
                userid=userid, collection=collection, last_modified=0, record_count=0,
                payload_bytes=0))
        raise BackendConflict("the collection row was deleted again and again")

    @staticmethod
    def _check_unmodified(row: Any, if_unmodified_since: int | None) -> None:
        # A row with last_modified 0 was just made by _lock_collection: the
        # collection has no timestamp yet, so any value (even negative) passes.
        if (if_unmodified_since is not None and row is not None and row.last_modified
                and row.last_modified > if_unmodified_since):
            raise CollectionModified(row.last_modified)

    @staticmethod
    def _check_newer(row: Any, now: int, require_newer: bool) -> None:
        if require_newer and row is not None and row.last_modified >= now:
            raise StaleTimestampError(row.last_modified)

    @staticmethod
    def _check_items_unmodified(states: dict[str, _RowState],
                                item_unmodified_since: int | None) -> None:
        if item_unmodified_since is None:
            return
        for state in states.values():
            if state.stored and not state.replace_all \
                    and (state.modified or 0) > item_unmodified_since:
                raise ItemModified(state.modified or 0)

    def _advance_storage_timestamp(self, conn: Connection, userid: int, now: int) -> None:
        conn.execute(upsert_greatest(self._dialect, user_storage, {"userid": userid},
                                     "last_modified", now))

    def _storage_timestamp(self, conn: Connection, userid: int) -> int:
        row = conn.execute(_STORAGE_TIMESTAMP, {"userid": userid}).first()
        return max(row[0] or 0, row[1] or 0)

    def _save_collection(self, conn: Connection, userid: int, collection: str, row: Any,
                         now: int, count_delta: int, bytes_delta: int) -> None:
        if row is None:
            conn.execute(_INSERT_COLLECTION, {
                "userid": userid, "collection": collection, "last_modified": now,
                "record_count": count_delta, "payload_bytes": bytes_delta})
            return
        conn.execute(_UPDATE_COLLECTION, {
            "b_userid": userid, "b_collection": collection,
            "last_modified": max(row.last_modified, now),
            "record_count": row.record_count + count_delta,
            "payload_bytes": row.payload_bytes + bytes_delta})

    def _load_states(self, conn: Connection, userid: int, collection: str,
                     ids: list[str], now: int) -> dict[str, _RowState]:
        states: dict[str, _RowState] = {}
        for row in conn.execute(_STATES, {"userid": userid, "collection": collection,
                                          "ids": ids}):
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
    def _apply(state: _RowState, write: RecordWrite, now: int, bump_on_metadata: bool, *,
               default_payload: str | None = None, keep_expiry: bool = False,
               touch: bool = False) -> None:
        payload = write.payload
        if payload is None and default_payload is not None and state.payload is None \
                and (not state.stored or state.replace_all):
            payload = default_payload  # a new record: give it the default payload
        if payload is not None:
            state.payload = payload
            state.payload_size = len(payload.encode("utf-8"))
            state.payload_changed = True
            state.modified = now
        elif touch or (bump_on_metadata and (write.sortindex is not None
                                             or state.modified is None)):
            state.modified = now
        if write.sortindex is not None:
            state.sortindex = write.sortindex
        if write.parentid is not None:
            state.parentid = write.parentid
        if write.predecessorid is not None:
            state.predecessorid = write.predecessorid
        if write.ttl_seconds is not None:
            state.expiry = _seconds(now) + write.ttl_seconds
        elif not keep_expiry:
            state.expiry = NO_EXPIRY

    def _persist(self, conn: Connection, userid: int, collection: str,
                 states: dict[str, _RowState]) -> tuple[int, int]:
        inserts, full_updates, metadata_updates = [], [], []
        count_delta = bytes_delta = 0
        for record_id, state in states.items():
            values = {"b_userid": userid, "b_collection": collection, "b_id": record_id,
                      "modified": state.modified,
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
            conn.execute(_INSERT_RECORDS, inserts)
        if full_updates:
            conn.execute(self._update_records, full_updates)
        if metadata_updates:
            conn.execute(self._update_metadata, metadata_updates)
        return count_delta, bytes_delta

    # -- writes ------------------------------------------------------------
    @retry_on_conflict
    @translate_db_errors
    def write_records(self, userid: int, collection: str, records: Sequence[RecordWrite],
                      now: int, *, if_unmodified_since: int | None = None,
                      bump_on_metadata: bool = False,
                      item_unmodified_since: int | None = None,
                      default_payload: str | None = None, keep_expiry: bool = False,
                      require_newer: bool = False) -> dict[str, int | None]:
        if not records:
            return {}
        ids = list(dict.fromkeys(record.id for record in records))
        with write_transaction(self.engine) as conn:
            row = self._lock_collection(conn, userid, collection, create=True)
            self._check_newer(row, now, require_newer)
            self._check_unmodified(row, if_unmodified_since)
            states = self._load_states(conn, userid, collection, ids, now)
            self._check_items_unmodified(states, item_unmodified_since)
            for record in records:
                state = states.setdefault(record.id, _RowState())
                self._apply(state, record, now, bump_on_metadata,
                            default_payload=default_payload, keep_expiry=keep_expiry)
            count_delta, bytes_delta = self._persist(conn, userid, collection, states)
            self._save_collection(conn, userid, collection, row, now, count_delta, bytes_delta)
        return {record_id: state.modified for record_id, state in states.items()}

    @retry_on_conflict
    @translate_db_errors
    def delete_records(self, userid: int, collection: str, selection: ItemFilter | None,
                       now: int, *, if_unmodified_since: int | None = None,
                       require_newer: bool = False) -> int:
        with write_transaction(self.engine) as conn:
            row = self._lock_collection(conn, userid, collection, create=False)
            if row is None:
                return 0
            self._check_newer(row, now, require_newer)
            self._check_unmodified(row, if_unmodified_since)
            in_collection = (bso.c.userid == userid, bso.c.collection == collection)
            if selection is None:
                deleted = self._delete_all_records(conn, userid, collection, now)
                count_delta, bytes_delta = -row.record_count, -row.payload_bytes
            else:
                built = _selection_query((bso.c.id, bso.c.payload_size), userid,
                                         collection, selection, now)
                victims = [] if built is None else conn.execute(*built).all()
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
                          if_unmodified_since: int | None = None,
                          require_newer: bool = False) -> int:
        with write_transaction(self.engine) as conn:
            row = self._lock_collection(conn, userid, collection, create=False)
            if row is None:
                return 0
            if require_newer:
                # The deletion must advance the storage timestamp itself.
                current = self._storage_timestamp(conn, userid)
                if current >= now:
                    raise StaleTimestampError(current)
            self._check_unmodified(row, if_unmodified_since)
            deleted = self._delete_all_records(conn, userid, collection, now)
            conn.execute(user_collections.delete().where(
                user_collections.c.userid == userid,
                user_collections.c.collection == collection))
            self._advance_storage_timestamp(conn, userid, now)
        return deleted

    @staticmethod
    def _delete_all_records(conn: Connection, userid: int, collection: str, now: int) -> int:
        """Delete every row of the collection; return how many were visible (not expired)."""
        in_collection = (bso.c.userid == userid, bso.c.collection == collection)
        conn.execute(bso.delete().where(*in_collection, bso.c.expiry <= _seconds(now)))
        return conn.execute(bso.delete().where(*in_collection)).rowcount

    @retry_on_conflict
    @translate_db_errors
    def delete_record(self, userid: int, collection: str, record_id: str, now: int, *,
                      if_unmodified_since: int | None = None,
                      require_newer: bool = False) -> bool:
        with write_transaction(self.engine) as conn:
            row = self._lock_collection(conn, userid, collection, create=False)
            if row is None:
                return False
            found = conn.execute(sa.select(bso.c.modified, bso.c.payload_size).where(
                bso.c.userid == userid, bso.c.collection == collection,
                bso.c.id == record_id, bso.c.expiry > _seconds(now))).first()
            if found is None:
                return False
            self._check_newer(row, now, require_newer)
            if if_unmodified_since is not None and (found.modified or 0) > if_unmodified_since:
                raise ItemModified(found.modified or 0)
            conn.execute(bso.delete().where(bso.c.userid == userid,
                                            bso.c.collection == collection,
                                            bso.c.id == record_id))
            self._save_collection(conn, userid, collection, row, now, -1, -found.payload_size)
        return True

    @retry_on_conflict
    @translate_db_errors
    def delete_storage(self, userid: int, now: int | None = None, *,
                       if_unmodified_since: int | None = None,
                       require_newer: bool = False) -> None:
        with write_transaction(self.engine) as conn:
            locking = sa.select(user_collections.c.collection) \
                .where(user_collections.c.userid == userid) \
                .order_by(user_collections.c.collection)
            if self._locks_rows:
                locking = locking.with_for_update()
            collections = list(conn.execute(locking).scalars())
            if if_unmodified_since is not None or (require_newer and now is not None):
                current = self._storage_timestamp(conn, userid)
                if require_newer and now is not None and current >= now:
                    raise StaleTimestampError(current)
                if if_unmodified_since is not None and current > if_unmodified_since:
                    raise CollectionModified(current)
            # Only the collections locked above: one created meanwhile by a
            # concurrent first write comes after this delete and stays whole
            # (removing its row but not its records would orphan them).
            if collections:
                conn.execute(bso.delete().where(bso.c.userid == userid,
                                                bso.c.collection.in_(collections)))
                conn.execute(user_collections.delete().where(
                    user_collections.c.userid == userid,
                    user_collections.c.collection.in_(collections)))
            conn.execute(batch_upload_items.delete().where(
                batch_upload_items.c.userid == userid))
            conn.execute(batch_uploads.delete().where(batch_uploads.c.userid == userid))
            if now is None:
                conn.execute(user_storage.delete().where(user_storage.c.userid == userid))
            else:
                self._advance_storage_timestamp(conn, userid, now)

    # -- batch uploads -------------------------------------------------------
    @retry_on_conflict
    @translate_db_errors
    def create_batch(self, userid: int, collection: str, records: Sequence[RecordWrite],
                     now: int, *, ttl_seconds: int,
                     if_unmodified_since: int | None = None,
                     max_records: int | None = None, max_bytes: int | None = None) -> str:
        batch_id = sql_batches.new_batch_id()
        with write_transaction(self.engine) as conn:
            self._check_unmodified(self._collection_row(conn, userid, collection),
                                   if_unmodified_since)
            sql_batches.insert_batch(conn, userid, collection, batch_id,
                                     _seconds(now) + ttl_seconds)
            sql_batches.stage(conn, userid, batch_id, records)
            sql_batches.check_staged_size(conn, userid, batch_id, max_records, max_bytes)
        return batch_id

    @retry_on_conflict
    @translate_db_errors
    def append_to_batch(self, userid: int, collection: str, batch_id: str,
                        records: Sequence[RecordWrite], now: int, *,
                        if_unmodified_since: int | None = None,
                        max_records: int | None = None, max_bytes: int | None = None) -> None:
        with write_transaction(self.engine) as conn:
            if not sql_batches.lock_batch(conn, userid, collection, batch_id, _seconds(now),
                                          self._locks_rows):
                raise BatchNotFoundError(batch_id)
            self._check_unmodified(self._collection_row(conn, userid, collection),
                                   if_unmodified_since)
            sql_batches.stage(conn, userid, batch_id, records)
            sql_batches.check_staged_size(conn, userid, batch_id, max_records, max_bytes)

    @retry_on_conflict
    @translate_db_errors
    def commit_batch(self, userid: int, collection: str, batch_id: str,
                     records: Sequence[RecordWrite], now: int, *,
                     if_unmodified_since: int | None = None,
                     max_records: int | None = None, max_bytes: int | None = None,
                     require_newer: bool = True) -> dict[str, int | None]:
        with write_transaction(self.engine) as conn:
            row = self._lock_collection(conn, userid, collection, create=True)
            self._check_newer(row, now, require_newer)
            self._check_unmodified(row, if_unmodified_since)
            if not sql_batches.lock_batch(conn, userid, collection, batch_id, _seconds(now),
                                          self._locks_rows):
                raise BatchNotFoundError(batch_id)
            writes = sql_batches.staged_writes(conn, userid, batch_id) + list(records)
            sql_batches.check_writes_size(writes, max_records, max_bytes)
            ids = list(dict.fromkeys(write.id for write in writes))
            states = self._load_states(conn, userid, collection, ids, now) if ids else {}
            for write in writes:
                self._apply(states.setdefault(write.id, _RowState()), write, now, True,
                            default_payload="", keep_expiry=True, touch=True)
            count_delta, bytes_delta = self._persist(conn, userid, collection, states)
            self._save_collection(conn, userid, collection, row, now, count_delta, bytes_delta)
            sql_batches.close_batch(conn, userid, batch_id)
        return {record_id: state.modified for record_id, state in states.items()}

    @translate_db_errors
    def purge_expired_batches(self, now: int) -> int:
        purged = 0
        while True:
            with write_transaction(self.engine) as conn:
                victims = sql_batches.expired_batches(conn, _seconds(now), 100)
                for userid, batch_id in victims:
                    sql_batches.close_batch(conn, userid, batch_id)
            purged += len(victims)
            if len(victims) < 100:
                return purged

    def _collection_row(self, conn: Connection, userid: int, collection: str) -> Any:
        return conn.execute(sa.select(user_collections).where(
            user_collections.c.userid == userid,
            user_collections.c.collection == collection)).first()

    # -- maintenance ---------------------------------------------------------
    @translate_db_errors
    def count_expired(self, now: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(bso)
                                .where(bso.c.expiry <= _seconds(now))).scalar() or 0

    def purge_expired(self, now: int, batch_size: int = 1000) -> Iterator[int]:
        self.purge_expired_batches(now)
        while True:
            candidates, purged = self._purge_batch(now, batch_size)
            if not candidates:
                return
            if purged:
                yield purged

    @retry_on_conflict
    @translate_db_errors
    def _purge_batch(self, now: int, batch_size: int) -> tuple[int, int]:
        """Purge up to ``batch_size`` expired rows; return (rows looked at, rows purged)."""
        expired = bso.c.expiry <= _seconds(now)
        with write_transaction(self.engine) as conn:
            candidates = conn.execute(
                sa.select(bso.c.userid, bso.c.collection, bso.c.id)
                .where(expired).limit(batch_size)).all()
            per_collection: dict[tuple[int, str], list[str]] = {}
            for candidate in candidates:
                per_collection.setdefault((candidate.userid, candidate.collection),
                                          []).append(candidate.id)
            purged = 0
            # Collections are locked in key order, as delete_storage does.
            for (userid, collection), ids in sorted(per_collection.items()):
                self._lock_collection(conn, userid, collection, create=False)
                # Measured under the lock: a writer may have replaced a candidate
                # since it was selected.
                victims = (bso.c.userid == userid, bso.c.collection == collection,
                           bso.c.id.in_(ids), expired)
                count, size = conn.execute(sa.select(
                    sa.func.count(), sa.func.coalesce(sa.func.sum(bso.c.payload_size), 0))
                    .where(*victims)).one()
                if not count:
                    continue
                conn.execute(bso.delete().where(*victims))
                conn.execute(user_collections.update().where(
                    user_collections.c.userid == userid,
                    user_collections.c.collection == collection).values(
                    record_count=user_collections.c.record_count - count,
                    payload_bytes=user_collections.c.payload_bytes - int(size)))
                purged += count
        return len(candidates), purged

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
