"""``/__heartbeat__``: 200 with an empty body while every backend answers."""
from __future__ import annotations

import logging

from pyramid.request import Request
from pyramid.response import Response

from synccore.exceptions import BackendError

logger = logging.getLogger("synccore.heartbeat")


def heartbeat_view(request: Request) -> Response:
    for check in request.registry.heartbeat_checks:
        try:
            check()
        except BackendError as exc:
            logger.error("heartbeat: backend check failed: %s", exc)
            retry_after = request.registry.settings["server.retry_after_seconds"]
            return Response(status=503, body=b"", headers={"Retry-After": str(retry_after)})
    return Response(status=200, body=b"", content_type="text/plain")


def includeme(config) -> None:
    config.add_route("heartbeat", "/__heartbeat__")
    config.add_view(heartbeat_view, route_name="heartbeat", request_method=("GET", "HEAD"))
