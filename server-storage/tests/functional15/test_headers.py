"""X-Weave-Timestamp and X-Last-Modified on every response
(storage-1.5 §7.1, §7.2, §11 "Headers")."""
from __future__ import annotations

import time

from storage15_support import stamp, storage

from synccore.timestamps import now_centis
from syncstorage.storage import RecordWrite
from syncstorage.testing15 import HawkClient


def test_weave_timestamp_on_every_status(client):
    """§7.1, §11: present on 200/304/400/401/404/412/503 and ≥ the request start."""
    start = now_centis() - 1  # the server rounds to the nearest centisecond
    written = client.put("/storage/c/a", {"payload": "x"})
    last = written.headers["X-Last-Modified"]
    responses = [
        written,
        client.get("/storage/c", headers={"X-If-Modified-Since": last}),
        client.get("/storage/c?limit=x", status=400),
        client.get("/storage/c", sign=False, status=401),
        client.get("/storage/c/missing", status=404),
        client.get("/storage/c", headers={"X-If-Unmodified-Since": "1"}, status=412),
        client.get("/nowhere", status=404),
    ]
    storage(client).write_records(42, "d", [RecordWrite(id="z", payload="z")],
                                  now_centis() + 360_000)
    responses.append(client.put("/storage/d/a", {"payload": "x"}, status=503))
    assert [response.status_int for response in responses] == \
        [200, 304, 400, 401, 404, 412, 404, 503]
    for response in responses:
        assert stamp(response, "X-Weave-Timestamp") >= start


def test_last_modified_on_every_success(client):
    """§7.2, §11: X-Last-Modified on every 2xx GET/PUT/POST/DELETE and on 202."""
    batch = client.post("/storage/c?batch=true", [{"id": "a", "payload": "x"}])
    responses = [
        client.get("/info/collections"), client.get("/info/quota"),
        client.get("/info/collection_usage"), client.get("/info/collection_counts"),
        client.get("/info/configuration"),
        client.put("/storage/c/a", {"payload": "x"}),
        client.post("/storage/c", [{"id": "b", "payload": "x"}]),
        batch,
        client.post(f"/storage/c?batch={batch.json['batch']}&commit=true", []),
        client.get("/storage/c"), client.get("/storage/c/a"),
        client.delete("/storage/c/a"), client.delete("/storage/c?ids=b"),
        client.delete("/storage/c"), client.delete("/storage"), client.delete(""),
    ]
    for response in responses:
        assert 200 <= response.status_int < 300
        stamp(response)


def test_writes_report_their_timestamp(client):
    """§7.1: for writes X-Weave-Timestamp equals X-Last-Modified (= T)."""
    for response in (client.put("/storage/c/a", {"payload": "x"}),
                     client.post("/storage/c", [{"id": "b", "payload": "x"}]),
                     client.delete("/storage/c/a")):
        assert response.headers["X-Weave-Timestamp"] == response.headers["X-Last-Modified"]


def test_reads_never_report_a_time_before_last_modified(client):
    """§7.1: reads answer max(now, X-Last-Modified)."""
    ahead = now_centis() + 500  # a clock five seconds ahead wrote it
    storage(client).write_records(42, "c", [RecordWrite(id="a", payload="x")], ahead,
                                  bump_on_metadata=True)
    for path in ("/storage/c", "/storage/c/a", "/info/collections"):
        response = client.get(path)
        assert stamp(response) == ahead
        assert stamp(response, "X-Weave-Timestamp") == ahead


def test_weave_timestamp_is_current_time_on_reads(client):
    response = client.get("/info/collections")
    assert abs(stamp(response, "X-Weave-Timestamp") / 100 - time.time()) < 5


def test_expired_token_response_has_server_time(app15):
    """§2: 401s carry X-Weave-Timestamp too."""
    client = HawkClient(app15, 42, expires=time.time() - 10 * 3600)
    response = client.get("/info/collections", status=401)
    stamp(response, "X-Weave-Timestamp")
