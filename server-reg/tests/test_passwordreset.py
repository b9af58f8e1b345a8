"""The password-reset service (User API 1.0 §5) with a real mail server, on every engine."""
from __future__ import annotations

import logging

import pytest

from synccore.db import get_engine
from synccore.exceptions import BackendError
from synccore.passwords import HashingParameters, PasswordHashing
from synccore.testing import FAST_HASHING
from synccore.users.sql import SQLUserBackend
from syncreg.mail import Mailer, SMTPSettings
from syncreg.passwordreset import (
    SUBJECT,
    NoEmailOnFile,
    PasswordResets,
    ResetUnavailable,
    UnknownAccount,
    describe_lifetime,
)
from syncreg.ratelimit import MemoryRateLimiter, RateLimited, Rule
from syncreg.resetcodes import is_code_shaped
from syncreg.resetcodes.sql import SQLResetCodeStore
from syncreg.testing import free_port

PUBLIC_URL = "https://sync.example.test/"
OLD = "old password"
NEW = "brand new password"


class Clock:
    """Settable time, so expiry is tested without waiting."""

    def __init__(self, now: float = 1_700_000_000):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def users(database_url):
    hashing = PasswordHashing(HashingParameters(
        time_cost=int(FAST_HASHING["auth.argon2_time_cost"]),
        memory_cost_kib=int(FAST_HASHING["auth.argon2_memory_kib"]),
        parallelism=int(FAST_HASHING["auth.argon2_parallelism"])))
    backend = SQLUserBackend(get_engine(database_url), hashing)
    backend.upgrade_schema()
    backend.create_user("alice", OLD, "alice@example.com")
    backend.create_user("nomail", OLD, None)
    return backend


@pytest.fixture
def codes(database_url):
    store = SQLResetCodeStore(get_engine(database_url))
    store.upgrade_schema()
    return store


@pytest.fixture
def clock():
    return Clock()


def make_service(users, codes, mailer, clock, secret=b"secret", limits=None):
    rules = limits or {"reset_account": Rule(100, 3600), "code_account": Rule(100, 3600)}
    return PasswordResets(users, codes, mailer, public_url=PUBLIC_URL, lifetime_seconds=21600,
                          secret=secret, limiter=MemoryRateLimiter(rules), clock=clock)


@pytest.fixture
def mailer(smtp_server):
    return Mailer(SMTPSettings(host=smtp_server.host, port=smtp_server.port,
                               sender="Sync <sync@example.test>"))


@pytest.fixture
def resets(users, codes, mailer, clock):
    return make_service(users, codes, mailer, clock)


def mailed_code(smtp_server, index: int = -1) -> str:
    return smtp_server.messages[index].reset_link()[1]["key"]


def test_reset_mail(resets, smtp_server):
    """US-RM1, US-RM2, US-RM3: the mail, its encoding and the link on line 3."""
    resets.request_reset("alice")
    [mail] = smtp_server.messages
    message = mail.message
    assert mail.recipients == ["alice@example.com"]
    assert message["Subject"] == SUBJECT == "Resetting your Services password"
    assert message["From"] == "Sync <sync@example.test>"
    assert not message.is_multipart()
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == "base64"
    assert mail.line(1)
    assert mail.line(2) == ""
    link, query = mail.reset_link()
    assert link.startswith(PUBLIC_URL + "weave-password-reset?username=alice&key=")
    assert list(query) == ["username", "key"]
    assert query["username"] == "alice"
    assert is_code_shaped(query["key"])
    assert "next 6 hours" in mail.text


def test_same_code_while_valid_then_a_new_one(resets, smtp_server, clock):
    """US-RC2, US-RC3: a repeated request mails the same code until it expires."""
    resets.request_reset("alice")
    resets.request_reset("alice")
    first, second = mailed_code(smtp_server, 0), mailed_code(smtp_server, 1)
    assert first == second
    clock.now += 21600
    assert not resets.verify_code("alice", first)
    resets.request_reset("alice")
    third = mailed_code(smtp_server, 2)
    assert third != first
    assert resets.verify_code("alice", third)


def test_another_secret_replaces_the_code(users, codes, mailer, clock, smtp_server):
    """A process with another secret cannot re-derive the code: it mails a fresh one."""
    one = make_service(users, codes, mailer, clock, secret=b"one")
    two = make_service(users, codes, mailer, clock, secret=b"two")
    one.request_reset("alice")
    two.request_reset("alice")
    first, second = mailed_code(smtp_server, 0), mailed_code(smtp_server, 1)
    assert first != second
    assert not one.verify_code("alice", first)
    assert one.verify_code("alice", second)  # verification needs no secret


def test_the_store_holds_no_code(resets, codes, smtp_server):
    resets.request_reset("alice")
    code = mailed_code(smtp_server)
    stored = codes.get("alice")
    assert code not in repr(stored)
    assert code.replace("-", "") not in repr(stored)


