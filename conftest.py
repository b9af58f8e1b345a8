"""Fixtures shared by every package's tests.

``database_url`` runs a test once per database engine (SQLite, MySQL,
PostgreSQL), each on a database of its own created for this run; tables are
emptied between tests. See ``synccore.testing`` for the environment
variables that enable MySQL and PostgreSQL. ``slapd`` and ``private_slapd``
(a real OpenLDAP server) come from ``synccore.users.slapd_fixtures``.
"""
from __future__ import annotations

import contextlib

import pytest

from synccore.testing import (
    DATABASE_ENGINES,
    empty_all_tables,
    make_settings,
    make_test_app,
    skip_unless_engine,
    temporary_database,
)

pytest_plugins = ["synccore.users.slapd_fixtures"]


@pytest.fixture(scope="session")
def _engine_databases(tmp_path_factory):
    """One temporary database per engine for the whole run, created lazily."""
    stack: dict[str, tuple] = {}
    directory = str(tmp_path_factory.mktemp("sqlite"))

    def get(engine: str) -> str:
        if engine not in stack:
            manager = temporary_database(engine, directory)
            stack[engine] = (manager, manager.__enter__())
        return stack[engine][1]

    yield get
    for manager, _url in stack.values():
        manager.__exit__(None, None, None)


@pytest.fixture(params=DATABASE_ENGINES)
def database_url(request, _engine_databases):
    engine = request.param
    skip_unless_engine(engine)
    url = _engine_databases(engine)
    yield url
    with contextlib.suppress(Exception):  # the schema may not exist if the test failed early
        empty_all_tables(url)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'sync.db'}"


@pytest.fixture
def app_settings(database_url):
    return make_settings(database_url)


@pytest.fixture
def app(app_settings):
    return make_test_app(app_settings)
