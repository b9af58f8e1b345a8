"""Password reset by e-mail: codes, the reset mail, and setting the new password.

The service behind ``/user/1.0/<u>/password_reset``, ``X-Weave-Password-Reset``
and the ``weave-password-reset`` page (User API 1.0 §5):

* ``request_reset(username)`` mails the user a link carrying a code
  (``account_for_reset`` then ``send_reset`` when a captcha must be checked
  between the two, as US-PR orders it);
* ``verify_code(username, code)`` says whether the code is the user's
  pending, unexpired one;
* ``consume_code_and_set_password(username, code, new_password)`` uses the
  code up and sets exactly the password given;
* ``cancel(username)`` drops a pending code.

A code is derived as HMAC(secret, nonce + username) from a random nonce, and
only the nonce and the code's SHA-256 are stored. Asking again while a code
is valid mails the same code again (US-RC3): it is derived anew from the
stored nonce. When the secret differs (``reset_codes.secret`` unset and
another process asks), the derivation no longer matches the stored hash and
a fresh code replaces the old one.

Per-account rate limits (reset mails, wrong codes) raise ``RateLimited``.
Codes and passwords never reach a log line.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode

from synccore.users import User, UserBackend, UserNotFound
from syncreg.mail import Mailer
from syncreg.ratelimit import RateLimiter
from syncreg.resetcodes import (
    PendingCode,
    ResetCodeStore,
    format_code,
    hash_code,
    is_code_shaped,
    same_hash,
)

logger = logging.getLogger("syncreg.passwordreset")

SUBJECT = "Resetting your Services password"
RESET_PAGE = "weave-password-reset"


class ResetError(Exception):
    """A reset cannot be started for this account."""


class UnknownAccount(ResetError):
    """No such user (protocol code 3)."""


class NoEmailOnFile(ResetError):
    """The account has no address to mail the code to (protocol code 12)."""


class ResetUnavailable(Exception):
    """This server sends no mail, so it cannot reset passwords (503)."""


def describe_lifetime(seconds: int) -> str:
    """``6 hours``, ``90 minutes``: the code lifetime as the mail and pages say it."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" + ("s" if hours != 1 else "")
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


def reset_mail_body(link: str, lifetime_seconds: int) -> str:
    """US-RM2: line 1 says what happened, line 2 is empty, line 3 is only the link."""
    return (
        "Someone (hopefully you) asked to reset the password of your Sync account.\n"
        "\n"
        f"{link}\n"
        "\n"
        f"Open the link above within the next {describe_lifetime(lifetime_seconds)} to "
        "choose a new password.\n"
        "If you did not ask for this, ignore this message: your password stays as it is.\n"
    )


class PasswordResets:
    def __init__(self, users: UserBackend, codes: ResetCodeStore, mailer: Mailer | None,
                 public_url: str, lifetime_seconds: int, secret: bytes,
                 limiter: RateLimiter, clock: Callable[[], float] = time.time):
        self.users = users
        self.codes = codes
        self.mailer = mailer
        self.public_url = public_url if public_url.endswith("/") else public_url + "/"
        self.lifetime_seconds = lifetime_seconds
        self._secret = secret
        self.limiter = limiter
        self._clock = clock

    @property
    def available(self) -> bool:
        return self.mailer is not None

    def _now(self) -> int:
        return int(self._clock())

    def _derive(self, username: str, nonce: str) -> str:
        digest = hmac.new(self._secret, f"{nonce}:{username}".encode(), hashlib.sha256)
        return format_code(digest.digest())

    def reset_link(self, username: str, code: str) -> str:
        """US-RM2/RM3: built from the configured public URL, ``username`` then ``key``."""
        return f"{self.public_url}{RESET_PAGE}?" + urlencode(
            [("username", username), ("key", code)])

    # -- starting a reset ------------------------------------------------------

    def account_for_reset(self, username: str) -> User:
        """US-PR1..3: the account to mail, or ResetUnavailable / UnknownAccount /
        NoEmailOnFile."""
        if not self.available:
            raise ResetUnavailable()
        user = self.users.get_user(username)
        if user is None:
            raise UnknownAccount(username)
        if not user.email:
            raise NoEmailOnFile(username)
        return user

    def _pending_code(self, username: str) -> str:
        """The user's valid code (US-RC3), or a new one replacing any other."""
        now = self._now()
        pending = self.codes.get(username)
        if pending is not None and pending.expires_at > now:
            code = self._derive(username, pending.nonce)
            if same_hash(hash_code(code), pending.code_hash):
                return code
        nonce = secrets.token_hex(16)
        code = self._derive(username, nonce)
        self.codes.replace(PendingCode(username=username, nonce=nonce,
                                       code_hash=hash_code(code),
                                       expires_at=now + self.lifetime_seconds))
        return code

    def send_reset(self, user: User) -> None:
        """US-PR5: mail the user a link with their code. Raises RateLimited or
        MailError (a BackendError)."""
        if self.mailer is None or not user.email:
            raise ResetUnavailable()
        self.limiter.check("reset_account", user.username)
        code = self._pending_code(user.username)
        self.limiter.hit("reset_account", user.username)
        body = reset_mail_body(self.reset_link(user.username, code), self.lifetime_seconds)
        self.mailer.send(user.email, SUBJECT, body)
        logger.info("password reset mail sent for %s", user.username)

    def request_reset(self, username: str) -> None:
        """Mail a reset link to the account's address (no captcha step)."""
        self.send_reset(self.account_for_reset(username))

    # -- using a code ----------------------------------------------------------

    def _matches(self, username: str, code: str) -> tuple[bool, str]:
        self.limiter.check("code_account", username)
        code_hash = hash_code(code) if is_code_shaped(code) else ""
        pending = self.codes.get(username)
        good = (bool(code_hash) and pending is not None and pending.expires_at > self._now()
                and same_hash(code_hash, pending.code_hash))
        if not good:
            self.limiter.hit("code_account", username)
        return good, code_hash

    def verify_code(self, username: str, code: str) -> bool:
        """US-RC4: ``code`` is the user's pending, unexpired code (nothing changes)."""
        return self._matches(username, code)[0]

    def consume_code_and_set_password(self, username: str, code: str,
                                      new_password: str) -> bool:
        """Use the code up and set ``new_password``; False if the code is not good.

        The caller has checked the password's strength (``rules.is_strong_password``).
        The code is claimed atomically first, so it opens one change only; should
        the user store then fail, the code is put back so the user can retry.
        """
        good, code_hash = self._matches(username, code)
        if not good:
            return False
        pending = self.codes.get(username)
        if pending is None or not self.codes.consume(username, code_hash, self._now()):
            return False  # used by a concurrent request
        try:
            self.users.set_password(username, new_password)
        except UserNotFound:
            return False  # the account went away meanwhile
        except Exception:
            self.codes.replace(pending)
            raise
        logger.info("password of %s changed with a reset code", username)
        return True

    def cancel(self, username: str) -> None:
        """US-PRD3 / US-RC5: drop the user's pending code, if any."""
        self.codes.delete(username)


def secret_from_setting(value: str) -> bytes:
    """The configured derivation secret, or a random one for this process."""
    return value.encode("utf-8") if value else os.urandom(32)
