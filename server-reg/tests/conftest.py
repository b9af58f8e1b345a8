"""Fixtures of the registration tests: a real SMTP server and apps that mail to it,
keeping their accounts in SQL (every engine) or in a real slapd."""
from __future__ import annotations

import pytest

from synccore.testing import make_settings, make_test_app
from synccore.users.slapd import SlapdServer
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


@pytest.fixture
def make_ldap_app(sqlite_url, smtp_server):
    """Builds the composed app with its accounts in a fresh subtree of ``server``
    (a ``slapd`` or ``private_slapd`` fixture) and everything else in SQLite,
    mailing to ``smtp_server``; strict usernames as in production. The apps'
    LDAP connections are closed afterwards."""
    apps = []

    def build(server: SlapdServer, **overrides: str):
        settings = make_settings(sqlite_url, **smtp_server.settings(),
                                 **server.settings(server.new_users_base()),
                                 **{"server.public_url": PUBLIC_URL,
                                    "reset_codes.secret": "test secret", **overrides})
        apps.append(make_test_app(settings))
        return apps[-1]

    yield build
    for app in apps:
        app.app.registry.users.close()
