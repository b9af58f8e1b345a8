"""The installed ``bin/sync-admin``, run as an administrator would run it.

Every command runs in its own process against an ini file written for the
test; its effects are checked through the real application on the same
database (accounts that can or cannot sync, records that are gone).
"""
from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

import pytest
import sqlalchemy as sa

from synccore.db import get_engine
from synccore.testing import (
    DATABASE_ENGINES,
    basic_auth,
    make_settings,
    make_test_app,
    skip_unless_engine,
    temporary_database,
)
from synccore.timestamps import now_centis
from syncserver.testing import BIN, database_ini, free_port, run_sync_admin, write_ini
from syncstorage.storage.schema import bso, user_collections

PASSWORD = "correct horse battery"


@pytest.fixture
def ini(tmp_path, database_url):
    """An ini on the test's database, as the running server would use it."""
    return database_ini(tmp_path / "sync.ini", database_url)


@pytest.fixture
def fresh_database_url(request, tmp_path):
    """A database with no tables at all, on each engine."""
    engine = request.param
    skip_unless_engine(engine)
    with temporary_database(engine, str(tmp_path)) as url:
        yield url


def add_user(ini, name: str = "alice", password: str = PASSWORD, *extra: str):
    result = run_sync_admin(ini, "user", "add", name, "--password-stdin", *extra,
                            input=password + "\n")
    assert result.returncode == 0, result.stderr
    return result


def assert_clean_failure(result: subprocess.CompletedProcess, exit_code: int,
                         message: str) -> None:
    """One explanatory line on stderr, the documented status, no traceback."""
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "sync-admin: error:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def user_rows(ini) -> list[list[str]]:
    result = run_sync_admin(ini, "user", "list")
    assert result.returncode == 0, result.stderr
    return [line.split() for line in result.stdout.splitlines()]


# -- accounts ------------------------------------------------------------------
# Every command costs a process start, so the account tests that do not
# depend on the engine run on SQLite only; the user store's own suite covers
# the engines.

@pytest.fixture
def sqlite_ini(tmp_path, sqlite_url):
    return database_ini(tmp_path / "sync.ini", sqlite_url)


@pytest.fixture
def sqlite_app(sqlite_url, sqlite_ini):
    return make_test_app(make_settings(sqlite_url))


def test_account_lifecycle_takes_effect_at_once(sqlite_ini, sqlite_app):
    app, ini = sqlite_app, sqlite_ini
    result = add_user(ini, "alice", "first password", "--email", "alice@example.com")
    users = app.app.registry.users
    userid = users.get_user("alice").userid
    assert result.stdout.strip() == f"created user alice (id {userid})"

    old, new = basic_auth("alice", "first password"), basic_auth("alice", "second password")
    app.put_json("/1.1/alice/storage/bookmarks/b1", {"id": "b1", "payload": "hello"},
                 headers=old)
    assert app.get("/1.1/alice/storage/bookmarks/b1", headers=old).json["payload"] == "hello"

    changed = run_sync_admin(ini, "user", "set-password", "alice", "--password-stdin",
                             input="second password\n")
    assert changed.returncode == 0, changed.stderr
    app.get("/1.1/alice/info/collections", headers=old, status=401)
    app.get("/1.1/alice/info/collections", headers=new, status=200)

    disabled = run_sync_admin(ini, "user", "disable", "alice")
    assert (disabled.returncode, disabled.stdout.strip()) == (0, "disabled user alice")
    app.get("/1.1/alice/info/collections", headers=new, status=401)
    assert user_rows(ini) == [["username", "id", "email", "disabled"],
                              ["alice", str(userid), "alice@example.com", "yes"]]

    enabled = run_sync_admin(ini, "user", "enable", "alice")
    assert (enabled.returncode, enabled.stdout.strip()) == (0, "enabled user alice")
    assert set(app.get("/1.1/alice/info/collections", headers=new).json) == {"bookmarks"}


def test_delete_user_removes_the_account_and_its_records(ini, app, database_url):
    users = app.app.registry.users
    alice = users.create_user("alice", PASSWORD)
    bob = users.create_user("bob", PASSWORD)
    for name in ("alice", "bob"):
        for collection in ("bookmarks", "history"):
            app.post_json(f"/1.1/{name}/storage/{collection}",
                          [{"id": f"r{n}", "payload": "x" * 10} for n in range(3)],
                          headers=basic_auth(name, PASSWORD))

    result = run_sync_admin(ini, "user", "delete", "alice")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == \
        f"deleted user alice (id {alice.userid}) and all their stored data"

    assert users.get_user("alice") is None
    app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD), status=401)
    with get_engine(database_url).connect() as conn:
        for table in (bso, user_collections):
            owners = conn.execute(sa.select(table.c.userid).distinct()).scalars().all()
            assert owners == [bob.userid], table.name
    assert app.get("/1.1/bob/info/collection_counts", headers=basic_auth("bob", PASSWORD)) \
        .json == {"bookmarks": 3, "history": 3}

    # The name can be taken again, and the new account starts empty.
    users.create_user("alice", PASSWORD)
    assert app.get("/1.1/alice/info/collections",
                   headers=basic_auth("alice", PASSWORD)).json == {}


