"""Alembic migrations, one version history per package.

Each package that owns tables keeps its Alembic scripts in its own folder and
its own version table, so the user store and the storage can live in
different databases and be upgraded independently.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from synccore.db import translate_error


@dataclass(frozen=True)
class MigrationSet:
    name: str               # shown by the admin console
    script_location: str    # "package:folder" understood by Alembic
    version_table: str


def alembic_config(migrations: MigrationSet, engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", migrations.script_location)
    config.attributes["engine"] = engine
    config.attributes["version_table"] = migrations.version_table
    return config


def upgrade(migrations: MigrationSet, engine: Engine, revision: str = "head") -> None:
    """Bring the package's tables to ``revision``.

    An unreachable or failing database raises BackendError like every other
    backend call, so start-up and the admin console report it the same way.
    """
    try:
        command.upgrade(alembic_config(migrations, engine), revision)
    except sa.exc.SQLAlchemyError as exc:
        raise translate_error(exc) from exc


def run_env(context) -> None:
    """Body of every package's ``env.py``: run online against the given engine."""
    attributes = context.config.attributes
    engine: Engine = attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection,
                          version_table=attributes["version_table"],
                          render_as_batch=engine.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
