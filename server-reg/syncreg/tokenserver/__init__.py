"""The token server (Token Server API 1.0) that hands Sync 1.5 credentials to Firefox.

``config.include("syncreg.tokenserver")`` serves ``GET /1.0/sync/1.5`` and
sets ``registry.tokenserver`` (a ``TokenServer``): its account table
(``tokenserver.backend``, also ``registry.tokenserver_users``), its OAuth
verifier and the ``trusted_keys`` registry of JWKs, to which other
components may ``add()`` the keys they sign access tokens with. Nodes come
from ``registry.nodes`` (service ``sync-1.5``), shared with the registration
server.
"""
from __future__ import annotations

import logging
from typing import Any

from pyramid.config import Configurator

from synccore import load_backend
from synccore.settings import ConfigurationError, Setting, apply_settings, as_bool, as_list
from syncreg.tokenserver.minting import TokenMinter
from syncreg.tokenserver.oauth import ChainedVerifier, OAuthVerifier
from syncreg.tokenserver.oauth.keys import TrustedKeys, read_jwks_setting
from syncreg.tokenserver.oauth.local import JWTVerifier
from syncreg.tokenserver.oauth.remote import RemoteVerifier
from syncreg.tokenserver.service import TokenServer

logger = logging.getLogger("syncreg.tokenserver")

OLDSYNC_SCOPE = "https://identity.mozilla.com/apps/oldsync"
VERIFIER_MODES = ("auto", "local", "remote")

SETTINGS = {
    "tokenserver.backend": Setting("syncreg.tokenserver.users.sql"),
    # Empty: the server's main database.
    "tokenserver.sqlalchemy.url": Setting("", str),
    "tokenserver.token_duration_seconds": Setting(3600, int),
    # Reported to clients for telemetry; empty sends null.
    "tokenserver.node_type": Setting("", str),
    "tokenserver.allow_new_users": Setting(True, as_bool),
    # auto: JWTs checked locally, other tokens (or no usable key) sent to the verify URL.
    "tokenserver.oauth_verifier": Setting("auto", str),
    # Base URL of the OAuth server; empty: no remote verification, no key fetching.
    "tokenserver.oauth_server_url": Setting("https://oauth.accounts.firefox.com", str),
    # Empty: {oauth_server_url}/v1/verify.
    "tokenserver.oauth_verify_url": Setting("", str),
    "tokenserver.oauth_timeout_seconds": Setting(10, float),
    # Trusted RS256 keys: a JWK set as inline JSON, or the path of a JSON file.
    "tokenserver.jwks": Setting("", str),
    # Fetched only while no key is configured or added. Empty: {oauth_server_url}/v1/jwks.
    "tokenserver.jwks_url": Setting("", str),
    "tokenserver.jwks_cache_seconds": Setting(3600, int),
    "tokenserver.jwt_leeway_seconds": Setting(60, int),
    # Accepted JWT "iss" values; empty accepts any issuer whose key is trusted.
    "tokenserver.accepted_issuers": Setting([], as_list),
    "tokenserver.oauth_scope": Setting(OLDSYNC_SCOPE, str),
    # Accounts are kept as <fxa uid>@<email_domain>.
    "tokenserver.email_domain": Setting("api.accounts.firefox.com", str),
    # Keys the hashed identifiers in tokens; empty: the signing master secret.
    "tokenserver.metrics_hash_secret": Setting("", str),
    # How long a replaced uid's data is kept before `sync-admin` may purge it.
    "tokenserver.purge_grace_seconds": Setting(7 * 24 * 3600, int),
}


def _oauth_url(settings: dict[str, Any], explicit: str, path: str) -> str:
    if settings[explicit]:
        return settings[explicit]
    base = settings["tokenserver.oauth_server_url"].rstrip("/")
    return base + path if base else ""


def make_verifier(settings: dict[str, Any], keys: TrustedKeys) -> OAuthVerifier:
    """The verifier named by ``tokenserver.oauth_verifier``."""
    mode = settings["tokenserver.oauth_verifier"].strip().lower()
    if mode not in VERIFIER_MODES:
        raise ConfigurationError(f"tokenserver.oauth_verifier must be one of "
                                 f"{', '.join(VERIFIER_MODES)}, not {mode!r}")
    local = JWTVerifier(keys, settings["tokenserver.jwt_leeway_seconds"],
                        settings["tokenserver.accepted_issuers"])
    verify_url = _oauth_url(settings, "tokenserver.oauth_verify_url", "/v1/verify")
    if mode in ("remote", "auto") and verify_url:
        remote = RemoteVerifier(verify_url, settings["tokenserver.oauth_timeout_seconds"])
        if mode == "remote":
            return remote
        return ChainedVerifier([local, remote])
    if mode == "remote":
        raise ConfigurationError("tokenserver.oauth_verifier = remote needs "
                                 "tokenserver.oauth_verify_url or oauth_server_url")
    return ChainedVerifier([local])


def make_token_server(settings: dict[str, Any]) -> TokenServer:
    keys = TrustedKeys(read_jwks_setting(settings["tokenserver.jwks"]),
                       fetch_url=_oauth_url(settings, "tokenserver.jwks_url", "/v1/jwks"),
                       fetch_timeout_seconds=settings["tokenserver.oauth_timeout_seconds"],
                       cache_seconds=settings["tokenserver.jwks_cache_seconds"])
    secrets = settings["master_secret"]
    if not secrets:
        logger.warning("master_secret is not set: the token server will refuse every request")
    minter = TokenMinter(secrets[0], settings["tokenserver.metrics_hash_secret"] or secrets[0]) \
        if secrets else None
    return TokenServer(
        users=load_backend(settings["tokenserver.backend"], settings, "tokenserver"),
        verifier=make_verifier(settings, keys),
        trusted_keys=keys,
        minter=minter,
        scope=settings["tokenserver.oauth_scope"],
        email_domain=settings["tokenserver.email_domain"],
        duration_seconds=settings["tokenserver.token_duration_seconds"],
        node_type=settings["tokenserver.node_type"] or None,
        allow_new_users=settings["tokenserver.allow_new_users"],
        retry_after_seconds=settings["server.retry_after_seconds"])


def includeme(config: Configurator) -> None:
    config.include("synccore")
    apply_settings(config, SETTINGS)
    registry = config.registry
    registry.tokenserver = make_token_server(config.get_settings())
    # Also a registry attribute of its own, so that schema tools find its tables.
    registry.tokenserver_users = registry.tokenserver.users
    registry.heartbeat_checks.append(registry.tokenserver_users.ping)
    config.include("syncreg.tokenserver.views")
