"""The info endpoints E1-E4 and the collection timestamp (spec sections 5 and 6)."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from storage11_support import timestamp_of, wait_past

ACCEPTS = ["application/newlines", "application/whoisi", "text/html", "application/xml",
           "application/whoisi;q=1, application/json;q=0.1"]


# -- E1 info/collections -------------------------------------------------------------

def test_st_ic1_new_user_has_no_collections(client):
    """ST-IC1 / ST-IC2 / ST-C2: {} and X-Weave-Records: 0 for a new account."""
    response = client.get("/info/collections")
    assert response.json == {}
    assert response.body == b"{}"
    assert response.headers["X-Weave-Records"] == "0"
    assert response.content_type == "application/json"


def test_st_ic1_collection_timestamps_are_the_last_writes(client):
    """ST-IC1 / ST-C1.1 / ST-T3: each collection maps to its last write's timestamp."""
    t1 = client.put_record("bookmarks", "a", {"payload": "x"})
    wait_past(t1)
    t2 = timestamp_of(client.post("/storage/history", [{"id": "h", "payload": "y"}]))
    wait_past(t2)
    t3 = client.put_record("meta", "global", {"payload": "z"})
    response = client.get("/info/collections")
    assert response.json == {"bookmarks": float(t1), "history": float(t2), "meta": float(t3)}
    assert response.headers["X-Weave-Records"] == "3"
    # Timestamps are number literals with exactly two decimals (ST-T3).
    for name, stamp in (("bookmarks", t1), ("history", t2), ("meta", t3)):
        assert re.search(rf'"{name}":\s*{re.escape(f"{stamp:.2f}")}[,}}]',
                         response.text), response.text


@pytest.mark.parametrize("accept", ACCEPTS)
def test_st_ic3_info_endpoints_always_answer_json(client, accept):
    """ST-IC3 / ST-F6 / section 16.5: Accept is ignored by every info endpoint."""
    client.put_record("bookmarks", "a", {"payload": "abc"})
    for path in ("/info/collections", "/info/collection_counts", "/info/collection_usage",
                 "/info/quota"):
        plain = client.get(path)
        negotiated = client.get(path, headers={"Accept": accept})
        assert negotiated.content_type == "application/json"
        assert negotiated.json == plain.json
    counts = client.get("/info/collection_counts", headers={"Accept": accept})
    assert counts.json == {"bookmarks": 1}


def test_st_ic4_query_parameters_are_ignored(client):
    """ST-IC4 / ST-R8: Firefox appends ?v=<version>; filters mean nothing here."""
    client.put_record("bookmarks", "a", {"payload": "x"})
    expected = client.collections()
    for query in ("v=1.5", "client=desktop&v=2", "newer=abc", "full=1&limit=x"):
        assert client.get(f"/info/collections?{query}").json == expected


# -- E2 counts, E3 usage ---------------------------------------------------------------

def test_st_cc1_counts_per_collection(client):
    """ST-CC1: integer counts of records; empty collections omitted."""
    client.post_batch("bookmarks", [{"id": str(i), "payload": "x"} for i in range(7)])
    client.put_record("tabs", "t", {"payload": "y"})
    client.put_record("emptied", "e", {"payload": "z"})
    client.delete("/storage/emptied/e")
    response = client.get("/info/collection_counts")
    assert response.json == {"bookmarks": 7, "tabs": 1}
    assert response.headers["X-Weave-Records"] == "2"
    assert "emptied" in client.collections()  # listed in E1, omitted from E2


def test_st_cu1_usage_in_kilobytes(client):
    """ST-CU1: KB = payload bytes / 1024, unrounded; payloads 3 + 500 -> 0.4912109375."""
    client.put_record("forms", "a", {"payload": "abc"})
    client.put_record("forms", "b", {"payload": "x" * 500})
    client.put_record("prefs", "p", {"payload": "é" * 512})  # 1024 UTF-8 bytes
    client.put_record("gone", "g", {"payload": "x"})
    client.delete("/storage/gone")
    assert client.get("/info/collection_usage").json == {"forms": 0.4912109375, "prefs": 1.0}


def test_usage_and_counts_follow_overwrites_and_deletes(client):
    """ST-CC1 / ST-CU1: overwriting replaces the size; deleting removes it."""
    client.put_record("forms", "a", {"payload": "x" * 1024})
    client.put_record("forms", "a", {"payload": "x" * 2048})
    client.put_record("forms", "a", {"sortindex": 3})  # metadata only: size kept
    client.post_batch("forms", [{"id": "b", "payload": "x" * 1024}, {"id": "b", "payload": "y"}])
    assert client.get("/info/collection_usage").json == {"forms": 2049 / 1024}
    assert client.get("/info/collection_counts").json == {"forms": 2}
    client.delete("/storage/forms?ids=a")
    assert client.get("/info/collection_usage").json == {"forms": 1 / 1024}
    assert client.get("/info/quota").json == [1 / 1024, None]


# -- E4 quota without a configured quota -------------------------------------------------

def test_st_q1_quota_of_an_empty_account(client):
    """ST-Q1 / ST-Q6: [0.0, null] when quotas are disabled."""
    response = client.get("/info/quota")
    assert response.json == [0.0, None]
    assert response.content_type == "application/json"


