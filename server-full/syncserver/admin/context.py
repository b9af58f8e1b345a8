"""What every command works on: the backends of the configured server.

The ini is read with PasteDeploy and the registry is built by the same
``make_config`` as the web application, so the console always talks to the
backends (and databases) the server uses.
"""
from __future__ import annotations

import configparser
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from paste.deploy import appconfig
from pyramid.registry import Registry

from synccore.users import UserBackend
from syncserver import make_config
from syncserver.admin.errors import EXIT_CONFIG, AdminError
from syncstorage.storage import StorageBackend


@dataclass(frozen=True)
class AdminContext:
    ini_path: str
    registry: Registry

    @property
    def users(self) -> UserBackend:
        return self.registry.users

    @property
    def storage(self) -> StorageBackend:
        return self.registry.storage

    def schema_owners(self) -> Iterator[tuple[str, Any]]:
        """``(name, backend)`` for every backend that keeps tables of its own.

        Such a backend has an ``upgrade_schema()`` method; they come in the
        order their packages were included (users before storage), each once
        even when several registry names point at it.
        """
        seen: set[int] = set()
        for name, value in vars(self.registry).items():
            if callable(getattr(value, "upgrade_schema", None)) and id(value) not in seen:
                seen.add(id(value))
                yield name, value


def load_context(ini_path: str) -> AdminContext:
    """Read ``[app:main]`` of ``ini_path`` and build the server's registry.

    Raises AdminError for a missing or unreadable file; ConfigurationError
    and BackendError from the backends pass through to the caller.
    """
    path = os.path.abspath(ini_path)
    if not os.path.isfile(path):
        raise AdminError(f"configuration file not found: {path} (give one with -c/--config)",
                         EXIT_CONFIG)
    try:
        settings = appconfig("config:" + path)
    except (configparser.Error, LookupError, ValueError) as exc:
        raise AdminError(f"cannot read {path}: {exc}", EXIT_CONFIG) from exc
    config = make_config(dict(settings))
    return AdminContext(ini_path=path, registry=config.registry)
