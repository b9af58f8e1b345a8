"""The worked examples of spec section 14, as one session of user joe, and a
Firefox-like first sync."""
from __future__ import annotations

import re
from decimal import Decimal

from storage11_support import SyncClient, error_code, timestamp_of, wait_past


def test_section_14_worked_examples(make_client):
    """Section 14, step by step (timestamps are the server's, not the example's)."""
    joe = make_client(**{"storage.quota_kb": 5120})

    response = joe.put("/storage/col2/abc", {"payload": "xxx", "sortindex": 3})
    assert response.content_type == "application/json"
    t_put = timestamp_of(response)
    assert response.body == f"{t_put:.2f}".encode()

    response = joe.get(f"/storage/col2?full=1&newer={t_put - Decimal('0.01')}&sort=index")
    assert response.headers["X-Weave-Records"] == "1"
    assert response.json == [{"id": "abc", "modified": float(t_put), "sortindex": 3,
                              "payload": "xxx"}]
    assert response.body == (b'[{"id":"abc","modified":' + f"{t_put:.2f}".encode()
                             + b',"sortindex":3,"payload":"xxx"}]')

    wait_past(t_put)
    response = joe.post("/storage/col2", [{"id": "a", "payload": "p"}, {"payload": "no id"}])
    t_post = timestamp_of(response)
    assert response.json == {"modified": float(t_post), "success": ["a"],
                             "failed": {"": ["invalid id"]}}

    response = joe.get("/info/collections")
    assert response.json == {"col2": float(t_post)}
    assert response.headers["X-Weave-Records"] == "1"

    assert joe.get("/info/quota").json == [0.00390625, 5120]  # 3 + 1 payload bytes

    assert error_code(joe.delete("/storage", status=400)) == 4

    response = joe.put("/storage/col2/abc", {"payload": "yyy"},
                       headers={"X-If-Unmodified-Since": f"{t_put:.2f}"}, status=412)
    assert b"412 Precondition Failed" in response.body

    joe.get("/storage/col2/nope", status=404)


def test_firefox_first_sync_shape(client):
    """A fresh client: meta/global and crypto/keys 404, uploads, then incremental reads
    with newer= from the info/collections timestamps (ST-GI2, ST-IC1, ST-P2, ST-B9)."""
    assert client.get("/info/collections?v=1.5").json == {}
    client.get("/storage/meta/global", status=404)
    client.get("/storage/crypto/keys", status=404)
    client.put("/storage/meta/global", {"payload": '{"syncID":"abc","storageVersion":5}'},
               headers={"X-If-Unmodified-Since": "0"})
    client.put("/storage/crypto/keys", {"payload": '{"ciphertext":"..."}'})
    upload = client.post("/storage/bookmarks", [
        {"id": "menu", "payload": "m", "sortindex": 1000000},
        {"id": "toolbar", "payload": "t", "parentid": "places"},
        {"id": "{6820f3ca-6d5e-4f0a-9d3b-0123456789ab}", "payload": "b", "parentid": "menu"}],
        headers={"Content-Type": "application/json"})
    last_sync = timestamp_of(upload)
    assert upload.json["modified"] == float(last_sync)
    collections = client.get("/info/collections").json
    assert set(collections) == {"meta", "crypto", "bookmarks"}
    assert client.ids("bookmarks", f"newer={last_sync}") == []
    # a second device changes one bookmark
    other_device = SyncClient(client.testapp, client.username, client.password)
    wait_past(last_sync)
    other_device.post("/storage/bookmarks", [{"id": "toolbar", "payload": "t2"}],
                      headers={"X-If-Unmodified-Since": f"{last_sync:.2f}"})
    assert client.get("/info/collections").json["bookmarks"] > float(last_sync)
    changed = client.records("bookmarks", f"newer={last_sync}&sort=index")
    assert [record["id"] for record in changed] == ["toolbar"]
    stream = client.get(f"/storage/bookmarks?full=1&newer={last_sync}",
                        headers={"Accept": "application/newlines"})
    assert re.fullmatch(rb'\{"id":"toolbar".*\}\n', stream.body)
