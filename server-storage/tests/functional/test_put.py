"""PUT of one record, E7 (spec sections 4.2 and 6 E7)."""
from __future__ import annotations

from storage11_support import error_code, timestamp_of, wait_past


def test_st_put8_answer_is_the_bare_timestamp(client):
    """ST-PUT8 / ST-PUT9 / ST-T3: 200, application/json, body = X-Weave-Timestamp bytes."""
    response = client.put("/storage/col2/abc", {"payload": "xxx", "sortindex": 3})
    assert response.content_type == "application/json"
    assert response.body == response.headers["X-Weave-Timestamp"].encode("ascii")
    assert client.record("col2", "abc") == {
        "id": "abc", "modified": float(response.body), "sortindex": 3, "payload": "xxx"}


def test_st_put9_body_is_byte_identical_to_the_header_200_times(client):
    """ST-PUT9: repeated 200 times so timestamps ending in 0 (e.g. .10, .00) are hit."""
    for i in range(200):
        response = client.put(f"/storage/col/{i % 7}", {"payload": str(i)})
        header = response.headers["X-Weave-Timestamp"]
        assert response.body == header.encode("ascii"), (response.body, header)
    assert client.get("/info/collection_counts").json == {"col": 7}


def test_st_w8_payload_write_replaces_payload_and_keeps_absent_metadata(client):
    """ST-W8: a payload write sets modified; present metadata changes, absent stays."""
    t1 = client.put_record("bookmarks", "r", {"payload": "one", "sortindex": 1,
                                              "parentid": "p", "predecessorid": "q"})
    wait_past(t1)
    t2 = client.put_record("bookmarks", "r", {"payload": "two", "parentid": "p2"})
    assert t2 > t1
    assert client.record("bookmarks", "r") == {
        "id": "r", "modified": float(t2), "payload": "two", "sortindex": 1, "parentid": "p2",
        "predecessorid": "q"}


def test_st_w9_metadata_only_write_keeps_modified_and_payload(client):
    """ST-W9 / ST-PUT8: without payload only metadata changes; the answer is the old modified."""
    t1 = client.put_record("bookmarks", "r", {"payload": "one", "sortindex": 1})
    wait_past(t1)
    response = client.put("/storage/bookmarks/r", {"sortindex": 2, "predecessorid": "x"})
    assert response.body == f"{t1:.2f}".encode()
    assert timestamp_of(response) > t1
    assert client.record("bookmarks", "r") == {
        "id": "r", "modified": float(t1), "payload": "one", "sortindex": 2,
        "predecessorid": "x"}
    assert client.ids("bookmarks", f"newer={t1}") == []


def test_st_w10_metadata_only_create(client):
    """ST-W10 / ST-PUT8 / section 16.13: a payload-less new id is created, answer null."""
    response = client.put("/storage/bookmarks/new", {"sortindex": 11})
    assert response.body == b"null"
    assert response.content_type == "application/json"
    assert client.record("bookmarks", "new") == {"id": "new", "sortindex": 11}
    assert client.ids("bookmarks") == ["new"]
    assert client.records("bookmarks") == [{"id": "new", "sortindex": 11}]
    assert "bookmarks" in client.collections()
    assert client.get("/info/collection_counts").json == {"bookmarks": 1}
    client.delete("/storage/bookmarks?index_above=10")
    assert client.ids("bookmarks") == []
    # a later payload write gives it a modified like any record
    client.put("/storage/bookmarks/empty", {})
    t = client.put_record("bookmarks", "empty", {"payload": "now"})
    assert client.record("bookmarks", "empty")["modified"] == float(t)


def test_st_put6_body_id_is_ignored_but_length_checked(client):
    """ST-PUT6: the URL names the record; a body id only has to pass the length check."""
    client.put_record("bookmarks", "url-id", {"id": "body-id", "payload": "x"})
    assert client.ids("bookmarks") == ["url-id"]
    client.put_record("bookmarks", "url-id", {"id": "a/b", "payload": "y"})
    assert client.record("bookmarks", "url-id")["payload"] == "y"
    response = client.put("/storage/bookmarks/url-id", {"id": "i" * 65, "payload": "z"},
                          status=400)
    assert error_code(response) == 8
    assert client.record("bookmarks", "url-id")["payload"] == "y"


def test_st_put3_unparseable_body_is_code_6(client):
    """ST-PUT3: a body that is not UTF-8 JSON (including NaN, BOM, deep nesting) -> 400 code 6."""
    client.put_record("bookmarks", "r", {"payload": "original"})
    before = client.snapshot("bookmarks")
    for body in (b"", b"{", b"not json", b"{'payload': 'x'}", b'{"payload": "x",}',
                 b'{"payload": x}', b"\xff\xfe{}", b'{"payload": "\xff"}', b'{"payload": "\xc3"}',
                 b'\xef\xbb\xbf{"payload": "x"}', b'{"payload": "x", "sortindex": NaN}',
                 b'{"payload": "x", "ttl": Infinity}', b'{"payload": "x"} trailing',
                 b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
                 b'{"payload": "x", "sortindex": 1' + b"0" * 5000 + b"}", b"\x00"):
        response = client.put("/storage/bookmarks/r", body, status=None)
        assert response.status_int == 400, body[:40]
        assert error_code(response) == 6, body[:40]
    assert client.snapshot("bookmarks") == before


def test_st_put4_deeply_nested_but_parseable_body_is_code_8(client):
    """ST-PUT4 / ST-W3: a nested member parses but is not a valid WBO -> 8."""
    body = b'{"payload": "x", "deep": ' + b"[" * 200 + b"]" * 200 + b"}"
    assert error_code(client.put("/storage/bookmarks/r", body, status=400)) == 8
    assert client.collections() == {}


def test_st_put7_put_overwrites_and_other_records_are_untouched(client):
    """ST-PUT7: applying section 4.2 touches only the addressed record."""
    client.post_batch("bookmarks", [{"id": "a", "payload": "a"}, {"id": "b", "payload": "b"}])
    before_b = client.record("bookmarks", "b")
    client.put_record("bookmarks", "a", {"payload": "A"})
    assert client.record("bookmarks", "a")["payload"] == "A"
    assert client.record("bookmarks", "b") == before_b


def test_put_of_a_nul_or_overlong_url_id_is_code_8(client):
    """ST-PUT5 / ST-W2: URL ids over 64 characters or holding U+0000 cannot be stored."""
    for path_id in ("x" * 65, "a%00b", "%00"):
        assert error_code(client.put(f"/storage/bookmarks/{path_id}", {"payload": "x"},
                                     status=400)) == 8
    assert client.collections() == {}


def test_st_t2_one_timestamp_per_request(client):
    """ST-T2: a request's records all get the request timestamp (the header value)."""
    response = client.post("/storage/tabs", [{"id": str(i), "payload": "x"} for i in range(50)])
    stamp = timestamp_of(response)
    assert {r["modified"] for r in client.records("tabs")} == {float(stamp)}
    assert response.json["modified"] == float(stamp)
