"""User API 1.0 views."""
from __future__ import annotations

from pyramid.request import Request
from pyramid.config import Configurator
from pyramid.response import Response

USER_PREFIX = r"/user/{version:1\.0|1}/{username:[A-Za-z0-9._-]+}"


def node_url(request: Request) -> str:
    settings = request.registry.settings
    node = settings["reg.fallback_node"] or settings["server.public_url"]
    return node if node.endswith("/") else node + "/"


def node_weave(request: Request) -> Response:
    """The storage node for the user, as plain text."""
    return Response(body=node_url(request).encode("utf-8"), content_type="text/plain",
                    charset=None)


def includeme(config: Configurator) -> None:
    config.add_route("user.node_weave", USER_PREFIX + "/node/weave")
    config.add_view(node_weave, route_name="user.node_weave", request_method="GET")
