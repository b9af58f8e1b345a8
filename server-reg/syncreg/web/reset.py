"""US-WR: ``/weave-password-reset``, the HTML password-reset flow.

GET without a query shows the request page (one ``username`` field taking a
username or an e-mail address); GET with the ``key`` of a reset mail (or an
``error``) shows the new-password page. A POST whose only field is
``username`` (captcha fields aside) mails a reset link; any other POST sets
the new password. Failures re-render the page with a message; the marker
phrases of US-WR5 appear verbatim.

These forms carry no CSRF token (§11 #8): the first only mails the
account's owner, and the second is opened by the key in the link.
"""
from __future__ import annotations

import logging

from markupsafe import Markup
from pyramid.request import Request
from pyramid.response import Response
from webob.multidict import MultiDict

from synccore.errors import ErrorCode
from syncreg.captcha import CHALLENGE_FIELD, RESPONSE_FIELD
from syncreg.mail import MailError
from syncreg.passwordreset import NoEmailOnFile, UnknownAccount, describe_lifetime
from syncreg.rules import is_strong_password
from syncreg.userapi.common import client_addr, count_and_limit
from syncreg.web.identify import find_account
from syncreg.web.pages import page, unavailable_page

logger = logging.getLogger("syncreg.web")

ROUTE = "web.password_reset"
# What captcha widgets post: the protocol's field, then the widgets' own
# names (reCAPTCHA, hCaptcha, Turnstile), which pages cannot rename.
RESPONSE_FIELDS = (RESPONSE_FIELD, "g-recaptcha-response", "h-captcha-response",
                   "cf-turnstile-response")
CAPTCHA_FIELDS = frozenset((CHALLENGE_FIELD, *RESPONSE_FIELDS))

WEAK_PASSWORD = ("The new password needs at least 8 characters and must differ from "
                 "the username.")
BAD_KEY = ("Key does not match with username: this reset link is wrong, has expired "
           "or was already used. Ask for a new link.")


def _reset_unavailable(request: Request) -> Response:
    """US-PR1: this server sends no mail."""
    return unavailable_page(request, "Password reset is not available on this server, "
                            "because it cannot send email. Please contact its "
                            "administrator.", title="Password reset unavailable")


def _request_page(request: Request, *, status: int = 200, error: str = "",
                  username: str = "") -> Response:
    verifier = request.registry.captcha
    return page(request, "reset_request.jinja2", status=status,
                widget=verifier.enabled, action=request.route_path(ROUTE), error=error,
                username=username, captcha=Markup(verifier.widget_html()))


def _password_page(request: Request, *, key: str | None, username: str | None,
                   error: str = "", invalid: str = "") -> Response:
    return page(request, "reset_password.jinja2", action=request.route_path(ROUTE),
                key=key, username=username, error=error, invalid=invalid,
                request_url=request.route_path(ROUTE))


def _bad_link(request: Request, error: str) -> Response:
    """US-WR3 / US-WR5 #1: 400, with the form that starts over."""
    return _request_page(request, status=400, error=error)


def show(request: Request) -> Response:
    if not request.registry.password_resets.available:
        return _reset_unavailable(request)
    try:
        query = request.GET
    except UnicodeDecodeError:  # percent-encoded bytes that are not UTF-8
        return _bad_link(request, "This password-reset link is damaged. Ask for a new one.")
    if not query:
        return _request_page(request)
    if "key" not in query and "error" not in query:
        return _bad_link(request, "This is not a password-reset link. Ask for a new one.")
    key, username = query.get("key"), query.get("username")
    error = query.get("error") or (_link_problem(request, key, username) if key else "")
    return _password_page(request, key=key, username=username, error=error)


def _link_problem(request: Request, key: str, username: str | None) -> str:
    """What is wrong with a mailed link, shown before the user types a password."""
    if not username:
        return "Username not provided. Open the link from the email again."
    user = find_account(request.registry.users, username)
    if user is None:
        return "We were unable to locate your account."
    if not request.registry.password_resets.verify_code(user.username, key):
        return BAD_KEY
    return ""


def submit(request: Request) -> Response:
    if not request.registry.password_resets.available:
        return _reset_unavailable(request)
    form = request.POST  # undecodable bytes arrive as U+FFFD, which no check accepts
    if set(form) - CAPTCHA_FIELDS == {"username"}:
        return _mail_link(request, form)
    return _set_password(request, form)


# -- US-WR4: mailing a reset link ----------------------------------------------

def _not_processed(request: Request, entry: str, reason: str) -> Response:
    return _request_page(request, username=entry,
                         error=f"Your request could not be processed: {reason}")


def _captcha_solved(request: Request, form: MultiDict) -> bool:
    verifier = request.registry.captcha
    if not verifier.enabled:
        return True
    response = next((form[name] for name in RESPONSE_FIELDS if form.get(name)), None)
    return verifier.verify(form.get(CHALLENGE_FIELD), response, client_addr(request))


def _mail_link(request: Request, form: MultiDict) -> Response:
    """US-PR's checks (account, e-mail, captcha), then the mail."""
    count_and_limit(request, "reset_address", client_addr(request))
    resets = request.registry.password_resets
    entry = form["username"].strip()
    if not entry:
        return _request_page(request, error="Enter your username or email address.")
    found = find_account(request.registry.users, entry)
    try:
        if found is None:
            raise UnknownAccount(entry)
        user = resets.account_for_reset(found.username)
    except UnknownAccount:
        return _not_processed(request, entry, "there is no account with this username or "
                              f"email address (error {int(ErrorCode.INVALID_USERNAME)}).")
    except NoEmailOnFile:
        return _not_processed(request, entry, "this account has no email address to send "
                              f"a reset link to (error {int(ErrorCode.NO_EMAIL)}).")
    if not _captcha_solved(request, form):
        return _not_processed(request, entry, "the captcha was not solved (error "
                              f"{int(ErrorCode.INVALID_CAPTCHA)}). Please try again.")
    try:
        resets.send_reset(user)
    except MailError as exc:
        logger.warning("reset mail for %s not sent: %s", user.username, exc)
        return _not_processed(request, entry, "the email could not be sent right now. "
                              "Please try again later.")
    return page(request, "reset_sent.jinja2",
                lifetime=describe_lifetime(resets.lifetime_seconds),
                request_url=request.route_path(ROUTE))


# -- US-WR5: setting the new password ------------------------------------------

def _set_password(request: Request, form: MultiDict) -> Response:
    key = form.get("key")
    if key is None:
        return _bad_link(request, "This form has no reset key. Open the link from the "
                         "email again, or ask for a new one.")
    entry = form.get("username")

    def again(error: str, invalid: str = "") -> Response:
        return _password_page(request, key=key, username=entry, error=error, invalid=invalid)

    if not entry:
        return again("Username not provided. Open the link from the email again.")
    user = find_account(request.registry.users, entry)
    if user is None:
        return again("We were unable to locate your account.")
    password = form.get("password")
    if not password:
        return again("Password not provided.", invalid="password")
    if password != form.get("confirm"):
        return again("The two passwords do not match.", invalid="confirm")
    if not is_strong_password(password, user.username):
        return again(WEAK_PASSWORD, invalid="password")
    resets = request.registry.password_resets
    if not resets.consume_code_and_set_password(user.username, key, password):
        return again(BAD_KEY)
    return page(request, "reset_done.jinja2")
