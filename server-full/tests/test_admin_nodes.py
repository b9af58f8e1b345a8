"""``sync-admin node ...`` on an ini file written for the test, checked through
the application's node lookup (User API 1.0 US-NODE) on the same database.

The console's ``main`` runs in the test process: the installed entry point
is exercised by test_admin.py, and a process start per command would cost
seconds each."""
from __future__ import annotations

import json

import pytest

from synccore.testing import make_settings, make_test_app
from syncserver.admin import main
from syncserver.testing import database_ini

PASSWORD = "correct horse battery"


@pytest.fixture
def ini(tmp_path, database_url):
    return database_ini(tmp_path / "sync.ini", database_url)


@pytest.fixture
def admin(ini, capsys):
    def run(*args: str, status: int = 0) -> str:
        capsys.readouterr()
        assert main(["-c", str(ini), "node", *args]) == status
        out, err = capsys.readouterr()
        return out if status == 0 else err
    return run


@pytest.fixture
def app(database_url):
    app = make_test_app(make_settings(database_url, **{"auth.strict_usernames": "false",
                                                       "server.public_url": "https://box/"}))
    yield app
    # The console's exit disposes the shared engine cache; the engines this app
    # still holds are closed here, or their connections would leak.
    for backend in vars(app.app.registry).values():
        engine = getattr(backend, "engine", None)
        if engine is not None:
            engine.dispose()


def node_of(app, username: str) -> str:
    return app.get(f"/user/1.0/{username}/node/weave").text


def test_node_commands(admin, app):
    for name in ("alice", "bob", "carol"):
        app.put(f"/user/1.0/{name}", json.dumps({"email": "x@example.com",
                                                 "password": PASSWORD}))
    assert node_of(app, "alice") == "https://box/"  # no node yet: the single box

    assert "added sync-1.1 node https://one.example/ (capacity 1)" in admin(
        "add", "one.example", "--capacity", "1")
    admin("add", "https://two.example/", "--capacity", "1")
    admin("add", "https://five.example/", "--capacity", "5", "--service", "sync-1.5")
    assert node_of(app, "alice") in ("https://one.example/", "https://two.example/")
    node_of(app, "bob")
    assert node_of(app, "carol") == "null"  # both full

    admin("set-capacity", "one.example", "3")
    admin("down", "https://two.example/")
    assert node_of(app, "carol") == "https://one.example/"
    admin("up", "https://two.example")

    rows = [line.split() for line in admin("list").splitlines()]
    assert rows[0] == ["service", "url", "capacity", "assigned", "down"]
    assert sorted(rows[1:]) == sorted([
        ["sync-1.1", "https://one.example/", "3", rows[1][3], "no"],
        ["sync-1.1", "https://two.example/", "1", rows[2][3], "no"],
        ["sync-1.5", "https://five.example/", "5", "0", "no"]])
    assert int(rows[1][3]) + int(rows[2][3]) == 3
    assert len(admin("list", "--service", "sync-1.5").splitlines()) == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_node_command_errors(admin, database_url):
    admin("add", "https://one.example/", "--capacity", "1")
    assert "already exists" in admin("add", "one.example", "--capacity", "2", status=1)
    assert "no sync-1.1 node https://nope.example/" in admin("down", "nope.example",
                                                             status=1)
    assert "no sync-1.5 node" in admin("set-capacity", "https://one.example/", "2",
                                       "--service", "sync-1.5", status=1)
    assert "non-negative" in admin("set-capacity", "one.example", "-1", status=2)
    assert "required" in admin("add", "two.example", status=2)
