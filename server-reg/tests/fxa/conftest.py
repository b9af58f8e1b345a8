"""Fixtures of the accounts service tests: the composed app with accounts on,
on every database engine, mailing to a real SMTP server on loopback."""
from __future__ import annotations

import pytest

from synccore.testing import make_settings, make_test_app
from syncreg.fxa.testing import AccountsClient
from syncreg.testing import SMTPCapture

PUBLIC_URL = "http://localhost/"
MASTER_SECRET = "accounts-test-secret"


@pytest.fixture(scope="session")
def fxa_mail():
    with SMTPCapture() as server:
        yield server


@pytest.fixture
def fxa_overrides() -> dict:
    """Settings a test module may override."""
    return {}


@pytest.fixture
def fxa_settings(database_url, fxa_mail, fxa_overrides) -> dict:
    return make_settings(database_url, **fxa_mail.settings(), **{
        "server.public_url": PUBLIC_URL,
        "master_secret": MASTER_SECRET,
        "accounts.enabled": "true",
        "accounts.require_email_verification": "false",
        "tokenserver.oauth_server_url": "",
        **fxa_overrides,
    })


@pytest.fixture(scope="session")
def _fxa_apps() -> dict:
    return {}


@pytest.fixture
def fxa_app(fxa_settings, _fxa_apps):
    """One application per settings for the whole run (tables are emptied and
    rate limits forgotten between tests); tests that change an app's state
    build their own."""
    key = tuple(sorted(fxa_settings.items()))
    if key not in _fxa_apps:
        _fxa_apps[key] = make_test_app(fxa_settings)
    app = _fxa_apps[key]
    app.app.registry.rate_limiter.clear()
    return app


@pytest.fixture
def client(fxa_app) -> AccountsClient:
    return AccountsClient(fxa_app)


@pytest.fixture
def mails(fxa_mail):
    """The messages mailed during this test."""
    already = len(fxa_mail.messages)
    return lambda: fxa_mail.messages[already:]
