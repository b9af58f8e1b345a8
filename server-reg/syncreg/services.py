"""The registration services, loaded into typed registry attributes.

Each backend is chosen by a dotted name in the settings and validated here,
at start-up: ``registry.nodes`` (``nodes.backend``), ``registry.reset_codes``
(``reset_codes.backend``), ``registry.rate_limiter`` (``ratelimit.backend``),
``registry.captcha`` (``captcha.verifier``), ``registry.mailer`` (None when
``mail.smtp_host`` is empty) and ``registry.password_resets``. The login
throttle is set on ``registry.authenticator`` so Basic auth on every API
counts failed logins, and account deletion learns to drop reset codes and
node assignments.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from synccore import load_backend
from synccore.errors import too_many_requests
from synccore.settings import ConfigurationError
from syncreg import mail
from syncreg.nodes import SYNC_11
from syncreg.passwordreset import PasswordResets, secret_from_setting
from syncreg.ratelimit import LoginRateLimit, RateLimited


def rate_limited_view(exc: RateLimited, request: Request) -> Response:
    return too_many_requests(exc.retry_after, request.registry.settings["ratelimit.status"])


def _check_settings(settings: dict) -> None:
    if settings["captcha.use"] and not (settings["captcha.site_key"]
                                        and settings["captcha.secret_key"]):
        raise ConfigurationError("captcha.use needs captcha.site_key and captcha.secret_key")
    if settings["reset_codes.lifetime_seconds"] <= 0:
        raise ConfigurationError("reset_codes.lifetime_seconds must be positive")
    if not settings["mail.sender"]:
        host = urlsplit(settings["server.public_url"]).hostname or "localhost"
        settings["mail.sender"] = f"sync@{host}"


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    _check_settings(settings)
    registry = config.registry
    registry.nodes = load_backend(settings["nodes.backend"], settings, "nodes")
    registry.reset_codes = load_backend(settings["reset_codes.backend"], settings,
                                        "reset codes")
    registry.rate_limiter = load_backend(settings["ratelimit.backend"], settings,
                                         "rate limiter")
    registry.captcha = load_backend(settings["captcha.verifier"], settings, "captcha")
    registry.mailer = mail.load_from_config(settings)
    registry.password_resets = PasswordResets(
        registry.users, registry.reset_codes, registry.mailer,
        public_url=settings["server.public_url"],
        lifetime_seconds=settings["reset_codes.lifetime_seconds"],
        secret=secret_from_setting(settings["reset_codes.secret"]),
        limiter=registry.rate_limiter)
    registry.authenticator.throttle = LoginRateLimit(
        registry.rate_limiter, settings["ratelimit.forwarded_header"],
        settings["ratelimit.status"])
    registry.heartbeat_checks.extend([registry.nodes.ping, registry.reset_codes.ping])
    nodes, codes = registry.nodes, registry.reset_codes
    registry.user_data_removers.extend([
        lambda user: codes.delete(user.username),
        lambda user: nodes.release(SYNC_11, user.username),
    ])
    config.add_view(rate_limited_view, context=RateLimited)
