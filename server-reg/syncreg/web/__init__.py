"""The account web pages: password reset and account deletion (User API 1.0 §4,
US-WR, US-WD, US-MEDIA).

``config.include("syncreg.web")`` serves

* ``/weave-password-reset``: ask for a reset link by username or e-mail
  address, then choose a new password from the link the mail carries;
* ``/weave-delete-account``: remove an account and everything stored for it,
  confirmed with its password and protected by a CSRF token;
* ``/media/<file>``: the pages' stylesheet.

It sets ``registry.pages`` (a ``PageRenderer``: the Jinja2 templates with one
generic base layout that other account pages can extend) and
``registry.csrf`` (a ``CsrfGuard``). It needs the services of
``syncreg.services`` (password resets, rate limiter, captcha).
"""
from __future__ import annotations

from pyramid.config import Configurator

from synccore.exceptions import BackendError
from synccore.settings import ConfigurationError, Setting, apply_settings
from syncreg.ratelimit import RateLimited
from syncreg.userapi.common import method_not_allowed
from syncreg.web import delete, reset
from syncreg.web.csrf import CsrfGuard, secret_from_setting
from syncreg.web.pages import PageRenderer, backend_error_page, rate_limited_page

SETTINGS = {
    # The name shown in page titles and headings.
    "web.site_name": Setting("Sync", str),
    # Key signing the CSRF tokens of the forms; give every process the same
    # value, or a form served by one process is refused by another.
    # Empty: random per process.
    "web.csrf_secret": Setting("", str),
    # How long a served form may be submitted.
    "web.csrf_max_age_seconds": Setting(7200, int),
    # Browser cache lifetime of /media/ files.
    "web.media_max_age_seconds": Setting(3600, int),
}

MEDIA = "syncreg.web:static"

PAGES = {
    reset.ROUTE: ("/weave-password-reset", {"GET": reset.show, "POST": reset.submit}),
    delete.ROUTE: ("/weave-delete-account", {"GET": delete.show, "POST": delete.submit}),
}


def includeme(config: Configurator) -> None:
    settings = apply_settings(config, SETTINGS)
    if settings["web.csrf_max_age_seconds"] <= 0:
        raise ConfigurationError("web.csrf_max_age_seconds must be positive")
    registry = config.registry
    registry.pages = PageRenderer(site_name=settings["web.site_name"])
    registry.csrf = CsrfGuard(secret_from_setting(settings["web.csrf_secret"]),
                              max_age_seconds=settings["web.csrf_max_age_seconds"])
    config.add_static_view("media", MEDIA, cache_max_age=settings["web.media_max_age_seconds"])
    for route_name, (path, views) in PAGES.items():
        config.add_route(route_name, path)
        for method, view in views.items():
            config.add_view(view, route_name=route_name, request_method=method)
        config.add_view(method_not_allowed, route_name=route_name)
        # Failures on these routes answer a page, not the APIs' bare bodies.
        config.add_exception_view(rate_limited_page, context=RateLimited,
                                  route_name=route_name)
        config.add_exception_view(backend_error_page, context=BackendError,
                                  route_name=route_name)
