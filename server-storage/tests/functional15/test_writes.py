"""POST and DELETE, limits, preconditions and conflicts (storage-1.5 §3.3,
§5.6, §5.10, §5.12, §5.13, §6.3, §7.3, §7.4, §8, §11 "Writes & preconditions")."""
from __future__ import annotations

import threading

import pytest
from storage15_support import seconds, stamp, storage
from webtest import TestApp

from synccore.timestamps import now_centis
from syncstorage.storage import RecordWrite
from syncstorage.testing15 import HawkClient

ZERO_IV_PAYLOAD = '{"IV":"AAAAAAAAAAAAAAAAAAAAAA==","hmac":"x","ciphertext":"y"}'


def items(count: int, prefix: str = "i", payload: str = "x") -> list[dict]:
    return [{"id": f"{prefix}{n:03d}", "payload": payload} for n in range(count)]


def test_post_response_shape(client):
    """§5.10: 200 {"modified", "success", "failed"}, X-Last-Modified = T = timestamp."""
    response = client.post("/storage/c", items(3))
    body = response.json
    assert set(body) == {"modified", "success", "failed"}
    assert body["success"] == ["i000", "i001", "i002"]
    assert body["failed"] == {}
    assert stamp(response) == round(body["modified"] * 100)
    assert response.headers["X-Weave-Timestamp"] == response.headers["X-Last-Modified"]
    full = client.get("/storage/c?full=1").json
    assert {item["modified"] for item in full} == {body["modified"]}


def test_post_95_and_105_items(client):
    """§5.10, §11: 95 → all succeed; 105 → 100 succeed and 5 "retry bso"."""
    assert len(client.post("/storage/c", items(95)).json["success"]) == 95
    body = client.post("/storage/d", items(105)).json
    assert len(body["success"]) == 100
    assert body["failed"] == {f"i{n:03d}": "retry bso" for n in range(100, 105)}
    assert client.get("/info/collection_counts").json == {"c": 95, "d": 100}


def test_post_bytes_limit_is_inclusive(make_app15):
    """§4, §11: cumulative payload = max_post_bytes passes; one byte more → "retry bytes"."""
    client = HawkClient(make_app15(**{"storage15.max_post_bytes": 30}), 42)
    body = client.post("/storage/c", items(3, payload="x" * 10)).json
    assert len(body["success"]) == 3
    extra = [{"id": "big", "payload": "x"}, {"id": "empty", "payload": ""}]
    body = client.post("/storage/d", [*items(3, payload="x" * 10), *extra]).json
    assert body["failed"] == {"big": "retry bytes"}
    assert body["success"] == ["i000", "i001", "i002", "empty"]


def test_post_bytes_are_utf8_bytes(make_app15):
    """§4: the per-POST total counts UTF-8 bytes, not characters."""
    client = HawkClient(make_app15(**{"storage15.max_post_bytes": 10}), 42)
    body = client.post("/storage/c", [{"id": "a", "payload": "é" * 5},
                                      {"id": "b", "payload": "x"}]).json
    assert body["success"] == ["a"]
    assert body["failed"] == {"b": "retry bytes"}


def test_post_applies_put_semantics(client):
    """§5.10, §3.1: each POSTed item is a partial update, and an expired id is
    simply written again."""
    client.put("/storage/c/a", {"payload": "kept", "sortindex": 3})
    client.put("/storage/c/gone", {"payload": "old", "sortindex": 9, "ttl": 0})
    client.post("/storage/c", [{"id": "a", "ttl": 3600}, {"id": "gone", "payload": "new"}])
    a, gone = client.get("/storage/c/a").json, client.get("/storage/c/gone").json
    assert (a["payload"], a["sortindex"]) == ("kept", 3)
    assert gone["payload"] == "new" and "sortindex" not in gone


def test_post_records_limit_is_configurable(make_app15):
    client = HawkClient(make_app15(**{"storage15.max_post_records": 2}), 42)
    body = client.post("/storage/c", items(3)).json
    assert body["success"] == ["i000", "i001"]
    assert body["failed"] == {"i002": "retry bso"}


