"""``sync-admin purge-expired``: remove records whose TTL has passed.

Expired records are already invisible to clients; purging reclaims their
space and corrects the stored per-collection counts. Run it from cron.
"""
from __future__ import annotations

import argparse
import sys

from synccore.timestamps import now_centis

from syncserver.admin.context import AdminContext
from syncserver.admin.errors import EXIT_OK
from syncserver.admin.progress import ProgressBar


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {value!r}")
    return number


def purge_expired(args: argparse.Namespace, context: AdminContext) -> int:
    storage = context.storage
    now = now_centis()
    total = storage.count_expired(now)
    if not total:
        print("no expired records")
        return EXIT_OK
    progress = ProgressBar(total, sys.stderr, label="purging")
    purged = 0
    for batch in storage.purge_expired(now, batch_size=args.batch_size):
        purged += batch
        progress.update(purged)
    progress.finish()
    print(f"purged {purged} expired records")
    return EXIT_OK


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "purge-expired", help="delete records whose TTL has passed",
        description="Delete records whose TTL has passed, in batches of one "
                    "transaction each (safe while the server runs).")
    parser.add_argument("--batch-size", type=positive_int, default=1000, metavar="N",
                        help="records deleted per transaction (default: 1000)")
    parser.set_defaults(handler=purge_expired)
