"""Pytest fixtures for a real OpenLDAP server, shared by every package's tests.

Registered as a plugin by the checkout's top-level ``conftest.py``, so the
user-store tests and the registration tests start their directories the same
way. They need OpenLDAP's server (Debian: ``slapd ldap-utils``); without it
the tests using these fixtures skip with that reason, unless
``SYNC_TEST_REQUIRE_ALL_ENGINES=1`` (CI), which makes them fail instead.

Each server listens on a free loopback port of its own, so parallel test
processes never meet.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from synccore.testing import require_all_engines
from synccore.users.slapd import SlapdServer, SlapdTools, SlapdUnavailableError, find_slapd


@pytest.fixture(scope="session")
def slapd_tools() -> SlapdTools:
    try:
        return find_slapd()
    except SlapdUnavailableError as exc:
        if require_all_engines():
            pytest.fail(f"LDAP tests cannot run: {exc}")
        pytest.skip(f"LDAP tests need OpenLDAP: {exc}")


@pytest.fixture(scope="session")
def slapd(slapd_tools, tmp_path_factory) -> Iterator[SlapdServer]:
    """One server per test process; each test keeps its accounts in its own
    subtree (``slapd.new_users_base()``)."""
    with SlapdServer(tmp_path_factory.mktemp("slapd"), tools=slapd_tools) as server:
        yield server


@pytest.fixture
def private_slapd(slapd_tools, tmp_path) -> Iterator[SlapdServer]:
    """A server of the test's own, which it may stop, restart or freeze."""
    with SlapdServer(tmp_path / "slapd", tools=slapd_tools) as server:
        yield server
