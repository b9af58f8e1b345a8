"""Spec section 16: known defects of the old implementation, one test each
proving this server does not have them."""
from __future__ import annotations

from decimal import Decimal

import pytest
from storage11_support import error_code, timestamp_of, wait_past


def test_16_01_internal_columns_are_not_writable(client, other_client):
    """16.1: username/collection/payload_size/modified in a body change nothing."""
    other_client.put_record("tabs", "theirs", {"payload": "bob's"})
    sneaky = {"payload": "x" * 2000, "username": "bob", "userid": 1, "user_id": 1,
              "collection": "tabs", "payload_size": 1, "modified": 1.0, "expiry": 1,
              "ttl": None}
    stamp = client.put_record("mine", "a", sneaky)
    result = client.post_batch("mine", [{"id": "b"} | sneaky])
    assert result["success"] == ["b"]
    assert client.record("mine", "a")["modified"] == float(stamp)
    assert client.get("/info/collection_usage").json == {"mine": 4000 / 1024}
    assert client.get("/info/quota").json[0] == 4000 / 1024
    assert list(client.collections()) == ["mine"]
    assert other_client.ids("tabs") == ["theirs"]
    assert other_client.collections().keys() == {"tabs"}
    # metadata-only write with a client modified keeps the server's value
    client.post_batch("mine", [{"id": "a", "sortindex": 3, "modified": 99999999999.99}])
    assert client.record("mine", "a")["modified"] == float(stamp)


def test_16_02_newer_older_and_index_pairs_both_apply(client):
    """16.2: newer+older and index_above+index_below are both applied."""
    stamps = []
    for i in range(4):
        stamps.append(client.put_record("h", str(i), {"payload": "x", "sortindex": i * 10}))
        wait_past(stamps[-1])
    assert client.ids("h", f"newer={stamps[0]}&older={stamps[3]}") == ["1", "2"]
    assert client.ids("h", "index_above=0&index_below=30") == ["1", "2"]


def test_16_03_unparseable_precondition_is_400(client):
    """16.3: a garbage X-If-Unmodified-Since is a 400, not a 500."""
    client.put_record("c", "a", {"payload": "x"})
    for method, path, body in (("PUT", "/storage/c/a", {"payload": "y"}),
                               ("POST", "/storage/c", [{"id": "a", "payload": "y"}]),
                               ("DELETE", "/storage/c", None),
                               ("DELETE", "/storage/c/a", None)):
        client.request(method, path, body, headers={"X-If-Unmodified-Since": "yesterday"},
                       status=400)
    assert client.record("c", "a")["payload"] == "x"


def test_16_04_failure_values_are_lists(client):
    """16.4: every value of 'failed' is a list of strings."""
    result = client.post_batch("c", ["bad", {"id": "a", "ttl": "x"}, {"payload": 1}])
    assert result["failed"] == {"": ["invalid id"], "a": ["invalid ttl"]}
    assert all(isinstance(value, list) for value in result["failed"].values())


def test_16_05_info_endpoints_ignore_accept(client):
    """16.5: info endpoints answer JSON whatever Accept asks for."""
    client.put_record("c", "a", {"payload": "x"})
    for accept in ("application/newlines", "application/whoisi"):
        response = client.get("/info/collections", headers={"Accept": accept})
        assert response.content_type == "application/json"
        assert set(response.json) == {"c"}


def test_16_06_batch_metadata_item_keeps_stored_fields(client):
    """16.6: a metadata-only batch item does not null payload, modified or metadata."""
    stamp = client.put_record("c", "a", {"payload": "keep", "sortindex": 1, "parentid": "p",
                                         "predecessorid": "q"})
    wait_past(stamp)
    client.post_batch("c", [{"id": "a", "parentid": "p2"}])
    assert client.record("c", "a") == {"id": "a", "modified": float(stamp), "payload": "keep",
                                       "sortindex": 1, "parentid": "p2", "predecessorid": "q"}


def test_16_07_delete_honours_limit_sort_and_offset(client):
    """16.7: DELETE with limit/sort/offset selects like GET on every engine."""
    for i in range(1, 6):
        client.put_record("c", str(i), {"payload": "x", "sortindex": i})
    client.delete("/storage/c?sort=index&limit=2&offset=1")
    assert client.ids("c") == ["1", "2", "5"]
    client.delete("/storage/c?sort=index&limit=1")
    assert client.ids("c") == ["1", "2"]


