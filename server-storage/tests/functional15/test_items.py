"""Single items: GET, PUT and DELETE on /storage/{collection}/{id}
(storage-1.5 §3.1, §3.2, §5.8, §5.9, §5.14, §11 "Items & collections")."""
from __future__ import annotations

import re
import time

import pytest
from storage15_support import stamp, wait_for_next_second

from syncstorage.testing15 import HawkClient

MODIFIED_LITERAL = re.compile(r'"modified":\d+\.\d{2}[,}]')
ZERO_IV_PAYLOAD = '{"ciphertext":"abc","IV": "AAAAAAAAAAAAAAAAAAAAAA==","hmac":"def"}'


def test_put_then_get(client):
    """§11: keys exactly id, modified, payload (+ sortindex); 2-decimal modified."""
    put = client.put("/storage/c/a", {"payload": "hello"})
    assert put.content_type == "application/json"
    modified = stamp(put)
    assert put.body.decode() == put.headers["X-Last-Modified"]
    assert put.headers["X-Weave-Timestamp"] == put.headers["X-Last-Modified"]
    response = client.get("/storage/c/a")
    assert set(response.json) == {"id", "modified", "payload"}
    assert response.json["payload"] == "hello"
    assert MODIFIED_LITERAL.search(response.body.decode())
    assert stamp(response) == modified
    client.put("/storage/c/b", {"payload": "x", "sortindex": 3})
    assert set(client.get("/storage/c/b").json) == {"id", "modified", "payload", "sortindex"}


def test_client_modified_is_ignored(client):
    """§3.1, §11: a client's modified is ignored; GET shows the PUT's X-Weave-Timestamp."""
    put = client.put("/storage/c/a", {"payload": "x", "modified": 123.45})
    assert client.get("/storage/c/a").json["modified"] == float(
        put.headers["X-Weave-Timestamp"])


def test_missing_item_and_collection(client):
    """§5.7, §5.8, §11: missing item → 404 body 0; missing collection → [] at 0.00."""
    response = client.get("/storage/c/nope", status=404)
    assert response.body == b"0"
    assert response.content_type == "application/json"
    listing = client.get("/storage/nothing")
    assert listing.json == []
    assert listing.headers["X-Last-Modified"] == "0.00"
    client.put("/storage/c/a", {"payload": "x"})
    assert client.get("/storage/c/nope", status=404).body == b"0"


def test_new_item_defaults(client):
    """§3.1: payload defaults to "" on create; sortindex absent until set."""
    client.put("/storage/c/a", {"sortindex": 5})
    assert client.get("/storage/c/a").json["payload"] == ""
    client.put("/storage/c/b", {})
    item = client.get("/storage/c/b").json
    assert item["payload"] == ""
    assert "sortindex" not in item


def test_null_fields_count_as_absent(client):
    """§3.1: {"payload":"x","ttl":null} is stored and readable (bug 1332552)."""
    client.put("/storage/c/a", {"payload": "x", "ttl": None, "sortindex": None})
    assert client.get("/storage/c/a").json["payload"] == "x"
    client.put("/storage/c/a", {"payload": None, "sortindex": 4})
    assert client.get("/storage/c/a").json["payload"] == "x"


def test_collection_field_is_accepted_and_ignored(client):
    """§3.1: a ``collection`` member (some clients serialize it) is ignored."""
    client.put("/storage/c/a", {"payload": "x", "collection": "other"})
    client.post("/storage/c", [{"id": "b", "payload": "y", "collection": "c"}])
    assert set(client.get("/storage/c/a").json) == {"id", "modified", "payload"}
    assert sorted(client.get("/storage/c").json) == ["a", "b"]
    assert client.get("/storage/other").json == []


def test_body_id_is_only_checked(client):
    """§3.1: the URL id wins; the body's id must still be a valid id."""
    client.put("/storage/c/a", {"id": "other", "payload": "x"})
    assert client.get("/storage/c/a").json["id"] == "a"
    client.get("/storage/c/other", status=404)
    assert client.put("/storage/c/a", {"id": "bad\n", "payload": "x"},
                      status=400).body == b"8"


def test_sortindex_only_update_bumps_modified(client):
    """§3.1 ("We" column): sortindex-only update bumps modified, keeps the payload."""
    first = stamp(client.put("/storage/c/a", {"payload": "x"}))
    second = stamp(client.put("/storage/c/a", {"sortindex": 9}))
    item = client.get("/storage/c/a").json
    assert second > first
    assert round(item["modified"] * 100) == second
    assert item["payload"] == "x" and item["sortindex"] == 9


def test_ttl_only_update_keeps_payload_and_modified(client):
    """§3.1, §11: ttl-only update keeps the payload and does not bump the item."""
    first = stamp(client.put("/storage/c/a", {"payload": "x", "sortindex": 2}))
    second = stamp(client.put("/storage/c/a", {"ttl": 3600}))
    assert second > first
    item = client.get("/storage/c/a").json
    assert round(item["modified"] * 100) == first
    assert item["payload"] == "x" and item["sortindex"] == 2
    # The collection's last-modified moves with every write (§3.1).
    assert client.get("/info/collections").json["c"] == second / 100


