"""The SQL node backend (SQLite, MySQL/MariaDB, PostgreSQL).

Assignment is one write transaction: a conditional ``UPDATE`` that takes a
place on the chosen node only while it is still available, then the insert
of the user's row, whose primary key makes a concurrent assignment of the
same user fail and roll back its place. The loser reads the winner's node.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from synccore.db import ping, translate_db_errors, write_transaction
from synccore.exceptions import BackendConflict
from synccore.migrations import MigrationSet, upgrade
from syncreg.database import engine_from_settings
from syncreg.nodes import (
    Node,
    NodeBackend,
    NodeExists,
    NodeNotFound,
    NoNodeAvailable,
    normalise_node_url,
)
from syncreg.nodes.schema import node_assignments, nodes

MIGRATIONS = MigrationSet(name="nodes", script_location="syncreg.nodes:migrations",
                          version_table="alembic_version_nodes")

# Chosen node filled up, or the same user assigned concurrently: look again.
_ASSIGN_ATTEMPTS = 5


class _LostRaceError(Exception):
    pass


def _row_to_node(row: Any) -> Node:
    return Node(service=row.service, url=row.url, capacity=row.capacity,
                assigned=row.assigned, down=bool(row.down))


def _is_available(row: Any) -> bool:
    return not row.down and row.assigned < row.capacity


class SQLNodeBackend(NodeBackend):
    def __init__(self, engine: Engine, fallback_node: str):
        self.engine = engine
        self.fallback_node = normalise_node_url(fallback_node)

    def upgrade_schema(self) -> None:
        upgrade(MIGRATIONS, self.engine)

    @translate_db_errors
    def add_node(self, service: str, url: str, capacity: int) -> Node:
        if capacity < 0:
            raise ValueError("capacity cannot be negative")
        url = normalise_node_url(url)
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(nodes.insert().values(service=service, url=url,
                                                   capacity=capacity, assigned=0, down=False))
        except sa.exc.IntegrityError as exc:
            raise NodeExists(f"{service} {url}") from exc
        return Node(service=service, url=url, capacity=capacity, assigned=0, down=False)

    @translate_db_errors
    def list_nodes(self, service: str | None = None) -> list[Node]:
        query = sa.select(nodes).order_by(nodes.c.service, nodes.c.url)
        if service is not None:
            query = query.where(nodes.c.service == service)
        with self.engine.connect() as conn:
            return [_row_to_node(row) for row in conn.execute(query)]

    def _update_node(self, service: str, url: str, **values: Any) -> None:
        url = normalise_node_url(url)
        with write_transaction(self.engine) as conn:
            result = conn.execute(nodes.update()
                                  .where(nodes.c.service == service, nodes.c.url == url)
                                  .values(**values))
        if result.rowcount == 0:
            raise NodeNotFound(f"{service} {url}")

    @translate_db_errors
    def set_capacity(self, service: str, url: str, capacity: int) -> None:
        if capacity < 0:
            raise ValueError("capacity cannot be negative")
        self._update_node(service, url, capacity=capacity)

    @translate_db_errors
    def set_down(self, service: str, url: str, down: bool) -> None:
        self._update_node(service, url, down=down)

    def _assigned_url(self, conn: Connection, service: str, user_key: str) -> str | None:
        query = (sa.select(nodes.c.url)
                 .select_from(node_assignments.join(
                     nodes, nodes.c.nodeid == node_assignments.c.nodeid))
                 .where(node_assignments.c.service == service,
                        node_assignments.c.user_key == user_key))
        return conn.execute(query).scalar()

    @translate_db_errors
    def get_assignment(self, service: str, user_key: str) -> str | None:
        with self.engine.connect() as conn:
            return self._assigned_url(conn, service, user_key)

    @translate_db_errors
    def assign_node(self, service: str, user_key: str) -> str:
        for _attempt in range(_ASSIGN_ATTEMPTS):
            existing = self.get_assignment(service, user_key)
            if existing is not None:
                return existing
            try:
                return self._assign_new(service, user_key)
            except (_LostRaceError, sa.exc.IntegrityError):
                continue
        raise BackendConflict("node assignment kept losing races")

    def _assign_new(self, service: str, user_key: str) -> str:
        with write_transaction(self.engine) as conn:
            rows = conn.execute(sa.select(nodes).where(nodes.c.service == service)).all()
            if not rows:
                return self.fallback_node
            candidates = [row for row in rows if _is_available(row)]
            if not candidates:
                raise NoNodeAvailable(service)
            best = min(candidates, key=lambda row: (row.assigned / row.capacity, row.url))
            taken = conn.execute(
                nodes.update()
                .where(nodes.c.nodeid == best.nodeid, nodes.c.down == sa.false(),
                       nodes.c.assigned < nodes.c.capacity)
                .values(assigned=nodes.c.assigned + 1))
            if taken.rowcount != 1:
                raise _LostRaceError()
            conn.execute(node_assignments.insert().values(
                service=service, user_key=user_key, nodeid=best.nodeid))
            return best.url

    @translate_db_errors
    def release(self, service: str, user_key: str) -> None:
        where = (node_assignments.c.service == service,
                 node_assignments.c.user_key == user_key)
        with write_transaction(self.engine) as conn:
            nodeid = conn.execute(sa.select(node_assignments.c.nodeid).where(*where)).scalar()
            if nodeid is None:
                return
            if conn.execute(node_assignments.delete().where(*where)).rowcount != 1:
                return  # released concurrently; that call freed the place
            conn.execute(nodes.update()
                         .where(nodes.c.nodeid == nodeid, nodes.c.assigned > 0)
                         .values(assigned=nodes.c.assigned - 1))

    def ping(self) -> None:
        ping(self.engine)


def load_from_config(settings: dict[str, Any]) -> SQLNodeBackend:
    engine = engine_from_settings(settings, "nodes.sqlalchemy.url")
    fallback = settings["reg.fallback_node"] or settings["server.public_url"]
    backend = SQLNodeBackend(engine, fallback)
    if settings["db.auto_migrate"]:
        backend.upgrade_schema()
    return backend