# -- maintenance ---------------------------------------------------------------

def test_purge_expired_removes_expired_records_and_fixes_counts(ini, app, database_url):
    userid = app.app.registry.users.create_user("alice", PASSWORD).userid
    auth = basic_auth("alice", PASSWORD)
    # ttl 0 expires at once; the live records keep the collection non-empty.
    app.post_json("/1.1/alice/storage/history",
                  [{"id": f"gone{n}", "payload": "x" * 100, "ttl": 0} for n in range(5)]
                  + [{"id": f"kept{n}", "payload": "y" * 10} for n in range(2)], headers=auth)
    app.post_json("/1.1/alice/storage/tabs",
                  [{"id": "tab", "payload": "z" * 50, "ttl": 0}], headers=auth)
    visible = app.get("/1.1/alice/info/collection_counts", headers=auth).json
    assert visible == {"history": 2}

    result = run_sync_admin(ini, "purge-expired", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["purged 6 expired records", "no expired reset codes"]
    assert "100% 6/6" in result.stderr  # the progress bar
    assert "Traceback" not in result.stderr

    assert app.app.registry.storage.count_expired(now_centis()) == 0
    with get_engine(database_url).connect() as conn:
        ids = conn.execute(sa.select(bso.c.id).order_by(bso.c.id)).scalars().all()
        stored = {row.collection: (row.record_count, row.payload_bytes) for row in
                  conn.execute(sa.select(user_collections)
                               .where(user_collections.c.userid == userid))}
    assert ids == ["kept0", "kept1"]
    assert stored == {"history": (2, 20), "tabs": (0, 0)}
    assert app.get("/1.1/alice/info/collection_counts", headers=auth).json == visible
    assert app.get("/1.1/alice/info/collection_usage", headers=auth).json == \
        {"history": 20 / 1024}

    again = run_sync_admin(ini, "purge-expired")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["no expired records", "no expired reset codes"]
    assert "%" not in again.stderr  # no bar when there is nothing to do


@pytest.mark.parametrize("fresh_database_url", DATABASE_ENGINES, indirect=True)
def test_db_upgrade_creates_the_schema_without_auto_migrate(fresh_database_url, tmp_path):
    ini = write_ini(tmp_path / "sync.ini", {"sqlalchemy.url": fresh_database_url,
                                            "db.auto_migrate": "false"})
    before = run_sync_admin(ini, "user", "list")
    assert_clean_failure(before, 4, "run `sync-admin db upgrade`")

    for _ in range(2):  # the second run finds nothing to do
        result = run_sync_admin(ini, "db", "upgrade")
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        # Every backend with tables of its own, users and storage first.
        assert lines[:2] == ["users: schema is at the latest revision",
                             "storage: schema is at the latest revision"]
        assert all(line.endswith(": schema is at the latest revision") for line in lines)

    add_user(ini, "alice")
    app = make_test_app(make_settings(fresh_database_url, **{"db.auto_migrate": "false"}))
    auth = basic_auth("alice", PASSWORD)
    app.put_json("/1.1/alice/storage/prefs/p", {"id": "p", "payload": "{}"}, headers=auth)
    assert set(app.get("/1.1/alice/info/collections", headers=auth).json) == {"prefs"}


# -- expected failures ---------------------------------------------------------

def test_missing_ini_is_reported(tmp_path):
    default = run_sync_admin(None, "user", "list", cwd=tmp_path)
    assert_clean_failure(default, 3, f"configuration file not found: {tmp_path}/development.ini")
    named = run_sync_admin(tmp_path / "nowhere.ini", "user", "list")
    assert_clean_failure(named, 3, "nowhere.ini")


@pytest.mark.parametrize("command", [["user", "delete"], ["user", "enable"],
                                     ["user", "set-password", "--password-stdin"]])
def test_unknown_user_is_reported(sqlite_ini, command):
    result = run_sync_admin(sqlite_ini, *command[:2], "nobody", *command[2:],
                            input="password\n")
    assert_clean_failure(result, 1, "no such user: nobody")


def test_existing_user_is_not_replaced(sqlite_ini, sqlite_app):
    sqlite_app.app.registry.users.create_user("alice", "first password")
    again = run_sync_admin(sqlite_ini, "user", "add", "alice", "--password-stdin",
                           input="other password\n")
    assert_clean_failure(again, 1, "user alice already exists")
    sqlite_app.get("/1.1/alice/info/collections",
                   headers=basic_auth("alice", "first password"), status=200)


@pytest.mark.parametrize("stdin", ["", "\r\n"])
def test_empty_password_is_refused(sqlite_ini, sqlite_app, stdin):
    result = run_sync_admin(sqlite_ini, "user", "add", "alice", "--password-stdin",
                            input=stdin)
    assert_clean_failure(result, 1, "refusing an empty password")
    assert list(sqlite_app.app.registry.users.iter_users()) == []


@pytest.mark.parametrize("name", ["bad name", "x" * 33])
def test_unusable_username_is_a_usage_error(tmp_path, name):
    # Rejected before the ini is even read.
    result = run_sync_admin(tmp_path / "unused.ini", "user", "add", name)
    assert result.returncode == 2
    assert "invalid username" in result.stderr
    assert "Traceback" not in result.stderr


UNREACHABLE = {
    "mysql": "mysql+pymysql://root@127.0.0.1:{port}/x",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:{port}/x",
}


@pytest.mark.parametrize(("auto_migrate", "command"), [
    ("true", ["user", "list"]),    # fails while loading (migrating)
    ("false", ["user", "list"]),   # fails in the command
    ("false", ["db", "upgrade"]),
])
@pytest.mark.parametrize("engine", sorted(UNREACHABLE))
def test_unreachable_database_is_reported(tmp_path, engine, command, auto_migrate):
    url = UNREACHABLE[engine].format(port=free_port())
    ini = write_ini(tmp_path / "sync.ini", {"sqlalchemy.url": url,
                                            "db.auto_migrate": auto_migrate})
    result = run_sync_admin(ini, *command)
    assert_clean_failure(result, 4, "database unreachable or failing")
    assert "Connection refused" in result.stderr or "connection refused" in result.stderr


def test_production_ini_names_the_missing_variable(request):
    env = {name: value for name, value in os.environ.items()
           if name not in ("SYNC_DATABASE_URL", "SYNC_SQLALCHEMY_URL")}
    production = request.config.rootpath / "production.ini"
    result = run_sync_admin(production, "user", "list", env=env)
    assert_clean_failure(result, 3, "SYNC_DATABASE_URL")


def test_help_lists_every_command_group():
    result = run_sync_admin(None, "--help")
    assert result.returncode == 0
    for group in ("user", "db", "purge-expired"):
        assert re.search(rf"^\s+{group}\s", result.stdout, re.MULTILINE), group


# -- the interactive prompt ----------------------------------------------------

def _read_until(fd: int, marker: bytes, timeout: float = 60) -> bytes:
    """Read a terminal's output until ``marker`` (or end of output)."""
    output = b""
    deadline = time.monotonic() + timeout
    while marker not in output:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"waited for {marker!r}, got {output!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the program exited and closed the terminal
            break
        if not chunk:
            break
        output += chunk
    return output


def run_on_terminal(ini, args: list[str], answers: list[str]) -> tuple[int, bytes]:
    """Run sync-admin on a pseudo-terminal, typing ``answers`` at its prompts."""
    controller, terminal = pty.openpty()
    # A session of its own: the prompt must use this terminal, not the one
    # the tests may run in.
    process = subprocess.Popen([str(BIN / "sync-admin"), "-c", str(ini), *args],
                               stdin=terminal, stdout=terminal, stderr=terminal,
                               start_new_session=True)
    os.close(terminal)
    try:
        output = b""
        for answer in answers:
            output += _read_until(controller, b"password: ")
            os.write(controller, answer.encode() + b"\n")
        output += _read_until(controller, b"\x00")
        return process.wait(timeout=60), output
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()


def test_password_prompt_asks_twice_without_echo(sqlite_ini, sqlite_app):
    ini = sqlite_ini
    status, output = run_on_terminal(ini, ["user", "add", "alice"],
                                     ["first secret", "other secret"])
    assert status == 1
    assert b"the two passwords differ" in output
    assert b"first secret" not in output
    assert b"other secret" not in output

    status, output = run_on_terminal(ini, ["user", "add", "alice"],
                                     ["typed secret", "typed secret"])
    assert status == 0, output
    assert b"created user alice" in output
    assert b"typed secret" not in output
    sqlite_app.get("/1.1/alice/info/collections", headers=basic_auth("alice", "typed secret"),
            status=200)
