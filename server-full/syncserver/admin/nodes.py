"""``sync-admin node ...``: the storage nodes users are assigned to.

A single box needs none: while a service has no node, every user gets the
fallback node (``reg.fallback_node``, else ``server.public_url``). Once nodes
are added, each new user goes to the available node with the lowest
assigned/capacity and keeps it; ``down`` takes a node out of selection
without moving anyone, ``up`` brings it back.
"""
from __future__ import annotations

import argparse

from syncreg.nodes import SYNC_11, SYNC_15, NodeExists, NodeNotFound, normalise_node_url
from syncserver.admin.context import AdminContext
from syncserver.admin.errors import EXIT_OK, AdminError

SERVICES = (SYNC_11, SYNC_15)


def capacity(value: str) -> int:
    """argparse type: how many users a node should take."""
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"not a non-negative integer: {value!r}")
    return int(value)


def add_node(args: argparse.Namespace, context: AdminContext) -> int:
    try:
        node = context.registry.nodes.add_node(args.service, args.url, args.capacity)
    except NodeExists as exc:
        raise AdminError(f"{args.service} node {normalise_node_url(args.url)} "
                         "already exists") from exc
    print(f"added {node.service} node {node.url} (capacity {node.capacity})")
    return EXIT_OK


def list_nodes(args: argparse.Namespace, context: AdminContext) -> int:
    rows = [("service", "url", "capacity", "assigned", "down")]
    rows += [(node.service, node.url, str(node.capacity), str(node.assigned),
              "yes" if node.down else "no")
             for node in context.registry.nodes.list_nodes(args.service)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in
                        zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _change(args: argparse.Namespace, change, done: str) -> int:
    url = normalise_node_url(args.url)
    try:
        change(args.service, url)
    except NodeNotFound as exc:
        raise AdminError(f"no {args.service} node {url}") from exc
    print(f"{done} {args.service} node {url}")
    return EXIT_OK


def set_capacity(args: argparse.Namespace, context: AdminContext) -> int:
    nodes = context.registry.nodes
    return _change(args, lambda service, url: nodes.set_capacity(service, url, args.capacity),
                   f"capacity {args.capacity} for")


def set_down(down: bool):
    def handler(args: argparse.Namespace, context: AdminContext) -> int:
        nodes = context.registry.nodes
        return _change(args, lambda service, url: nodes.set_down(service, url, down),
                       "took down" if down else "brought up")
    return handler


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("node", help="storage nodes and their capacity",
                                description="Manage the storage nodes users are assigned to.")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, handler, help_text: str, service_default: str | None = SYNC_11):
        parser = actions.add_parser(name, help=help_text, description=help_text)
        parser.set_defaults(handler=handler)
        parser.add_argument("--service", choices=SERVICES, default=service_default,
                            help="the protocol the node serves "
                                 + (f"(default: {service_default})" if service_default
                                    else "(default: all)"))
        return parser

    add = action("add", add_node, "add a node that new users can be assigned to")
    add.add_argument("url", help="the node's base URL, e.g. https://sync1.example.com/")
    add.add_argument("--capacity", type=capacity, required=True,
                     help="how many users the node should take")

    action("list", list_nodes, "list the nodes with their load", service_default=None)

    change = action("set-capacity", set_capacity, "change how many users a node should take")
    change.add_argument("url")
    change.add_argument("capacity", type=capacity)

    for name, down, help_text in (
            ("down", True, "stop assigning new users to a node (its users keep it)"),
            ("up", False, "assign new users to a node again")):
        action(name, set_down(down), help_text).add_argument("url")
