"""Token server and Storage 1.5 together, as Firefox uses them: an OAuth token
buys Hawk credentials that the storage accepts; a key change moves the account
to a fresh uid; ``sync-admin tokenserver`` purges the abandoned data and retires
deleted accounts. Runs on every engine.

The console runs in-process here (``syncserver.admin.main`` with an ini on
the test's database), which is what ``bin/sync-admin`` calls."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine

from synccore.testing import make_settings, make_test_app
from syncreg.tokenserver.testing import SigningKey, key_id_header
from syncserver.admin import main as sync_admin
from syncserver.testing import run_sync_admin, write_ini
from syncstorage.testing15 import HawkClient

MASTER_SECRET = "end-to-end-master-secret"
PUBLIC_URL = "https://sync.example.test/"


@pytest.fixture(scope="module")
def signing_key():
    return SigningKey("e2e")


@pytest.fixture
def settings(database_url, signing_key):
    return {"sqlalchemy.url": database_url, "db.auto_migrate": "true",
            "master_secret": MASTER_SECRET, "server.public_url": PUBLIC_URL,
            "tokenserver.jwks": signing_key.jwks_json(),
            "tokenserver.oauth_server_url": ""}


@pytest.fixture
def app(settings):
    app = make_test_app(make_settings(settings["sqlalchemy.url"], **settings))
    yield app
    # The console disposes the engine cache when it ends; close what this app
    # opened since then itself.
    for backend in vars(app.app.registry).values():
        engine = getattr(backend, "engine", None)
        if isinstance(engine, Engine):
            engine.dispose()


@pytest.fixture
def ini(tmp_path, settings):
    return write_ini(tmp_path / "sync.ini", settings)


class Account:
    def __init__(self, app, signing_key):
        self.app = app
        self.signing_key = signing_key
        self.fxa_uid = uuid.uuid4().hex

    def token(self, generation, keys_changed_at, client_state, status=200):
        bearer = self.signing_key.access_token(self.fxa_uid, generation=generation)
        return self.app.get("/1.0/sync/1.5", status=status, headers={
            "Authorization": f"Bearer {bearer}",
            "X-KeyID": key_id_header(keys_changed_at, client_state)})

    def storage(self, generation, keys_changed_at, client_state):
        body = self.token(generation, keys_changed_at, client_state).json
        return StorageClient(self.app, body)


class StorageClient:
    """Hawk requests to the token's ``api_endpoint``, exactly as given."""

    def __init__(self, app, token_body):
        self.endpoint = token_body["api_endpoint"]
        self.uid = token_body["uid"]
        self.hawk = HawkClient(app, self.uid, token=token_body["id"], key=token_body["key"])

    def get(self, path, **kwargs):
        return self.hawk.request("GET", url=self.endpoint + path, **kwargs)

    def put(self, path, record, **kwargs):
        return self.hawk.request("PUT", url=self.endpoint + path, json_body=record, **kwargs)


@pytest.fixture
def account(app, signing_key):
    return Account(app, signing_key)


@pytest.fixture
def admin(ini, capsys):
    """``admin(*args)`` -> (exit status, stdout, stderr) of one console command."""

    def admin(*args: str) -> tuple[int, str, str]:
        status = sync_admin(["-c", str(ini), "tokenserver", *args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return admin


def test_token_credentials_open_the_storage(account):
    storage = account.storage(1, 1, "aaaa")
    assert storage.endpoint == f"{PUBLIC_URL}1.5/{storage.uid}"
    assert storage.get("/info/collections").json == {}
    storage.put("/storage/bookmarks/b1", {"payload": "hello"})
    assert list(storage.get("/info/collections").json) == ["bookmarks"]
    # A second token for the same keys reaches the same data.
    assert list(account.storage(1, 1, "aaaa").get("/info/collections").json) == ["bookmarks"]


def test_credentials_are_bound_to_their_uid(account, app, signing_key):
    mine = account.storage(1, 1, "aaaa")
    theirs = Account(app, signing_key).storage(1, 1, "aaaa")
    mine.hawk.request("GET", url=theirs.endpoint + "/info/collections", status=401)


def test_key_change_starts_an_empty_bucket(account):
    old = account.storage(1, 1, "aaaa")
    old.put("/storage/bookmarks/b1", {"payload": "hello"})
    new = account.storage(2, 2, "bbbb")
    assert new.uid != old.uid
    assert new.get("/info/collections").json == {}


def test_purge_replaced(account, app, admin, signing_key):
    old = account.storage(1, 1, "aaaa")
    old.put("/storage/bookmarks/b1", {"payload": "hello"})
    kept = Account(app, signing_key).storage(1, 1, "aaaa")
    kept.put("/storage/tabs/t1", {"payload": "mine"})
    account.storage(2, 2, "bbbb").put("/storage/history/h1", {"payload": "new"})

    assert admin("purge-replaced") == (0, "purged the storage of 0 replaced uids\n", "")

    status, out, _err = admin("purge-replaced", "--grace-seconds", "0", "--dry-run")
    assert status == 0
    assert f"would purge uid {old.uid} " in out
    assert list(old.get("/info/collections").json) == ["bookmarks"]

    status, out, _err = admin("purge-replaced", "--grace-seconds", "0", "--batch-size", "1")
    assert (status, out) == (0, "purged the storage of 1 replaced uid\n")
    # The old uid's data is gone (its old token still opens the empty bucket).
    assert old.get("/info/collections").json == {}
    assert list(kept.get("/info/collections").json) == ["tabs"]
    assert list(account.storage(2, 2, "bbbb").get("/info/collections").json) == ["history"]
    assert admin("purge-replaced", "--grace-seconds", "0")[1] == \
        "purged the storage of 0 replaced uids\n"
    # The purged state is still remembered: going back to it is refused.
    assert account.token(3, 3, "aaaa", status=401).json["status"] == "invalid-client-state"


def test_retire(account, admin):
    account.token(5, 5, "aaaa")
    assert admin("retire", account.fxa_uid) == (0, f"retired {account.fxa_uid}\n", "")
    assert account.token(6, 6, "aaaa", status=401).json["status"] == "invalid-generation"
    status, _out, err = admin("retire", account.fxa_uid)
    assert status == 1 and "no current token server account" in err
    status, _out, err = admin("retire", "not/an/id")
    assert status == 1 and "not an account id" in err


def test_installed_console_has_the_commands(ini):
    result = run_sync_admin(ini, "tokenserver", "purge-replaced", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would purge the storage of 0 replaced uids" in result.stdout
