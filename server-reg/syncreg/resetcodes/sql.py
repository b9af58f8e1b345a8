"""The SQL reset-code store (SQLite, MySQL/MariaDB, PostgreSQL)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from synccore.db import ping, translate_db_errors, write_transaction
from synccore.migrations import MigrationSet, upgrade
from syncreg.database import engine_from_settings
from syncreg.resetcodes import PendingCode, ResetCodeStore
from syncreg.resetcodes.schema import reset_codes

MIGRATIONS = MigrationSet(name="reset_codes", script_location="syncreg.resetcodes:migrations",
                          version_table="alembic_version_reset_codes")


class SQLResetCodeStore(ResetCodeStore):
    def __init__(self, engine: Engine):
        self.engine = engine

    def upgrade_schema(self) -> None:
        upgrade(MIGRATIONS, self.engine)

    @translate_db_errors
    def get(self, username: str) -> PendingCode | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(reset_codes)
                               .where(reset_codes.c.username == username)).first()
        if row is None:
            return None
        return PendingCode(username=row.username, nonce=row.nonce, code_hash=row.code_hash,
                           expires_at=row.expires_at)

    @translate_db_errors
    def replace(self, pending: PendingCode) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(reset_codes.delete().where(reset_codes.c.username == pending.username))
            conn.execute(reset_codes.insert().values(
                username=pending.username, nonce=pending.nonce, code_hash=pending.code_hash,
                expires_at=pending.expires_at))

    @translate_db_errors
    def consume(self, username: str, code_hash: str, now: int) -> bool:
        with write_transaction(self.engine) as conn:
            result = conn.execute(reset_codes.delete().where(
                reset_codes.c.username == username, reset_codes.c.code_hash == code_hash,
                reset_codes.c.expires_at > now))
        return result.rowcount == 1

    @translate_db_errors
    def delete(self, username: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(reset_codes.delete().where(reset_codes.c.username == username))

    @translate_db_errors
    def purge_expired(self, now: int) -> int:
        with write_transaction(self.engine) as conn:
            result = conn.execute(reset_codes.delete().where(reset_codes.c.expires_at <= now))
        return result.rowcount

    def ping(self) -> None:
        ping(self.engine)


def load_from_config(settings: dict[str, Any]) -> SQLResetCodeStore:
    store = SQLResetCodeStore(engine_from_settings(settings, "reset_codes.sqlalchemy.url"))
    if settings["db.auto_migrate"]:
        store.upgrade_schema()
    return store
