"""Validation of Weave Basic Objects (spec section 4.1), through PUT and POST.

Each invalid field is checked both ways: a PUT answers 400 code 8 and a batch
reports the documented reason; afterwards the stored data is unchanged.
"""
from __future__ import annotations

import pytest
from storage11_support import error_code

ORIGINAL = {"payload": "original", "sortindex": 1, "parentid": "p0", "predecessorid": "q0"}

# (field values, batch failure reason)
INVALID_FIELDS = [
    ({"id": "i" * 65}, "invalid id"),
    ({"id": 10**65}, "invalid id"),
    ({"parentid": "p" * 65}, "invalid parentid"),
    ({"parentid": 10**64}, "invalid parentid"),
    ({"predecessorid": "q" * 65}, "invalid predecessorid"),
    ({"parentid": "x\u0000y"}, "invalid parentid"),
    ({"id": "lone \udc00"}, "invalid id"),
    ({"sortindex": "abc"}, "invalid sortindex"),
    ({"sortindex": ""}, "invalid sortindex"),
    ({"sortindex": "1e"}, "invalid sortindex"),
    ({"sortindex": 1_000_000_000}, "invalid sortindex"),
    ({"sortindex": -1_000_000_000}, "invalid sortindex"),
    ({"sortindex": "1000000000"}, "invalid sortindex"),
    ({"sortindex": 1e300}, "invalid sortindex"),
    ({"sortindex": 10**400}, "invalid sortindex"),
    ({"payload": 12}, "payload not a string"),
    ({"payload": True}, "payload not a string"),
    ({"payload": 1.5}, "payload not a string"),
    ({"payload": "x" * 262_145}, "payload too large"),
    ({"payload": "€" * 87_382}, "payload too large"),  # 262 146 UTF-8 bytes
    ({"payload": "nul\u0000inside"}, "payload not a string"),
    ({"payload": "lone \ud800 surrogate"}, "payload not a string"),
    ({"ttl": -1}, "invalid ttl"),
    ({"ttl": 31_536_001}, "invalid ttl"),
    ({"ttl": "abc"}, "invalid ttl"),
    ({"ttl": "5.5"}, "invalid ttl"),
    ({"ttl": 1e20}, "invalid ttl"),
]


def test_st_put5_invalid_field_is_code_8_and_changes_nothing(client):
    """ST-PUT5 / ST-PUT6 / ST-W2: any failing field check -> 400 code 8."""
    client.put_record("bookmarks", "rec", ORIGINAL)
    before = client.snapshot("bookmarks")
    for fields, _reason in INVALID_FIELDS:
        response = client.put("/storage/bookmarks/rec", {"payload": "new"} | fields,
                              status=None)
        assert response.status_int == 400, fields
        assert error_code(response) == 8, fields
    assert client.snapshot("bookmarks") == before


def test_st_b5c_invalid_fields_are_reported_per_item(client):
    """ST-B5c: each failing item is reported under its id with its reason; the valid
    items of the same batch are stored; existing records keep their values."""
    batch, expected = [], {}
    for number, (fields, reason) in enumerate(INVALID_FIELDS):
        item = {"id": f"rec{number}", "payload": "new"} | fields
        batch.append(item)
        expected[str(item["id"])] = [reason]
        client.put_record("bookmarks", f"rec{number}", ORIGINAL)
    batch.insert(5, {"id": "ok", "payload": "fine"})
    before = client.records("bookmarks")
    result = client.post_batch("bookmarks", batch)
    assert result["failed"] == expected
    assert result["success"] == ["ok"]
    assert [r for r in client.records("bookmarks") if r["id"] != "ok"] == before
    assert client.record("bookmarks", "ok")["payload"] == "fine"


@pytest.mark.parametrize("body", [
    "\"a string\"", "12", "12.5", "true", "null", "[]", "[{\"payload\": \"x\"}]"])
def test_st_put4_body_that_is_not_an_object_is_code_8(client, body):
    """ST-PUT4: a JSON body that is not an object -> 400 code 8."""
    client.put_record("bookmarks", "rec", ORIGINAL)
    before = client.snapshot("bookmarks")
    assert error_code(client.put("/storage/bookmarks/rec", body, status=400)) == 8
    assert client.snapshot("bookmarks") == before


@pytest.mark.parametrize("member", [
    {"payload": ["x"]}, {"payload": {"a": 1}}, {"sortindex": [1]}, {"id": ["rec"]},
    {"ttl": {}}, {"unknown": []}, {"unknown": {"deep": {"deeper": 1}}}, {"parentid": {}}])
