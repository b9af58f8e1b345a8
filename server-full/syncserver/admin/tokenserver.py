"""``sync-admin tokenserver ...``: upkeep of the token server's accounts.

``purge-replaced``: when a Firefox account changes its keys, the token server
gives it a new uid and the data stored under the old uid can never be read
again. After a grace period (``tokenserver.purge_grace_seconds``) this
command deletes that data from this configuration's storage database and
marks the old uid purged. Run it from cron.

``retire``: the account was deleted upstream; no token is issued for it
again (unless the client proves the same deletion) and its node place is
freed. Its data is purged by ``purge-replaced`` once the grace period ends.
"""
from __future__ import annotations

import argparse
import re
import time

from syncreg.nodes import SYNC_15
from syncserver.admin.context import AdminContext
from syncserver.admin.errors import EXIT_OK, AdminError
from syncserver.admin.purge import positive_int

_FXA_UID = re.compile(r"[A-Za-z0-9=_-]{1,64}")
_DRY_RUN_LIMIT = 10**9


def non_negative_int(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"not a non-negative integer: {value!r}")
    return int(value)


def purge_replaced(args: argparse.Namespace, context: AdminContext) -> int:
    settings = context.registry.settings
    users = context.registry.tokenserver_users
    storage = context.storage
    grace = settings["tokenserver.purge_grace_seconds"] if args.grace_seconds is None \
        else args.grace_seconds
    now_ms = int(time.time() * 1000)
    cutoff = now_ms - grace * 1000
    # A dry run changes nothing, so it reads everything at once.
    limit = _DRY_RUN_LIMIT if args.dry_run else args.batch_size
    purged = 0
    while True:
        batch = list(users.iter_purgeable(SYNC_15, cutoff, limit))
        for user in batch:
            if args.dry_run:
                print(f"would purge uid {user.uid} ({user.email}, replaced at "
                      f"{user.replaced_at} ms)")
                continue
            storage.delete_storage(user.uid)
            users.mark_purged(user.uid, now_ms)
        purged += len(batch)
        if args.dry_run or len(batch) < limit:
            break
    verb = "would purge" if args.dry_run else "purged"
    print(f"{verb} the storage of {purged} replaced uid{'s' if purged != 1 else ''}")
    return EXIT_OK


def retire(args: argparse.Namespace, context: AdminContext) -> int:
    if not _FXA_UID.fullmatch(args.fxa_uid):
        raise AdminError(f"not an account id: {args.fxa_uid!r}")
    settings = context.registry.settings
    email = f"{args.fxa_uid}@{settings['tokenserver.email_domain']}"
    changed = context.registry.tokenserver_users.retire_user(
        SYNC_15, email, int(time.time() * 1000))
    if not changed:
        raise AdminError(f"no current token server account {args.fxa_uid}")
    context.registry.nodes.release(SYNC_15, email)
    print(f"retired {args.fxa_uid}")
    return EXIT_OK


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("tokenserver", help="token server (Sync 1.5) accounts",
                                description="Upkeep of the token server's accounts.")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    parser = actions.add_parser(
        "purge-replaced", help="delete the data of uids replaced by a key change",
        description="Delete the stored data of uids that a key change (or a node move) "
                    "replaced more than the grace period ago, and mark them purged. "
                    "Safe while the server runs and safe to repeat.")
    parser.add_argument("--grace-seconds", type=non_negative_int, default=None, metavar="N",
                        help="only uids replaced at least N seconds ago (default: "
                             "tokenserver.purge_grace_seconds, 7 days)")
    parser.add_argument("--batch-size", type=positive_int, default=100, metavar="N",
                        help="uids read per query (default: 100)")
    parser.add_argument("--dry-run", action="store_true",
                        help="list what would be purged, delete nothing")
    parser.set_defaults(handler=purge_replaced)

    parser = actions.add_parser(
        "retire", help="mark an account deleted upstream",
        description="Refuse further tokens for a Firefox account that was deleted "
                    "and free its node place; its data is purged later by purge-replaced.")
    parser.add_argument("fxa_uid", help="the account id (32 hex digits)")
    parser.set_defaults(handler=retire)
