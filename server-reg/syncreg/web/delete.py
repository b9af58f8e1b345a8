"""US-WD: ``/weave-delete-account``, removing an account from a web page.

The form asks for the username (or e-mail address) and the password, and
carries a CSRF token (US-WD3). Failed password checks count against the
same per-account and per-address login limits as Basic auth, so the page
is no better a password oracle than the APIs. The answers keep the
reference's phrases: ``Missing data``, ``Bad credentials``,
``Account removed.``, ``Deletion failed.``
"""
from __future__ import annotations

import logging

from pyramid.httpexceptions import HTTPException
from pyramid.request import Request
from pyramid.response import Response

from synccore.errors import new_crash_id
from synccore.exceptions import BackendError
from synccore.users import User
from syncreg.accounts import delete_account
from syncreg.ratelimit import RateLimited
from syncreg.web.csrf import FIELD_NAME, CsrfProblem, forget_cookie
from syncreg.web.identify import candidate_usernames
from syncreg.web.pages import page, unavailable_page

logger = logging.getLogger("syncreg.web")

ROUTE = "web.delete_account"
FORM = "delete-account"

CSRF_MESSAGES = {
    CsrfProblem.NO_COOKIE: ("This form could not be checked because your browser did not "
                          "send back the cookie this page set. Allow cookies for this site, "
                          "then submit the form again. Nothing was deleted."),
    CsrfProblem.EXPIRED: ("This form has expired. Nothing was deleted; submit it again "
                          "to delete your account."),
    CsrfProblem.INVALID: ("This form was not issued by this site to your browser, so it "
                          "was refused. Nothing was deleted; submit the form below if you "
                          "do want to delete your account."),
}


def _form_page(request: Request, *, status: int = 200, error: str = "", username: str = "",
               invalid: tuple[str, ...] = ()) -> Response:
    token = request.registry.csrf.issue(request, FORM)
    return page(request, "delete_account.jinja2", status=status,
                action=request.route_path(ROUTE), csrf_field=FIELD_NAME, csrf_token=token,
                error=error, username=username, invalid=invalid)


def show(request: Request) -> Response:
    return _form_page(request)


def _authenticate(request: Request, entry: str, password: str) -> User | None:
    """The account if the password opens it; the login throttle applies."""
    names = candidate_usernames(entry)
    if not names:
        return None
    users = request.registry.users
    name = next((name for name in names if users.get_user(name) is not None), names[0])
    try:
        return request.registry.authenticator.authenticate(name, password, request)
    except HTTPException as exc:  # the login throttle's 429 / 503
        if exc.status_code not in (429, 503):
            raise
        raise RateLimited("login", int(exc.headers.get("Retry-After", "60"))) from None


def submit(request: Request) -> Response:
    form = request.POST
    entry = form.get("username", "").strip()
    problem = request.registry.csrf.check(request, FORM, form.get(FIELD_NAME))
    if problem is not None:
        logger.info("delete-account form refused: CSRF token %s", problem.value)
        return _form_page(request, status=403, error=CSRF_MESSAGES[problem], username=entry)
    password = form.get("password", "")
    if not entry or not password:
        missing = tuple(name for name, value in (("username", entry), ("password", password))
                        if not value)
        return _form_page(request, error="Missing data: enter your username or email "
                          "address and your password.", username=entry, invalid=missing)
    user = _authenticate(request, entry, password)
    if user is None:
        return _form_page(request, error="Bad credentials: this username or email address "
                          "and password do not open an account.", username=entry,
                          invalid=("username", "password"))
    try:
        delete_account(request.registry, user)
    except BackendError as exc:
        crash_id = new_crash_id()
        logger.error("deleting %s failed (%s): %s", user.username, crash_id, exc, exc_info=exc)
        return unavailable_page(request, "Deletion failed. Your account is still there; "
                                "please try again later.", crash_id=crash_id,
                                title="Deletion failed")
    response = page(request, "delete_done.jinja2")
    forget_cookie(request, response)
    return response
