"""Fixtures of the Storage API 1.5 functional tests.

Every test drives the real composed application (``syncserver.main``) once
per database engine (``database_url`` in the top-level conftest), with
requests carrying real tokens and real Hawk signatures
(``syncstorage.testing15``). Section numbers (``§5.7``) refer to
``shared/specs/storage-1.5.md``; ``§11`` is its test checklist.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

from synccore.testing import make_settings, make_test_app
from syncstorage.testing15 import TEST_NODE, TEST_SECRET, HawkClient

# Test modules import their shared helpers from storage15_support.
sys.path.insert(0, os.path.dirname(__file__))


def settings15(database_url: str, **overrides: Any) -> dict[str, Any]:
    """App settings for 1.5 tests; ``overrides`` are keyed by setting name."""
    values: dict[str, Any] = {"master_secret": TEST_SECRET,
                              "server.public_url": TEST_NODE + "/"}
    values.update(overrides)
    return make_settings(database_url, **values)


@pytest.fixture(scope="session")
def _apps15() -> dict[str, Any]:
    return {}


@pytest.fixture
def app15(database_url, _apps15):
    """The default app, built once per engine: the database is emptied between
    tests (``database_url``) and building a Pyramid app costs ~0.3 s."""
    if database_url not in _apps15:
        _apps15[database_url] = make_test_app(settings15(database_url))
    return _apps15[database_url]


@pytest.fixture
def make_app15(database_url) -> Callable[..., Any]:
    """An app with setting overrides (by name) on the test's database."""
    return lambda **overrides: make_test_app(settings15(database_url, **overrides))


@pytest.fixture
def client(app15) -> HawkClient:
    return HawkClient(app15, 42)


@pytest.fixture
def other_client(app15) -> HawkClient:
    """Another user of the same server."""
    return HawkClient(app15, 43)