def test_st_w3_any_array_or_object_member_invalidates_the_wbo(client, member):
    """ST-W3: a JSON array/object in any member (known or not): PUT -> 8, batch 'invalid wbo'."""
    client.put_record("bookmarks", "rec", ORIGINAL)
    before = client.snapshot("bookmarks")
    assert error_code(client.put("/storage/bookmarks/rec", {"payload": "n"} | member,
                                 status=400)) == 8
    assert client.snapshot("bookmarks") == before
    result = client.post_batch("bookmarks", [{"id": "rec", "payload": "n"} | member])
    assert result["failed"] == {"": ["invalid wbo"]}
    assert result["success"] == []
    assert client.snapshot("bookmarks")[2] == before[2]


def test_st_w3_booleans_count_as_numbers(client):
    """ST-W3: booleans are accepted where numbers are (the reference does the same)."""
    client.put_record("bookmarks", "rec", {"payload": "x", "sortindex": True, "flag": False})
    assert client.record("bookmarks", "rec")["sortindex"] == 1


def test_st_w1_null_means_absent(client):
    """ST-W1: null fields are 'absent': metadata kept, no error, ttl not applied."""
    t1 = client.put_record("bookmarks", "rec", ORIGINAL)
    response = client.put("/storage/bookmarks/rec", {
        "id": None, "payload": None, "sortindex": None, "parentid": None,
        "predecessorid": None, "ttl": None, "modified": None})
    assert response.body == f"{t1:.2f}".encode()  # metadata-only: modified unchanged
    assert client.record("bookmarks", "rec") == {"id": "rec", "modified": float(t1)} | ORIGINAL
    result = client.post_batch("bookmarks", [{"id": "rec", "payload": None, "sortindex": None}])
    assert result["success"] == ["rec"]
    assert client.record("bookmarks", "rec")["payload"] == "original"


def test_st_w2_identifier_lengths_are_checked_after_stringification(client):
    """ST-W2: 64 characters pass (numbers stringified first); 65 fail."""
    client.put_record("bookmarks", "rec", {"payload": "x", "parentid": "p" * 64,
                                           "predecessorid": 10**63})
    record = client.record("bookmarks", "rec")
    assert record["parentid"] == "p" * 64
    assert record["predecessorid"] == "1" + "0" * 63
    assert error_code(client.put("/storage/bookmarks/rec",
                                 {"payload": "x", "predecessorid": 10**64}, status=400)) == 8


def test_numbers_are_stringified_for_identifiers(client):
    """Section 4.1: id, parentid and predecessorid numbers become strings (12 -> "12")."""
    result = client.post_batch("bookmarks", [
        {"id": 12, "payload": "a", "parentid": 7, "predecessorid": 0},
        {"id": 13.5, "payload": "b"}])
    assert result["success"] == ["12", "13.5"]
    assert client.record("bookmarks", "12") | {"modified": 0} == {
        "id": "12", "modified": 0, "payload": "a", "parentid": "7", "predecessorid": "0"}
    assert client.ids("bookmarks") == ["12", "13.5"]
    client.put_record("bookmarks", "14", {"id": 99, "payload": "c"})  # body id ignored (PUT6)
    assert client.ids("bookmarks") == ["12", "13.5", "14"]


@pytest.mark.parametrize("given,stored", [
    (5, 5), ("5", 5), (" 7 ", 7), ("5.5", 5), ("-5.5", -5), (5.9, 5), (-5.9, -5),
    (999_999_999, 999_999_999), (-999_999_999, -999_999_999), ("999999999", 999_999_999),
    (0, 0), ("1e3", 1000)])
def test_sortindex_accepted_forms(client, given, stored):
    """Section 4.1: integers, numeric strings; floats truncated toward zero; range inclusive."""
    client.put_record("bookmarks", "rec", {"payload": "x", "sortindex": given})
    assert client.record("bookmarks", "rec")["sortindex"] == stored
    client.post_batch("bookmarks", [{"id": "b", "payload": "x", "sortindex": given}])
    assert client.record("bookmarks", "b")["sortindex"] == stored


@pytest.mark.parametrize("ttl", [0, 1, "30", 31_536_000, 12.7, "31536000"])
def test_ttl_accepted_forms(client, ttl):
    """Section 4.1: ttl integer or integer string, JSON floats truncated, 0..31536000."""
    client.put("/storage/bookmarks/rec", {"payload": "x", "ttl": ttl})
    result = client.post_batch("bookmarks", [{"id": "b", "payload": "x", "ttl": ttl}])
    assert result["success"] == ["b"]