def test_per_item_failures(client):
    """§5.10: invalid items land in failed with a reason; the rest is written."""
    body = client.post("/storage/c", [
        {"id": "ok", "payload": "x"},
        {"id": "bad-ttl", "payload": "x", "ttl": -1},
        {"id": "bad-sortindex", "payload": "x", "sortindex": "2.6"},
        {"id": "bad-payload", "payload": 42},
        {"id": "unknown", "payload": "x", "parentid": "p"},
        {"id": "bad\n", "payload": "x"},
        {"id": 12, "payload": "x"},
        {"id": "x" * 65, "payload": "x"},
    ]).json
    assert body["success"] == ["ok"]
    assert set(body["failed"]) == {"bad-ttl", "bad-sortindex", "bad-payload", "unknown",
                                   "bad\n", "12", "x" * 65}
    assert body["failed"]["bad-ttl"] == "invalid ttl"
    assert body["failed"]["unknown"] == "unknown field 'parentid'"
    assert body["failed"]["bad\n"] == "invalid id"
    assert client.get("/storage/c").json == ["ok"]


@pytest.mark.parametrize(("body", "code"), [
    (b'"notalist"', b"8"), (b"42", b"8"), (b"{}", b"8"), (b"[not json", b"6"),
    (b"", b"6"), (b'[{"id": "01", "payload": "x"}, "BAD"]', b"8"),
    (b'[{"id": "a", "payload": "x"}, {"payload": "no id"}]', b"8"),
    (b'[{"id": "a", "payload": "x"}, {"id": null, "payload": "x"}]', b"8"),
    (b'[{"id": "a", "payload": "x"}, {"id": "a", "payload": "y"}]', b"8"),
])
def test_whole_request_failures(client, body, code):
    """§5.10: these fail the whole POST with 400 and write nothing."""
    response = client.request("POST", "/storage/c", body=body,
                              content_type="application/json", status=400)
    assert response.body == code
    assert client.get("/info/collections").json == {}


def test_crypto_zero_iv_fails_the_whole_post(client):
    """§3.2, §11: a known-bad crypto payload fails the whole POST."""
    response = client.post("/storage/crypto", [{"id": "keys", "payload": ZERO_IV_PAYLOAD},
                                               {"id": "other", "payload": "x"}], status=400)
    assert response.body == b"8"
    assert client.get("/storage/crypto").json == []
    client.post("/storage/clients", [{"id": "keys", "payload": ZERO_IV_PAYLOAD}])


def test_newlines_body(client):
    """§5.10: application/newlines, one object per line."""
    body = '{"id": "a", "payload": "x"}\n{"id": "b", "payload": "y"}\n'
    response = client.request("POST", "/storage/c", body=body,
                              content_type="application/newlines")
    assert response.json["success"] == ["a", "b"]
    response = client.request("POST", "/storage/c", body='{"id": "c", "payload": "z"}',
                              content_type="application/newlines")
    assert response.json["success"] == ["c"]
    response = client.request("POST", "/storage/c", body="",
                              content_type="application/newlines")
    assert response.json["success"] == []


@pytest.mark.parametrize("body", ["\n", '{"id": "a"}\n\n{"id": "b"}\n', "[]", "not json\n",
                                  '{"payload": "no id"}'])
def test_bad_newlines_bodies(client, body):
    client.request("POST", "/storage/c", body=body, content_type="application/newlines",
                   status=400)


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/json"])
def test_json_post_content_types(client, content_type):
    response = client.request("POST", "/storage/c", body=b'[{"id": "a", "payload": "x"}]',
                              content_type=content_type)
    assert response.json["success"] == ["a"]


def test_unsupported_post_content_type(client):
    client.request("POST", "/storage/c", body=b"[]", content_type="application/xml",
                   status=415)


