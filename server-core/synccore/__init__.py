"""SyncServer core: settings, protocol errors, auth, user backends, db helpers.

``config.include("synccore")`` sets up what every other package relies on:
typed settings, ``registry.users`` (the user backend chosen by
``users.backend``), ``registry.authenticator`` (Basic auth with the
credential cache), ``registry.heartbeat_checks``,
``registry.user_data_removers``, the request-timestamp
tween, the error views and ``/__heartbeat__``.
"""
from __future__ import annotations

import importlib
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import URLDecodeError
from pyramid.tweens import EXCVIEW

from synccore.auth import Authenticator, CredentialCache
from synccore.exceptions import BackendError
from synccore.settings import ConfigurationError, Setting, apply_settings, as_bool, as_list
from synccore.tweens import backend_error_view, undecodable_path_view, unexpected_error_view

SETTINGS = {
    "sqlalchemy.url": Setting("sqlite:///var/sync.db"),
    "db.pool_size": Setting(10, int),
    "db.pool_timeout_seconds": Setting(30, int),
    "db.pool_recycle_seconds": Setting(3600, int),
    "db.sqlite_busy_timeout_ms": Setting(10000, int),
    "db.auto_migrate": Setting(False, as_bool),
    "users.backend": Setting("synccore.users.sql"),
    "users.sqlalchemy.url": Setting("", str),
    # The LDAP user store (users.backend = synccore.users.ldap); see its docstring.
    "ldap.urls": Setting(["ldap://127.0.0.1:389"], as_list),  # tried in order
    "ldap.bind_dn": Setting(""),  # service account for searches and writes
    "ldap.bind_password": Setting(""),
    "ldap.users_base_dn": Setting(""),  # required with the LDAP store
    "ldap.user_filter": Setting("(objectClass=inetOrgPerson)"),
    "ldap.object_classes": Setting(["inetOrgPerson", "posixAccount", "shadowAccount"], as_list),
    "ldap.extra_attributes": Setting(  # "name: value" lines added to new entries
        "cn: {username}\nsn: {username}\ngidNumber: 65534\nhomeDirectory: /nonexistent"),
    "ldap.username_attribute": Setting("uid"),
    "ldap.email_attribute": Setting("mail"),
    "ldap.userid_attribute": Setting("uidNumber"),
    "ldap.userid_counter_dn": Setting(""),  # empty: cn=userid-counter,<users_base_dn>
    "ldap.first_userid": Setting(10000, int),
    "ldap.disabled_attribute": Setting("shadowExpire"),
    "ldap.disabled_value": Setting("1"),
    "ldap.password_scheme": Setting("directory"),  # directory | argon2 | ssha
    "ldap.start_tls": Setting(False, as_bool),
    "ldap.tls_ca_file": Setting(""),  # empty: the system's trusted authorities
    "ldap.pool_size": Setting(10, int),
    "ldap.pool_timeout_seconds": Setting(10, float),
    "ldap.connect_timeout_seconds": Setting(5, float),
    "ldap.receive_timeout_seconds": Setting(10, float),
    "ldap.page_size": Setting(100, int),
    "auth.cache_ttl_seconds": Setting(300, float),
    "auth.cache_max_entries": Setting(10000, int),
    # Seconds an account read for a cached credential is trusted (0: read it
    # on every request, so password changes take effect at once).
    "auth.recheck_seconds": Setting(0.0, float),
    "auth.argon2_time_cost": Setting(3, int),
    "auth.argon2_memory_kib": Setting(65536, int),
    "auth.argon2_parallelism": Setting(2, int),
    "server.public_url": Setting("http://localhost:5000/"),
    "server.retry_after_seconds": Setting(1800, int),
    "server.conflict_retry_after_seconds": Setting(10, int),
    "server.backoff_seconds": Setting(0, int),
    # Secret shared with the token server (env SYNC_MASTER_SECRET). Several may be
    # listed, separated by spaces or commas, to rotate: the first signs, all verify.
    # Empty: no Hawk token is accepted.
    "master_secret": Setting([], as_list),
}


def load_backend(dotted_name: str, settings: dict[str, Any], what: str) -> Any:
    """Import ``dotted_name`` and call its ``load_from_config(settings)``."""
    try:
        module = importlib.import_module(dotted_name)
    except ImportError as exc:
        raise ConfigurationError(f"{what} backend {dotted_name!r} cannot be imported: {exc}") \
            from exc
    loader = getattr(module, "load_from_config", None)
    if loader is None:
        raise ConfigurationError(f"{what} backend {dotted_name!r} has no load_from_config()")
    return loader(settings)


def includeme(config: Configurator) -> None:
    if getattr(config.registry, "users", None) is not None:
        return  # already included by another package
    settings = apply_settings(config, SETTINGS)
    if not settings["server.public_url"].endswith("/"):
        config.get_settings()["server.public_url"] = settings["server.public_url"] + "/"
    registry = config.registry
    registry.users = load_backend(settings["users.backend"], config.get_settings(), "users")
    registry.authenticator = Authenticator(
        registry.users,
        CredentialCache(settings["auth.cache_ttl_seconds"], settings["auth.cache_max_entries"]),
        recheck_seconds=settings["auth.recheck_seconds"])
    registry.heartbeat_checks = [registry.users.ping]
    # Callables taking a User, each removing what one package keeps for that
    # account; run by account deletion before the account itself goes.
    registry.user_data_removers = []
    config.add_tween("synccore.tweens.timestamp_tween_factory", over=EXCVIEW)
    config.add_view(backend_error_view, context=BackendError)
    config.add_view(undecodable_path_view, context=URLDecodeError)
    config.add_view(unexpected_error_view, context=Exception)
    config.include("synccore.heartbeat")