def test_16_08_batches_are_atomic(client):
    """16.8: a batch is one write: all accepted records land together with one timestamp,
    and a refused batch (412) writes none of its 100 items."""
    result = client.post_batch("c", [{"id": f"{i:03d}", "payload": "x"} for i in range(100)])
    assert len(result["success"]) == 100
    assert {r["modified"] for r in client.records("c")} == {result["modified"]}
    wait_past(Decimal(str(result["modified"])))
    client.put_record("c", "bump", {"payload": "x"})
    client.post("/storage/c", [{"id": f"new{i:03d}", "payload": "y"} for i in range(100)],
                headers={"X-If-Unmodified-Since": str(result["modified"])}, status=412)
    assert len(client.ids("c")) == 101


def test_16_09_batch_byte_limit_counts_utf8_bytes(client):
    """16.9: the per-batch byte limit counts UTF-8 bytes (a 3-byte character counts 3)."""
    payload = "€" * 87_000  # 261 000 bytes
    result = client.post_batch("c", [{"id": str(i), "payload": payload} for i in range(5)])
    assert result["failed"] == {"4": ["retry bytes"]}


def test_16_10_long_collection_names_are_refused(client):
    """16.10: names over 32 characters are a 400 code 13, never truncated or a DB error."""
    assert error_code(client.put("/storage/" + "n" * 33 + "/a", {"payload": "x"},
                                 status=400)) == 13
    assert error_code(client.post("/storage/" + "n" * 100, [], status=400)) == 13
    assert client.collections() == {}


@pytest.mark.parametrize("record_id", ["{6820f3ca-6d5e-4f0a-9d3b-0123456789ab}", "a b",
                                       "{x}", "a|b", "<>", "ü"])
def test_16_11_ids_stored_by_post_are_addressable_by_url(client, record_id):
    """16.11: any id a POST can store, GET and DELETE can address in the URL."""
    from urllib.parse import quote
    client.post_batch("c", [{"id": record_id, "payload": "x"}])
    path = "/storage/c/" + quote(record_id, safe="")
    assert client.get(path).json["id"] == record_id
    client.delete(path)
    assert client.ids("c") == []


def test_16_12_expired_records_do_not_resurrect_or_count(client):
    """16.12: an expired record is invisible to counts and its payload never resurfaces."""
    client.put("/storage/c/a", {"payload": "old secret", "ttl": 0})
    assert client.get("/info/collection_counts").json == {}
    assert client.get("/info/collection_usage").json == {}
    client.put("/storage/c/a", {"sortindex": 1})
    assert "payload" not in client.record("c", "a")


def test_16_13_metadata_only_create_is_kept_but_harmless(client):
    """16.13: a payload-less create answers null and has no modified; later writes fix it."""
    response = client.put("/storage/c/a", {"sortindex": 2})
    assert response.body == b"null"
    assert client.ids("c", "newer=0") == []
    stamp = client.put_record("c", "a", {"payload": "now"})
    assert client.ids("c", "newer=0") == ["a"]
    assert client.record("c", "a")["modified"] == float(stamp)


def test_16_14_every_401_has_www_authenticate(client):
    """16.14: WWW-Authenticate on 401s for wrong passwords and user mismatches too."""
    from synccore.testing import basic_auth
    for headers in (basic_auth("alice", "wrong"), basic_auth("mallory", "x"),
                    {"Authorization": "Basic !!"}):
        response = client.get("/info/collections", auth=False, headers=headers, status=401)
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Sync"'


def test_16_15_errors_carry_x_weave_timestamp(client):
    """16.15: X-Weave-Timestamp is on error responses too."""
    stamp = client.put_record("c", "a", {"payload": "x"})
    for response in (client.put("/storage/c/a", b"{", status=400),
                     client.get("/info/collections", auth=False, status=401),
                     client.get("/storage/c/zz", status=404),
                     client.request("POST", "/info/quota", status=405),
                     client.put("/storage/c/a", {"payload": "x"},
                                headers={"X-If-Unmodified-Since": "1"}, status=412)):
        assert timestamp_of(response) >= stamp


def test_16_16_reads_create_no_collection(client):
    """16.16: GETs of unknown collections/records create no collection row."""
    client.get("/storage/unknown")
    client.get("/storage/unknown/x", status=404)
    client.get("/storage/unknown?full=1&ids=a,b")
    assert client.collections() == {}
    assert client.get("/info/collection_counts").json == {}


def test_16_17_quota_overshoot_is_bounded_by_one_request(make_client):
    """16.17: one request may overshoot the quota; the next write is refused."""
    client = make_client(**{"storage.quota_kb": 1})
    client.post_batch("c", [{"id": str(i), "payload": "x" * 200_000} for i in range(5)])
    assert client.get("/info/quota").json[0] == 1_000_000 / 1024
    assert error_code(client.post("/storage/c", [{"id": "z", "payload": "x"}],
                                  status=400)) == 14
