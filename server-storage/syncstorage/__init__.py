"""SyncServer storage: the Sync Storage APIs and their storage engines.

``config.include("syncstorage")`` loads the storage backend named by
``storage.backend`` into ``registry.storage`` and serves Storage API 1.1.
"""
from __future__ import annotations

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPPreconditionFailed
from pyramid.request import Request
from pyramid.response import Response

from synccore import load_backend
from synccore.settings import Setting, apply_settings
from syncstorage.decorators import if_unmodified_since
from syncstorage.storage import CollectionModified

SETTINGS = {
    "storage.backend": Setting("syncstorage.storage.sql"),
    "storage.sqlalchemy.url": Setting("", str),
    "storage.quota_kb": Setting(0, int),
    "storage.max_post_records": Setting(100, int),
    "storage.max_post_bytes": Setting(1_048_576, int),
    "storage.max_payload_bytes": Setting(262_144, int),
    "storage.max_request_bytes": Setting(4 * 1_048_576, int),
}


def precondition_failed_view(exc: CollectionModified, request: Request) -> Response:
    return HTTPPreconditionFailed()


def includeme(config: Configurator) -> None:
    config.include("synccore")
    apply_settings(config, SETTINGS)
    registry = config.registry
    registry.storage = load_backend(config.get_settings()["storage.backend"],
                                    config.get_settings(), "storage")
    registry.heartbeat_checks.append(registry.storage.ping)
    config.add_request_method(if_unmodified_since, "if_unmodified_since", reify=True)
    config.add_view(precondition_failed_view, context=CollectionModified)
    config.include("syncstorage.views.storage11")
