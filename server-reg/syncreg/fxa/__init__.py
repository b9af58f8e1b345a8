"""The bundled accounts service: a stock Firefox signs in here and syncs here.

With ``accounts.enabled``, ``config.include("syncreg.fxa")`` serves what
Firefox needs besides the token server and Storage 1.5 (all at
``server.public_url``):

* ``/.well-known/fxa-client-configuration`` (``views.discovery``);
* the sign-in, sign-up, settings and password-reset pages (``pages``), whose
  script does the key work in the browser and speaks Firefox's WebChannel;
* the auth API: accounts, sessions (Hawk), devices and their commands,
  password change and reset, address confirmation (``views``);
* OAuth: authorization codes with PKCE bound to the page's ``keys_jwe``,
  refresh tokens, and access tokens signed RS256 with the server's own key
  (``oauth``, ``signing``), published at ``/v1/jwks``;
* the profile endpoint.

Registry: ``accounts`` (the ``Accounts`` service), ``accounts_store`` (chosen
by ``accounts.backend``), ``oauth``, ``signing_keys``, ``fxa_sessions`` (Hawk),
``access_token_verifier`` and ``account_deletion_hooks``. The token server in
the same process trusts the signing key as soon as it is loaded (on the
first request), and keeps trusting whatever else it was configured to
trust, so Mozilla's accounts can be used alongside.
"""
from __future__ import annotations

import logging

from pyramid.config import Configurator
from pyramid.events import NewRequest

from synccore import load_backend
from synccore.exceptions import BackendError
from synccore.passwords import HashingParameters, PasswordHashing
from synccore.settings import ConfigurationError, Setting, apply_settings, as_bool, as_list
from syncreg.fxa.codes import AccountCodes
from syncreg.fxa.hawk import SessionAuthenticator
from syncreg.fxa.oauth import DEFAULT_CLIENT_IDS, OAuth, OAuthPolicy
from syncreg.fxa.service import Accounts, Policy
from syncreg.fxa.signing import AccessTokenSigner, SigningKeySource
from syncreg.nodes import SYNC_15
from syncreg.tokenserver.oauth.keys import TrustedKeys
from syncreg.tokenserver.oauth.local import JWTVerifier

logger = logging.getLogger("syncreg.fxa")

SETTINGS = {
    "accounts.enabled": Setting(False, as_bool),
    "accounts.backend": Setting("syncreg.fxa.sql"),
    # Empty: the server's main database.
    "accounts.sqlalchemy.url": Setting("", str),
    # Off: accounts can sign in without confirming their address by mail
    # (a single box without a mail server).
    "accounts.require_email_verification": Setting(True, as_bool),
    "accounts.allow_new_accounts": Setting(True, as_bool),
    "accounts.verification_code_seconds": Setting(86400, int),
    # A PEM file holding the access-token signing key (made there on first
    # start); empty: the key is kept in the accounts database.
    "accounts.signing_key_file": Setting("", str),
    # Trust the signing key in this process's token server.
    "accounts.trust_in_token_server": Setting(True, as_bool),
    "accounts.oauth_client_ids": Setting(list(DEFAULT_CLIENT_IDS), as_list),
    "accounts.authorization_code_seconds": Setting(600, int),
    "accounts.access_token_seconds": Setting(3600, int),
    "accounts.access_token_max_seconds": Setting(86400, int),
    "accounts.hawk_timestamp_skew_seconds": Setting(120, int),
    "accounts.min_password_length": Setting(8, int),
}


def _check(settings: dict) -> None:
    for name in ("verification_code_seconds", "authorization_code_seconds",
                 "access_token_seconds", "access_token_max_seconds",
                 "hawk_timestamp_skew_seconds", "min_password_length"):
        if settings[f"accounts.{name}"] <= 0:
            raise ConfigurationError(f"accounts.{name} must be positive")
    if settings["accounts.require_email_verification"] and not settings["mail.smtp_host"]:
        raise ConfigurationError("accounts.require_email_verification needs a mail server "
                                 "(mail.smtp_host); turn it off to skip confirmation")
    issuers = settings.get("tokenserver.accepted_issuers") or []
    if settings["accounts.trust_in_token_server"] and issuers \
            and issuer(settings) not in issuers:
        raise ConfigurationError(f"tokenserver.accepted_issuers must include this server's "
                                 f"issuer {issuer(settings)!r} for its accounts to sync")


