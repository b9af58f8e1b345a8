"""Fixtures of the token server tests: a real RSA key configured as the trusted
JWK, and the composed application on every database engine."""
from __future__ import annotations

import uuid

import pytest

from synccore.testing import make_settings, make_test_app
from syncreg.tokenserver.testing import MASTER_SECRET, PUBLIC_URL, SigningKey, key_id_header

TOKEN_PATH = "/1.0/sync/1.5"


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey("primary")


@pytest.fixture
def ts_overrides() -> dict:
    """Settings a test module may override."""
    return {}


@pytest.fixture
def ts_settings(database_url, signing_key, ts_overrides) -> dict:
    settings = {
        "master_secret": MASTER_SECRET,
        "server.public_url": PUBLIC_URL,
        "tokenserver.jwks": signing_key.jwks_json(),
        "tokenserver.oauth_verifier": "local",
        "tokenserver.oauth_server_url": "",
    }
    settings.update(ts_overrides)
    return make_settings(database_url, **settings)


@pytest.fixture(scope="session")
def _ts_apps() -> dict:
    return {}


@pytest.fixture
def ts_app(ts_settings, _ts_apps):
    """The application for these settings, built once per run: building the
    composed app costs far more than a token request, and the tables are
    emptied between tests anyway. Tests that change an app's state build their own."""
    key = tuple(sorted(ts_settings.items()))
    if key not in _ts_apps:
        _ts_apps[key] = make_test_app(ts_settings)
    return _ts_apps[key]


@pytest.fixture
def fxa_uid() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def get_token(ts_app):
    """``get_token(bearer, key_id, status=200, **headers)`` against the token endpoint.

    ``bearer=None`` / ``key_id=None`` leave the header out.
    """

    def get_token(bearer: str | None, key_id: str | None = "1234-qqo", *,
                  status: int = 200, path: str = TOKEN_PATH, headers: dict | None = None):
        sent = {}
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        if key_id is not None:
            sent["X-KeyID"] = key_id
        sent.update(headers or {})
        return ts_app.get(path, headers=sent, status=status)

    return get_token


@pytest.fixture
def sync_token(signing_key, get_token, fxa_uid):
    """``sync_token(generation, keys_changed_at, client_state_hex, status=200)`` for
    one account, signed by the trusted key."""
    def sync_token(generation: int | None, keys_changed_at: int, client_state: str, *,
                   status: int = 200, account: str | None = None):
        bearer = signing_key.access_token(account or fxa_uid, generation=generation)
        return get_token(bearer, key_id_header(keys_changed_at, client_state), status=status)

    return sync_token