def test_ttl_expiry(client):
    """§3.1, §11: ttl 0 is invisible at once; a ttl counts from the write; an
    update without ttl keeps the expiry; an expired id can be written again."""
    client.put("/storage/c/gone", {"payload": "x", "ttl": 0})
    client.get("/storage/c/gone", status=404)
    wait_for_next_second()  # the whole 1-second ttl lies ahead
    client.put("/storage/c/short", {"payload": "x", "ttl": 1})
    client.put("/storage/c/short", {"payload": "updated"})
    assert client.get("/storage/c/short").json["payload"] == "updated"
    assert client.get("/storage/c").json == ["short"]
    assert client.get("/info/collection_counts").json == {"c": 1}
    wait_for_next_second()
    client.get("/storage/c/short", status=404)
    assert client.get("/storage/c").json == []
    assert client.get("/info/collection_counts").json == {}
    client.put("/storage/c/short", {"sortindex": 1})
    item = client.get("/storage/c/short").json
    assert item["payload"] == "" and item["sortindex"] == 1


def test_negative_sortindex(client):
    """§11: sortindex -42 is fine."""
    client.put("/storage/c/a", {"payload": "x", "sortindex": -42})
    assert client.get("/storage/c/a").json["sortindex"] == -42


@pytest.mark.parametrize("body", [
    {"payload": "x", "ttl": -1},
    {"payload": "x", "ttl": "10"},
    {"payload": "x", "ttl": 1.5},
    {"payload": "x", "ttl": 1_000_000_000},
    {"payload": "x", "sortindex": "xxx"},
    {"payload": "x", "sortindex": "2.6"},
    {"payload": "x", "sortindex": 2.6},
    {"payload": "x", "sortindex": True},
    {"payload": "x", "sortindex": 1_000_000_000},
    {"payload": 42},
    {"payload": {"nested": "object"}},
    {"payload": "x", "parentid": "p"},
    {"payload": "x", "unknown": 1},
    ["not", "an", "object"],
    "a string",
])
def test_invalid_bso_on_put(client, body):
    """§3.1, §5.9, §11: an invalid BSO → 400 code 8, nothing stored."""
    response = client.put("/storage/c/a", body, status=400)
    assert response.body == b"8"
    client.get("/storage/c/a", status=404)


def test_ttl_upper_bound_is_accepted(client):
    """§3.1: ttl up to 999 999 999 is valid (no silent drop above a year)."""
    client.put("/storage/c/a", {"payload": "x", "ttl": 999_999_999})
    assert client.get("/storage/c/a").json["payload"] == "x"


def test_body_not_json(client):
    """§5.9: an unparseable body → 400 code 6."""
    response = client.request("PUT", "/storage/c/a", body=b"{not json",
                              content_type="application/json", status=400)
    assert response.body == b"6"
    response = client.request("PUT", "/storage/c/a", body=b"\xff\xfe",
                              content_type="application/json", status=400)
    assert response.body == b"6"


@pytest.mark.parametrize("content_type", ["application/json", "text/plain",
                                          "application/json; charset=utf-8", None])
def test_accepted_put_content_types(client, content_type):
    """§5.9: application/json, text/plain, or none at all."""
    response = client.request("PUT", "/storage/c/a", body=b'{"payload": "x"}',
                              content_type=content_type)
    assert response.status_int == 200


@pytest.mark.parametrize("content_type", ["application/xml", "application/newlines",
                                          "multipart/form-data"])
def test_unsupported_put_content_type(client, content_type):
    """§5.9: anything else → 415."""
    response = client.request("PUT", "/storage/c/a", body=b'{"payload": "x"}',
                              content_type=content_type, status=415)
    assert response.content_type == "application/json"


def test_payload_size_limit(make_app15):
    """§4, §5.9: max_record_payload_bytes, inclusive, in UTF-8 bytes → else 400/8."""
    client = HawkClient(make_app15(**{"storage15.max_record_payload_bytes": 10}), 42)
    client.put("/storage/c/a", {"payload": "é" * 5})  # exactly 10 bytes
    assert client.put("/storage/c/b", {"payload": "é" * 6}, status=400).body == b"8"
    assert client.put("/storage/c/b", {"payload": "x" * 11}, status=400).body == b"8"


def test_request_size_limit(make_app15):
    """§5.9: Content-Length above max_request_bytes → 413, body 17."""
    client = HawkClient(make_app15(**{"storage15.max_request_bytes": 50}), 42)
    response = client.put("/storage/c/a", {"payload": "x" * 60}, status=413)
    assert response.body == b"17"
    client.put("/storage/c/a", {"payload": "x" * 10})
    exactly = b'{"payload": "' + b"x" * 35 + b'"}'
    assert len(exactly) == 50  # the limit is inclusive (§4)
    client.request("PUT", "/storage/c/a", body=exactly, content_type="application/json")


