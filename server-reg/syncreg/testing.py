"""Test support for the registration package: a real SMTP server in process.

``SMTPCapture`` runs aiosmtpd on a free loopback port and keeps every
message it accepts, so tests read the password-reset mail exactly as a mail
server would receive it. It can also speak STARTTLS or implicit TLS with a
throw-away certificate authority (``make_local_ca``) and require a login.
aiosmtpd and cryptography are test-only dependencies (requirements-dev.txt).
"""
from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import json
import os
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# The public URL the registration tests configure; reset links start with it.
TEST_PUBLIC_URL = "https://sync.example.test/"
# What the captcha verification service accepts (``CaptchaSiteVerify``).
CAPTCHA_SECRET_KEY = "server-side-key"
CAPTCHA_GOOD_TOKEN = "solved-token"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ReceivedMail:
    mail_from: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_content()

    def line(self, number: int) -> str:
        """Line ``number`` (1-based) of the decoded body, as the reference tests read it."""
        return self.text.split("\n")[number - 1]

    def reset_link(self) -> tuple[str, dict[str, str]]:
        """The link on line 3 and its query parameters."""
        link = self.line(3).strip()
        query = {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}
        return link, query


@dataclass
class _Handler:
    received: list[ReceivedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd hook
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.lock:
            self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos),
                                              message))
        return "250 Message accepted"


class SMTPCapture:
    """An SMTP server on 127.0.0.1 that keeps what it receives (``messages``)."""

    def __init__(self, *, tls_context: ssl.SSLContext | None = None,
                 implicit_tls: bool = False, login: tuple[str, str] | None = None):
        from aiosmtpd.controller import Controller

        self.host = "127.0.0.1"
        self.port = free_port()
        self._handler = _Handler()
        self.logins: list[str] = []
        options: dict[str, Any] = {}
        if tls_context is not None and implicit_tls:
            options["ssl_context"] = tls_context
        elif tls_context is not None:
            options.update(tls_context=tls_context, require_starttls=True)
        if login is not None:
            options.update(authenticator=self._authenticator(login), auth_required=True,
                           auth_require_tls=tls_context is not None)
        self._controller = Controller(self._handler, hostname=self.host, port=self.port,
                                      **options)

    def _authenticator(self, expected: tuple[str, str]):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        def check(server, session, envelope, mechanism, auth_data) -> AuthResult:
            if not isinstance(auth_data, LoginPassword):
                return AuthResult(success=False, handled=False)
            given = (auth_data.login.decode("utf-8"), auth_data.password.decode("utf-8"))
            self.logins.append(given[0])
            return AuthResult(success=given == expected, handled=False)

        return check

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._handler.lock:
            return list(self._handler.received)

    def settings(self) -> dict[str, str]:
        """The ``mail.*`` settings that send to this server."""
        return {"mail.smtp_host": self.host, "mail.smtp_port": str(self.port)}

    def start(self) -> SMTPCapture:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SMTPCapture:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


@dataclass(frozen=True)
class LocalCA:
    """A certificate authority and a server certificate for 127.0.0.1, on disk."""

    ca_file: str
    cert_file: str
    key_file: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_local_ca(directory: str) -> LocalCA:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder()
               .subject_name(name("SyncServer test CA")).issuer_name(name("SyncServer test CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(validity[0]).not_valid_after(validity[1])
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_cert_sign=True, crl_sign=True,
                   content_commitment=False, key_encipherment=False, data_encipherment=False,
                   key_agreement=False, encipher_only=False, decipher_only=False),
                   critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                              critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(name("127.0.0.1")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(validity[0]).not_valid_after(validity[1])
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = LocalCA(ca_file=os.path.join(directory, "ca.pem"),
                   cert_file=os.path.join(directory, "server.pem"),
                   key_file=os.path.join(directory, "server.key"))
    with open(paths.ca_file, "wb") as out:
        out.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(paths.cert_file, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths.key_file, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return paths


class CaptchaSiteVerify:
    """A reCAPTCHA-style siteverify endpoint on a loopback port: only the good
    token under the right secret succeeds. Keeps every form it receives."""

    good_token = CAPTCHA_GOOD_TOKEN

    def __init__(self):
        self.requests: list[dict[str, str]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                service.requests.append(form)
                success = (form.get("secret") == CAPTCHA_SECRET_KEY
                           and form.get("response") == CAPTCHA_GOOD_TOKEN)
                body = json.dumps({"success": success}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/siteverify"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def settings(self) -> dict[str, str]:
        """The captcha settings of an app that verifies with this service."""
        return {"captcha.use": "true", "captcha.site_key": "public-site-key",
                "captcha.secret_key": CAPTCHA_SECRET_KEY, "captcha.verify_url": self.url}

    def __enter__(self) -> CaptchaSiteVerify:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
