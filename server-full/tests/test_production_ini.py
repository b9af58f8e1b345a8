"""production.ini as shipped: its secrets come from the environment.

Without SYNC_DATABASE_URL it must refuse to start and say which variable is
missing; with it, the documented steps (``sync-admin db upgrade``, add a
user) give a server that syncs.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from paste.deploy import loadapp
from webtest import TestApp

from synccore.settings import ConfigurationError
from synccore.testing import basic_auth
from syncserver.testing import run_sync_admin

pytestmark = pytest.mark.slow

PUBLIC_URL = "https://sync.example.com/"


@pytest.fixture
def production_ini(request):
    return request.config.rootpath / "production.ini"


@pytest.fixture
def production_env(monkeypatch):
    """The process environment without any database or public URL."""
    for name in ("SYNC_DATABASE_URL", "SYNC_PUBLIC_URL", "SYNC_SQLALCHEMY_URL",
                 "SYNC_SERVER_PUBLIC_URL", "SYNC_INI"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_missing_database_url_is_a_clear_configuration_error(production_ini,
                                                             production_env):
    production_env.setenv("SYNC_PUBLIC_URL", PUBLIC_URL)
    with pytest.raises(ConfigurationError, match=r"SYNC_DATABASE_URL.* not set"):
        loadapp(f"config:{production_ini}")


def test_missing_public_url_is_a_clear_configuration_error(production_ini, production_env,
                                                           sqlite_url):
    production_env.setenv("SYNC_DATABASE_URL", sqlite_url)
    with pytest.raises(ConfigurationError, match=r"SYNC_PUBLIC_URL.* not set"):
        loadapp(f"config:{production_ini}")


def test_sync_wsgi_loads_production_ini_by_default(request, production_env):
    """Without SYNC_INI, sync.wsgi reads production.ini (hence the same message)."""
    script = request.config.rootpath / "sync.wsgi"
    result = subprocess.run(
        [sys.executable, "-c", f"import runpy; runpy.run_path({str(script)!r})"],
        capture_output=True, text=True, env=dict(os.environ), timeout=120, check=False)
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert "SYNC_DATABASE_URL" in result.stderr


@pytest.mark.parametrize("database_url", ["mysql", "postgresql"], indirect=True)
def test_production_ini_serves_with_a_database_url(production_ini, production_env,
                                                   database_url):
    production_env.setenv("SYNC_DATABASE_URL", database_url)
    production_env.setenv("SYNC_PUBLIC_URL", PUBLIC_URL)
    # db.auto_migrate is off in production: the schema comes from the console.
    for command in (["db", "upgrade"], ["user", "add", "alice", "--password-stdin"]):
        result = run_sync_admin(production_ini, *command, input="correct horse battery\n")
        assert result.returncode == 0, result.stderr

    app = TestApp(loadapp(f"config:{production_ini}"))
    assert app.get("/__heartbeat__").status_int == 200
    assert app.get("/user/1.0/alice/node/weave").text == PUBLIC_URL
    auth = basic_auth("alice", "correct horse battery")
    modified = float(app.put_json("/1.1/alice/storage/bookmarks/abc",
                                  {"id": "abc", "payload": "production"}, headers=auth).text)
    record = app.get("/1.1/alice/storage/bookmarks/abc", headers=auth).json
    assert (record["payload"], record["modified"]) == ("production", modified)
    assert app.get("/1.1/alice/info/collections", headers=auth).json == {"bookmarks": modified}
