"""Captcha verification: a pluggable verifier, off by default (User API 1.0 §6).

``captcha.verifier`` names a module whose ``load_from_config(settings)``
returns a ``CaptchaVerifier``; the default module (this one) gives a
disabled verifier unless ``captcha.use`` is on, and then a
``SiteVerifyCaptcha``: the widget-plus-verify-URL scheme of reCAPTCHA and
the services compatible with it (hCaptcha, Turnstile). The protocol's
``captcha-response`` field carries the widget's token; ``captcha-challenge``
is passed along for verifiers that need one.
"""
from __future__ import annotations

import abc
import html
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from synccore.exceptions import BackendError

logger = logging.getLogger("syncreg.captcha")

CHALLENGE_FIELD = "captcha-challenge"
RESPONSE_FIELD = "captcha-response"


class CaptchaVerifier(abc.ABC):
    enabled: bool = True

    @abc.abstractmethod
    def verify(self, challenge: str | None, response: str | None,
               client_addr: str | None) -> bool:
        """True if the user solved the captcha. Raises BackendError if the
        verification service cannot be asked."""

    @abc.abstractmethod
    def widget_html(self) -> str:
        """HTML to place inside a form (scripts included)."""


class DisabledCaptcha(CaptchaVerifier):
    """No captcha: every check passes and no page offers a widget."""

    enabled = False

    def verify(self, challenge: str | None, response: str | None,
               client_addr: str | None) -> bool:
        return True

    def widget_html(self) -> str:
        return ""


class SiteVerifyCaptcha(CaptchaVerifier):
    """A widget in the page; its token is checked by POSTing it to a verify URL.

    The verify URL receives ``secret``, ``response`` and ``remoteip`` as a
    form and answers JSON whose ``success`` says whether the token is good.
    """

    def __init__(self, verify_url: str, site_key: str, secret_key: str, script_url: str,
                 widget_class: str, timeout_seconds: float = 10.0):
        self.verify_url = verify_url
        self.site_key = site_key
        self.secret_key = secret_key
        self.script_url = script_url
        self.widget_class = widget_class
        self.timeout_seconds = timeout_seconds

    def verify(self, challenge: str | None, response: str | None,
               client_addr: str | None) -> bool:
        if not response:
            return False
        fields = {"secret": self.secret_key, "response": response}
        if client_addr:
            fields["remoteip"] = client_addr
        request = urllib.request.Request(
            self.verify_url, data=urllib.parse.urlencode(fields).encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as answer:
                result = json.loads(answer.read().decode("utf-8"))
        except (OSError, ValueError, urllib.error.URLError) as exc:
            raise BackendError("captcha verification service failed", original=exc) from exc
        if not isinstance(result, dict):
            raise BackendError("captcha verification service answered no JSON object")
        if not result.get("success"):
            logger.info("captcha rejected: %s", result.get("error-codes"))
        return result.get("success") is True

    def widget_html(self) -> str:
        return (f'<script src="{html.escape(self.script_url)}" async defer></script>\n'
                f'<div class="{html.escape(self.widget_class)}" '
                f'data-sitekey="{html.escape(self.site_key)}"></div>')


def captcha_page(verifier: CaptchaVerifier, action: str) -> str:
    """US-CAP2: a small page holding the widget in one form posting back to ``action``."""
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<title>Captcha</title></head><body>\n"
            f'<form method="post" action="{html.escape(action)}">\n'
            f"{verifier.widget_html()}\n"
            '<input type="submit" value="Continue">\n'
            "</form>\n</body></html>\n")


def load_from_config(settings: dict[str, Any]) -> CaptchaVerifier:
    if not settings["captcha.use"]:
        return DisabledCaptcha()
    return SiteVerifyCaptcha(
        verify_url=settings["captcha.verify_url"], site_key=settings["captcha.site_key"],
        secret_key=settings["captcha.secret_key"], script_url=settings["captcha.script_url"],
        widget_class=settings["captcha.widget_class"],
        timeout_seconds=settings["captcha.timeout_seconds"])
