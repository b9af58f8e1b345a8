"""US-CAP: ``/misc/<ver>/captcha_html``, the widget page clients embed."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from syncreg.captcha import captcha_page


def captcha_html(request: Request) -> Response:
    """404 while captchas are off (US-CAP1), else the page (US-CAP2)."""
    verifier = request.registry.captcha
    if not verifier.enabled:
        raise HTTPNotFound()
    page = captcha_page(verifier, request.path_url)
    return Response(body=page.encode("utf-8"), content_type="text/html", charset="utf-8")
