"""Fixtures of the Storage API 1.1 functional tests.

Every test drives the real composed application (``syncserver.main``) over
HTTP with webtest, once per database engine (see ``database_url`` in the
top-level conftest). Rule ids (``ST-...``) refer to
``shared/specs/storage-1.1.md``.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

from synccore.testing import make_settings, make_test_app

# Test modules import their shared helpers from storage11_support.
sys.path.insert(0, os.path.dirname(__file__))

from storage11_support import PASSWORD, SyncClient

# Failed logins are throttled per client address (syncreg); the shared
# application must not start refusing the many deliberate failures below.
TEST_OVERRIDES = {"ratelimit.login_address_limit": 10**9,
                  "ratelimit.login_account_limit": 10**9}


@pytest.fixture(scope="session")
def _applications() -> dict:
    """Applications already built in this run, by database URL and overrides.

    Building one runs every package's schema check and registers every view
    (about a second); requests leave no state in it besides caches keyed by
    credentials, so tests of one engine share it. Tables are emptied between
    tests by ``database_url``.
    """
    return {}


def _application(cache: dict, database_url: str, overrides: dict[str, Any]):
    key = (database_url, tuple(sorted(overrides.items())))
    if key not in cache:
        cache[key] = make_test_app(make_settings(database_url,
                                                 **{**TEST_OVERRIDES, **overrides}))
    return cache[key]


@pytest.fixture
def app(database_url, _applications):
    """The composed application on this engine (shared by this directory's tests)."""
    return _application(_applications, database_url, {})


@pytest.fixture
def client(app) -> SyncClient:
    """A fresh account on the application under test."""
    app.app.registry.users.create_user("alice", PASSWORD)
    return SyncClient(app, "alice")


@pytest.fixture
def other_client(app) -> SyncClient:
    """A second account on the same application."""
    app.app.registry.users.create_user("bob", "bobs-password")
    return SyncClient(app, "bob", "bobs-password")


@pytest.fixture
def make_client(database_url, _applications) -> Callable[..., SyncClient]:
    """An account on an application built with setting overrides."""
    counter = iter(range(1000))

    def factory(**overrides: Any) -> SyncClient:
        testapp = _application(_applications, database_url, overrides)
        username = f"user{next(counter)}"
        testapp.app.registry.users.create_user(username, PASSWORD)
        return SyncClient(testapp, username)

    return factory
