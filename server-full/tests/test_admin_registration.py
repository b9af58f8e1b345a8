"""``bin/sync-admin`` on what the registration server keeps: expired password-reset
codes purged by ``purge-expired``, and accounts created in a real slapd."""
from __future__ import annotations

import dataclasses
import time

from synccore.testing import basic_auth, make_settings, make_test_app
from syncreg.testing import SMTPCapture
from syncserver.testing import run_sync_admin, write_ini

PASSWORD = "correct horse battery"
NON_ASCII = "Françios@valid.test"


def assert_clean_failure(result, exit_code: int, message: str) -> None:
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_purge_expired_removes_expired_reset_codes(sqlite_url, tmp_path):
    """US-RC2: expired codes may be purged; valid ones keep working. (The
    store's purge itself is tested on every engine with the store.)"""
    ini = write_ini(tmp_path / "sync.ini", {"sqlalchemy.url": sqlite_url,
                                            "db.auto_migrate": "true"})
    with SMTPCapture() as smtp:
        app = make_test_app(make_settings(sqlite_url, **smtp.settings(), **{
            "auth.strict_usernames": "false", "reset_codes.secret": "test secret"}))
        codes = app.app.registry.reset_codes
        for name in ("alice", "bob"):
            app.app.registry.users.create_user(name, PASSWORD, f"{name}@example.com")
            app.get(f"/user/1.0/{name}/password_reset")
        bob_code = smtp.messages[-1].reset_link()[1]["key"]
    # Alice's code ran out a second ago.
    codes.replace(dataclasses.replace(codes.get("alice"), expires_at=int(time.time()) - 1))

    result = run_sync_admin(ini, "purge-expired")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["no expired records", "purged 1 expired reset codes"]
    assert codes.get("alice") is None
    assert codes.get("bob") is not None
    app.post("/user/1.0/bob/password", b"newpasswordhere",
             headers={"X-Weave-Password-Reset": bob_code})
    app.get("/1.1/bob/info/collections", headers=basic_auth("bob", "newpasswordhere"))


def test_user_add_checks_the_address(sqlite_url, tmp_path):
    ini = write_ini(tmp_path / "sync.ini", {"sqlalchemy.url": sqlite_url})
    result = run_sync_admin(ini, "user", "add", "alice", "--email", "bademailhere",
                            "--password-stdin", input=PASSWORD + "\n")
    assert_clean_failure(result, 2, "invalid e-mail address 'bademailhere'")


def test_user_add_in_a_directory(slapd, sqlite_url, tmp_path):
    """The account lands in the directory; an address its ``mail`` attribute
    cannot hold (ASCII only) is one clear error line and nothing is created."""
    users_base = slapd.new_users_base()
    ini = write_ini(tmp_path / "sync.ini", {"sqlalchemy.url": sqlite_url,
                                            "db.auto_migrate": "true",
                                            **slapd.settings(users_base)})
    refused = run_sync_admin(ini, "user", "add", "alice", "--email", NON_ASCII,
                             "--password-stdin", input=PASSWORD + "\n")
    assert_clean_failure(refused, 1, f"cannot keep the e-mail address {NON_ASCII!r}")
    assert slapd.read_attribute(f"uid=alice,{users_base}", "uid") == []

    created = run_sync_admin(ini, "user", "add", "alice", "--email", " alice@example.com ",
                             "--password-stdin", input=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    assert slapd.read_attribute(f"uid=alice,{users_base}", "mail") == [b"alice@example.com"]

    app = make_test_app(make_settings(sqlite_url, **slapd.settings(users_base)))
    try:
        users = app.app.registry.users
        assert [(user.username, user.email) for user in users.iter_users()] == \
            [("alice", "alice@example.com")]
        app.get("/1.1/alice/info/collections", headers=basic_auth("alice", PASSWORD))
    finally:
        users.close()
