"""A database that is down, or goes away mid-run, gives 503s that clients back off from.

Sync clients retry after ``Retry-After`` when they get a 503 whose body is
the JSON string ``"application error: crash id …"``; a 500 or a traceback
would instead be reported to the user as a server bug.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy.engine.url import make_url

from synccore.db import normalise_url
from synccore.testing import basic_auth, make_settings, make_test_app
from syncserver.testing import TcpRelay, free_port

pytestmark = pytest.mark.slow

RETRY_AFTER = "1800"  # server.retry_after_seconds default
CRASH_BODY = re.compile(r'^"application error: crash id [0-9a-f]{32}"$')
AUTH = basic_auth("alice", "correct horse battery")
# X-Confirm-Delete lets DELETE /storage reach the database (1.1 asks for it).
HEADERS = {**AUTH, "X-Confirm-Delete": "1"}

UNREACHABLE = {
    "mysql": "mysql+pymysql://root@127.0.0.1:{port}/x",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:{port}/x",
}

SYNC_REQUESTS = [
    ("GET", "/1.1/alice/info/collections", None),
    ("GET", "/1.1/alice/info/quota", None),
    ("GET", "/1.1/alice/storage/bookmarks?full=1", None),
    ("GET", "/1.1/alice/storage/bookmarks/abc", None),
    ("PUT", "/1.1/alice/storage/bookmarks/abc", b'{"id": "abc", "payload": "x"}'),
    ("POST", "/1.1/alice/storage/bookmarks", b'[{"id": "abc", "payload": "x"}]'),
    ("DELETE", "/1.1/alice/storage/bookmarks/abc", None),
    ("DELETE", "/1.1/alice/storage", None),
]


def assert_backs_off(response, request: str = "") -> None:
    assert response.status_int == 503, (request, response)
    assert response.headers["Retry-After"] == RETRY_AFTER
    assert response.content_type == "application/json"
    assert CRASH_BODY.match(response.text), response.text
    assert "Traceback" not in response.text


def assert_heartbeat_fails(app) -> None:
    response = app.get("/__heartbeat__", expect_errors=True)
    assert response.status_int == 503
    assert response.headers["Retry-After"] == RETRY_AFTER


@pytest.mark.parametrize("engine", sorted(UNREACHABLE))
def test_unreachable_database_answers_503_with_retry_after(engine):
    url = UNREACHABLE[engine].format(port=free_port())
    app = make_test_app(make_settings(url, **{"db.auto_migrate": "false"}))
    for method, path, body in SYNC_REQUESTS:
        response = app.request(path, method=method, body=body, headers=HEADERS,
                               content_type="application/json" if body else None,
                               expect_errors=True)
        assert_backs_off(response, f"{method} {path}")
    assert_heartbeat_fails(app)


@pytest.mark.parametrize("engine", sorted(UNREACHABLE))
def test_separate_unreachable_storage_database_answers_503(engine, sqlite_url):
    """Users answer, storage does not: requests still end in a 503."""
    storage_url = UNREACHABLE[engine].format(port=free_port())
    app = make_test_app(make_settings(sqlite_url, **{
        "db.auto_migrate": "false", "storage.sqlalchemy.url": storage_url}))
    # The user store (SQLite) works; create its schema and one account.
    users = app.app.registry.users
    users.upgrade_schema()
    users.create_user("alice", "correct horse battery")
    for method, path, body in SYNC_REQUESTS:
        response = app.request(path, method=method, body=body, headers=HEADERS,
                               content_type="application/json" if body else None,
                               expect_errors=True)
        assert_backs_off(response, f"{method} {path}")
    assert_heartbeat_fails(app)


@pytest.mark.parametrize("database_url", ["mysql", "postgresql"], indirect=True)
def test_database_lost_mid_run_answers_503_then_recovers(database_url):
    target = make_url(normalise_url(database_url))
    default_port = 3306 if target.get_backend_name() == "mysql" else 5432
    with TcpRelay(target.host, target.port or default_port) as relay:
        relayed_url = target.set(host="127.0.0.1", port=relay.port) \
            .render_as_string(hide_password=False)
        app = make_test_app(make_settings(relayed_url))
        app.app.registry.users.create_user("alice", "correct horse battery")
        app.put_json("/1.1/alice/storage/bookmarks/abc", {"id": "abc", "payload": "x"},
                     headers=AUTH)
        assert app.get("/__heartbeat__").status_int == 200

        relay.cut()  # every pooled connection dies, new ones are refused
        for method, path, body in SYNC_REQUESTS:
            response = app.request(path, method=method, body=body, headers=HEADERS,
                                   content_type="application/json" if body else None,
                                   expect_errors=True)
            assert_backs_off(response, f"{method} {path}")
        assert_heartbeat_fails(app)

        relay.restore()  # the database is back: so is the service
        assert app.get("/__heartbeat__").status_int == 200
        assert set(app.get("/1.1/alice/info/collections", headers=AUTH).json) == \
            {"bookmarks"}
