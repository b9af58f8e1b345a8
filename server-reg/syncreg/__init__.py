"""SyncServer registration: User API, node assignment and account services.

``config.include("syncreg")`` loads the registration services into the
registry (``syncreg.services``: ``registry.nodes``, ``registry.reset_codes``,
``registry.password_resets``, ``registry.mailer``, ``registry.captcha``,
``registry.rate_limiter``, and the login throttle of
``registry.authenticator``) and serves User API 1.0 (``syncreg.views``) and
the account web pages (``syncreg.web``: password reset, account deletion),
the token server (``syncreg.tokenserver``) and, with ``accounts.enabled``,
the accounts service Firefox signs in to (``syncreg.fxa``).
"""
from __future__ import annotations

from pyramid.config import Configurator

from synccore.settings import Setting, apply_settings, as_bool


def _status(value: object) -> int:
    status = int(str(value))
    if status not in (429, 503):
        raise ValueError("must be 429 or 503")
    return status


# Per rule of syncreg.ratelimit.RULES: (events allowed, window in seconds).
RATE_LIMITS = {
    "login_address": (30, 600),
    "login_account": (10, 600),
    "create_address": (20, 3600),
    "create_account": (10, 3600),
    "reset_address": (20, 3600),
    "reset_account": (5, 3600),
    "code_account": (10, 3600),
    "lookup_address": (300, 600),
}

SETTINGS = {
    # The storage node handed out while no node is configured for Sync 1.1;
    # empty means this server itself (server.public_url).
    "reg.fallback_node": Setting("", str),
    # Off: PUT /user answers 503 (account creation disabled).
    "reg.allow_new_users": Setting(True, as_bool),
    # X-Weave-Secret equal to this skips the captcha of account creation.
    "reg.shared_secret": Setting("", str),
    # The username must be derived from the e-mail address (User API §2).
    "auth.strict_usernames": Setting(True, as_bool),
    "nodes.backend": Setting("syncreg.nodes.sql"),
    "nodes.sqlalchemy.url": Setting("", str),
    "reset_codes.backend": Setting("syncreg.resetcodes.sql"),
    "reset_codes.sqlalchemy.url": Setting("", str),
    "reset_codes.lifetime_seconds": Setting(21600, int),
    # Key deriving reset codes; the same in every process lets a repeated
    # request mail the same code. Empty: random per process.
    "reset_codes.secret": Setting("", str),
    # Outgoing mail; an empty host disables password reset (503).
    "mail.smtp_host": Setting("localhost", str),
    "mail.smtp_port": Setting(25, int),
    "mail.smtp_user": Setting("", str),
    "mail.smtp_password": Setting("", str),
    "mail.smtp_starttls": Setting(False, as_bool),
    "mail.smtp_ssl": Setting(False, as_bool),
    "mail.smtp_timeout_seconds": Setting(10.0, float),
    "mail.smtp_ca_file": Setting("", str),
    # Empty: sync@<host of server.public_url>.
    "mail.sender": Setting("", str),
    "captcha.verifier": Setting("syncreg.captcha"),
    "captcha.use": Setting(False, as_bool),
    "captcha.verify_url": Setting("https://www.google.com/recaptcha/api/siteverify"),
    "captcha.script_url": Setting("https://www.google.com/recaptcha/api.js"),
    "captcha.widget_class": Setting("g-recaptcha"),
    "captcha.site_key": Setting("", str),
    "captcha.secret_key": Setting("", str),
    "captcha.timeout_seconds": Setting(10.0, float),
    "ratelimit.backend": Setting("syncreg.ratelimit"),
    # 429 Too Many Requests, or 503 with Retry-After (the backoff 1.1 clients obey).
    "ratelimit.status": Setting(429, _status),
    # Behind a reverse proxy: the header whose last entry is the client address.
    "ratelimit.forwarded_header": Setting("", str),
    "ratelimit.max_tracked_keys": Setting(100_000, int),
    **{f"ratelimit.{rule}_limit": Setting(limit, int)
       for rule, (limit, _window) in RATE_LIMITS.items()},
    **{f"ratelimit.{rule}_window_seconds": Setting(window, float)
       for rule, (_limit, window) in RATE_LIMITS.items()},
}


def includeme(config: Configurator) -> None:
    config.include("synccore")
    apply_settings(config, SETTINGS)
    config.include("syncreg.services")
    config.include("syncreg.views")
    config.include("syncreg.web")
    config.include("syncreg.tokenserver")
    # After the token server and the pages it trusts and reuses.
    config.include("syncreg.fxa")
