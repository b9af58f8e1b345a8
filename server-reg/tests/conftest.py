"""Fixtures of the registration tests: a real SMTP server and apps that mail to it."""
from __future__ import annotations

import pytest
from synccore.testing import make_settings, make_test_app
from syncreg.testing import TEST_PUBLIC_URL as PUBLIC_URL
from syncreg.testing import SMTPCapture


@pytest.fixture
def smtp_server():
    with SMTPCapture() as server:
        yield server


@pytest.fixture
def reg_settings(database_url, smtp_server):
    """The composed app mailing to ``smtp_server``; free-form usernames allowed."""
    return make_settings(database_url, **smtp_server.settings(),
                         **{"server.public_url": PUBLIC_URL,
                            "auth.strict_usernames": "false",
                            "reset_codes.secret": "test secret"})


@pytest.fixture
def reg_app(reg_settings):
    return make_test_app(reg_settings)