def test_request_too_large(make_app15):
    """§5.10: Content-Length > max_request_bytes → 413, body 17."""
    client = HawkClient(make_app15(**{"storage15.max_request_bytes": 100}), 42)
    response = client.post("/storage/c", items(5, payload="x" * 20), status=413)
    assert response.body == b"17"
    assert client.get("/info/collections").json == {}


@pytest.mark.parametrize(("header", "limit"), [
    ("X-Weave-Records", 100), ("X-Weave-Bytes", 2_621_440),
    ("X-Weave-Total-Records", 10_000), ("X-Weave-Total-Bytes", 262_144_000),
])
def test_size_hint_headers(client, header, limit):
    """§7.4: a hint equal to its limit passes; one more → 400 code 17;
    a hint that is not an unsigned integer → 400 code 1."""
    client.post("/storage/c", items(1), headers={header: str(limit)})
    assert client.post("/storage/c", items(1), headers={header: str(limit + 1)},
                       status=400).body == b"17"
    assert client.post("/storage/c", items(1), headers={header: "lots"},
                       status=400).body == b"1"
    assert client.post("/storage/c", items(1), headers={header: "-1"},
                       status=400).body == b"1"


# -- preconditions ---------------------------------------------------------------

@pytest.fixture
def written(client) -> tuple[int, int]:
    """Item c/a written, then c/b later: (item a's timestamp, collection's)."""
    first = stamp(client.put("/storage/c/a", {"payload": "x"}))
    second = stamp(client.put("/storage/c/b", {"payload": "y"}))
    return first, second


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "/storage/c/b", {"payload": "new"}),
    ("POST", "/storage/c", [{"id": "z", "payload": "new"}]),
    ("POST", "/storage/c", [{"id": "bad", "payload": "x", "ttl": -5}]),
    ("POST", "/storage/c?batch=true", [{"id": "z", "payload": "new"}]),
    ("DELETE", "/storage/c/b", None),
    ("DELETE", "/storage/c?ids=a", None),
    ("DELETE", "/storage/c", None),
    ("DELETE", "/storage", None),
    ("DELETE", "", None),
    ("GET", "/storage/c/b", None),
    ("GET", "/storage/c", None),
])
def test_if_unmodified_since_older_than_current(client, written, method, path, body):
    """§7.3, §11: XIUS older than the resource → 412 with X-Last-Modified, nothing changes."""
    before = client.get("/storage/c?full=1").json
    response = client.request(method, path, json_body=body, status=412,
                              headers={"X-If-Unmodified-Since": seconds(written[1] - 1)})
    assert response.body == b"0"
    assert stamp(response) == written[1]
    assert client.get("/storage/c?full=1").json == before
    assert stamp(client.get("/info/collections")) == written[1]


def test_if_unmodified_since_equal_to_current(client, written):
    """§11: XIUS equal to the resource's timestamp → the write goes through."""
    since = {"X-If-Unmodified-Since": seconds(written[1])}
    client.put("/storage/c/b", {"payload": "new"}, headers=since)
    collection = stamp(client.get("/storage/c"))
    client.post("/storage/c", [{"id": "z", "payload": "x"}],
                headers={"X-If-Unmodified-Since": seconds(collection)})


def test_put_is_checked_against_the_item(client, written):
    """§5.9: PUT compares XIUS with the item, not the collection."""
    client.put("/storage/c/a", {"payload": "new"},
               headers={"X-If-Unmodified-Since": seconds(written[0])})


def test_if_unmodified_since_zero_means_create_only(client, written):
    """§11: XIUS 0 → PUT of a new item 200, of an existing item 412."""
    zero = {"X-If-Unmodified-Since": "0"}
    client.put("/storage/c/new", {"payload": "x"}, headers=zero)
    response = client.put("/storage/c/a", {"payload": "x"}, headers=zero, status=412)
    assert stamp(response) == written[0]


def test_delete_ids_checks_the_collection(client, written):
    """§5.13: DELETE ?ids= compares with the collection even if the items are older."""
    client.delete("/storage/c?ids=a", status=412,
                  headers={"X-If-Unmodified-Since": seconds(written[0])})
    client.delete("/storage/c?ids=a", headers={"X-If-Unmodified-Since": seconds(written[1])})


