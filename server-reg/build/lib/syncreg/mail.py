"""Outgoing e-mail over SMTP (plain, STARTTLS or implicit TLS, optional login).

Settings ``mail.*``. An empty ``mail.smtp_host`` means this server sends no
mail, and the features that need it answer 503. A mail server that cannot
be reached or refuses the message raises ``MailError``, a BackendError, so
the request answers 503 with Retry-After like any other backend failure.
"""
from __future__ import annotations

import base64
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from synccore.exceptions import BackendError
from synccore.settings import ConfigurationError

logger = logging.getLogger("syncreg.mail")


class MailError(BackendError):
    """The message could not be handed to the mail server."""


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int = 25
    sender: str = "sync@localhost"
    user: str = ""
    password: str = ""
    starttls: bool = False
    ssl: bool = False
    timeout_seconds: float = 10.0
    ca_file: str = ""  # extra CA certificates for a mail server with a private CA


def text_message(sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    """One ``text/plain; charset=utf-8`` part, base64 encoded (US-RM2)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(body, subtype="plain", charset="utf-8", cte="base64")
    return message


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """Log in with AUTH PLAIN (RFC 4616) in UTF-8, which smtplib's own login
    cannot send, when the server offers it; else with smtplib's mechanisms."""
    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        smtp.login(user, password)
        return
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, answer = smtp.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


class Mailer:
    def __init__(self, settings: SMTPSettings):
        if settings.starttls and settings.ssl:
            raise ConfigurationError("mail.smtp_starttls and mail.smtp_ssl exclude each other")
        self.settings = settings

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file or None)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.ssl:
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds,
                                    context=self._tls_context())
        return smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)

    def send(self, recipient: str, subject: str, body: str) -> None:
        """Deliver one plain-text message to the mail server, or raise MailError."""
        s = self.settings
        message = text_message(s.sender, recipient, subject, body)
        try:
            with self._connect() as smtp:
                if s.starttls:
                    smtp.starttls(context=self._tls_context())
                if s.user:
                    _login(smtp, s.user, s.password)
                smtp.send_message(message)
        except (OSError, UnicodeError, smtplib.SMTPException) as exc:
            # The exception names the server's answer, never the message body.
            raise MailError(f"sending mail through {s.host}:{s.port} failed",
                            original=exc) from exc
        logger.info("mail %r handed to %s:%s", subject, s.host, s.port)


def load_from_config(settings: dict[str, Any]) -> Mailer | None:
    host = settings["mail.smtp_host"]
    if not host:
        return None
    return Mailer(SMTPSettings(
        host=host, port=settings["mail.smtp_port"], sender=settings["mail.sender"],
        user=settings["mail.smtp_user"], password=settings["mail.smtp_password"],
        starttls=settings["mail.smtp_starttls"], ssl=settings["mail.smtp_ssl"],
        timeout_seconds=settings["mail.smtp_timeout_seconds"],
        ca_file=settings["mail.smtp_ca_file"]))