def issuer(settings: dict) -> str:
    """This service's base URL: the accounts pages' origin and the tokens' issuer."""
    return settings["server.public_url"].rstrip("/")


def _trust(registry, signer: AccessTokenSigner) -> None:
    registry.access_token_keys.add(signer.public_jwk())
    tokenserver = getattr(registry, "tokenserver", None)
    if tokenserver is not None and registry.settings["accounts.trust_in_token_server"]:
        tokenserver.trusted_keys.add(signer.public_jwk())


def _retire_token_server_user(registry, uid: str) -> None:
    tokenserver = getattr(registry, "tokenserver", None)
    if tokenserver is not None:
        tokenserver.users.retire_user(SYNC_15, f"{uid}@{tokenserver.email_domain}",
                                      registry.accounts.now_ms())


def _load_signing_key(event: NewRequest) -> None:
    """Before the first request is served, so the token server trusts the key."""
    keys = event.request.registry.signing_keys
    if not keys.loaded:
        try:
            keys.signer()
        except BackendError as exc:
            # Other services may still answer; the next request tries again.
            logger.warning("cannot load the access-token signing key yet: %s", exc)


def includeme(config: Configurator) -> None:
    settings = apply_settings(config, SETTINGS)
    if not settings["accounts.enabled"]:
        return
    all_settings = config.get_settings()
    _check(all_settings)
    registry = config.registry
    # Also a registry attribute of its own, so that schema tools find its tables.
    registry.accounts_store = store = load_backend(settings["accounts.backend"],
                                                   all_settings, "accounts")
    base = issuer(all_settings)
    hashing = PasswordHashing(HashingParameters(
        time_cost=all_settings["auth.argon2_time_cost"],
        memory_cost_kib=all_settings["auth.argon2_memory_kib"],
        parallelism=all_settings["auth.argon2_parallelism"]))
    registry.accounts = Accounts(
        store, hashing, AccountCodes(registry.reset_codes, registry.rate_limiter),
        registry.mailer, registry.rate_limiter,
        Policy(require_verification=settings["accounts.require_email_verification"],
               allow_new_accounts=settings["accounts.allow_new_accounts"],
               verification_code_seconds=settings["accounts.verification_code_seconds"],
               reset_code_seconds=all_settings["reset_codes.lifetime_seconds"]),
        public_base=base)
    registry.access_token_keys = TrustedKeys()
    registry.access_token_verifier = JWTVerifier(registry.access_token_keys,
                                                 accepted_issuers=[base])
    registry.signing_keys = SigningKeySource(
        store, base, settings["accounts.signing_key_file"],
        on_loaded=lambda signer: _trust(registry, signer))
    registry.oauth = OAuth(registry.accounts, registry.signing_keys, OAuthPolicy(
        client_ids=frozenset(settings["accounts.oauth_client_ids"]),
        code_seconds=settings["accounts.authorization_code_seconds"],
        access_token_seconds=settings["accounts.access_token_seconds"],
        access_token_max_seconds=settings["accounts.access_token_max_seconds"]))
    registry.fxa_sessions = SessionAuthenticator(
        store, all_settings["server.public_url"],
        settings["accounts.hawk_timestamp_skew_seconds"])
    registry.account_deletion_hooks = [lambda uid: _retire_token_server_user(registry, uid)]
    registry.heartbeat_checks.append(store.ping)
    # Loading the key reads (or writes) the database: not while the
    # application is being built, which `sync-admin db upgrade` also does.
    config.add_subscriber(_load_signing_key, NewRequest)
    config.include("syncreg.fxa.views")
    config.include("syncreg.fxa.pages")
