"""The SQL user store: the user-backend conformance suite on every engine."""
from __future__ import annotations

import pytest

pytest.register_assert_rewrite("synccore.users.testing")

from synccore import SETTINGS  # noqa: E402
from synccore.settings import parse_settings  # noqa: E402
from synccore.testing import make_settings  # noqa: E402
from synccore.users.sql import SQLUserBackend, load_from_config  # noqa: E402
from synccore.users.testing import UserBackendTests  # noqa: E402


class TestSQLUserBackend(UserBackendTests):
    @pytest.fixture
    def backend(self, database_url) -> SQLUserBackend:
        # The same loader and settings as the application, cheap hashing.
        return load_from_config(parse_settings(make_settings(database_url), SETTINGS))
