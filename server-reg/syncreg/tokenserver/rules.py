"""The consistency rules between what a client declares and what we have seen.

``generation`` (last credential change) and ``keys_changed_at`` (last key
rotation, from X-KeyID) may only move forward; the client state (a hash of
the sync key) may only change together with one of them, and never back to
a value seen before, because a new client state means new encryption keys
and therefore a new, empty storage bucket (new uid).

Every rule is checked before anything is written, so a refused request
leaves the account untouched.
"""
from __future__ import annotations

from dataclasses import dataclass

from syncreg.tokenserver import errors
from syncreg.tokenserver.users import UserHistory


@dataclass(frozen=True)
class Claims:
    """What one request declares; 0 means "not provided"."""

    generation: int
    keys_changed_at: int
    client_state: str


@dataclass(frozen=True)
class Change:
    """What the account becomes once the request is accepted."""

    generation: int
    keys_changed_at: int
    new_client_state: bool
    changed: bool


def check(history: UserHistory, claims: Claims) -> Change:
    """Validate ``claims`` against the account; raise a ``TokenServerError`` if refused."""
    user = history.current
    g, k, cs = claims.generation, claims.keys_changed_at, claims.client_state
    stored_g, stored_k = user.generation, user.keys_changed_at
    new_state = cs != user.client_state

    if k > stored_k and 0 < g < k:
        # A key change is a credential change: it cannot be newer than the generation.
        raise errors.invalid_keys_changed_at()
    if new_state:
        if cs == "":
            raise errors.unacceptable_client_state("empty string")
        if cs in history.old_client_states:
            raise errors.unacceptable_client_state("stale value")
        if g > 0 and g <= stored_g:
            raise errors.unacceptable_client_state("new value with no generation change")
        if stored_k > 0 and k <= stored_k:
            raise errors.unacceptable_client_state("new value with no keys_changed_at change")
    if g > 0 and stored_g > g:
        raise errors.invalid_generation()
    if stored_k > 0 and k < stored_k:
        raise errors.invalid_keys_changed_at()

    if g > stored_g:
        generation = g
    elif g == 0 and k > stored_k and k > stored_g:
        generation = k
    else:
        generation = stored_g
    keys_changed_at = max(stored_k, k)
    return Change(generation=generation, keys_changed_at=keys_changed_at,
                  new_client_state=new_state,
                  changed=new_state or generation != stored_g or keys_changed_at != stored_k)
