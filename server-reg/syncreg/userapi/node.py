"""US-NODE: ``GET /user/<ver>/<u>/node/weave``, the user's Sync 1.1 storage node."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from syncreg.nodes import SYNC_11, NoNodeAvailable
from syncreg.userapi.common import client_addr, count_and_limit, text_response


def node_weave(request: Request) -> Response:
    """The assigned node's URL as plain text; ``null`` when every node is down or full.

    Credentials are not required (US-NODE4) and are ignored.
    """
    count_and_limit(request, "lookup_address", client_addr(request))
    username = request.matchdict["username"]
    if request.registry.users.get_user(username) is None:
        raise HTTPNotFound()
    try:
        return text_response(request.registry.nodes.assign_node(SYNC_11, username))
    except NoNodeAvailable:
        return text_response("null")