def test_verify_code(resets, smtp_server, users, clock):
    """US-RC4: only the user's own, unexpired, well-shaped code."""
    users.create_user("bob", OLD, "bob@example.com")
    resets.request_reset("alice")
    resets.request_reset("bob")
    alice_code, bob_code = mailed_code(smtp_server, 0), mailed_code(smtp_server, 1)
    assert resets.verify_code("alice", alice_code)
    assert resets.verify_code("alice", alice_code)  # verifying does not use it up
    assert not resets.verify_code("alice", bob_code)
    assert not resets.verify_code("alice", alice_code.lower())
    assert not resets.verify_code("alice", alice_code + "X")
    assert not resets.verify_code("alice", alice_code[:-1] + ("A" if alice_code[-1] != "A"
                                                              else "B"))
    assert not resets.verify_code("nobody", alice_code)
    clock.now += 21599
    assert resets.verify_code("alice", alice_code)
    clock.now += 1
    assert not resets.verify_code("alice", alice_code)


def test_consume_sets_the_typed_password_once(resets, smtp_server, users):
    """§11 #1 and #2: the new password is the one given, and the code works once."""
    resets.request_reset("alice")
    code = mailed_code(smtp_server)
    assert not resets.consume_code_and_set_password("alice", "AAAA-AAAA-AAAA-AAAA", NEW)
    assert users.authenticate("alice", OLD) is not None
    assert resets.consume_code_and_set_password("alice", code, NEW)
    assert users.authenticate("alice", NEW) is not None
    assert users.authenticate("alice", OLD) is None
    assert users.authenticate("alice", "password") is None
    assert not resets.consume_code_and_set_password("alice", code, "third password")
    assert users.authenticate("alice", NEW) is not None


def test_cancel(resets, smtp_server):
    """US-PRD3: a cancelled code no longer works; cancelling nothing is fine."""
    resets.request_reset("alice")
    code = mailed_code(smtp_server)
    resets.cancel("alice")
    resets.cancel("alice")
    assert not resets.verify_code("alice", code)


def test_who_cannot_reset(resets, users, codes, clock):
    """US-PR1..3."""
    with pytest.raises(UnknownAccount):
        resets.request_reset("nobody")
    with pytest.raises(NoEmailOnFile):
        resets.request_reset("nomail")
    without_mail = make_service(users, codes, None, clock)
    assert not without_mail.available
    with pytest.raises(ResetUnavailable):
        without_mail.request_reset("alice")


def test_mail_server_down_is_a_backend_error(users, codes, clock):
    """US-PR5: a failing mail server is a backend failure (503)."""
    mailer = Mailer(SMTPSettings(host="127.0.0.1", port=free_port(), timeout_seconds=5))
    with pytest.raises(BackendError):
        make_service(users, codes, mailer, clock).request_reset("alice")


def test_reset_mails_are_limited_per_account(users, codes, mailer, clock, smtp_server):
    """§5.2: no mail bombing through repeated reset requests."""
    limits = {"reset_account": Rule(2, 3600), "code_account": Rule(100, 3600)}
    resets = make_service(users, codes, mailer, clock, limits=limits)
    resets.request_reset("alice")
    resets.request_reset("alice")
    with pytest.raises(RateLimited) as caught:
        resets.request_reset("alice")
    assert caught.value.retry_after > 0
    assert len(smtp_server.messages) == 2


def test_wrong_codes_are_limited_per_account(users, codes, mailer, clock, smtp_server):
    """§5.2: guessing codes for one account stops after a few tries, even the right one."""
    limits = {"reset_account": Rule(100, 3600), "code_account": Rule(3, 3600)}
    resets = make_service(users, codes, mailer, clock, limits=limits)
    resets.request_reset("alice")
    code = mailed_code(smtp_server)
    for _ in range(3):
        assert not resets.verify_code("alice", "AAAA-AAAA-AAAA-AAAA")
    with pytest.raises(RateLimited):
        resets.consume_code_and_set_password("alice", code, NEW)


def test_codes_and_passwords_never_reach_the_logs(resets, smtp_server, caplog):
    """US-P3: nothing secret in any log record of the whole flow."""
    caplog.set_level(logging.DEBUG)
    resets.request_reset("alice")
    code = mailed_code(smtp_server)
    resets.verify_code("alice", "AAAA-AAAA-AAAA-AAAA")
    resets.consume_code_and_set_password("alice", code, NEW)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged  # the flow is logged ...
    assert code not in logged and NEW not in logged and OLD not in logged  # ... safely


@pytest.mark.parametrize(("seconds", "text"), [
    (21600, "6 hours"), (3600, "1 hour"), (5400, "90 minutes"), (60, "1 minute")])
def test_lifetime_wording(seconds, text):
    assert describe_lifetime(seconds) == text
