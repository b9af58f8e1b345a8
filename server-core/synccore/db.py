"""Database engines shared by every SQL backend.

One place knows how each engine is tuned:

* SQLite: WAL journal, a busy timeout, ``synchronous=NORMAL``, and explicit
  ``BEGIN IMMEDIATE`` for write transactions so two writers never deadlock on
  a lock upgrade.
* MySQL/MariaDB (PyMySQL): READ COMMITTED to avoid InnoDB gap-lock deadlocks,
  utf8mb4, pool pre-ping and recycling.
* PostgreSQL (psycopg 3): pooled, pre-pinged.

Engines are cached per URL so the user store and the storage share a pool
when they share a database.
"""
from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url

from synccore.exceptions import BackendConflict, BackendError

_engines: dict[tuple, Engine] = {}
_engines_lock = threading.Lock()
# SQLite engine -> (lock, seconds): writers of one process queue here, see
# write_transaction().
_sqlite_write_gates: weakref.WeakKeyDictionary[Engine, tuple[threading.Lock, float]] = \
    weakref.WeakKeyDictionary()

# Driver error numbers that mean "another transaction is in the way".
_MYSQL_CONFLICT_ERRNOS = {1205, 1213}  # lock wait timeout, deadlock
_PG_CONFLICT_SQLSTATES = {"40001", "40P01", "55P03"}


def normalise_url(url: str) -> str:
    """Pick our drivers when a URL names only the database kind."""
    parsed = make_url(url)
    if parsed.drivername in ("mysql", "mariadb"):
        parsed = parsed.set(drivername="mysql+pymysql")
    elif parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("mysql") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed.render_as_string(hide_password=False)


def get_engine(url: str, *, pool_size: int = 10, pool_timeout_seconds: int = 30,
               pool_recycle_seconds: int = 3600, sqlite_busy_timeout_ms: int = 10000) -> Engine:
    """A cached, tuned engine for ``url``."""
    url = normalise_url(url)
    key = (url, pool_size, pool_timeout_seconds, pool_recycle_seconds, sqlite_busy_timeout_ms)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create_engine(url, pool_size, pool_timeout_seconds,
                                    pool_recycle_seconds, sqlite_busy_timeout_ms)
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and forked worker processes)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _create_engine(url: str, pool_size: int, pool_timeout: int, pool_recycle: int,
                   busy_timeout_ms: int) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed, pool_size, pool_timeout, busy_timeout_ms)
    options: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "pool_timeout": pool_timeout,
        "pool_recycle": pool_recycle,
        "pool_pre_ping": True,
    }
    if parsed.get_backend_name() == "mysql":
        options["isolation_level"] = "READ COMMITTED"
        options["connect_args"] = {"connect_timeout": 10}
    elif parsed.get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": 10}
    return sa.create_engine(parsed, **options)


def _create_sqlite_engine(parsed: sa.URL, pool_size: int, pool_timeout: int,
                          busy_timeout_ms: int) -> Engine:
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        directory = os.path.dirname(os.path.abspath(database))
        # An unusable directory is reported by the first connection, as a
        # BackendError like any other unreachable database.
        with suppress(OSError):
            os.makedirs(directory, exist_ok=True)
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False,
                                                "timeout": busy_timeout_ms / 1000}}
    if in_memory:
        options["poolclass"] = sa.pool.StaticPool
    else:
        options.update(poolclass=sa.pool.QueuePool, pool_size=pool_size,
                       max_overflow=pool_size, pool_timeout=pool_timeout)
    engine = sa.create_engine(parsed, **options)
    _sqlite_write_gates[engine] = (threading.Lock(), busy_timeout_ms / 1000)

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection, _record):  # pragma: no cover - driver callback
        # Take over transaction control from the sqlite3 module so that
        # BEGIN IMMEDIATE can be issued for writes.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # pragma: no cover - driver callback
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:  # None: see single_statement_reads()
            conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_conflict(error: BaseException) -> bool:
    """True when a driver error means lock contention rather than a broken backend."""
    original = getattr(error, "orig", None)
    if original is None:
        return False
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_CONFLICT_ERRNOS:
        return True
    if getattr(original, "sqlstate", None) in _PG_CONFLICT_SQLSTATES:
        return True
    message = str(original).lower()
    return "database is locked" in message or "database table is locked" in message


def translate_error(error: sa.exc.SQLAlchemyError) -> BackendError:
    if is_conflict(error):
        return BackendConflict("write conflict", original=error)
    return BackendError("database error", original=error)


F = TypeVar("F", bound=Callable[..., Any])


def translate_db_errors(func: F) -> F:
    """Decorator for backend methods: driver errors become BackendError."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except sa.exc.SQLAlchemyError as exc:
            raise translate_error(exc) from exc

    return wrapper  # type: ignore[return-value]


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: SQLite takes its write lock up front.

    SQLite has one writer at a time, and a writer that finds the database
    locked polls with growing sleeps (up to tens of milliseconds), long after
    the lock is free. Writers of one process therefore queue on a lock of
    their own first, which wakes the next one at once; only writers of other
    processes still meet SQLite's polling.
    """
    gate = _sqlite_write_gates.get(engine)
    if gate is None:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
        return
    lock, timeout_seconds = gate
    if not lock.acquire(timeout=timeout_seconds):
        raise BackendConflict("another writer kept the database locked")
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
    finally:
        lock.release()


def single_statement_reads(engine: Engine) -> Engine:
    """``engine`` for connections that run one SELECT and nothing else.

    On SQLite such a statement runs without BEGIN and ROLLBACK around it: a
    single statement reads one consistent snapshot by itself, and the two
    extra round trips cost as much as the query. Other engines are returned
    unchanged. Never use it for writes or for several related reads.
    """
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(sqlite_begin=None)


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that only reads, so several queries see one snapshot."""
    with engine.connect() as conn, conn.begin():
        yield conn


def ping(engine: Engine) -> None:
    """Raise BackendError unless the database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as exc:
        raise translate_error(exc) from exc