def test_delete_item_checks_the_item(client, written):
    client.delete("/storage/c/a", headers={"X-If-Unmodified-Since": seconds(written[0])})


def test_both_precondition_headers(client):
    """§7.3, §11: IMS and XIUS together → 400."""
    headers = {"X-If-Modified-Since": "1", "X-If-Unmodified-Since": "1"}
    client.get("/storage/c", headers=headers, status=400)
    client.put("/storage/c/a", {"payload": "x"}, headers=headers, status=400)


@pytest.mark.parametrize("value", ["-3", "abc", "", "1,5", "nan", "inf"])
@pytest.mark.parametrize("header", ["X-If-Modified-Since", "X-If-Unmodified-Since"])
def test_bad_precondition_values(client, header, value):
    """§7.3, §11: non-numeric or negative → 400."""
    client.get("/storage/c", headers={header: value}, status=400)


@pytest.mark.parametrize("value", ["1700000000", "1700000000.5", "0", "1700000000.123"])
def test_precondition_value_formats(client, value):
    client.get("/storage/c", headers={"X-If-Unmodified-Since": value})


def test_if_modified_since_is_ignored_on_writes(client, written):
    """§9: IMS applies to GET (and HEAD) only."""
    client.put("/storage/c/a", {"payload": "x"},
               headers={"X-If-Modified-Since": seconds(written[1] + 100000)})


# -- conflicts ---------------------------------------------------------------------

def test_write_behind_the_collection_timestamp_gets_503(client):
    """§3.3, §6.3, §11: a write that cannot get a newer timestamp → 503 + Retry-After."""
    future = now_centis() + 360_000
    storage(client).write_records(42, "c", [RecordWrite(id="a", payload="x")], future)
    for method, path, body in (("PUT", "/storage/c/b", {"payload": "y"}),
                               ("POST", "/storage/c", [{"id": "b", "payload": "y"}]),
                               ("DELETE", "/storage/c?ids=a", None),
                               ("DELETE", "/storage/c/a", None),
                               ("DELETE", "/storage/c", None),
                               ("DELETE", "/storage", None)):
        response = client.request(method, path, json_body=body, status=503)
        assert response.headers["Retry-After"] == "10"
        assert response.body == b"0"
        assert "X-Weave-Timestamp" in response.headers
    assert client.get("/storage/c").json == ["a"]


def test_concurrent_writers_get_distinct_increasing_timestamps(client):
    """§3.3, §8: concurrent writes to one collection are serialized; each
    successful one has its own timestamp and the rest get 503 + Retry-After."""
    results: list[tuple[int, int | None]] = []
    lock = threading.Lock()

    def writer(number: int) -> None:
        worker = HawkClient(TestApp(client.app.app), 42)
        for round_number in range(4):
            response = worker.post("/storage/c", [{"id": f"w{number}-{round_number}",
                                                   "payload": "x"}], status="*")
            with lock:
                results.append((response.status_int,
                                stamp(response) if response.status_int == 200 else None))
            if response.status_int == 503:
                assert response.headers["Retry-After"] == "10"

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = {status for status, _ in results}
    assert statuses <= {200, 503}
    stamps = [value for status, value in results if status == 200]
    assert stamps and len(stamps) == len(set(stamps))
    assert client.get("/info/collections").json["c"] == max(stamps) / 100
    assert len(client.get("/storage/c").json) == len(stamps)


def test_if_unmodified_since_is_checked_atomically(client):
    """§7.3, §8: writers racing with the same X-If-Unmodified-Since: exactly one
    writes, every other one gets 412 (or 503 on a timestamp collision)."""
    since = {"X-If-Unmodified-Since": client.put("/storage/c/x", {"payload": "x"})
             .headers["X-Last-Modified"]}
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def writer(number: int) -> None:
        worker = HawkClient(TestApp(client.app.app), 42)
        barrier.wait()
        response = worker.post("/storage/c", [{"id": f"w{number}", "payload": "x"}],
                               headers=since, status="*")
        with lock:
            statuses.append(response.status_int)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 412, 503}
    assert len(client.get("/storage/c").json) == 2


