"""The pages of the accounts service, in the look of the other account pages.

``/`` (where Firefox sends its users to sign in, with its OAuth parameters
in the query), ``/settings`` (change the password, delete the account; what
Firefox opens as "Manage account"), ``/reset_password`` and
``/oauth/success/<client>``. They are rendered from ``syncreg.web``'s base
layout and stylesheet; all their work is done by ``static/accounts.js``.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from syncreg.web.pages import COMMON_HEADERS, PAGE_POLICY, STYLESHEET, PageRenderer

SCRIPT = "syncreg.fxa:static/accounts.js"
MEDIA = "syncreg.fxa:static"


def render(request: Request, template: str, **values: Any) -> Response:
    settings = request.registry.settings
    body = request.registry.fxa_pages.render(
        template, stylesheet=request.static_path(STYLESHEET),
        script=request.static_path(SCRIPT),
        base_path=urlsplit(settings["server.public_url"]).path or "/",
        min_password_length=settings["accounts.min_password_length"], **values)
    response = Response(body=body.encode("utf-8"), content_type="text/html", charset="UTF-8")
    response.headers.update(COMMON_HEADERS)
    # Same-origin script and requests only: the page handles passwords and keys.
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


def sign_in(request: Request) -> Response:
    return render(request, "signin.jinja2", page_name="signin")


def settings_page(request: Request) -> Response:
    email = request.GET.get("email", "")
    return render(request, "settings.jinja2", page_name="settings",
                  email=email if len(email) <= 255 else "")


def reset_password(request: Request) -> Response:
    return render(request, "reset_password.jinja2", page_name="reset")


def oauth_success(request: Request) -> Response:
    return render(request, "oauth_success.jinja2", page_name="done")


PAGES = {
    "fxa.page_signin": ("/", sign_in),
    "fxa.page_signin_alias": ("/signin", sign_in),
    "fxa.page_signup": ("/signup", sign_in),
    "fxa.page_settings": ("/settings", settings_page),
    # Firefox also opens settings/clients, settings/avatar/change, ...
    "fxa.page_settings_sub": ("/settings/*rest", settings_page),
    "fxa.page_reset": ("/reset_password", reset_password),
    "fxa.page_oauth_success": ("/oauth/success/{client_id}", oauth_success),
}


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    config.registry.fxa_pages = PageRenderer(settings["web.site_name"],
                                             extra_packages=("syncreg.fxa",))
    config.add_static_view("accounts-media", MEDIA,
                           cache_max_age=settings["web.media_max_age_seconds"])
    for route_name, (path, view) in PAGES.items():
        config.add_route(route_name, path)
        config.add_view(view, route_name=route_name, request_method="GET")
