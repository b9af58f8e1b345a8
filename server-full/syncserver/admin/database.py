"""``sync-admin db ...``: schema maintenance."""
from __future__ import annotations

import argparse

from syncserver.admin.context import AdminContext
from syncserver.admin.errors import EXIT_OK


def upgrade(args: argparse.Namespace, context: AdminContext) -> int:
    """Run every package's migrations up to the newest revision.

    Works whatever ``db.auto_migrate`` says, and does nothing to a schema
    that is already current, so it is safe to run after every deployment.
    """
    for name, backend in context.schema_owners():
        backend.upgrade_schema()
        print(f"{name}: schema is at the latest revision")
    return EXIT_OK


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("db", help="database schema",
                                description="Database schema maintenance.")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    parser = actions.add_parser(
        "upgrade", help="create or upgrade every table (safe to repeat)",
        description="Create the tables or bring them to the newest revision. "
                    "Safe to repeat; run it after each upgrade of the server.")
    parser.set_defaults(handler=upgrade)
