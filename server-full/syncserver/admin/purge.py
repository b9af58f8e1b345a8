"""``sync-admin purge-expired``: remove records whose TTL has passed, and
password-reset codes past their lifetime.

Expired records are already invisible to clients and expired reset codes
are already refused; purging reclaims their space and corrects the stored
per-collection counts. Run it from cron.
"""
from __future__ import annotations

import argparse
import sys
import time

from synccore.timestamps import now_centis
from syncreg.resetcodes import ResetCodeStore
from syncserver.admin.context import AdminContext
from syncserver.admin.errors import EXIT_OK
from syncserver.admin.progress import ProgressBar
from syncstorage.storage import StorageBackend


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {value!r}")
    return number


def purge_expired(args: argparse.Namespace, context: AdminContext) -> int:
    purge_records(context.storage, args.batch_size)
    purge_reset_codes(context.registry.reset_codes)
    return EXIT_OK


def purge_records(storage: StorageBackend, batch_size: int) -> None:
    now = now_centis()
    total = storage.count_expired(now)
    if not total:
        print("no expired records")
        return
    progress = ProgressBar(total, sys.stderr, label="purging")
    purged = 0
    for batch in storage.purge_expired(now, batch_size=batch_size):
        purged += batch
        progress.update(purged)
    progress.finish()
    print(f"purged {purged} expired records")


def purge_reset_codes(codes: ResetCodeStore) -> None:
    """One statement: pending codes are at most one per account."""
    purged = codes.purge_expired(int(time.time()))
    print(f"purged {purged} expired reset codes" if purged else "no expired reset codes")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "purge-expired", help="delete records whose TTL has passed and expired reset codes",
        description="Delete records whose TTL has passed, in batches of one "
                    "transaction each (safe while the server runs), then the "
                    "password-reset codes past their lifetime.")
    parser.add_argument("--batch-size", type=positive_int, default=1000, metavar="N",
                        help="records deleted per transaction (default: 1000)")
    parser.set_defaults(handler=purge_expired)
