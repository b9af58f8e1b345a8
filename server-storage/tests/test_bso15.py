"""Storage 1.5 BSO validation and paging offsets (storage-1.5 §3.1, §5.7)."""
from __future__ import annotations

import pytest

from syncstorage.bso import InvalidBSOError, has_zero_iv, parse_bso, valid_id
from syncstorage.offsets import decode_offset, encode_offset
from syncstorage.storage import RecordWrite


@pytest.mark.parametrize(("value", "valid"), [
    ("abcdefghijkl", True), ("a" * 64, True), ("a" * 65, False), ("", False),
    (" ~!", True), ("tab\tid", False), ("new\n", False), ("café", False), (12, False),
    (None, False),
])
def test_ids(value, valid):
    assert valid_id(value) is valid


def test_fields_and_defaults():
    record = parse_bso({"id": "a", "payload": "x", "sortindex": -5, "ttl": 0,
                        "modified": 1.5, "collection": "tabs"}, "a", 10)
    assert record == RecordWrite(id="a", payload="x", sortindex=-5, ttl_seconds=0)
    assert parse_bso({"payload": None, "ttl": None, "sortindex": None}, "a", 10) == \
        RecordWrite(id="a")


@pytest.mark.parametrize(("obj", "reason"), [
    ({"parentid": "x"}, "unknown field 'parentid'"),
    ({"sortindex": 1_000_000_000}, "invalid sortindex"),
    ({"sortindex": -1_000_000_000}, "invalid sortindex"),
    ({"sortindex": "5"}, "invalid sortindex"),
    ({"ttl": -1}, "invalid ttl"),
    ({"ttl": 1_000_000_000}, "invalid ttl"),
    ({"ttl": False}, "invalid ttl"),
    ({"payload": ["x"]}, "payload not a string"),
    ({"payload": "x" * 11}, "payload too large"),
    ({"id": 5}, "invalid id"),
    ([], "invalid bso"),
])
def test_invalid(obj, reason):
    with pytest.raises(InvalidBSOError) as caught:
        parse_bso(obj, "a", 10)
    assert caught.value.reason == reason


def test_zero_iv():
    assert has_zero_iv(RecordWrite(id="k", payload='{"IV":"AAAAAAAAAAAAAAAAAAAAAA=="}'))
    assert has_zero_iv(RecordWrite(id="k", payload='{"IV" :  "AAAAAAAAAAAAAAAAAAAAAA=="}'))
    assert not has_zero_iv(RecordWrite(id="k", payload='{"IV":"AAAAAAAAAAAAAAAAAAAAAB=="}'))
    assert not has_zero_iv(RecordWrite(id="k"))


@pytest.mark.parametrize(("sort", "key", "record_id"), [
    ("newest", 170000000012, "abc"), ("oldest", 0, "a|b|c"), ("index", None, "x"),
    ("index", -42, " ~"),
])
def test_offsets_round_trip(sort, key, record_id):
    token = encode_offset(sort, key, record_id)
    assert "=" not in token and "+" not in token and "/" not in token
    assert decode_offset(token, sort) == (key, record_id)
    other = "oldest" if sort != "oldest" else "newest"
    with pytest.raises(ValueError):
        decode_offset(token, other)


@pytest.mark.parametrize("token", ["", "%%%", "MTA", "bm90IG91cnM", "MXxuZXdlc3R8eHx5",
                                   "MXxuZXdlc3R8MXw", "MXxuZXdlc3R8MTIzNDU2Nzg5MDEyMzQ1Njd8eA"])
def test_bad_offsets(token):
    with pytest.raises(ValueError):
        decode_offset(token, "newest")
