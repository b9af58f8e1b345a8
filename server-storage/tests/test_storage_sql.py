"""The SQL storage backend: the storage conformance suite on every engine,
plus what only SQL has (migrations, unreachable databases, the counters)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

pytest.register_assert_rewrite("syncstorage.storage.testing")

import sqlalchemy as sa  # noqa: E402
from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import event  # noqa: E402

from synccore.db import get_engine  # noqa: E402
from synccore.exceptions import BackendError  # noqa: E402
from synccore.migrations import alembic_config  # noqa: E402
from syncstorage.storage import CollectionUsage, ItemFilter, RecordWrite  # noqa: E402
from syncstorage.storage.schema import bso, metadata, user_collections  # noqa: E402
from syncstorage.storage.sql import MIGRATIONS, SQLStorage  # noqa: E402
from syncstorage.storage.testing import StorageBackendTests  # noqa: E402


def _raw_usage(engine: sa.Engine, userid: int, collection: str,
               now_seconds: int | None) -> CollectionUsage:
    """COUNT/SUM straight from the record table (all rows when ``now_seconds`` is None)."""
    query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(bso.c.payload_size), 0)) \
        .where(bso.c.userid == userid, bso.c.collection == collection)
    if now_seconds is not None:
        query = query.where(bso.c.expiry > now_seconds)
    with engine.connect() as conn:
        count, size = conn.execute(query).one()
    return CollectionUsage(int(count), int(size))


# Databases whose schema is already up to date: the database_url fixture keeps
# one database per engine for the whole run and only empties its tables.
_migrated: set[str] = set()


class TestSQLStorage(StorageBackendTests):
    @pytest.fixture
    def storage(self, database_url) -> Iterator[SQLStorage]:
        storage = SQLStorage(get_engine(database_url))
        if database_url not in _migrated:
            storage.upgrade_schema()
            _migrated.add(database_url)
        yield storage

    def stored_usage(self, storage, userid, collection, now):
        raw = _raw_usage(storage.engine, userid, collection, now // 100)
        # The records read back through the API must agree with the raw sizes.
        assert super().stored_usage(storage, userid, collection, now) == raw
        return raw

    def assert_usage_exact(self, storage, userid, collections, now):
        super().assert_usage_exact(storage, userid, collections, now)
        # The cached counters include expired rows until they are purged.
        query = sa.select(user_collections.c.collection, user_collections.c.record_count,
                          user_collections.c.payload_bytes) \
            .where(user_collections.c.userid == userid)
        with storage.engine.connect() as conn:
            counters = {row[0]: CollectionUsage(row[1], int(row[2])) for row in conn.execute(query)}
        for collection in collections:
            raw = _raw_usage(storage.engine, userid, collection, None)
            assert counters.get(collection, CollectionUsage(0, 0)) == raw, collection

    @contextmanager
    def failure_after(self, storage, steps):
        """Fail the ``steps``-th SQL statement this thread sends, as a driver error would."""
        engine = storage.engine
        thread = threading.get_ident()
        sent = 0

        def count(conn, cursor, statement, parameters, context, executemany):
            nonlocal sent
            if threading.get_ident() != thread:
                return
            sent += 1
            if sent == steps:
                raise engine.dialect.loaded_dbapi.OperationalError("injected failure")

        event.listen(engine, "before_cursor_execute", count)
        try:
            yield
        finally:
            event.remove(engine, "before_cursor_execute", count)


class TestMigrations:
    def test_upgrade_is_idempotent(self, database_url):
        storage = SQLStorage(get_engine(database_url))
        storage.upgrade_schema()
        storage.write_records(1, "c", [RecordWrite(id="a", payload="x")], 100)
        storage.upgrade_schema()
        storage.upgrade_schema()
        assert storage.get_record(1, "c", "a", 100).payload == "x"
        with storage.engine.connect() as conn:
            versions = conn.execute(sa.text(
                f"SELECT version_num FROM {MIGRATIONS.version_table}")).scalars().all()
        scripts = ScriptDirectory.from_config(alembic_config(MIGRATIONS, storage.engine))
        assert versions == [scripts.get_current_head()]

    def test_migrations_build_the_declared_schema(self, database_url):
        engine = get_engine(database_url)
        SQLStorage(engine).upgrade_schema()
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = [diff for diff in compare_metadata(context, metadata)
                           if not _is_foreign_table(diff)]
        assert differences == []


def _is_foreign_table(diff) -> bool:
    """Tables of other packages sharing the database are not ours to compare."""
    return diff[0] == "remove_table" or (
        isinstance(diff, tuple) and diff[0] == "remove_index"
        and diff[1].table.name not in metadata.tables)


def _unreachable_sqlite(tmp_path) -> str:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be")
    return f"sqlite:///{blocker / 'sub' / 'sync.db'}"


UNREACHABLE = {
    "mysql": lambda tmp_path: "mysql+pymysql://root@127.0.0.1:1/x",
    "postgresql": lambda tmp_path: "postgresql://x@127.0.0.1:1/x",
    "sqlite": _unreachable_sqlite,
}

PUBLIC_CALLS = {
    "collection_timestamps": lambda s: s.collection_timestamps(1),
    "collection_timestamp": lambda s: s.collection_timestamp(1, "c"),
    "collection_usage": lambda s: s.collection_usage(1, 100),
    "total_bytes": lambda s: s.total_bytes(1, 100),
    "get_records": lambda s: s.get_records(1, "c", ItemFilter(), 100),
    "get_ids": lambda s: s.get_ids(1, "c", ItemFilter(sort="index", limit=2), 100),
    "get_record": lambda s: s.get_record(1, "c", "a", 100),
    "write_records": lambda s: s.write_records(1, "c", [RecordWrite(id="a", payload="x")], 100),
    "delete_records": lambda s: s.delete_records(1, "c", ItemFilter(ids=("a",)), 100),
    "delete_all_records": lambda s: s.delete_records(1, "c", None, 100),
    "delete_collection": lambda s: s.delete_collection(1, "c", 100),
    "delete_storage": lambda s: s.delete_storage(1),
    "purge_expired": lambda s: list(s.purge_expired(100)),
    "count_expired": lambda s: s.count_expired(100),
    "ping": lambda s: s.ping(),
    "upgrade_schema": lambda s: s.upgrade_schema(),
}


@pytest.mark.parametrize("engine", list(UNREACHABLE))
def test_unreachable_database_raises_backend_error(engine, tmp_path):
    storage = SQLStorage(get_engine(UNREACHABLE[engine](tmp_path), pool_timeout_seconds=2))
    for name, call in PUBLIC_CALLS.items():
        with pytest.raises(BackendError) as caught:
            call(storage)
        assert isinstance(caught.value.original, sa.exc.SQLAlchemyError), name
