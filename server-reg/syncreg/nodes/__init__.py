"""The node-assignment contract: which storage node serves which user.

A *service* names one storage protocol ("sync-1.1" for ``node/weave``,
"sync-1.5" for the token server); each has its own nodes. A node is a base
URL with a ``capacity`` (how many users it should take) and ``assigned``
(how many it has). A user, identified per service by an opaque
``user_key``, is assigned once and keeps that node until released.

Selection: a user without an assignment goes to the *available* node (not
down, ``assigned < capacity``) with the lowest ``assigned / capacity``.
A service with no nodes at all is a single box: every user gets the
backend's fallback node and nothing is recorded. A service whose nodes are
all down or full refuses with ``NoNodeAvailable``.

Concurrency: every method is safe from many threads and processes at once.
``assign_node`` is atomic: concurrent calls for one user return the same
node, and ``assigned`` counts every recorded assignment exactly once.

Failures of the backend itself raise ``synccore.exceptions.BackendError``.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

SYNC_11 = "sync-1.1"
SYNC_15 = "sync-1.5"


class NoNodeAvailable(Exception):
    """The service has nodes, but every one is down or full."""


class NodeExists(Exception):
    """A node with this URL is already registered for the service."""


class NodeNotFound(Exception):
    """No node with this URL for the service."""


@dataclass(frozen=True)
class Node:
    service: str
    url: str
    capacity: int
    assigned: int
    down: bool


def normalise_node_url(url: str) -> str:
    """US-NODE2: ``https://`` when no scheme is given, and a trailing ``/``."""
    url = url.strip()
    if not url.startswith("http"):
        url = "https://" + url
    return url if url.endswith("/") else url + "/"


class NodeBackend(abc.ABC):
    @abc.abstractmethod
    def add_node(self, service: str, url: str, capacity: int) -> Node:
        """Register a node (URL normalised). Raises NodeExists."""

    @abc.abstractmethod
    def list_nodes(self, service: str | None = None) -> list[Node]:
        """The nodes of ``service`` (all when None), ordered by service then URL."""

    @abc.abstractmethod
    def set_capacity(self, service: str, url: str, capacity: int) -> None:
        """Change how many users the node should take. Raises NodeNotFound."""

    @abc.abstractmethod
    def set_down(self, service: str, url: str, down: bool) -> None:
        """Take a node out of (or back into) selection; its users keep it. Raises
        NodeNotFound."""

    @abc.abstractmethod
    def get_assignment(self, service: str, user_key: str) -> str | None:
        """The URL of the node recorded for the user, or None."""

    @abc.abstractmethod
    def assign_node(self, service: str, user_key: str) -> str:
        """The user's node URL, assigning the least-loaded available one if needed.

        Returns the fallback node when the service has no nodes at all;
        raises NoNodeAvailable when it has some but none is available.
        """

    @abc.abstractmethod
    def release(self, service: str, user_key: str) -> None:
        """Forget the user's assignment (if any) and free its place on the node."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise BackendError unless the backend answers."""
