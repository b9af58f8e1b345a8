"""``sync-admin user ...``: create, list, change and remove accounts."""
from __future__ import annotations

import argparse
import getpass
import re
import sys

from synccore.users import InvalidEmail, UserExists
from syncreg.accounts import delete_account
from syncreg.rules import normalise_email
from syncserver.admin.context import AdminContext
from syncserver.admin.errors import EXIT_OK, AdminError

# The URL segment a client puts the username in (User API 1.0, US-N1/US-N2):
# any other name could never authenticate.
USERNAME = re.compile(r"[A-Za-z0-9._-]{1,32}")


def username(value: str) -> str:
    """argparse type: a name Sync clients can use."""
    if not USERNAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"invalid username {value!r}: 1 to 32 of A-Z a-z 0-9 . _ -")
    return value


def email_address(value: str) -> str:
    """argparse type: an address the User API would accept (US-M1), trimmed."""
    address = normalise_email(value)
    if address is None:
        raise argparse.ArgumentTypeError(f"invalid e-mail address {value!r}")
    return address


def read_new_password(from_stdin: bool) -> str:
    """One line from stdin, or typed twice at a prompt; never empty."""
    try:
        if from_stdin:
            # Only the line ending is stripped: spaces may be part of a password.
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass("New password: ")
            if password != getpass.getpass("Repeat the password: "):
                raise AdminError("the two passwords differ; nothing changed")
    except EOFError as exc:
        raise AdminError("no password given; nothing changed") from exc
    if not password:
        raise AdminError("refusing an empty password; nothing changed")
    return password


def _existing(context: AdminContext, name: str):
    user = context.users.get_user(name)
    if user is None:
        raise AdminError(f"no such user: {name}")
    return user


def add_user(args: argparse.Namespace, context: AdminContext) -> int:
    if context.users.get_user(args.username) is not None:
        raise AdminError(f"user {args.username} already exists")
    password = read_new_password(args.password_stdin)
    try:
        user = context.users.create_user(args.username, password, args.email or None)
    except UserExists as exc:
        raise AdminError(f"user {args.username} already exists") from exc
    except InvalidEmail as exc:
        raise AdminError(f"the user store cannot keep the e-mail address {args.email!r} "
                         "(an LDAP directory takes ASCII addresses only); "
                         "nothing created") from exc
    except ValueError as exc:  # a value the user store cannot keep (e.g. LDAP)
        raise AdminError(f"the user store refused the account: {exc}") from exc
    print(f"created user {user.username} (id {user.userid})")
    return EXIT_OK


def delete_user(args: argparse.Namespace, context: AdminContext) -> int:
    user = _existing(context, args.username)
    # The same removal as the User API's: stored records, reset codes and
    # node assignments first (with the account disabled meanwhile), then
    # the account.
    delete_account(context.registry, user)
    print(f"deleted user {user.username} (id {user.userid}) and all their stored data")
    return EXIT_OK


def list_users(args: argparse.Namespace, context: AdminContext) -> int:
    rows = [("username", "id", "email", "disabled")]
    rows += [(user.username, str(user.userid), user.email or "-",
              "yes" if user.disabled else "no") for user in context.users.iter_users()]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return EXIT_OK


def set_password(args: argparse.Namespace, context: AdminContext) -> int:
    _existing(context, args.username)
    try:
        context.users.set_password(args.username, read_new_password(args.password_stdin))
    except ValueError as exc:
        raise AdminError(f"the user store refused the password: {exc}") from exc
    print(f"changed the password of {args.username}")
    return EXIT_OK


def set_disabled(disabled: bool):
    def handler(args: argparse.Namespace, context: AdminContext) -> int:
        _existing(context, args.username)
        context.users.set_disabled(args.username, disabled)
        print(f"{'disabled' if disabled else 'enabled'} user {args.username}")
        return EXIT_OK
    return handler


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("user", help="manage accounts",
                                description="Create, list, change and delete accounts.")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text, description=help_text)
        parser.set_defaults(handler=handler)
        return parser

    password_stdin = {"action": "store_true",
                      "help": "read the password from the first line of stdin "
                              "instead of prompting"}

    add = action("add", add_user, "create an account")
    add.add_argument("username", type=username)
    add.add_argument("--email", type=email_address, help="contact address of the account")
    add.add_argument("--password-stdin", **password_stdin)

    delete = action("delete", delete_user, "delete an account and everything it stored")
    delete.add_argument("username")

    action("list", list_users, "list the accounts")

    change = action("set-password", set_password, "replace an account's password")
    change.add_argument("username")
    change.add_argument("--password-stdin", **password_stdin)

    for name, disabled, help_text in (
            ("disable", True, "refuse the account's requests, keeping its data"),
            ("enable", False, "accept the account's requests again")):
        action(name, set_disabled(disabled), help_text).add_argument("username")
