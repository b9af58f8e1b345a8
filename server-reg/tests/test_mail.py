"""SMTP delivery (US-RM1): plain, STARTTLS, implicit TLS and login, to a real server."""
from __future__ import annotations

import pytest

from synccore.settings import ConfigurationError
from syncreg.mail import Mailer, MailError, SMTPSettings
from syncreg.testing import SMTPCapture, free_port, make_local_ca

BODY = "Grüße\n\nhttps://sync.example.test/weave-password-reset?username=u&key=K\n"


@pytest.fixture(scope="module")
def local_ca(tmp_path_factory):
    return make_local_ca(str(tmp_path_factory.mktemp("ca")))


def send(server: SMTPCapture, **options) -> None:
    Mailer(SMTPSettings(host=server.host, port=server.port, sender="sync@example.test",
                        timeout_seconds=10, **options)).send("to@example.test", "Subject", BODY)


def test_plain_smtp(smtp_server):
    send(smtp_server)
    [mail] = smtp_server.messages
    assert mail.mail_from == "sync@example.test"
    assert mail.recipients == ["to@example.test"]
    assert mail.text == BODY
    assert mail.message["Message-ID"] and mail.message["Date"]


def test_starttls_with_login(local_ca):
    with SMTPCapture(tls_context=local_ca.server_context(),
                     login=("mailuser", "mail pässword")) as server:
        send(server, starttls=True, ca_file=local_ca.ca_file, user="mailuser",
             password="mail pässword")
        assert server.logins == ["mailuser"]
        assert [mail.text for mail in server.messages] == [BODY]


def test_implicit_tls(local_ca):
    with SMTPCapture(tls_context=local_ca.server_context(), implicit_tls=True) as server:
        send(server, ssl=True, ca_file=local_ca.ca_file)
        assert len(server.messages) == 1


def test_untrusted_certificate_is_refused(local_ca):
    """The server's certificate is verified: without its CA nothing is sent."""
    with SMTPCapture(tls_context=local_ca.server_context()) as server:
        with pytest.raises(MailError):
            send(server, starttls=True)
        assert server.messages == []


def test_server_requiring_starttls_refuses_plain(local_ca):
    with SMTPCapture(tls_context=local_ca.server_context()) as server, pytest.raises(MailError):
        send(server)


def test_wrong_login_is_a_mail_error(local_ca):
    with SMTPCapture(tls_context=local_ca.server_context(), login=("u", "right")) as server:
        with pytest.raises(MailError) as caught:
            send(server, starttls=True, ca_file=local_ca.ca_file, user="u", password="wrong")
        assert "wrong" not in str(caught.value)
        assert server.messages == []


def test_unreachable_server_is_a_mail_error():
    with pytest.raises(MailError):
        Mailer(SMTPSettings(host="127.0.0.1", port=free_port(), timeout_seconds=5)).send(
            "to@example.test", "Subject", BODY)


def test_starttls_and_ssl_exclude_each_other():
    with pytest.raises(ConfigurationError):
        Mailer(SMTPSettings(host="localhost", starttls=True, ssl=True))
