"""``bin/paster serve`` with the development configuration, over real HTTP.

The ini is development.ini itself, copied into a temporary directory so its
``%(here)s`` SQLite file lives there, with only the port changed.
"""
from __future__ import annotations

import re
import signal

import pytest

from syncserver.testing import PasterServer, free_port, http_request, run_sync_admin

pytestmark = pytest.mark.slow


@pytest.fixture
def development_ini(request, tmp_path):
    port = free_port()
    text = (request.config.rootpath / "development.ini").read_text(encoding="utf-8")
    text, replaced = re.subn(r"(?m)^port = \d+$", f"port = {port}", text)
    assert replaced == 1, "development.ini no longer has one `port =` line"
    text = re.sub(r"(?m)^server\.public_url = .*$",
                  f"server.public_url = http://127.0.0.1:{port}/", text)
    ini = tmp_path / "development.ini"
    ini.write_text(text, encoding="utf-8")
    return ini, port


def test_paster_serves_the_readme_round_trip(development_ini, tmp_path):
    ini, port = development_ini
    with PasterServer(ini, port) as server:
        base = server.base_url
        added = run_sync_admin(ini, "user", "add", "alice", "--password-stdin",
                               input="correct horse battery\n")
        assert added.returncode == 0, added.stderr
        auth = ("alice", "correct horse battery")

        node = http_request("GET", f"{base}/user/1.0/alice/node/weave")
        assert (node.status, node.body) == (200, f"http://127.0.0.1:{port}/".encode())

        put = http_request("PUT", f"{base}/1.1/alice/storage/bookmarks/abc",
                           {"id": "abc", "payload": "hello over HTTP"}, auth=auth)
        assert put.status == 200, put.body
        modified = float(put.body)

        got = http_request("GET", f"{base}/1.1/alice/storage/bookmarks/abc", auth=auth)
        assert got.status == 200
        assert got.json()["payload"] == "hello over HTTP"
        assert got.json()["modified"] == modified

        info = http_request("GET", f"{base}/1.1/alice/info/collections", auth=auth)
        assert info.status == 200
        assert info.json() == {"bookmarks": modified}
        assert info.headers["X-Weave-Records"] == "1"

        wrong = http_request("GET", f"{base}/1.1/alice/info/collections",
                             auth=("alice", "wrong password"))
        assert wrong.status == 401
        assert wrong.headers["WWW-Authenticate"].startswith("Basic")

        status = server.stop()
    # SIGTERM ends waitress at once; nothing may have crashed on the way.
    assert status in (0, -signal.SIGTERM), server.output
    assert "Traceback" not in server.output
    assert (tmp_path / "var" / "sync.db").exists()  # the copy's own database
