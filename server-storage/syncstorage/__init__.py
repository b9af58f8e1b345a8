"""SyncServer storage: the Sync Storage APIs and their storage engines.

``config.include("syncstorage")`` loads the storage backend named by
``storage.backend`` into ``registry.storage`` and serves Storage API 1.1
(Basic auth) and Storage API 1.5 (Hawk auth with token-server tokens, under
``/1.5/{uid}``).
"""
from __future__ import annotations

from pyramid.config import Configurator
from pyramid.decorator import reify
from pyramid.httpexceptions import HTTPPreconditionFailed
from pyramid.request import Request
from pyramid.response import Response

from synccore import load_backend
from synccore.settings import Setting, apply_settings, as_bool
from syncstorage.decorators import if_unmodified_since
from syncstorage.storage import CollectionModified

SETTINGS = {
    "storage.backend": Setting("syncstorage.storage.sql"),
    "storage.sqlalchemy.url": Setting("", str),
    "storage.quota_kb": Setting(0.0, float),  # 0: no quota; fractions allowed
    "storage.max_post_records": Setting(100, int),
    "storage.max_post_bytes": Setting(1_048_576, int),
    "storage.max_payload_bytes": Setting(262_144, int),
    "storage.max_request_bytes": Setting(4 * 1_048_576, int),
    # Storage API 1.5. The six limits are advertised by /info/configuration;
    # every one is inclusive.
    "storage15.max_request_bytes": Setting(2_625_536, int),
    "storage15.max_post_records": Setting(100, int),
    "storage15.max_post_bytes": Setting(2_621_440, int),
    "storage15.max_total_records": Setting(10_000, int),
    "storage15.max_total_bytes": Setting(262_144_000, int),
    "storage15.max_record_payload_bytes": Setting(2_621_440, int),
    # How long an upload batch stays open.
    "storage15.batch_ttl_seconds": Setting(7200, int),
    # GET /info/collections still accepts a token this long after it expired.
    "storage15.expired_token_grace_seconds": Setting(7200, int),
    # Largest accepted difference between a request's Hawk ts and server time
    # (0: any); nonces are remembered for that long, up to the cache size.
    "storage15.hawk_timestamp_skew_seconds": Setting(86400, int),
    "storage15.hawk_nonce_cache_max_entries": Setting(100_000, int),
    # Refuse tokens minted for another node than server.public_url.
    "storage15.check_token_node": Setting(True, as_bool),
}


def precondition_failed_view(exc: CollectionModified, request: Request) -> Response:
    return HTTPPreconditionFailed()


class StorageRequest(Request):
    """The application's request class.

    Per-request values live here as class attributes: ``add_request_method``
    with ``reify`` would build a new request subclass on every request, which
    costs more than most views.
    """

    if_unmodified_since = reify(if_unmodified_since)

    # Bodies are size-checked (storage.max_request_bytes) before they are
    # read; keeping them in memory avoids a temporary file per large upload
    # that nothing would close.
    request_body_tempfile_limit = 16 * 1_048_576


def includeme(config: Configurator) -> None:
    config.include("synccore")
    apply_settings(config, SETTINGS)
    registry = config.registry
    registry.storage = load_backend(config.get_settings()["storage.backend"],
                                    config.get_settings(), "storage")
    registry.heartbeat_checks.append(registry.storage.ping)
    storage = registry.storage
    registry.user_data_removers.append(lambda user: storage.delete_storage(user.userid))
    config.set_request_factory(StorageRequest)
    config.add_view(precondition_failed_view, context=CollectionModified)
    config.include("syncstorage.views.storage11")
    config.include("syncstorage.views.storage15")
