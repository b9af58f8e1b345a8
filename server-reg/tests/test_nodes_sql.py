"""The node-assignment contract on the SQL backend, on every engine."""
from __future__ import annotations

import pytest

from synccore.db import get_engine
from syncreg.nodes import normalise_node_url
from syncreg.nodes.sql import SQLNodeBackend
from syncreg.nodes.testing import NodeBackendConformance


class TestSQLNodeBackend(NodeBackendConformance):
    @pytest.fixture
    def backend(self, database_url):
        backend = SQLNodeBackend(get_engine(database_url), self.FALLBACK)
        backend.upgrade_schema()
        return backend

    def test_schema_upgrade_is_repeatable(self, backend):
        backend.upgrade_schema()
        backend.ping()


@pytest.mark.parametrize(("given", "normalised"), [
    ("sync.example.com", "https://sync.example.com/"),
    ("http://sync.example.com", "http://sync.example.com/"),
    ("https://sync.example.com/", "https://sync.example.com/"),
    (" https://sync.example.com/base ", "https://sync.example.com/base/"),
])
def test_node_urls_are_normalised(given, normalised):
    """US-NODE2: a scheme and a trailing slash."""
    assert normalise_node_url(given) == normalised
