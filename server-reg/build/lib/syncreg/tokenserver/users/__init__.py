"""The token server's account table contract.

One row per storage ``uid``. An account (``email`` = ``<fxa_uid>@<domain>``,
per ``service``) has a history of rows: the *current* one and older ones
that were *replaced* when the account's encryption keys changed. A new row
means a new uid and therefore a fresh, empty storage bucket; the data under
a replaced uid is unreachable for the client and is purged later.

Times are integer milliseconds since the epoch. ``keys_changed_at`` of 0
means "never reported" (stored as NULL). A generation of ``RETIRED_GENERATION``
marks an account that was deleted upstream.

Concurrency: every method is safe to call from many threads and processes at
once. ``update_user`` never moves ``generation`` or ``keys_changed_at``
backwards, whatever the interleaving. Two concurrent creations for one
account may both insert a row; ``get_user_history`` resolves such a race by
marking the older current rows replaced.

Failures of the database raise ``synccore.exceptions.BackendError``.
"""
from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass

RETIRED_GENERATION = 9223372036854775807  # i64 max
HISTORY_ROWS = 20


@dataclass(frozen=True)
class TokenUser:
    uid: int
    service: str
    email: str
    generation: int
    keys_changed_at: int          # 0 when never reported
    client_state: str             # lowercase hex, may be ""
    node: str                     # storage node base URL
    created_at: int               # ms
    replaced_at: int | None = None
    purged_at: int | None = None

    @property
    def retired(self) -> bool:
        return self.generation >= RETIRED_GENERATION


@dataclass(frozen=True)
class UserHistory:
    """An account as the rules see it: its current row and what came before."""

    current: TokenUser
    old_client_states: frozenset[str]
    first_seen_at: int


class TokenUserBackend(abc.ABC):
    @abc.abstractmethod
    def get_user_history(self, service: str, email: str) -> UserHistory | None:
        """The account's current row and older client states, or None if it has no row.

        Looks at the newest ``HISTORY_ROWS`` rows, ordered by (generation,
        created_at, uid) descending; the first is current. Older rows still
        marked current (a creation race) get ``replaced_at`` = the current
        row's ``created_at``.
        """

    @abc.abstractmethod
    def create_user(self, service: str, email: str, generation: int, keys_changed_at: int,
                    client_state: str, node: str, now_ms: int) -> TokenUser:
        """Insert a current row with a new uid."""

    @abc.abstractmethod
    def replace_user(self, service: str, email: str, generation: int, keys_changed_at: int,
                     client_state: str, node: str, now_ms: int) -> TokenUser:
        """Insert a current row with a new uid and mark every other current row of
        the account replaced at ``now_ms``, atomically."""

    @abc.abstractmethod
    def update_user(self, uid: int, generation: int, keys_changed_at: int) -> bool:
        """Raise the current row's generation / keys_changed_at to the given values.

        Touches the row only if it is still current and neither stored value
        is above the new one. Returns whether the row was updated.
        """

    @abc.abstractmethod
    def retire_user(self, service: str, email: str, now_ms: int) -> int:
        """Mark the account deleted upstream; returns the number of rows changed."""

    @abc.abstractmethod
    def replace_users_on_node(self, service: str, node: str, now_ms: int) -> int:
        """Mark every current row on ``node`` replaced (the node is going away)."""

    @abc.abstractmethod
    def get_user_by_uid(self, uid: int) -> TokenUser | None:
        """The row with this uid, or None."""

    @abc.abstractmethod
    def iter_purgeable(self, service: str, replaced_before_ms: int,
                       limit: int) -> Iterator[TokenUser]:
        """Replaced rows not purged yet whose ``replaced_at`` is before the bound,
        oldest first, at most ``limit``."""

    @abc.abstractmethod
    def mark_purged(self, uid: int, now_ms: int) -> None:
        """Record that the storage data of this replaced uid has been deleted."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise BackendError unless the backend answers."""
