"""From a verified account and its declared key state to the storage uid and node.

The account's node comes from the node backend (service ``sync-1.5``, keyed
by the account's email), so the token server and the registration server
share one set of nodes and their capacities. A new uid is created when

* the account has no row yet (unless new users are refused),
* the client state changes (new keys: a fresh storage bucket),
* the current row was replaced (e.g. its node is being retired), or
* the node backend now places the account on another node than its row.

Every consistency rule is checked before anything is written.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from syncreg.nodes import SYNC_15, NodeBackend
from syncreg.tokenserver import errors, rules
from syncreg.tokenserver.users import TokenUser, TokenUserBackend


@dataclass(frozen=True)
class Assignment:
    user: TokenUser
    first_seen_at: int


class UserAssigner:
    def __init__(self, users: TokenUserBackend, nodes: NodeBackend, allow_new_users: bool,
                 service: str = SYNC_15):
        self.users = users
        self.nodes = nodes
        self.allow_new_users = allow_new_users
        self.service = service

    def assign(self, email: str, claims: rules.Claims, now_ms: int) -> Assignment:
        """The account's current row after this request; raises ``TokenServerError``."""
        history = self.users.get_user_history(self.service, email)
        if history is None:
            return self._new_account(email, claims, now_ms)
        current = history.current
        if current.retired:
            # Deleted upstream: keep answering with the old row; the rules refuse
            # any client that does not present the retired generation.
            rules.check(history, claims)
            return Assignment(current, history.first_seen_at)
        change = rules.check(history, claims)
        node = self.nodes.assign_node(self.service, email)
        moved = current.replaced_at is not None or current.node != node
        if change.new_client_state or moved:
            user = self.users.replace_user(
                self.service, email, change.generation, change.keys_changed_at,
                claims.client_state if change.new_client_state else current.client_state,
                node, now_ms)
        elif change.changed:
            self.users.update_user(current.uid, change.generation, change.keys_changed_at)
            user = dataclasses.replace(current, generation=change.generation,
                                       keys_changed_at=change.keys_changed_at)
        else:
            user = current
        return Assignment(user, history.first_seen_at)

    def _new_account(self, email: str, claims: rules.Claims, now_ms: int) -> Assignment:
        if not self.allow_new_users:
            raise errors.new_users_disabled()
        node = self.nodes.assign_node(self.service, email)
        user = self.users.create_user(self.service, email, claims.generation,
                                      claims.keys_changed_at, claims.client_state, node, now_ms)
        return Assignment(user, now_ms)