def test_st_q2_used_grows_by_exact_payload_size(client):
    """ST-Q2: storing one 500-byte payload adds exactly 500/1024 KB."""
    client.put_record("forms", "a", {"payload": "abcd"})
    before = client.get("/info/quota").json[0]
    client.put_record("history", "h", {"payload": "y" * 500})
    after = client.get("/info/quota").json[0]
    assert after - before == 500 / 1024
    assert after == 504 / 1024


# -- ST-C1 the collection timestamp --------------------------------------------------------

def test_st_c1_metadata_only_write_bumps_the_collection(client):
    """ST-C1.1: a metadata-only write moves the collection timestamp, not the record's."""
    t1 = client.put_record("bookmarks", "a", {"payload": "x"})
    wait_past(t1)
    t2 = client.put_record("bookmarks", "a", {"sortindex": 5})
    assert client.collections() == {"bookmarks": float(t2)}
    assert client.record("bookmarks", "a")["modified"] == float(t1)


def test_st_c1_deletes_bump_and_keep_the_collection_listed(client):
    """ST-C1.2 / ST-C1.3: deletes set the timestamp; an emptied collection stays listed."""
    t1 = client.put_record("bookmarks", "a", {"payload": "x"})
    wait_past(t1)
    t2 = timestamp_of(client.delete("/storage/bookmarks/a"))
    assert client.collections() == {"bookmarks": float(t2)}
    wait_past(t2)
    t3 = timestamp_of(client.delete("/storage/bookmarks/never-existed"))
    assert client.collections() == {"bookmarks": float(t3)}
    wait_past(t3)
    t4 = timestamp_of(client.delete("/storage/bookmarks"))
    assert client.collections() == {"bookmarks": float(t4)}
    wait_past(t4)
    t5 = timestamp_of(client.delete("/storage/bookmarks?ids=nothing"))
    assert client.collections() == {"bookmarks": float(t5)}


def test_st_c1_deletes_never_create_a_collection(client):
    """ST-C1.3: deleting in a collection that is not listed creates no entry."""
    client.delete("/storage/ghost")
    client.delete("/storage/ghost/x")
    client.delete("/storage/ghost?ids=a,b&older=5")
    assert client.collections() == {}
    assert client.get("/info/collection_counts").json == {}


def test_st_c1_empty_and_all_failed_batches_write_nothing(client):
    """ST-C1.4: POST [] and a batch where every item fails create or bump nothing."""
    assert client.post_batch("empty", [])["success"] == []
    assert client.post_batch("failing", [{"id": "a", "sortindex": "x"}, "junk",
                                         {"payload": "no id"}])["success"] == []
    assert client.collections() == {}
    t1 = client.put_record("real", "a", {"payload": "x"})
    wait_past(t1)
    client.post_batch("real", [])
    client.post_batch("real", [{"id": "a", "ttl": -1}])
    assert client.collections() == {"real": float(t1)}


def test_st_c1_delete_storage_removes_every_entry(client):
    """ST-C1.5 / ST-DS2: DELETE /storage empties E1."""
    for name in ("meta", "crypto", "tabs", "bookmarks"):
        client.put_record(name, "x", {"payload": "p"})
    client.delete("/storage", headers={"X-Confirm-Delete": "1"})
    assert client.collections() == {}
    assert client.get("/info/collection_counts").json == {}
    assert client.get("/info/collection_usage").json == {}
    assert client.get("/info/quota").json == [0.0, None]


def test_st_c1_timestamp_never_moves_backwards(client):
    """ST-C1.6: the collection timestamp only grows, whatever happens to records."""
    stamps = []
    stamps.append(client.put_record("tabs", "a", {"payload": "x"}))
    wait_past(stamps[-1])
    stamps.append(client.put_record("tabs", "b", {"payload": "y"}))
    wait_past(stamps[-1])
    stamps.append(timestamp_of(client.delete("/storage/tabs/b")))
    wait_past(stamps[-1])
    stamps.append(timestamp_of(client.delete("/storage/tabs/a")))
    seen = Decimal(str(client.collections()["tabs"]))
    assert seen == stamps[-1] == max(stamps)


def test_st_c2_unknown_collection_reads_empty(client):
    """ST-C2 / ST-G2: a collection without entry is absent from E1-E3 and lists as []."""
    client.put_record("tabs", "a", {"payload": "x"})
    assert client.ids("bookmarks") == []
    assert client.records("bookmarks") == []
    for path in ("/info/collections", "/info/collection_counts", "/info/collection_usage"):
        assert "bookmarks" not in client.get(path).json


def test_st_w13_collections_and_users_are_independent(client, other_client):
    """ST-W13: equal ids in different collections, or of different users, never mix."""
    client.put_record("a", "same", {"payload": "in a"})
    client.put_record("b", "same", {"payload": "in b", "sortindex": 2})
    other_client.put_record("a", "same", {"payload": "bob's"})
    assert client.record("a", "same")["payload"] == "in a"
    assert client.record("b", "same")["payload"] == "in b"
    client.delete("/storage/a/same")
    assert client.record("b", "same")["sortindex"] == 2
    assert other_client.record("a", "same")["payload"] == "bob's"
    assert other_client.get("/info/collection_counts").json == {"a": 1}
    client.delete("/storage", headers={"X-Confirm-Delete": "1"})
    assert other_client.ids("a") == ["same"]
