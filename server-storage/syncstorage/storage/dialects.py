"""The few SQL statements whose spelling differs between engines."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite


def insert_ignoring_duplicates(dialect_name: str, table: sa.Table) -> sa.Insert:
    """INSERT that silently skips rows whose primary key already exists."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect_name == "mysql":
        return mysql.insert(table).prefix_with("IGNORE")
    return sqlite.insert(table).on_conflict_do_nothing()


def locks_rows(dialect_name: str) -> bool:
    """Whether SELECT ... FOR UPDATE is how writers serialize.

    SQLite has no row locks: ``BEGIN IMMEDIATE`` already gives the writer the
    whole database, so the pre-insert and the FOR UPDATE are skipped there.
    """
    return dialect_name != "sqlite"
