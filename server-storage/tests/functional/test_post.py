"""Batch uploads, E8 (POST, and PUT on the collection path: E8b)."""
from __future__ import annotations

import pytest
from storage11_support import error_code, timestamp_of, wait_past

KIB = 1024


@pytest.fixture(params=["POST", "PUT"])
def upload(request, client):
    """E8 and its PUT alias E8b behave identically: every test runs with both."""
    def send(collection, body, **kwargs):
        return client.request(request.param, f"/storage/{collection}", body, **kwargs)
    return send


def test_st_b8_response_object(client, upload):
    """ST-B8 / ST-B9: {modified, success, failed}; X-Weave-Timestamp equals modified."""
    response = upload("tabs", [{"id": "a", "payload": "x"}, {"id": "b", "payload": "y"}])
    assert response.content_type == "application/json"
    assert response.json == {"modified": float(timestamp_of(response)),
                             "success": ["a", "b"], "failed": {}}
    assert response.text.startswith('{"modified":' + response.headers["X-Weave-Timestamp"])
    assert client.ids("tabs") == ["a", "b"]


def test_st_b8_empty_batch(client, upload):
    """ST-B8 / ST-C1.4: [] -> {"modified": T, "success": [], "failed": {}}; nothing created."""
    response = upload("tabs", [])
    assert response.json == {"modified": float(timestamp_of(response)), "success": [],
                             "failed": {}}
    assert client.collections() == {}


def test_reference_mixed_batch(client, upload):
    """ST-B5 / ST-B8: the reference's mixed batch, element for element."""
    client.put_record("col", "modifyme", {"payload": "keep me", "sortindex": 1})
    batch = [
        {"id": "1", "payload": "A"},
        {"id": "2"},
        {"id": "3", "parentid": "a", "predecessorid": "b", "sortindex": 3, "payload": "A"},
        {"id": "4", "parentid": "A" * 70, "payload": "A"},
        {"id": "5", "predecessorid": "A" * 70, "payload": "A"},
        {"id": "6", "sortindex": "blah", "payload": "A"},
        {"payload": "payload"},
        {"id": "modifyme", "sortindex": 5, "parentid": "a", "predecessorid": "b"},
        {"id": "modifyme2", "sortindex": 5},
    ]
    result = upload("col", batch).json
    assert result["success"] == ["1", "2", "3", "modifyme", "modifyme2"]
    assert result["failed"] == {"": ["invalid id"], "4": ["invalid parentid"],
                                "5": ["invalid predecessorid"], "6": ["invalid sortindex"]}
    assert client.ids("col") == ["1", "2", "3", "modifyme", "modifyme2"]
    modified = client.record("col", "modifyme")
    assert (modified["payload"], modified["sortindex"], modified["parentid"]) == (
        "keep me", 5, "a")
    assert client.record("col", "3") | {"modified": 0} == {
        "id": "3", "modified": 0, "parentid": "a", "predecessorid": "b", "sortindex": 3,
        "payload": "A"}


def test_reference_good_and_bad_items(client, upload):
    """ST-B5a: [{"id":"1","payload":"GOOD"}, "BAD"] -> one success, one failure."""
    result = upload("col", [{"id": "1", "payload": "GOOD"}, "BAD"]).json
    assert result["success"] == ["1"]
    assert result["failed"] == {"": ["invalid wbo"]}


def test_reference_failed_item_is_not_stored(client, upload):
    """ST-B5c: the item with sortindex "FAIL" is reported and answers 404 afterwards."""
    result = upload("col", [{"id": "one", "payload": "x"},
                            {"id": "two", "sortindex": "FAIL", "payload": "y"}]).json
    assert result["success"] == ["one"]
    assert result["failed"] == {"two": ["invalid sortindex"]}
    client.get("/storage/col/two", status=404)


def test_st_b5a_non_objects_and_nested_members_are_invalid_wbo(client, upload):
    """ST-B5a / ST-W3: a non-object element, or one with an array/object member."""
    for item in ("string", 12, 1.5, None, True, [], [{"id": "x", "payload": "y"}],
                 {"id": "x", "payload": ["nested"]}, {"id": "x", "extra": {"a": 1}}):
        result = upload("col", [item, {"id": "ok", "payload": "x"}]).json
        assert result["failed"] == {"": ["invalid wbo"]}, item
        assert result["success"] == ["ok"]
    assert client.ids("col") == ["ok"]


