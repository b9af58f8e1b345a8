"""Batch uploads (storage-1.5 §5.11, §11 "Batches")."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from storage15_support import seconds, stamp, storage, wait_for_next_second

from synccore.timestamps import now_centis
from syncstorage.storage import BatchNotFoundError, RecordWrite
from syncstorage.storage.schema import batch_upload_items, batch_uploads, bso
from syncstorage.testing15 import HawkClient


def items(*ids: str, **fields) -> list[dict]:
    return [{"id": item, "payload": f"p-{item}", **fields} for item in ids]


def open_batch(client, collection: str = "c", body=None, **kwargs) -> str:
    response = client.post(f"/storage/{collection}?batch=true",
                           body if body is not None else items("a"), **kwargs)
    assert response.status_int == 202
    return response.json["batch"]


def test_full_flow(client):
    """§5.11, §11: staging is invisible and keeps X-Last-Modified; the commit
    applies everything with one timestamp T."""
    before = stamp(client.put("/storage/c/old", {"payload": "x"}))
    response = client.post("/storage/c?batch=true", items("a", "b"))
    assert response.status_int == 202
    assert set(response.json) == {"batch", "success", "failed"}
    assert response.json["success"] == ["a", "b"]
    assert stamp(response) == before
    batch = response.json["batch"]
    # Nothing staged is visible.
    assert client.get("/storage/c").json == ["old"]
    assert client.get("/info/collection_counts").json == {"c": 1}
    assert stamp(client.get("/info/collections")) == before
    response = client.post(f"/storage/c?batch={batch}", items("c", "d"))
    assert response.status_int == 202
    assert response.json == {"batch": batch, "success": ["c", "d"], "failed": {}}
    assert stamp(response) == before
    response = client.post(f"/storage/c?batch={batch}&commit=true", items("e"))
    assert response.status_int == 200
    modified = stamp(response)
    assert modified > before
    assert response.json == {"modified": modified / 100, "success": ["e"], "failed": {}}
    full = client.get("/storage/c?full=1").json
    assert {item["id"] for item in full} == {"old", "a", "b", "c", "d", "e"}
    assert {item["modified"] for item in full if item["id"] != "old"} == {modified / 100}
    assert client.get("/info/collections").json == {"c": modified / 100}
    assert client.get("/storage/c/a").json["payload"] == "p-a"


def test_commit_with_an_empty_body(client):
    """§5.11: committing with [] applies what was staged."""
    batch = open_batch(client, body=items("a", "b"))
    response = client.post(f"/storage/c?batch={batch}&commit=true", [])
    assert response.json["success"] == []
    assert sorted(client.get("/storage/c").json) == ["a", "b"]


def test_batch_id_is_urlsafe_and_per_request_distinct(client):
    first, second = open_batch(client), open_batch(client)
    assert first != second
    for batch in (first, second):
        assert set(batch) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789-_")


def test_commit_value_is_case_insensitive(client):
    """§5.11: ``commit=true`` in any case."""
    batch = open_batch(client)
    assert client.post(f"/storage/c?batch={batch}&commit=TRUE", []).status_int == 200
    assert client.get("/storage/c").json == ["a"]


def test_over_quota_fails_staging_and_commit(make_app15):
    """§5.11, §6.2: over quota, staging and commit requests fail whole (400, 14)
    and nothing staged becomes visible."""
    client = HawkClient(make_app15(**{"storage.quota_kb": 1}), 42)
    batch = open_batch(client)
    client.put("/storage/other/big", {"payload": "x" * 1100})  # the write that overshoots
    assert client.post(f"/storage/c?batch={batch}", items("b"), status=400).body == b"14"
    assert client.post(f"/storage/c?batch={batch}&commit=true", [],
                       status=400).body == b"14"
    assert client.post("/storage/c?batch=true", items("c"), status=400).body == b"14"
    assert client.get("/storage/c").json == []


def test_batch_true_with_commit_is_a_plain_post(client):
    """§5.11: batch=true&commit=true is identical to a non-batch POST."""
    response = client.post("/storage/c?batch=true&commit=true", items("a"))
    assert response.status_int == 200
    assert set(response.json) == {"modified", "success", "failed"}
    assert client.get("/storage/c").json == ["a"]


def test_empty_batch_value_means_true(client):
    response = client.post("/storage/c?batch=", items("a"))
    assert response.status_int == 202 and "batch" in response.json


@pytest.mark.parametrize("query", [
    "batch=sammich", "batch=c2FtbWljaA%3D%3D", "commit=true", "batch=true&commit=false",
    "batch=true&commit=yes", "batch=%2F%2F&commit=true", "batch=" + "a" * 65,
])
def test_bad_batch_parameters(client, query):
    """§5.11, §11: unknown/undecodable id, commit without batch, bad commit → 400."""
    response = client.post(f"/storage/c?{query}", items("a"), status=400)
    assert response.body in (b"0", b"1")
    assert client.get("/storage/c").json == []


def test_batch_is_bound_to_its_collection_and_user(client, other_client):
    """§5.11, §11: an id from another collection or user → 400."""
    batch = open_batch(client, "c")
    client.post(f"/storage/other?batch={batch}", items("x"), status=400)
    client.post(f"/storage/other?batch={batch}&commit=true", items("x"), status=400)
    other_client.post(f"/storage/c?batch={batch}", items("x"), status=400)
    other_client.post(f"/storage/c?batch={batch}&commit=true", items("x"), status=400)
    client.post(f"/storage/c?batch={batch}&commit=true", [])
    assert client.get("/storage/c").json == ["a"]
    assert other_client.get("/storage/c").json == []


def test_batch_cannot_be_reused_after_commit(client):
    """§11: reuse after commit → 400."""
    batch = open_batch(client)
    client.post(f"/storage/c?batch={batch}&commit=true", [])
    client.post(f"/storage/c?batch={batch}", items("b"), status=400)
    client.post(f"/storage/c?batch={batch}&commit=true", items("b"), status=400)


def test_total_bytes_header(client):
    """§7.4, §11: X-Weave-Total-Bytes = max_total_bytes OK, +1 → 400 body 17."""
    limit = client.get("/info/configuration").json["max_total_bytes"]
    open_batch(client, headers={"X-Weave-Total-Bytes": str(limit)})
    response = client.post("/storage/c?batch=true", items("a"), status=400,
                           headers={"X-Weave-Total-Bytes": str(limit + 1)})
    assert response.body == b"17"


def test_staged_totals_are_enforced(make_app15):
    """§5.11 (MAY): more records or bytes than a batch may hold → 400 body 17,
    and that request stages nothing."""
    app = make_app15(**{"storage15.max_total_records": 3, "storage15.max_total_bytes": 40})
    client = HawkClient(app, 42)
    batch = open_batch(client, body=items("a", "b"))
    response = client.post(f"/storage/c?batch={batch}", items("c", "d"), status=400)
    assert response.body == b"17"
    client.post(f"/storage/c?batch={batch}", items("a", "c"))  # a is staged again
    assert client.post(f"/storage/c?batch={batch}&commit=true", items("d"),
                       status=400).body == b"17"
    assert client.get("/storage/c").json == []
    big = open_batch(client, body=[{"id": "x", "payload": "x" * 40}])
    assert client.post(f"/storage/c?batch={big}", [{"id": "y", "payload": "y"}],
                       status=400).body == b"17"
    client.post(f"/storage/c?batch={batch}&commit=true", [])
    assert sorted(client.get("/storage/c").json) == ["a", "b", "c"]


def test_each_staging_request_has_the_post_limits(make_app15):
    """§5.11: max_post_records applies to every staging request."""
    client = HawkClient(make_app15(**{"storage15.max_post_records": 2}), 42)
    response = client.post("/storage/c?batch=true", items("a", "b", "c"))
    assert response.json["failed"] == {"c": "retry bso"}
    batch = response.json["batch"]
    client.post(f"/storage/c?batch={batch}&commit=true", items("c"))
    assert sorted(client.get("/storage/c").json) == ["a", "b", "c"]


def test_ttl_counts_from_commit_time(client):
    """§5.11, §11: a staged ttl is counted from the commit, not from staging."""
    batch = open_batch(client, body=[{"id": "a", "payload": "x", "ttl": 1000}])
    wait_for_next_second()
    modified = stamp(client.post(f"/storage/c?batch={batch}&commit=true", []))
    engine = storage(client).engine
    with engine.connect() as conn:
        expiry = conn.execute(sa.select(bso.c.expiry).where(
            bso.c.userid == 42, bso.c.id == "a")).scalar()
    assert expiry == modified // 100 + 1000


def test_partial_updates_keep_earlier_fields(client):
    """§5.11, §11: untouched fields survive, staged fields merge, the commit request wins."""
    client.put("/storage/c/a", {"payload": "old", "sortindex": 5})
    batch = open_batch(client, body=[{"id": "a", "payload": "new"},
                                     {"id": "b", "payload": "staged", "sortindex": 7}])
    client.post(f"/storage/c?batch={batch}", [{"id": "b", "ttl": 3600}])
    commit = client.post(f"/storage/c?batch={batch}&commit=true",
                         [{"id": "b", "payload": "committed"}])
    a, b = client.get("/storage/c/a").json, client.get("/storage/c/b").json
    assert (a["payload"], a["sortindex"]) == ("new", 5)
    assert (b["payload"], b["sortindex"]) == ("committed", 7)
    assert a["modified"] == b["modified"] == commit.json["modified"]


def test_ttl_only_item_in_a_batch_gets_the_commit_time(client):
    """§3.1: an item in a committed batch gets modified = T whatever its fields."""
    client.put("/storage/c/a", {"payload": "x"})
    batch = open_batch(client, body=[{"id": "a", "ttl": 3600}])
    modified = client.post(f"/storage/c?batch={batch}&commit=true", []).json["modified"]
    item = client.get("/storage/c/a").json
    assert item["modified"] == modified and item["payload"] == "x"


def test_failed_items_are_never_committed(client):
    """§5.11, §11: items reported in failed are left out of the commit."""
    response = client.post("/storage/c?batch=true", [{"id": "good", "payload": "x"},
                                                     {"id": "bad", "payload": "x", "ttl": -1}])
    assert response.json["failed"] == {"bad": "invalid ttl"}
    batch = response.json["batch"]
    commit = client.post(f"/storage/c?batch={batch}&commit=true",
                         [{"id": "late", "payload": 5}, {"id": "fine", "payload": "y"}])
    assert commit.json["failed"] == {"late": "payload not a string"}
    assert commit.json["success"] == ["fine"]
    assert sorted(client.get("/storage/c").json) == ["fine", "good"]


@pytest.mark.parametrize(("content_type", "body", "status"), [
    ("application/json", b"[]", 200),
    ("application/json", b"{}", 400),
    ("application/json", b"", 400),
    ("application/newlines", b"", 200),
    ("application/newlines", b"\n", 400),
    ("application/newlines", b"{}", 400),
    ("application/newlines", b"[]", 400),
])
def test_empty_commit_bodies(client, content_type, body, status):
    """§5.11, §11: the empty-commit body matrix."""
    batch = open_batch(client)
    client.request("POST", f"/storage/c?batch={batch}&commit=true", body=body,
                   content_type=content_type, status=status)
    assert client.get("/storage/c").json == (["a"] if status == 200 else [])


def test_if_unmodified_since_on_staging_and_commit(client, other_client):
    """§5.11: XIUS is checked on every batch request; another writer in between → 412."""
    start = stamp(client.put("/storage/c/x", {"payload": "x"}))
    since = {"X-If-Unmodified-Since": seconds(start)}
    batch = open_batch(client, headers=since)
    client.post(f"/storage/c?batch={batch}", items("b"), headers=since)
    changed = stamp(HawkClient(client.app, 42).put("/storage/c/y", {"payload": "y"}))
    response = client.post(f"/storage/c?batch={batch}", items("c"), headers=since,
                           status=412)
    assert stamp(response) == changed
    client.post(f"/storage/c?batch={batch}&commit=true", [], headers=since, status=412)
    assert sorted(client.get("/storage/c").json) == ["x", "y"]
    # The batch is still open: committing without the stale precondition works.
    client.post(f"/storage/c?batch={batch}&commit=true", [])
    assert sorted(client.get("/storage/c").json) == ["a", "b", "x", "y"]


def test_commit_is_atomic(client):
    """§5.11: a failure in the middle of a commit leaves nothing behind; the
    batch stays open and a retried commit applies everything."""
    client.put("/storage/c/a", {"payload": "before", "sortindex": 1})
    before = client.get("/storage/c?full=1").json
    batch = open_batch(client, body=items("a", "b", "c"))
    engine = storage(client).engine

    def fail_when_closing_the_batch(conn, cursor, statement, parameters, context, many):
        # By now the records were written; the transaction must undo them.
        if statement.lstrip().upper().startswith("DELETE FROM BATCH_UPLOAD_ITEMS"):
            raise sa.exc.OperationalError(statement, parameters,
                                          RuntimeError("injected failure"))

    event.listen(engine, "before_cursor_execute", fail_when_closing_the_batch)
    try:
        response = client.post(f"/storage/c?batch={batch}&commit=true", items("d"),
                               status=503)
        assert "Retry-After" in response.headers
    finally:
        event.remove(engine, "before_cursor_execute", fail_when_closing_the_batch)
    assert client.get("/storage/c?full=1").json == before
    assert client.get("/info/collection_counts").json == {"c": 1}
    commit = client.post(f"/storage/c?batch={batch}&commit=true", items("d"))
    full = client.get("/storage/c?full=1").json
    assert sorted(item["id"] for item in full) == ["a", "b", "c", "d"]
    assert {item["modified"] for item in full} == {commit.json["modified"]}


def test_expired_batch(make_app15):
    """§5.11: a batch older than its lifetime → 400 on append and on commit."""
    client = HawkClient(make_app15(**{"storage15.batch_ttl_seconds": 1}), 42)
    wait_for_next_second()
    batch = open_batch(client)
    wait_for_next_second()
    client.post(f"/storage/c?batch={batch}", items("b"), status=400)
    client.post(f"/storage/c?batch={batch}&commit=true", [], status=400)
    assert client.get("/storage/c").json == []


def test_abandoned_batches_are_purged(client):
    """§5.11: expired batches and their staged items are removed by the purge."""
    open_batch(client, body=items("a", "b"))
    fresh = open_batch(client, "d", body=items("x"))
    backend, engine = storage(client), storage(client).engine
    assert backend.purge_expired_batches(now_centis()) == 0
    later = now_centis() + 7201 * 100
    with pytest.raises(BatchNotFoundError):
        backend.append_to_batch(42, "d", fresh, [], later)
    assert backend.purge_expired_batches(later) == 2
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(batch_uploads)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count())
                            .select_from(batch_upload_items)).scalar() == 0
    list(backend.purge_expired(later))  # the record purge also clears batches


def test_deleting_storage_drops_open_batches(client):
    """§5.6: DELETE /storage removes the user's batches too."""
    batch = open_batch(client)
    client.delete("/storage")
    client.post(f"/storage/c?batch={batch}&commit=true", [], status=400)


