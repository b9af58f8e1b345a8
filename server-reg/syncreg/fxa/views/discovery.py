"""``/.well-known/fxa-client-configuration``: where Firefox finds everything.

Firefox reads it while signed out, from ``identity.fxaccounts.autoconfig.uri``,
and appends ``/v1`` to the auth, OAuth and profile bases and ``/1.0/sync/1.5``
to the token server's. All are this server, from ``server.public_url``, so
the browser talks to the same origin as the sign-in pages.
"""
from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response

from syncreg.fxa.views.common import json_response


def client_configuration(request: Request) -> Response:
    base = request.registry.accounts.public_base
    response = json_response({
        "auth_server_base_url": base,
        "oauth_server_base_url": base,
        "profile_server_base_url": base,
        "sync_tokenserver_base_url": base,
    })
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