# -- deletes -----------------------------------------------------------------------

def test_delete_collection(client):
    """§5.12, §11: gone from info/collections; GET []; storage ts advances."""
    client.post("/storage/c", items(3))
    previous = stamp(client.post("/storage/d", items(1)))
    response = client.delete("/storage/c")
    modified = stamp(response)
    assert response.json == {"modified": modified / 100}
    assert modified > previous
    assert client.get("/storage/c").json == []
    info = client.get("/info/collections")
    assert list(info.json) == ["d"]
    assert stamp(info) == modified


def test_delete_missing_collection(client):
    """§5.12: a non-existent collection → still 200."""
    assert "modified" in client.delete("/storage/nothing").json


def test_delete_ids(client):
    """§5.13: listed ids go; the collection stays and moves to T even if nothing matched."""
    client.post("/storage/c", items(3))
    response = client.delete("/storage/c?ids=i000,i002,unknown")
    modified = stamp(response)
    assert response.json == {"modified": modified / 100}
    assert client.get("/storage/c").json == ["i001"]
    assert client.get("/info/collections").json["c"] == modified / 100
    again = stamp(client.delete("/storage/c?ids=nothing"))
    assert client.get("/info/collections").json["c"] == again / 100


def test_delete_ids_limit(client):
    """§5.13, §11: 100 ids OK, 101 → 400."""
    client.delete("/storage/c?ids=" + ",".join(f"i{n}" for n in range(100)))
    response = client.delete("/storage/c?ids=" + ",".join(f"i{n}" for n in range(101)),
                             status=400)
    assert response.body == b"1"


def test_delete_ignores_other_parameters(client):
    """§5.13: parameters other than ids are ignored (no 1.1 filters)."""
    client.post("/storage/c", items(3))
    client.delete("/storage/c?ids=i000&newer=99999999999&limit=0")
    assert client.get("/storage/c?sort=oldest").json == ["i001", "i002"]


@pytest.mark.parametrize("path", ["/storage", ""])
def test_delete_storage(client, other_client, path):
    """§5.6, §11: everything of the user goes; body {}; X-Confirm-Delete ignored."""
    client.post("/storage/c", items(2))
    client.post("/storage/d", items(2))
    other_client.post("/storage/c", items(1))
    response = client.delete(path, headers={"X-Confirm-Delete": "1"})
    assert response.body == b"{}"
    assert stamp(response) > 0
    assert client.get("/info/collections").json == {}
    assert client.get("/storage/c").json == []
    assert stamp(client.get("/info/collections")) == stamp(response)
    assert other_client.get("/storage/c").json == ["i000"]


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", "/info/quota"), ("POST", "/info/collections"), ("PATCH", "/storage/c"),
    ("PUT", "/storage/c"), ("POST", "/storage/c/a"), ("GET", "/storage"), ("GET", ""),
    ("PUT", "/storage"),
])
def test_unsupported_methods(client, method, path):
    """§1, §6.2: a known path with an unsupported method → 405, JSON body 0."""
    response = client.request(method, path, status=405)
    assert response.body == b"0"
    assert response.content_type == "application/json"


@pytest.mark.parametrize("path", ["/info", "/info/other", "/storage/c/a/b", "/nothing",
                                  "/1.5/42"])
def test_unknown_paths(client, path):
    """§1: unknown path → 404, JSON body 0."""
    response = client.request("GET", path, status=404)
    assert response.body == b"0"
    assert response.content_type == "application/json"


@pytest.mark.parametrize("url", ["/1.5/abc/info/collections", "/1.5/12345678901/info/quota",
                                 "/1.5/", "/1.5"])
def test_bad_uid_paths(client, url):
    response = client.request("GET", url=url, status=404)
    assert response.body == b"0"