def test_batches_of_different_users_stay_apart(client, other_client):
    mine = open_batch(client, body=items("mine"))
    theirs = open_batch(other_client, body=items("theirs"))
    client.post(f"/storage/c?batch={mine}&commit=true", [])
    other_client.post(f"/storage/c?batch={theirs}&commit=true", [])
    assert client.get("/storage/c").json == ["mine"]
    assert other_client.get("/storage/c").json == ["theirs"]


def test_crypto_zero_iv_in_a_batch(client):
    """§3.2: the known-bad IV fails the whole batch request."""
    payload = '{"IV": "AAAAAAAAAAAAAAAAAAAAAA=="}'
    client.post("/storage/crypto?batch=true", [{"id": "keys", "payload": payload}],
                status=400)


def test_commit_behind_the_collection_timestamp_gets_503(client):
    """§6.3: a commit that cannot get a newer timestamp → 503; the batch stays open."""
    batch = open_batch(client)
    storage(client).write_records(42, "c", [RecordWrite(id="z", payload="z")],
                                  now_centis() + 360_000)
    response = client.post(f"/storage/c?batch={batch}&commit=true", [], status=503)
    assert response.headers["Retry-After"] == "10"
    assert client.get("/storage/c").json == ["z"]
    with storage(client).engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(batch_uploads)).scalar() == 1
