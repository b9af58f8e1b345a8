"""The SQL user store (SQLite, MySQL/MariaDB, PostgreSQL)."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from synccore.db import (
    get_engine,
    ping,
    single_statement_reads,
    translate_db_errors,
    write_transaction,
)
from synccore.migrations import MigrationSet, upgrade
from synccore.passwords import HashingParameters, PasswordHashing
from synccore.users import User, UserBackend, UserExists, UserNotFound
from synccore.users.schema import users

# Built once: every authenticated request looks its account up, and building
# a statement (and its cache key) costs several times more than running it.
_BY_USERNAME = sa.select(users).where(users.c.username == sa.bindparam("username"))
_BY_USERNAME_FOR_UPDATE = _BY_USERNAME.with_for_update()

MIGRATIONS = MigrationSet(name="users", script_location="synccore.users:migrations",
                          version_table="alembic_version_users")


def _credential_version(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


def _row_to_user(row: Any) -> User:
    return User(userid=row.userid, username=row.username, email=row.email,
                disabled=bool(row.disabled),
                credential_version=_credential_version(row.password_hash))


class SQLUserBackend(UserBackend):
    def __init__(self, engine: Engine, hashing: PasswordHashing | None = None):
        self.engine = engine
        self._reads = single_statement_reads(engine)
        self.hashing = hashing or PasswordHashing()

    def upgrade_schema(self) -> None:
        upgrade(MIGRATIONS, self.engine)

    @translate_db_errors
    def create_user(self, username: str, password: str, email: str | None = None) -> User:
        password_hash = self.hashing.hash(password)
        try:
            with self.engine.begin() as conn:
                result = conn.execute(users.insert().values(
                    username=username, email=email, password_hash=password_hash,
                    disabled=False, created_at=int(time.time())))
                userid = result.inserted_primary_key[0]
        except sa.exc.IntegrityError as exc:
            raise UserExists(username) from exc
        return User(userid=userid, username=username, email=email,
                    credential_version=_credential_version(password_hash))

    def _select_one(self, where) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(users).where(where)).first()

    @staticmethod
    def _named(conn, username: str, for_update: bool = False) -> Any:
        """The row called exactly ``username``, or None.

        MySQL/MariaDB ``=`` ignores trailing spaces even under a binary
        collation ('alice ' = 'alice'), so the name is checked again here.
        """
        query = _BY_USERNAME_FOR_UPDATE if for_update else _BY_USERNAME
        row = conn.execute(query, {"username": username}).first()
        return row if row is not None and row.username == username else None

    @translate_db_errors
    def get_user(self, username: str) -> User | None:
        with self._reads.connect() as conn:
            row = self._named(conn, username)
        return _row_to_user(row) if row is not None else None

    @translate_db_errors
    def get_user_by_id(self, userid: int) -> User | None:
        row = self._select_one(users.c.userid == userid)
        return _row_to_user(row) if row is not None else None

    @translate_db_errors
    def authenticate(self, username: str, password: str) -> User | None:
        with self.engine.connect() as conn:
            row = self._named(conn, username)
        if row is None:
            # Spend the same time as a real check so timing does not reveal
            # which usernames exist.
            self.hashing.verify(_DUMMY_HASH.get(self.hashing), password)
            return None
        if not self.hashing.verify(row.password_hash, password) or row.disabled:
            return None
        if self.hashing.needs_rehash(row.password_hash):
            self._update(username, password_hash=self.hashing.hash(password))
            row = self._select_one(users.c.userid == row.userid)
        return _row_to_user(row)

    def _update(self, username: str, **values: Any) -> None:
        with write_transaction(self.engine) as conn:
            row = self._named(conn, username, for_update=True)
            if row is None:
                raise UserNotFound(username)
            conn.execute(users.update().where(users.c.userid == row.userid).values(**values))

    @translate_db_errors
    def set_password(self, username: str, password: str) -> None:
        self._update(username, password_hash=self.hashing.hash(password))

    @translate_db_errors
    def set_email(self, username: str, email: str | None) -> None:
        self._update(username, email=email)

    @translate_db_errors
    def set_disabled(self, username: str, disabled: bool) -> None:
        self._update(username, disabled=disabled)

    @translate_db_errors
    def delete_user(self, username: str) -> None:
        with write_transaction(self.engine) as conn:
            row = self._named(conn, username, for_update=True)
            if row is None:
                raise UserNotFound(username)
            conn.execute(users.delete().where(users.c.userid == row.userid))

    @translate_db_errors
    def iter_users(self) -> Iterator[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.username)).all()
        return iter([_row_to_user(row) for row in rows])

    def ping(self) -> None:
        ping(self.engine)


class _DummyHashes:
    """One throw-away hash per hashing configuration, made on first use."""

    def __init__(self) -> None:
        self._hashes: dict[int, str] = {}

    def get(self, hashing: PasswordHashing) -> str:
        key = id(hashing)
        if key not in self._hashes:
            self._hashes[key] = hashing.hash("not a real password")
        return self._hashes[key]


_DUMMY_HASH = _DummyHashes()


def load_from_config(settings: dict[str, Any]) -> SQLUserBackend:
    engine = get_engine(settings["users.sqlalchemy.url"] or settings["sqlalchemy.url"],
                        pool_size=settings["db.pool_size"],
                        pool_timeout_seconds=settings["db.pool_timeout_seconds"],
                        pool_recycle_seconds=settings["db.pool_recycle_seconds"],
                        sqlite_busy_timeout_ms=settings["db.sqlite_busy_timeout_ms"])
    hashing = PasswordHashing(HashingParameters(
        time_cost=settings["auth.argon2_time_cost"],
        memory_cost_kib=settings["auth.argon2_memory_kib"],
        parallelism=settings["auth.argon2_parallelism"]))
    backend = SQLUserBackend(engine, hashing)
    if settings["db.auto_migrate"]:
        backend.upgrade_schema()
    return backend
