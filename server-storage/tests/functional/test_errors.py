"""Error answers (spec sections 3.1, 3.2 and 13) and hostile input: every bad
request gets its protocol status, never a 5xx, and leaves stored data as it was."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from storage11_support import PASSWORD, TIMESTAMP, SyncClient, error_code, timestamp_of

from synccore.db import normalise_url
from synccore.testing import make_settings, make_test_app
from syncserver import make_config

CRASH_BODY = re.compile(r"application error: crash id [0-9a-f]{8,}")


def test_st_e1_code_bodies_are_bare_integers(client):
    """ST-E1: the body of a coded 400 is the bare number, application/json, no newline."""
    response = client.put("/storage/col/a", b"{", status=400)
    assert response.body == b"6"
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    assert int(response.body) == 6


def test_st_e2_every_storage_code(client):
    """ST-E2: 4, 6, 8 and 13 as the table assigns them (14 and 17 have their own tests)."""
    assert error_code(client.delete("/storage", status=400)) == 4
    assert error_code(client.put("/storage/col/a", b"[", status=400)) == 6
    assert error_code(client.post("/storage/col", b"[", status=400)) == 6
    assert error_code(client.put("/storage/col/a", b"[]", status=400)) == 8
    assert error_code(client.post("/storage/col", b'"x"', status=400)) == 8
    assert error_code(client.get("/storage/" + "x" * 33, status=400)) == 13
    assert client.collections() == {}


def test_st_e3_parameter_errors_have_no_code(client):
    """ST-E3: a malformed parameter gets a short text page naming it, not a number."""
    response = client.get("/storage/col?limit=abc", status=400)
    assert response.body.startswith(b"400 Bad Request")
    assert b"limit" in response.body
    response = client.delete("/storage/col", headers={"X-If-Unmodified-Since": "abc"},
                             status=400)
    assert b"X-If-Unmodified-Since" in response.body


def test_code_17_for_bodies_over_the_request_limit(client):
    """ST-E2 / section 10: a body above storage.max_request_bytes -> 400 code 17."""
    client.put_record("col", "a", {"payload": "kept"})
    before = client.snapshot("col")
    limit = client.testapp.app.registry.settings["storage.max_request_bytes"]
    assert limit >= 2 * 1024 * 1024
    big = b'{"payload": "' + b"x" * limit + b'"}'
    assert error_code(client.put("/storage/col/a", big, status=400)) == 17
    big_batch = b'[{"id": "a", "payload": "' + b"x" * limit + b'"}]'
    assert error_code(client.post("/storage/col", big_batch, status=400)) == 17
    assert error_code(client.put("/storage/col", big_batch, status=400)) == 17
    assert client.snapshot("col") == before


def test_bodies_just_under_the_request_limit_are_processed(make_client):
    """Section 10: the size limit is on the body; a large body under it is handled normally."""
    client = make_client(**{"storage.max_request_bytes": 1_200_000})
    batch = [{"id": str(i), "payload": "x" * 210_000} for i in range(5)]
    body = json.dumps(batch).encode()
    assert len(body) < 1_200_000
    assert client.post("/storage/col", body).json["failed"] == {"4": ["retry bytes"]}
    assert error_code(client.post("/storage/col", body + b" " * 200_000, status=400)) == 17


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
def test_invalid_utf8_in_the_path_is_404(client, method):
    """ST-R6 / ST-R4: percent-encoded bytes that are not UTF-8 name no resource: 404
    (with or without credentials: routing comes first)."""
    client.put_record("col", "a", {"payload": "kept"})
    before = client.snapshot("col")
    for path in ("/storage/col/%FF", "/storage/col/%C3", "/storage/col/%ED%A0%80",
                 "/storage/%FF", "/storage/col/a%80b", "/info/%FE", "/storage/col/%F0%9F%98",
                 "/storage/col/%FF/"):
        response = client.request(method, path, {"payload": "x"}, status=404)
        assert b"404 Not Found" in response.body
        response = client.request(method, path, {"payload": "x"}, auth=False, status=404)
        assert "X-Weave-Timestamp" in response.headers
    assert client.snapshot("col") == before


def test_invalid_utf8_in_the_username_is_404(app):
    """ST-R2 / ST-R7: a path user with bytes that are not UTF-8 matches no route."""
    response = app.get("/1.1/%FF/info/collections", expect_errors=True)
    assert response.status_int == 404


@pytest.mark.parametrize("headers", [
    {"X-If-Unmodified-Since": "\x7f"}, {"Accept": "application/whoisi;q=nan"},
    {"Accept": "*/*;q=inf, application/newlines"}, {"Accept": "ÿÿÿ"},
    {"X-Confirm-Delete": "ÿ"}, {"Content-Type": "application/json; charset=utf-16"},
    {"Content-Length": "5"}, {"Accept": ",;=," * 1000}])
def test_odd_headers_never_cause_5xx(client, headers):
    """Section 3.1 / ST-R9 / ST-F1: hostile or odd headers get a protocol answer, never a
    server error."""
    client.put_record("col", "a", {"payload": "kept"})
    for method, path, body in (("GET", "/storage/col", None), ("PUT", "/storage/col/b",
                                                                {"payload": "y"}),
                               ("POST", "/storage/col", [{"id": "c", "payload": "z"}]),
                               ("DELETE", "/storage/col/zz", None)):
        response = client.request(method, path, body, headers=headers, status=None)
        assert response.status_int < 500, (method, headers, response.status)
    assert client.record("col", "a")["payload"] == "kept"


# -- 503 and 500 ----------------------------------------------------------------------------

@pytest.fixture
def broken_storage(sqlite_url, tmp_path):
    """An application whose storage database cannot be opened (accounts still work)."""
    make_test_app(make_settings(sqlite_url))  # creates the account tables
    not_a_directory = tmp_path / "plain-file"
    not_a_directory.write_text("")
    testapp = make_test_app(make_settings(sqlite_url, **{
        "db.auto_migrate": "false",
        "storage.sqlalchemy.url": f"sqlite:///{not_a_directory}/storage.db"}))
    testapp.app.registry.users.create_user("alice", PASSWORD)
    return SyncClient(testapp, "alice")


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/info/collections", None), ("GET", "/info/quota", None),
    ("GET", "/storage/col", None), ("GET", "/storage/col/a", None),
    ("PUT", "/storage/col/a", {"payload": "x"}), ("POST", "/storage/col", [{"id": "a"}]),
    ("DELETE", "/storage/col", None), ("DELETE", "/storage", None)])
def test_st_s1_storage_failure_is_503_with_retry_after(broken_storage, method, path, body):
    """ST-S1: backend failure -> 503, JSON string with a crash id, Retry-After, timestamp."""
    response = broken_storage.request(method, path, body, status=503,
                                      headers={"X-Confirm-Delete": "1"})
    assert response.content_type == "application/json"
    assert CRASH_BODY.fullmatch(response.json)
    assert response.headers["Retry-After"] == "1800"
    assert b"Traceback" not in response.body and b"sqlite" not in response.body.lower()
    assert TIMESTAMP.match(response.headers["X-Weave-Timestamp"])


def test_st_hb1_heartbeat_is_503_when_storage_is_down(broken_storage):
    """ST-HB1: the heartbeat reports an unreachable database with 503."""
    response = broken_storage.testapp.get("/__heartbeat__", expect_errors=True)
    assert response.status_int == 503
    assert response.body == b""


def test_st_s1_backend_errors_on_a_real_engine(client, database_url):
    """ST-S1: a database failure in the middle of a request (table gone) is a 503."""
    client.put_record("col", "a", {"payload": "x"})
    engine = sa.create_engine(normalise_url(database_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE bso RENAME TO bso_away"))
    try:
        response = client.get("/storage/col", status=503)
        assert CRASH_BODY.fullmatch(response.json)
        assert response.headers["Retry-After"] == "1800"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE bso_away RENAME TO bso"))
        engine.dispose()
    assert client.ids("col") == ["a"]


def test_st_s2_unexpected_error_is_500_with_crash_id(sqlite_url):
    """ST-S2: an unexpected exception -> 500 with a JSON crash id, never a traceback."""
    config = make_config(make_settings(sqlite_url))

    def broken_view(request):
        raise RuntimeError("secret internal detail")

    config.add_route("broken", "/broken")
    config.add_view(broken_view, route_name="broken")
    from webtest import TestApp
    testapp = TestApp(config.make_wsgi_app())
    response = testapp.get("/broken", expect_errors=True)
    assert response.status_int == 500
    assert response.content_type == "application/json"
    assert CRASH_BODY.fullmatch(response.json)
    assert b"secret" not in response.body and b"Traceback" not in response.body
    assert "X-Weave-Timestamp" in response.headers


def test_crash_ids_are_unique(broken_storage):
    """ST-S1: each failure is logged under its own crash id."""
    first = broken_storage.get("/storage/col", status=503).json
    second = broken_storage.get("/storage/col", status=503).json
    assert first != second


def test_requests_after_errors_still_work(client):
    """Section 3.1 / ST-H1: errors leave no state behind; the next request succeeds."""
    client.put("/storage/col/a", b"{", status=400)
    client.get("/storage/col?limit=x", status=400)
    client.get("/storage/col/%FF", status=404)
    stamp = client.put_record("col", "a", {"payload": "fine"})
    assert client.record("col", "a")["modified"] == float(stamp)
    assert timestamp_of(client.get("/info/collections")) >= stamp
