"""Rendering the account pages: one Jinja2 environment, one base layout, and the
headers and error pages every account page shares."""
from __future__ import annotations

import logging
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined
from pyramid.request import Request
from pyramid.response import Response

from synccore.errors import new_crash_id
from synccore.exceptions import BackendError
from syncreg.passwordreset import describe_lifetime
from syncreg.ratelimit import RateLimited

logger = logging.getLogger("syncreg.web")

STYLESHEET = "syncreg.web:static/site.css"

# The pages carry CSRF tokens and reset keys: never cached, never framed, and
# their URL (which may hold a key) never sent on in a Referer.
COMMON_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_LOCKED_DOWN = "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
# The pages run no script of their own; a captcha widget brings its scripts and frames.
PAGE_POLICY = "default-src 'self'; " + _LOCKED_DOWN
WIDGET_PAGE_POLICY = _LOCKED_DOWN


class PageRenderer:
    """The templates of ``syncreg.web``, after those of ``extra_packages``.

    Another package's pages (its own ``templates`` folder) extend
    ``base.jinja2`` and import ``forms.jinja2`` to get the same look.
    Autoescaping is on for everything: every reflected value is escaped.
    """

    def __init__(self, site_name: str, extra_packages: tuple[str, ...] = ()):
        self.site_name = site_name
        loaders = [PackageLoader(package, "templates")
                   for package in (*extra_packages, "syncreg.web")]
        self.environment = Environment(loader=ChoiceLoader(loaders), autoescape=True,
                                       undefined=StrictUndefined, trim_blocks=True,
                                       lstrip_blocks=True)

    def render(self, template: str, **values: Any) -> str:
        return self.environment.get_template(template).render(site_name=self.site_name,
                                                              **values)


def page(request: Request, template: str, *, status: int = 200, widget: bool = False,
         **values: Any) -> Response:
    """``template`` rendered as a ``text/html; charset=UTF-8`` response.

    ``widget``: the page embeds third-party captcha scripts, so the
    content-security policy leaves script and frame sources open.
    """
    body = request.registry.pages.render(template, stylesheet=request.static_path(STYLESHEET),
                                         **values)
    response = Response(body=body.encode("utf-8"), status=status, content_type="text/html",
                        charset="UTF-8")
    response.headers.update(COMMON_HEADERS)
    response.headers["Content-Security-Policy"] = WIDGET_PAGE_POLICY if widget else PAGE_POLICY
    return response


def rate_limited_page(exc: RateLimited, request: Request) -> Response:
    """Too many attempts: 429 (or 503, ``ratelimit.status``) with Retry-After."""
    response = page(request, "problem.jinja2", status=request.registry.settings["ratelimit.status"],
                    title="Too many attempts",
                    message=("There were too many attempts. Please wait "
                             f"{describe_lifetime(exc.retry_after)} and try again."),
                    reference="", back=request.path)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def backend_error_page(exc: BackendError, request: Request) -> Response:
    """A database, directory or mail server failed: 503 with Retry-After."""
    crash_id = new_crash_id()
    logger.error("backend failure %s on %s %s: %s", crash_id, request.method, request.path,
                 exc, exc_info=exc)
    return unavailable_page(request, "The service is temporarily unavailable. Nothing was "
                            "changed; please try again later.", crash_id=crash_id)


def unavailable_page(request: Request, message: str, crash_id: str = "",
                     title: str = "Temporarily unavailable") -> Response:
    retry_after = request.registry.settings["server.retry_after_seconds"]
    response = page(request, "problem.jinja2", status=503, title=title, message=message,
                    reference=crash_id, back="")
    response.headers["Retry-After"] = str(retry_after)
    return response