def test_st_b5b_missing_or_null_id(client, upload):
    """ST-B5b: no id (absent or null) -> failed[""] = ["invalid id"] (one key for all)."""
    result = upload("col", [{"payload": "a"}, {"id": None, "payload": "b"},
                            {"id": "ok", "payload": "c"}]).json
    assert result == {"modified": result["modified"], "success": ["ok"],
                      "failed": {"": ["invalid id"]}}


def test_st_b5_later_failures_for_a_key_overwrite_earlier_ones(client, upload):
    """ST-B5: several failures under one key show up once, with the last reason."""
    result = upload("col", ["junk", {"payload": "no id"}]).json
    assert result["failed"] == {"": ["invalid id"]}
    result = upload("col", [{"payload": "no id"}, "junk"]).json
    assert result["failed"] == {"": ["invalid wbo"]}
    result = upload("col", [{"id": "x", "ttl": -1}, {"id": "x", "sortindex": "bad"}]).json
    assert result["failed"] == {"x": ["invalid sortindex"]}


def test_st_b5d_more_than_100_records_retry_wbo(client, upload):
    """ST-B5d: 105 records -> 100 success + 5 'retry wbo'; 70 records -> 70 success."""
    result = upload("col", [{"id": str(i), "payload": "x"} for i in range(70)]).json
    assert len(result["success"]) == 70 and result["failed"] == {}
    result = upload("big", [{"id": f"{i:03d}", "payload": "x"} for i in range(105)]).json
    assert result["success"] == [f"{i:03d}" for i in range(100)]
    assert result["failed"] == {f"{i:03d}": ["retry wbo"] for i in range(100, 105)}
    assert len(client.ids("big")) == 100


def test_st_b5d_index_counts_every_element(client, upload):
    """ST-B5d: invalid elements count towards the 100."""
    batch = ["junk"] * 50 + [{"id": str(i), "payload": "x"} for i in range(60)]
    result = upload("col", batch).json
    assert len(result["success"]) == 50
    assert sum(1 for reason in result["failed"].values() if reason == ["retry wbo"]) == 10


def test_st_b5e_more_than_one_mebibyte_retry_bytes(client, upload):
    """ST-B5e: five 210 KiB payloads -> 4 success + 1 'retry bytes'."""
    batch = [{"id": str(i), "payload": "x" * (210 * KIB)} for i in range(5)]
    result = upload("col", batch).json
    assert result["success"] == ["0", "1", "2", "3"]
    assert result["failed"] == {"4": ["retry bytes"]}
    assert client.get("/info/collection_usage").json == {"col": 4 * 210.0}


def test_st_b5e_byte_limit_counts_utf8_bytes(client, upload):
    """ST-B5e / section 16.9: the running total is in UTF-8 bytes, not characters."""
    payload = "€" * 87_000  # 261 000 bytes, 87 000 characters
    result = upload("col", [{"id": str(i), "payload": payload} for i in range(5)]).json
    assert result["success"] == ["0", "1", "2", "3"]
    assert result["failed"] == {"4": ["retry bytes"]}


def test_st_b5e_running_total_keeps_rejected_items(client, upload):
    """ST-B5e: the rejected element stays in the running total (reference behaviour)."""
    batch = [{"id": f"big{i}", "payload": "x" * (250 * KIB)} for i in range(1, 6)]
    batch.append({"id": "small", "payload": "x"})
    result = upload("col", batch).json
    assert result["success"] == ["big1", "big2", "big3", "big4"]
    assert result["failed"] == {"big5": ["retry bytes"], "small": ["retry bytes"]}


def test_st_b7_accepted_records_share_the_request_timestamp(client, upload):
    """ST-B7 / ST-T2: every accepted record gets the request timestamp."""
    response = upload("col", [{"id": str(i), "payload": str(i)} for i in range(30)])
    stamp = float(timestamp_of(response))
    assert {record["modified"] for record in client.records("col")} == {stamp}
    assert client.collections() == {"col": stamp}


