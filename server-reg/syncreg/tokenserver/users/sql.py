"""The SQL token-server account store (SQLite, MySQL/MariaDB, PostgreSQL)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from synccore.db import ping, read_transaction, translate_db_errors, write_transaction
from synccore.migrations import MigrationSet, upgrade
from syncreg.database import engine_from_settings
from syncreg.tokenserver.users import (
    HISTORY_ROWS,
    RETIRED_GENERATION,
    TokenUser,
    TokenUserBackend,
    UserHistory,
)
from syncreg.tokenserver.users.schema import tokenserver_users as t

MIGRATIONS = MigrationSet(name="tokenserver",
                          script_location="syncreg.tokenserver.users:migrations",
                          version_table="alembic_version_tokenserver")

_CURRENT = t.c.replaced_at.is_(None)


def _row_to_user(row: Any) -> TokenUser:
    return TokenUser(uid=row.uid, service=row.service, email=row.email,
                     generation=row.generation, keys_changed_at=row.keys_changed_at or 0,
                     client_state=row.client_state, node=row.node, created_at=row.created_at,
                     replaced_at=row.replaced_at, purged_at=row.purged_at)


def _history_order(user: TokenUser) -> tuple[int, int, int]:
    return (user.generation, user.created_at, user.uid)


class SQLTokenUserBackend(TokenUserBackend):
    def __init__(self, engine: Engine):
        self.engine = engine

    def upgrade_schema(self) -> None:
        upgrade(MIGRATIONS, self.engine)

    @translate_db_errors
    def get_user_history(self, service: str, email: str) -> UserHistory | None:
        with read_transaction(self.engine) as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.email == email, t.c.service == service)
                .order_by(t.c.created_at.desc(), t.c.uid.desc()).limit(HISTORY_ROWS)).all()
        if not rows:
            return None
        users = sorted((_row_to_user(row) for row in rows), key=_history_order, reverse=True)
        current, older = users[0], users[1:]
        racing = [user.uid for user in older if user.replaced_at is None]
        if racing:
            self._mark_replaced(racing, current.created_at)
        return UserHistory(
            current=current,
            old_client_states=frozenset(user.client_state for user in older
                                        if user.client_state != current.client_state),
            first_seen_at=min(user.created_at for user in users))

    def _mark_replaced(self, uids: list[int], replaced_at: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(t.update().where(t.c.uid.in_(uids), _CURRENT)
                         .values(replaced_at=replaced_at))

    @staticmethod
    def _insert(conn: Connection, service: str, email: str, generation: int,
                keys_changed_at: int, client_state: str, node: str, now_ms: int) -> TokenUser:
        values = {"service": service, "email": email, "generation": generation,
                  "keys_changed_at": keys_changed_at or None, "client_state": client_state,
                  "node": node, "created_at": now_ms}
        uid = conn.execute(t.insert().values(**values)).inserted_primary_key[0]
        return TokenUser(uid=uid, service=service, email=email, generation=generation,
                         keys_changed_at=keys_changed_at or 0, client_state=client_state,
                         node=node, created_at=now_ms)

    @translate_db_errors
    def create_user(self, service: str, email: str, generation: int, keys_changed_at: int,
                    client_state: str, node: str, now_ms: int) -> TokenUser:
        with write_transaction(self.engine) as conn:
            return self._insert(conn, service, email, generation, keys_changed_at,
                                client_state, node, now_ms)

    @translate_db_errors
    def replace_user(self, service: str, email: str, generation: int, keys_changed_at: int,
                     client_state: str, node: str, now_ms: int) -> TokenUser:
        with write_transaction(self.engine) as conn:
            user = self._insert(conn, service, email, generation, keys_changed_at,
                                client_state, node, now_ms)
            conn.execute(t.update()
                         .where(t.c.email == email, t.c.service == service, _CURRENT,
                                t.c.uid != user.uid, t.c.created_at <= now_ms)
                         .values(replaced_at=now_ms))
        return user

    @translate_db_errors
    def update_user(self, uid: int, generation: int, keys_changed_at: int) -> bool:
        stored_kca = sa.func.coalesce(t.c.keys_changed_at, 0)
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                t.update()
                .where(t.c.uid == uid, _CURRENT, t.c.generation <= generation,
                       stored_kca <= keys_changed_at)
                .values(generation=generation, keys_changed_at=keys_changed_at or None))
        return result.rowcount > 0

    @translate_db_errors
    def retire_user(self, service: str, email: str, now_ms: int) -> int:
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                t.update().where(t.c.email == email, t.c.service == service, _CURRENT)
                .values(generation=RETIRED_GENERATION, replaced_at=now_ms))
        return result.rowcount

    @translate_db_errors
    def replace_users_on_node(self, service: str, node: str, now_ms: int) -> int:
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                t.update().where(t.c.service == service, t.c.node == node, _CURRENT)
                .values(replaced_at=now_ms))
        return result.rowcount

    @translate_db_errors
    def get_user_by_uid(self, uid: int) -> TokenUser | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.uid == uid)).first()
        return _row_to_user(row) if row is not None else None

    @translate_db_errors
    def iter_purgeable(self, service: str, replaced_before_ms: int,
                       limit: int) -> Iterator[TokenUser]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t)
                .where(t.c.service == service, t.c.replaced_at.is_not(None),
                       t.c.replaced_at < replaced_before_ms, t.c.purged_at.is_(None))
                .order_by(t.c.replaced_at, t.c.uid).limit(limit)).all()
        return iter([_row_to_user(row) for row in rows])

    @translate_db_errors
    def mark_purged(self, uid: int, now_ms: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(t.update().where(t.c.uid == uid, t.c.replaced_at.is_not(None))
                         .values(purged_at=now_ms))

    def ping(self) -> None:
        ping(self.engine)


def load_from_config(settings: dict[str, Any]) -> SQLTokenUserBackend:
    engine = engine_from_settings(settings, "tokenserver.sqlalchemy.url")
    backend = SQLTokenUserBackend(engine)
    if settings["db.auto_migrate"]:
        backend.upgrade_schema()
    return backend
