"""Test support shared by every package's suite.

* ``DATABASE_ENGINES`` and ``database_server_url``: SQLite always; MySQL and
  PostgreSQL when ``SYNC_TEST_MYSQL_URL`` / ``SYNC_TEST_PG_URL`` name a
  server. Without them those tests skip with the reason, unless
  ``SYNC_TEST_REQUIRE_ALL_ENGINES=1`` (set by CI), which makes them fail.
* ``temporary_database``: a uniquely named database created on that server
  and dropped afterwards, so concurrent test runs never share tables.
* ``make_settings`` / ``make_test_app``: the real application, built by the
  same factory as production, with cheap password hashing.
"""
from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.url import make_url

from synccore.db import normalise_url

DATABASE_ENGINES = ("sqlite", "mysql", "postgresql")
ENGINE_ENV = {"mysql": "SYNC_TEST_MYSQL_URL", "postgresql": "SYNC_TEST_PG_URL"}
REQUIRE_ALL_ENV = "SYNC_TEST_REQUIRE_ALL_ENGINES"

# Cheap argon2 parameters: tests create many accounts.
FAST_HASHING = {"auth.argon2_time_cost": "1", "auth.argon2_memory_kib": "1024",
                "auth.argon2_parallelism": "1"}


class EngineUnavailable(Exception):
    """The engine's test server is not configured."""


def database_server_url(engine: str) -> str | None:
    """The configured server URL for ``engine`` (None for SQLite)."""
    if engine == "sqlite":
        return None
    url = os.environ.get(ENGINE_ENV[engine])
    if not url:
        raise EngineUnavailable(
            f"{engine} tests need {ENGINE_ENV[engine]} (e.g. "
            + ("mysql://root@127.0.0.1:3306/test" if engine == "mysql"
               else "postgresql://postgres@127.0.0.1:5432/test") + ")")
    return url


def require_all_engines() -> bool:
    return os.environ.get(REQUIRE_ALL_ENV, "") not in ("", "0")


def skip_unless_engine(engine: str) -> None:
    """Skip the running test when ``engine`` has no server configured, or
    fail it when every engine is required (CI)."""
    import pytest  # test support only: the packages do not depend on pytest

    try:
        database_server_url(engine)
    except EngineUnavailable as exc:
        if require_all_engines():
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@contextmanager
def temporary_database(engine: str, sqlite_dir: str) -> Iterator[str]:
    """Yield the URL of a fresh, empty database on ``engine``; drop it afterwards."""
    name = f"synctest_{uuid.uuid4().hex[:12]}"
    if engine == "sqlite":
        yield f"sqlite:///{os.path.join(sqlite_dir, name + '.db')}"
        return
    server_url = make_url(normalise_url(database_server_url(engine)))
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    quoted = f"`{name}`" if engine == "mysql" else f'"{name}"'
    create = f"CREATE DATABASE {quoted}"
    if engine == "mysql":
        create += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    with admin.connect() as conn:
        conn.exec_driver_sql(create)
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        from synccore.db import dispose_engines
        dispose_engines()
        with admin.connect() as conn:
            if engine == "postgresql":
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
        admin.dispose()


def empty_all_tables(url: str) -> None:
    """Delete every row of every application table (between tests)."""
    from synccore.db import get_engine
    engine = get_engine(url)
    inspector = sa.inspect(engine)
    with engine.begin() as conn:
        for table in inspector.get_table_names():
            if not table.startswith("alembic_version"):
                conn.execute(sa.table(table).delete())


def make_settings(database_url: str, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "sqlalchemy.url": database_url,
        "db.auto_migrate": "true",
        "db.pool_size": "4",
        **FAST_HASHING,
    }
    settings.update({key: str(value) for key, value in overrides.items()})
    return settings


def make_test_app(settings: dict[str, Any]):
    """The composed application wrapped in webtest."""
    from webtest import TestApp

    from syncserver import main
    return TestApp(main({}, **settings))


def basic_auth(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}
