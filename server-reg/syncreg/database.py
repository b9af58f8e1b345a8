"""The database engine of the registration tables (nodes, reset codes)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from synccore.db import get_engine


def engine_from_settings(settings: dict[str, Any], url_setting: str) -> Engine:
    """The engine named by ``url_setting``, or the server's main database when empty."""
    return get_engine(settings[url_setting] or settings["sqlalchemy.url"],
                      pool_size=settings["db.pool_size"],
                      pool_timeout_seconds=settings["db.pool_timeout_seconds"],
                      pool_recycle_seconds=settings["db.pool_recycle_seconds"],
                      sqlite_busy_timeout_ms=settings["db.sqlite_busy_timeout_ms"])