def test_payload_limits_are_utf8_bytes(client):
    """Section 4.1: payload length is counted in UTF-8 bytes; 262 144 is the maximum."""
    client.put_record("bookmarks", "ascii", {"payload": "x" * 262_144})
    client.put_record("bookmarks", "euro", {"payload": "€" * 87_381 + "x"})  # 262 144 bytes
    client.put_record("bookmarks", "empty", {"payload": ""})
    assert client.record("bookmarks", "empty")["payload"] == ""
    assert len(client.record("bookmarks", "euro")["payload"]) == 87_382
    usage = client.get("/info/collection_usage").json["bookmarks"]
    assert usage == 2 * 262_144 / 1024


def test_st_w4_unknown_scalar_members_are_ignored(client):
    """ST-W4: unknown scalar members are neither stored nor an error."""
    client.put_record("bookmarks", "rec", {"payload": "x", "color": "red", "n": 1,
                                           "flag": True, "none": None})
    assert set(client.record("bookmarks", "rec")) == {"id", "modified", "payload"}


def test_st_w5_client_modified_and_internal_columns_are_ignored(client, other_client):
    """ST-W5 / section 16.1: only the six client fields are taken from the body."""
    t = client.put_record("bookmarks", "rec", {
        "payload": "x", "modified": "123456789", "username": "bob", "userid": 2,
        "collection": "other", "payload_size": 0, "expiry": 1, "ttl": None})
    assert client.record("bookmarks", "rec")["modified"] == float(t)
    result = client.post_batch("bookmarks", [{
        "id": "b", "payload": "yy", "modified": 1.0, "username": "bob", "collection": "x",
        "payload_size": 0}])
    assert result["success"] == ["b"]
    assert client.record("bookmarks", "b")["modified"] == result["modified"]
    assert client.get("/info/collection_usage").json == {"bookmarks": 3 / 1024}
    assert list(client.collections()) == ["bookmarks"]
    assert other_client.collections() == {}
    # a client 'modified' on a metadata-only write does not move the record either
    client.put("/storage/bookmarks/rec", {"sortindex": 2, "modified": 99999999999})
    assert client.record("bookmarks", "rec")["modified"] == float(t)


def test_st_w6_ids_are_not_required_to_be_base64url(client):
    """ST-W6: real Firefox ids of all shapes are stored and returned."""
    ids = ["menu", "toolbar", "global", "keys", "{6820f3ca-6d5e-4f0a-9d3b-0123456789ab}",
           "12345", "a\\b", "what?", "#anchor", "~tilde", "aBcDeFgHiJkL", "with space"]
    result = client.post_batch("bookmarks", [{"id": i, "payload": i} for i in ids])
    assert result["success"] == ids
    assert client.ids("bookmarks") == sorted(ids)
    for record in client.records("bookmarks"):
        assert record["payload"] == record["id"]


def test_st_w7_empty_string_id(client):
    """ST-W7: an empty-string id is accepted in a batch and listed."""
    result = client.post_batch("bookmarks", [{"id": "", "payload": "empty id"}])
    assert result == {"modified": result["modified"], "success": [""], "failed": {}}
    assert client.ids("bookmarks") == [""]
    assert client.records("bookmarks")[0]["payload"] == "empty id"
    assert client.ids("bookmarks", "ids=") == []


@pytest.mark.parametrize("record_id", ["a/b", "/", "a/"])
def test_ids_with_a_slash_are_refused_in_batches(client, record_id):
    """ST-B5c (recommended): an id containing '/' could never be addressed: 'invalid id'."""
    result = client.post_batch("bookmarks", [{"id": record_id, "payload": "x"}])
    assert result["failed"] == {record_id: ["invalid id"]}
    assert client.collections() == {}


def test_returned_record_omits_absent_fields(client):
    """Section 4.1: absent/null fields are omitted (never null); ttl never returned."""
    client.put_record("col2", "abc", {"payload": "x", "ttl": 3600})
    record = client.record("col2", "abc")
    assert set(record) == {"id", "modified", "payload"}
    client.put_record("col2", "full", {"payload": "x", "sortindex": 0, "parentid": "",
                                       "predecessorid": "q"})
    assert set(client.record("col2", "full")) == {
        "id", "modified", "payload", "sortindex", "parentid", "predecessorid"}
    assert b"null" not in client.get("/storage/col2?full=1").body
