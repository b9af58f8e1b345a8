"""Removing an account with everything kept for it (US-DEL2, US-WD2)."""
from __future__ import annotations

import logging

from pyramid.registry import Registry

from synccore.users import User

logger = logging.getLogger("syncreg")


def delete_account(registry: Registry, user: User) -> None:
    """Remove every package's data of ``user`` (``registry.user_data_removers``:
    stored records, reset codes, node assignments), then the account.

    The account is disabled first so no new request can store anything while
    its data goes away; if a removal fails it is enabled again, so the user
    can retry instead of being locked out of a half-deleted account.
    """
    users = registry.users
    users.set_disabled(user.username, True)
    try:
        for remove in registry.user_data_removers:
            remove(user)
        users.delete_user(user.username)
    except Exception:
        try:
            users.set_disabled(user.username, user.disabled)
        except Exception:  # the original failure is the one to report
            logger.warning("could not re-enable %s after a failed deletion", user.username)
        raise
    logger.info("deleted account %s and its data", user.username)