def test_lone_surrogate_payload_is_invalid(client):
    response = client.request("PUT", "/storage/c/a", body=b'{"payload": "\\ud800"}',
                              content_type="application/json", status=400)
    assert response.body == b"8"


def test_crypto_zero_iv(client):
    """§3.2, §11: the all-zero IV in crypto → 400/8; elsewhere accepted."""
    assert client.put("/storage/crypto/keys", {"payload": ZERO_IV_PAYLOAD},
                      status=400).body == b"8"
    compact = ZERO_IV_PAYLOAD.replace('": "', '":"')
    assert client.put("/storage/crypto/keys", {"payload": compact}, status=400).body == b"8"
    client.get("/storage/crypto/keys", status=404)
    client.put("/storage/other/keys", {"payload": ZERO_IV_PAYLOAD})
    good = ZERO_IV_PAYLOAD.replace("AAAAAAAAAAAAAAAAAAAAAA==", "abcdefghijklmnopqrstuv==")
    client.put("/storage/crypto/keys", {"payload": good})


@pytest.mark.parametrize("path", [
    "/storage/c/" + "a" * 65,
    "/storage/c/tab%09id",
    "/storage/c/caf%C3%A9",
    "/storage/" + "c" * 33 + "/a",
    "/storage/bad!name/a",
    "/storage/bad!name",
])
def test_invalid_names_are_not_found(client, path):
    """§1: an invalid collection name or BSO id names no resource → 404, body 0."""
    for method in ("GET", "PUT", "DELETE"):
        body = b'{"payload": "x"}' if method == "PUT" else None
        response = client.request(method, path, body=body, status=404)
        assert response.body == b"0"


def test_longest_names_work(client):
    """§1: 64-character ids and 32-character collection names are valid."""
    path = "/storage/" + "c" * 32 + "/" + "i" * 64
    client.put(path, {"payload": "x"})
    assert client.get(path).json["id"] == "i" * 64


def test_ids_with_unusual_printable_characters(client):
    """§1: any printable ASCII except '/' works as an id."""
    client.put("/storage/c/a%20b~c!%22", {"payload": "x"})
    assert client.get("/storage/c").json == ['a b~c!"']


def test_delete_item(client):
    """§5.14: 200 {"modified": T}; the collection moves to T; the item is gone."""
    client.put("/storage/c/a", {"payload": "x"})
    client.put("/storage/c/b", {"payload": "y"})
    response = client.delete("/storage/c/a")
    modified = stamp(response)
    assert response.json == {"modified": modified / 100}
    client.get("/storage/c/a", status=404)
    assert client.get("/storage/c").json == ["b"]
    assert client.get("/info/collection_counts").json == {"c": 1}
    assert client.get("/info/collections").json["c"] == modified / 100


def test_delete_missing_item(client):
    """§5.14: missing or expired item → 404, and nothing changes."""
    client.delete("/storage/c/a", status=404)
    client.put("/storage/c/b", {"payload": "x"})
    client.put("/storage/c/gone", {"payload": "x", "ttl": 0})
    before = stamp(client.get("/storage/c"))
    assert client.delete("/storage/c/gone", status=404).body == b"0"
    assert stamp(client.get("/storage/c")) == before


def test_collection_survives_deleting_its_items(client):
    """§3.2: a collection emptied item by item still exists."""
    client.put("/storage/c/a", {"payload": "x"})
    client.delete("/storage/c/a")
    assert "c" in client.get("/info/collections").json


def test_get_item_preconditions(client):
    """§5.8: IMS ≥ item modified → 304; XIUS < item modified → 412."""
    modified = stamp(client.put("/storage/c/a", {"payload": "x"}))
    text = client.get("/storage/c/a").headers["X-Last-Modified"]
    assert client.get("/storage/c/a", headers={"X-If-Modified-Since": text}) \
        .status_int == 304
    older = f"{(modified - 1) // 100}.{(modified - 1) % 100:02d}"
    assert client.get("/storage/c/a", headers={"X-If-Modified-Since": older}) \
        .status_int == 200
    response = client.get("/storage/c/a", headers={"X-If-Unmodified-Since": older},
                          status=412)
    assert stamp(response) == modified


def test_items_are_per_user(client, other_client):
    client.put("/storage/c/a", {"payload": "mine"})
    other_client.get("/storage/c/a", status=404)
    other_client.put("/storage/c/a", {"payload": "theirs"})
    assert client.get("/storage/c/a").json["payload"] == "mine"


def test_unicode_payload_round_trip(client):
    payload = "snowman ☃, emoji 😀, newline \n, quote \""
    client.put("/storage/c/a", {"payload": payload})
    assert client.get("/storage/c/a").json["payload"] == payload


def test_time_moves_forward_between_writes(client):
    """Writes to one collection get strictly increasing timestamps (§3.3)."""
    stamps = [stamp(client.put("/storage/c/a", {"payload": str(n)})) for n in range(5)]
    assert stamps == sorted(set(stamps))
    assert time.time() * 100 >= stamps[-1] - 1