def test_st_b7_batch_items_follow_write_semantics(client, upload):
    """ST-B7 / ST-W9 / section 16.6: metadata-only items keep payload, modified and fields."""
    t1 = client.put_record("col", "a", {"payload": "keep", "sortindex": 1, "parentid": "p",
                                        "predecessorid": "q"})
    wait_past(t1)
    response = upload("col", [{"id": "a", "sortindex": 7}])
    assert response.json["success"] == ["a"]
    assert client.record("col", "a") == {"id": "a", "modified": float(t1), "payload": "keep",
                                         "sortindex": 7, "parentid": "p", "predecessorid": "q"}
    assert client.collections() == {"col": float(timestamp_of(response))}


def test_st_b10_duplicate_ids_apply_in_order(client, upload):
    """ST-B10: the last occurrence wins; every occurrence is listed in success."""
    result = upload("col", [{"id": "a", "payload": "first", "sortindex": 1},
                            {"id": "a", "payload": "second"},
                            {"id": "a", "parentid": "p"}]).json
    assert result["success"] == ["a", "a", "a"]
    assert client.record("col", "a") | {"modified": 0} == {
        "id": "a", "modified": 0, "payload": "second", "sortindex": 1, "parentid": "p"}
    assert client.get("/info/collection_counts").json == {"col": 1}


def test_st_b3_single_object_is_a_put(client, upload):
    """ST-B3: an object body stores that record and answers its bare timestamp."""
    response = upload("col", {"id": "solo", "payload": "x", "sortindex": 2})
    assert response.body == response.headers["X-Weave-Timestamp"].encode("ascii")
    assert client.record("col", "solo")["payload"] == "x"
    response = upload("col", {"id": "solo", "sortindex": 3})  # metadata only
    assert float(response.body) == client.record("col", "solo")["modified"]
    response = upload("col", {"id": 42, "payload": "numeric id"})
    assert client.record("col", "42")["payload"] == "numeric id"


def test_st_b3_single_object_failures_are_code_8(client, upload):
    """ST-B3: no id, an id with '/', or any invalid field -> 400 code 8, nothing stored."""
    for body in ({}, {"payload": "x"}, {"id": None, "payload": "x"},
                 {"id": "a/b", "payload": "x"}, {"id": "i" * 65, "payload": "x"},
                 {"id": "ok", "payload": 5}, {"id": "ok", "ttl": "x"},
                 {"id": True, "payload": "x"}, {"id": "ok", "payload": "x", "n": [1]},
                 {"id": "nul\u0000", "payload": "x"}):
        assert error_code(upload("col", body, status=400)) == 8, body
    assert client.collections() == {}


def test_st_b4_other_json_values_are_code_8(client, upload):
    """ST-B4: a string, number, boolean or null body -> 400 code 8."""
    for body in ('"string"', "12", "null", "true", "1.5"):
        assert error_code(upload("col", body, status=400)) == 8, body
    assert client.collections() == {}


def test_st_b2_unparseable_body_is_code_6(client, upload):
    """ST-B2: a body that is not UTF-8 JSON -> 400 code 6; nothing stored."""
    client.put_record("col", "a", {"payload": "kept"})
    before = client.snapshot("col")
    for body in (b"", b"[", b"[{]", b"not json", b"[{'id': 'a'}]", b"[1,]",
                 b'[{"id": "\xff"}]', b"[NaN]",
                 b'[{"id": "a", "payload": "x", "sortindex": -Infinity}]', b"[" * 100_000,
                 b'\xef\xbb\xbf[]', b"[] []"):
        assert error_code(upload("col", body, status=400)) == 6, body[:40]
    assert client.snapshot("col") == before


def test_failure_values_are_always_lists(client, upload):
    """ST-B8 / section 16.4: every failure value is a list of strings."""
    result = upload("col", ["x", {"payload": "y"}, {"id": "a", "ttl": "z"},
                            {"id": "b", "payload": 1}] +
                    [{"id": str(i), "payload": "x"} for i in range(100)]).json
    assert result["failed"]
    for reasons in result["failed"].values():
        assert isinstance(reasons, list)
        assert all(isinstance(reason, str) for reason in reasons)
