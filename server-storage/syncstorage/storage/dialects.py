"""The few SQL statements whose spelling differs between engines."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite


def insert_ignoring_duplicates(dialect_name: str, table: sa.Table) -> sa.Insert:
    """INSERT that silently skips rows whose primary key already exists."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect_name == "mysql":
        # A no-op update rather than INSERT IGNORE: the existing row is then
        # locked exclusively, where IGNORE takes a shared lock (and two
        # transactions upgrading shared locks deadlock) and hides other errors.
        first = next(iter(table.primary_key.columns))
        return mysql.insert(table).on_duplicate_key_update({first.name: first})
    return sqlite.insert(table).on_conflict_do_nothing()


def locks_rows(dialect_name: str) -> bool:
    """Whether SELECT ... FOR UPDATE is how writers serialize.

    SQLite has no row locks: ``BEGIN IMMEDIATE`` already gives the writer the
    whole database, so the pre-insert and the FOR UPDATE are skipped there.
    """
    return dialect_name != "sqlite"


def upsert_greatest(dialect_name: str, table: sa.Table, key: dict, column: str,
                    value: int) -> sa.Insert:
    """INSERT a row, or raise ``column`` of the existing one to at least ``value``."""
    values = {**key, column: value}
    if dialect_name == "mysql":
        statement = mysql.insert(table).values(**values)
        return statement.on_duplicate_key_update(
            {column: sa.func.greatest(table.c[column], statement.inserted[column])})
    module = postgresql if dialect_name == "postgresql" else sqlite
    statement = module.insert(table).values(**values)
    biggest = sa.func.greatest if dialect_name == "postgresql" else sa.func.max
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={column: biggest(table.c[column], statement.excluded[column])})


def update_existing_rows(dialect_name: str, table: sa.Table, key: dict[str, str],
                         columns: list[str]) -> sa.Executable:
    """A statement run with many parameter sets, each setting ``columns`` of the
    existing row whose key columns equal the parameters named in ``key``.

    PyMySQL sends an UPDATE with many parameter sets as one query per set;
    an INSERT ... ON DUPLICATE KEY UPDATE of rows that exist has the same
    effect and goes out as one multi-row statement. Only for rows known to
    exist (the caller holds their collection's lock).
    """
    values = {name: sa.bindparam(name) for name in columns}
    if dialect_name == "mysql":
        statement = mysql.insert(table).values(
            **{column: sa.bindparam(param) for column, param in key.items()}, **values)
        return statement.on_duplicate_key_update(
            {name: statement.inserted[name] for name in columns})
    return table.update().where(
        *(table.c[column] == sa.bindparam(param) for column, param in key.items())
    ).values(**values)
