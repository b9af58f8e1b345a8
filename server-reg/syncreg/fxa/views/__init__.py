"""Routes of the accounts API: Firefox's auth, OAuth and profile endpoints."""
from __future__ import annotations

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from syncreg.fxa import errors
from syncreg.fxa.errors import AccountsError, Errno
from syncreg.fxa.views import account, devices, discovery, oauth, password, profile, session
from syncreg.fxa.views.common import rate_limited
from syncreg.ratelimit import RateLimited

# route name: (path, {method: view})
ROUTES = {
    "fxa.configuration": ("/.well-known/fxa-client-configuration",
                          {"GET": discovery.client_configuration}),
    "fxa.account_create": ("/v1/account/create", {"POST": account.create}),
    "fxa.account_login": ("/v1/account/login", {"POST": account.login}),
    "fxa.account_status": ("/v1/account/status", {"GET": account.status,
                                                  "POST": account.status}),
    "fxa.account_destroy": ("/v1/account/destroy", {"POST": account.destroy}),
    "fxa.scoped_key_data": ("/v1/account/scoped-key-data", {"POST": account.scoped_key_data}),
    "fxa.email_status": ("/v1/recovery_email/status", {"GET": account.email_status}),
    "fxa.email_resend": ("/v1/recovery_email/resend_code", {"POST": account.resend_code}),
    "fxa.email_verify": ("/v1/recovery_email/verify_code", {"POST": account.verify_code}),
    "fxa.session_status": ("/v1/session/status", {"GET": session.status}),
    "fxa.session_destroy": ("/v1/session/destroy", {"POST": session.destroy}),
    "fxa.password_change": ("/v1/password/change", {"POST": password.change}),
    "fxa.password_forgot": ("/v1/password/forgot/send_code",
                            {"POST": password.send_reset_code}),
    "fxa.password_reset": ("/v1/password/forgot/reset", {"POST": password.reset}),
    "fxa.device": ("/v1/account/device", {"POST": devices.register}),
    "fxa.devices": ("/v1/account/devices", {"GET": devices.list_devices}),
    "fxa.device_destroy": ("/v1/account/device/destroy", {"POST": devices.destroy}),
    "fxa.device_commands": ("/v1/account/device/commands", {"GET": devices.commands}),
    "fxa.invoke_command": ("/v1/account/devices/invoke_command",
                           {"POST": devices.invoke_command}),
    "fxa.notify": ("/v1/account/devices/notify", {"POST": devices.notify}),
    "fxa.attached_clients": ("/v1/account/attached_clients",
                             {"GET": devices.attached_clients}),
    "fxa.oauth_authorization": ("/v1/oauth/authorization", {"POST": oauth.authorization}),
    "fxa.oauth_token": ("/v1/oauth/token", {"POST": oauth.token}),
    "fxa.oauth_destroy": ("/v1/oauth/destroy", {"POST": oauth.destroy}),
    "fxa.jwks": ("/v1/jwks", {"GET": oauth.jwks}),
    "fxa.verify": ("/v1/verify", {"POST": oauth.verify}),
    "fxa.profile": ("/v1/profile", {"GET": profile.profile}),
}


def method_not_allowed(request: Request) -> Response:
    raise AccountsError(405, Errno.UNKNOWN_ENDPOINT, "Method not allowed")


def unknown_endpoint(request: Request) -> Response:
    return errors.error_view(AccountsError(404, Errno.UNKNOWN_ENDPOINT, "Unknown endpoint"),
                             request)


def includeme(config: Configurator) -> None:
    config.add_view(errors.error_view, context=AccountsError)
    for route_name, (path, views) in ROUTES.items():
        config.add_route(route_name, path)
        for method, view in views.items():
            config.add_view(view, route_name=route_name, request_method=method)
        config.add_view(method_not_allowed, route_name=route_name)
        config.add_exception_view(rate_limited, context=RateLimited, route_name=route_name)
    config.add_notfound_view(unknown_endpoint, path_info=r"^/v1(/|$)")
