"""``sync-admin``: the administration console of a SyncServer.

Each command group lives in a module of its own that adds its subcommands
in ``register(commands)``; a new group is one more module in
``COMMAND_GROUPS``. Every handler takes ``(args, context)`` and returns the
exit status; expected failures are reported in one line on stderr with the
status codes of ``syncserver.admin.errors``.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from synccore.db import dispose_engines
from synccore.exceptions import BackendError
from synccore.settings import ConfigurationError
from synccore.users import UserNotFound
from syncserver.admin import database, nodes, purge, tokenserver, users
from syncserver.admin.context import load_context
from syncserver.admin.errors import EXIT_BACKEND, EXIT_CONFIG, EXIT_INTERRUPTED, AdminError

COMMAND_GROUPS = (users, database, purge, tokenserver, nodes)

# Driver messages that mean the tables are not there yet.
_MISSING_SCHEMA_HINTS = ("no such table", "doesn't exist", "does not exist")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sync-admin", description="Administer a SyncServer through its configuration.",
        epilog="Exit status: 0 done, 1 failed, 2 bad usage, 3 configuration error, "
               "4 database unreachable or failing.")
    parser.add_argument("-c", "--config", default="development.ini", metavar="INI",
                        help="the server's ini file (default: development.ini)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def describe_backend_error(exc: BackendError) -> str:
    original = exc.original
    detail = str(getattr(original, "orig", None) or original or exc)
    message = f"database unreachable or failing: {detail}"
    if any(hint in detail.lower() for hint in _MISSING_SCHEMA_HINTS):
        message += " (is the schema created? run `sync-admin db upgrade`)"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    # Building the registry logs warnings meant for a serving process (e.g.
    # about features left unconfigured); a console command shows errors only.
    logging.basicConfig(level=logging.ERROR, format="sync-admin: %(levelname)s %(message)s")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 0
    try:
        return args.handler(args, load_context(args.config))
    except AdminError as exc:
        return _fail(exc.message, exc.exit_code)
    except ConfigurationError as exc:
        return _fail(f"configuration error in {args.config}: {exc}", EXIT_CONFIG)
    except BackendError as exc:
        return _fail(describe_backend_error(exc), EXIT_BACKEND)
    except UserNotFound as exc:  # removed by someone else meanwhile
        return _fail(f"no such user: {exc}")
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    finally:
        dispose_engines()


def _fail(message: str, exit_code: int = 1) -> int:
    print(f"sync-admin: error: {message}", file=sys.stderr)
    return exit_code
