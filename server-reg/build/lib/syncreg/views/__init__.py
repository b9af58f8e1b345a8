"""User API 1.0 routes (``/user/{1.0|1}/<username>/...`` and the captcha page)."""
from __future__ import annotations

from pyramid.config import Configurator

from syncreg.views.account import account_exists, change_email, create_account, \
    remove_account
from syncreg.views.captcha import captcha_html
from syncreg.views.common import USER_PREFIX, method_not_allowed
from syncreg.views.node import node_weave
from syncreg.views.password import cancel_reset, change_password, request_reset

ROUTES = {
    "user.account": ("", {"GET": account_exists, "PUT": create_account,
                          "DELETE": remove_account}),
    "user.node_weave": ("/node/weave", {"GET": node_weave}),
    "user.password": ("/password", {"POST": change_password}),
    "user.password_reset": ("/password_reset", {"GET": request_reset,
                                                "DELETE": cancel_reset}),
    "user.email": ("/email", {"POST": change_email}),
}


def includeme(config: Configurator) -> None:
    for route_name, (path, views) in ROUTES.items():
        config.add_route(route_name, USER_PREFIX + path)
        for method, view in views.items():
            config.add_view(view, route_name=route_name, request_method=method)
        config.add_view(method_not_allowed, route_name=route_name)
    config.add_route("misc.captcha_html", r"/misc/{version:1\.0|1}/captcha_html")
    config.add_view(captcha_html, route_name="misc.captcha_html",
                    request_method=("GET", "POST"))
    config.add_view(method_not_allowed, route_name="misc.captcha_html")
