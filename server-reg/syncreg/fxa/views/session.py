"""``/v1/session/...``: is this session still good, and ending it."""
from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response

from syncreg.fxa.views.common import json_response, with_session


@with_session
def status(request: Request) -> Response:
    state = "verified" if request.fxa_account.verified else "unverified"
    return json_response({"state": state, "uid": request.fxa_account.uid})


@with_session
def destroy(request: Request) -> Response:
    """Sign-out: the session and the device registered with it go."""
    request.registry.accounts.store.delete_session(request.fxa_session.id)
    return json_response({})
