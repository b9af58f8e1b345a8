"""GET of collections and records: filters, ordering and output formats
(spec sections 6 E5/E6, 7 and 8)."""
from __future__ import annotations

import json
import random
import string
import struct

import pytest
from storage11_support import timestamp_of, wait_past

# -- E5 basics ------------------------------------------------------------------------

def test_st_g1_ids_or_full_records(client):
    """ST-G1 / ST-G5: ids by default, whole records with full; X-Weave-Records counts."""
    t = client.put_record("tabs", "b", {"payload": "pb", "sortindex": 2, "parentid": "p"})
    client.put_record("tabs", "a", {"payload": "pa"})
    ids = client.get("/storage/tabs")
    assert ids.json == ["a", "b"]
    assert ids.headers["X-Weave-Records"] == "2"
    assert ids.content_type == "application/json"
    full = client.get("/storage/tabs?full=1")
    assert full.headers["X-Weave-Records"] == "2"
    assert full.json[1] == {"id": "b", "modified": float(t), "sortindex": 2, "parentid": "p",
                            "payload": "pb"}
    assert [record["id"] for record in full.json] == ["a", "b"]


@pytest.mark.parametrize("query,full", [
    ("full=1", True), ("full=0", True), ("full=yes", True), ("full=", False), ("", False),
    ("full", False)])
def test_full_needs_a_non_empty_value(client, query, full):
    """Section 7: 'full' means full with any non-empty value (also 0); 'full=' does not."""
    client.put_record("tabs", "a", {"payload": "x"})
    body = client.get("/storage/tabs" + (f"?{query}" if query else "")).json
    assert body == ([client.record("tabs", "a")] if full else ["a"])


def test_st_g2_unknown_or_empty_collection_is_an_empty_list(client):
    """ST-G2: 200 [] for unknown and emptied collections (never 404)."""
    response = client.get("/storage/nothing")
    assert (response.json, response.headers["X-Weave-Records"]) == ([], "0")
    assert client.get("/storage/nothing?full=1").json == []
    client.put_record("tabs", "a", {"payload": "x"})
    client.delete("/storage/tabs/a")
    assert client.get("/storage/tabs").json == []


def test_st_g6_default_order_is_ascending_id(client):
    """ST-G6: without sort, ascending id (string order); ids 0-9 paged 2+3 -> 2,3,4."""
    ids = [str(i) for i in range(10)]
    random.Random(4).shuffle(ids)
    for record_id in ids:
        client.put_record("history", record_id, {"payload": "x"})
    assert client.ids("history") == [str(i) for i in range(10)]
    assert client.ids("history", "offset=2&limit=3") == ["2", "3", "4"]
    client.post_batch("mixed", [{"id": i, "payload": "x"} for i in ("b", "B", "a", "10", "9")])
    assert client.ids("mixed") == ["10", "9", "B", "a", "b"]


def test_st_gi1_get_record_is_full_json(client):
    """ST-GI1 / ST-GI3: one record object, query parameters ignored, always JSON."""
    t = client.put_record("meta", "global", {"payload": "{\"syncID\":\"x\"}", "sortindex": 0})
    expected = {"id": "global", "modified": float(t), "sortindex": 0,
                "payload": "{\"syncID\":\"x\"}"}
    assert client.record("meta", "global") == expected
    for query in ("full=1", "full=", "ids=other", "newer=99999999999", "limit=x", "sort=x"):
        response = client.get(f"/storage/meta/global?{query}",
                              headers={"Accept": "application/newlines"})
        assert response.json == expected
        assert response.content_type == "application/json"


def test_st_gi2_missing_records_are_404(client):
    """ST-GI2: missing record, missing collection, or another collection's id -> 404."""
    client.put_record("crypto", "other", {"payload": "x"})
    for path in ("/storage/crypto/keys", "/storage/meta/global", "/storage/tabs/other"):
        response = client.get(path, status=404)
        assert b"404 Not Found" in response.body
    client.get("/storage/crypto/%00", status=404)
    client.get("/storage/crypto/" + "x" * 200, status=404)


# -- ST-P filters -----------------------------------------------------------------------

@pytest.fixture
def history(client):
    """Five records written at three distinct timestamps t[0] < t[1] < t[2]."""
    stamps = []
    stamps.append(timestamp_of(client.post("/storage/history", [
        {"id": "a", "payload": "x", "sortindex": 9, "parentid": "p1", "predecessorid": "a0"},
        {"id": "b", "payload": "x", "sortindex": 10, "parentid": "p2"}])))
    wait_past(stamps[-1])
    stamps.append(timestamp_of(client.post("/storage/history", [
        {"id": "c", "payload": "x", "sortindex": 11, "parentid": "p1"},
        {"id": "d", "payload": "x", "predecessorid": "c"}])))
    wait_past(stamps[-1])
    stamps.append(timestamp_of(client.post("/storage/history", [
        {"id": "e", "payload": "x", "sortindex": -5, "parentid": "p1"}])))
    return stamps


def test_st_p1_newer_and_older_apply_together(client, history):
    """ST-P1 / ST-P2 / section 16.2: newer and older both apply; strict comparisons."""
    t0, t1, t2 = history
    assert client.ids("history", f"newer={t0}") == ["c", "d", "e"]
    assert client.ids("history", f"older={t2}") == ["a", "b", "c", "d"]
    assert client.ids("history", f"newer={t0}&older={t2}") == ["c", "d"]
    assert client.ids("history", f"older={t2}&newer={t0}") == ["c", "d"]
    assert client.ids("history", f"newer={t2}") == []
    assert client.ids("history", f"older={t0}") == []
    assert client.ids("history", f"newer={t1}&older={t1}") == []


def test_st_p1_index_above_and_below_apply_together(client, history):
    """ST-P1 / ST-P2: index_above and index_below both apply; 10 excludes 10."""
    assert client.ids("history", "index_above=10") == ["c"]
    assert client.ids("history", "index_below=10") == ["a", "e"]
    assert client.ids("history", "index_above=-6&index_below=11") == ["a", "b", "e"]
    assert client.ids("history", "index_below=11&index_above=9") == ["b"]
    assert client.ids("history", "index_above=9.5") == ["b", "c"]
    assert client.ids("history", "index_below=-4.5") == ["e"]


def test_st_p1_all_filters_combine_with_and(client, history):
    """ST-P1 / ST-G4: ids, parentid, predecessorid and the ranges intersect."""
    t0 = history[0]
    assert client.ids("history", "parentid=p1") == ["a", "c", "e"]
    assert client.ids("history", "predecessorid=c") == ["d"]
    assert client.ids("history", "parentid=p1&index_above=0") == ["a", "c"]
    assert client.ids("history", f"parentid=p1&newer={t0}&index_above=0") == ["c"]
    assert client.ids("history", "ids=a,c,e,zz&parentid=p1&index_below=10") == ["a", "e"]
    assert client.ids("history", "ids=b,d") == ["b", "d"]
    assert client.ids("history", "parentid=P1") == []  # exact, case-sensitive
    assert client.ids("history", "predecessorid=a0&parentid=p2") == []


def test_st_p3_records_without_sortindex_or_modified_never_match_ranges(client, history):
    """ST-P3: no sortindex -> never in index ranges; no modified (ST-W10) -> never newer/older."""
    client.put("/storage/history/bare", {"sortindex": 50})  # metadata-only create
    assert "d" not in client.ids("history", "index_below=1000000")
    assert "d" not in client.ids("history", "index_above=-1000000")
    assert "bare" in client.ids("history")
    assert "bare" in client.ids("history", "index_above=49")
    assert "bare" not in client.ids("history", "newer=0")
    assert "bare" not in client.ids("history", "older=99999999999")


def test_ids_parameter(client):
    """Section 7: ids split on ',', overlong items match nothing, 'ids=' matches nothing."""
    client.post_batch("forms", [{"id": i, "payload": "x"} for i in ("a", "b", "c", "a b")])
    assert client.ids("forms", "ids=c,a") == ["a", "c"]
    assert client.ids("forms", "ids=a%20b,b") == ["a b", "b"]
    assert client.ids("forms", "ids=") == []
    assert client.ids("forms", "ids=,") == []
    assert client.ids("forms", "ids=a," + "x" * 65) == ["a"]
    assert client.ids("forms", "ids=" + ",".join(str(i) for i in range(2000)) + ",b") == ["b"]


def test_st_p4_reference_bad_parameter_values(client):
    """ST-P4 / ST-G7 / ST-E3: ten random letters in a numeric parameter -> 400 text page."""
    client.put_record("tabs", "a", {"payload": "x"})
    letters = "".join(random.Random(7).choice(string.ascii_letters) for _ in range(10))
    for name in ("older", "newer", "index_above", "index_below", "limit", "offset"):
        response = client.get(f"/storage/tabs?{name}={letters}", status=400)
        assert b"400 Bad Request" in response.body
        assert not response.body.strip().isdigit()
    assert client.ids("tabs", "blabla=1") == ["a"]
    long_ids = ",".join("x" * 100 for _ in range(10))
    assert client.ids("tabs", f"ids={long_ids}") == []


def test_st_g7_malformed_parameter_values_are_400(client):
    """ST-G7 / section 7: values that are not plain numbers are refused with a text 400."""
    client.put_record("tabs", "a", {"payload": "x"})
    for query in ("limit=2.0", "limit=1e2", "limit=", "offset=1.5&limit=1", "newer=",
                  "older=nan", "newer=inf", "index_above=", "index_above=nan",
                  "index_below=-inf", "index_above=1e400", "limit=1_0", "newer=1_0",
                  "newer=0x10", "older=1,5", "newer=1e30", "older=-1e13", "limit=%D9%A1",
                  "newer=%00", "index_above=%2B%2B1", "offset=abc&limit=1"):
        response = client.get(f"/storage/tabs?{query}", status=None)
        assert response.status_int == 400, query
        assert response.content_type != "application/json"
        assert b"400 Bad Request" in response.body


@pytest.mark.parametrize("query,expected", [
    ("newer=-1", ["a"]), ("newer=1e3", ["a"]), ("older=99999999999", ["a"]),
    ("newer=+0.5", ["a"]), ("index_above=-1e300", ["a"]), ("index_below=1e300", ["a"]),
    ("limit=99999999999999999999999999", ["a"]), ("limit=-99999999999999999999", ["a"]),
    ("limit=1&offset=99999999999999999999", []), ("limit=%201%20", ["a"]),
    ("offset=-99999999999999999999&limit=5", ["a"]), ("older=1e12", ["a"])])
def test_extreme_but_valid_parameter_values(client, query, expected):
    """Section 7: huge and unusual-but-valid numbers behave, never a 5xx."""
    client.put_record("tabs", "a", {"payload": "x", "sortindex": 1})
    assert client.ids("tabs", query) == expected
    client.delete(f"/storage/tabs?{query}")
    assert client.ids("tabs") == ([] if expected else ["a"])


def test_invalid_utf8_in_the_query_string_is_400(client):
    """Section 7 / ST-E3: percent-encoded bytes that are not UTF-8 -> 400, not a 500."""
    client.put_record("tabs", "a", {"payload": "x"})
    for query in ("ids=%FF", "parentid=%C3", "newer=%80", "sort=%FE", "x%FF=1", "full=%ED%A0%80"):
        client.get(f"/storage/tabs?{query}", status=400)
        client.delete(f"/storage/tabs?{query}", status=400)
    assert client.ids("tabs") == ["a"]


def test_nul_in_filter_values_matches_nothing(client):
    """Section 7: a value no record can hold (U+0000) just matches nothing."""
    client.put_record("tabs", "a", {"payload": "x", "parentid": "p"})
    assert client.ids("tabs", "parentid=%00") == []
    assert client.ids("tabs", "predecessorid=p%00") == []
    assert client.ids("tabs", "ids=%00,a") == ["a"]
    assert client.ids("tabs", "ids=%00") == []


# -- ST-P5 ordering, limit and offset ------------------------------------------------------

def test_st_p5_sort_orders(client):
    """ST-P5: ids 0,1,2 written in order with sortindex 1,34,12."""
    for record_id, sortindex in (("0", 1), ("1", 34), ("2", 12)):
        stamp = client.put_record("bookmarks", record_id,
                                  {"payload": "x", "sortindex": sortindex})
        wait_past(stamp)
    assert client.ids("bookmarks", "sort=oldest") == ["0", "1", "2"]
    assert client.ids("bookmarks", "sort=newest") == ["2", "1", "0"]
    assert client.ids("bookmarks", "sort=index") == ["1", "2", "0"]
    assert client.ids("bookmarks", "sort=unknown") == ["0", "1", "2"]
    assert client.ids("bookmarks", "sort=") == ["0", "1", "2"]
    assert [r["id"] for r in client.records("bookmarks", "sort=index")] == ["1", "2", "0"]


def test_st_p5_limit_and_offset(client):
    """ST-P5: sortindex 1..4 on ids 1..4: index order paged; offset past end; negatives."""
    for i in range(1, 5):
        client.put_record("bookmarks", str(i), {"payload": "x", "sortindex": i})
    assert client.ids("bookmarks", "sort=index&limit=2&offset=2") == ["2", "1"]
    assert client.ids("bookmarks", "sort=index&limit=2") == ["4", "3"]
    assert client.ids("bookmarks", "sort=index&limit=2&offset=5") == []
    assert client.ids("bookmarks", "sort=index&limit=-5") == ["4", "3", "2", "1"]
    assert client.ids("bookmarks", "sort=index&limit=0") == ["4", "3", "2", "1"]
    assert client.ids("bookmarks", "sort=index&limit=2&offset=-5") == ["4", "3"]
    assert client.ids("bookmarks", "sort=index&offset=2") == ["4", "3", "2", "1"]
    assert client.ids("bookmarks", "sort=index&offset=2&limit=0") == ["4", "3", "2", "1"]
    response = client.get("/storage/bookmarks?sort=index&limit=3&full=1")
    assert response.headers["X-Weave-Records"] == "3"


def test_sort_ties_break_by_ascending_id(client):
    """Section 7 (recommended tie order): equal keys are ordered by id."""
    client.post_batch("bookmarks", [{"id": i, "payload": "x", "sortindex": 5}
                                    for i in ("c", "a", "b")])
    assert client.ids("bookmarks", "sort=index") == ["a", "b", "c"]
    assert client.ids("bookmarks", "sort=newest") == ["a", "b", "c"]
    assert client.ids("bookmarks", "sort=oldest&limit=2&offset=1") == ["b", "c"]


def test_st_g3_expired_records_are_never_listed(client):
    """ST-G3: ttl 0 records are invisible to every listing form."""
    client.post_batch("tabs", [{"id": "live", "payload": "x"},
                               {"id": "dead", "payload": "x", "ttl": 0}])
    for query in ("", "full=1", "ids=dead,live", "sort=index", "newer=0"):
        listed = client.ids("tabs", query)
        assert [r if isinstance(r, str) else r["id"] for r in listed] == ["live"]
    client.get("/storage/tabs/dead", status=404)


# -- section 8 output formats ---------------------------------------------------------------

@pytest.fixture
def two_records(client):
    client.post_batch("tabs", [{"id": "id1", "payload": "line1\nline2"},
                               {"id": "id2", "payload": "ünïcödé \u2028 \U0001F600"}])
    return client


@pytest.mark.parametrize("accept,expected", [
    (None, "application/json"), ("", "application/json"), ("*/*", "application/json"),
    ("application/json", "application/json"), ("application/xxx", "application/json"),
    ("text/html", "application/json"),
    ("application/json;q=0.9,*/*;q=0.2", "application/json"),
    ("application/newlines", "application/newlines"),
    ("application/whoisi", "application/whoisi"),
    ("application/newlines, application/whoisi", "application/whoisi"),
    ("application/whoisi;q=0.5, application/newlines", "application/newlines"),
    ("application/json;q=0.1, application/whoisi;q=0.2", "application/whoisi"),
    ("application/newlines;q=0.2, application/json;q=0.2", "application/json"),
    ("APPLICATION/NEWLINES", "application/newlines"),
    ("application/*", "application/json"), ("application/newlines;q=abc", "application/json"),
    (";;;,,,q=", "application/json"), ("application/whoisi;q=0", "application/json")])
def test_st_f1_negotiation(two_records, accept, expected):
    """ST-F1 / ST-G4: highest q wins; nothing acceptable -> JSON; never 406; whoisi
    wins a tie with newlines."""
    headers = {"Accept": accept} if accept is not None else {}
    response = two_records.get("/storage/tabs", headers=headers)
    assert response.content_type == expected
    assert response.headers["X-Weave-Records"] == "2"


def test_st_f2_json_is_one_array(two_records):
    """ST-F2: one JSON array."""
    response = two_records.get("/storage/tabs?full=1", headers={"Accept": "application/json"})
    assert [r["id"] for r in json.loads(response.body)] == ["id1", "id2"]


def test_st_f3_newlines_format(two_records):
    """ST-F3 / ST-F5: one compact JSON element per line, LF after each, no raw LF inside."""
    headers = {"Accept": "application/newlines"}
    ids = two_records.get("/storage/tabs", headers=headers)
    assert ids.body == b'"id1"\n"id2"\n'
    assert ids.headers["X-Weave-Records"] == "2"
    full = two_records.get("/storage/tabs?full=1", headers=headers)
    lines = full.body.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3
    records = [json.loads(line) for line in lines[:-1]]
    assert [r["payload"] for r in records] == ["line1\nline2", "ünïcödé \u2028 \U0001F600"]
    assert full.headers["X-Weave-Records"] == "2"
    empty = two_records.get("/storage/none", headers=headers)
    assert (empty.body, empty.headers["X-Weave-Records"]) == (b"", "0")


def test_st_f4_whoisi_test_vector(two_records):
    """ST-F4: ids id1, id2 -> 00 00 00 05 "id1" 00 00 00 05 "id2"."""
    response = two_records.get("/storage/tabs", headers={"Accept": "application/whoisi"})
    assert response.body == bytes.fromhex(
        "00000005 22696431 22 00000005 22696432 22".replace(" ", ""))
    assert response.body == b'\x00\x00\x00\x05"id1"\x00\x00\x00\x05"id2"'
    assert response.headers["X-Weave-Records"] == "2"


def test_st_f4_whoisi_full_records_are_length_prefixed_utf8(two_records):
    """ST-F4 / ST-F5: each element is a 4-byte big-endian byte length + its UTF-8 JSON."""
    body = two_records.get("/storage/tabs?full=1",
                           headers={"Accept": "application/whoisi"}).body
    elements, position = [], 0
    while position < len(body):
        (length,) = struct.unpack(">I", body[position:position + 4])
        elements.append(json.loads(body[position + 4:position + 4 + length].decode("utf-8")))
        position += 4 + length
    assert position == len(body)
    assert [e["payload"] for e in elements] == ["line1\nline2", "ünïcödé \u2028 \U0001F600"]
    empty = two_records.get("/storage/none", headers={"Accept": "application/whoisi"})
    assert (empty.body, empty.headers["X-Weave-Records"]) == (b"", "0")


def test_st_f6_record_get_ignores_accept(two_records):
    """ST-F6: E6 (and the other non-listing endpoints) always send JSON."""
    for accept in ("application/whoisi", "application/newlines"):
        response = two_records.get("/storage/tabs/id1", headers={"Accept": accept})
        assert response.content_type == "application/json"
        assert response.json["id"] == "id1"
        put = two_records.put("/storage/tabs/id3", {"payload": "x"}, headers={"Accept": accept})
        assert put.content_type == "application/json"
        post = two_records.post("/storage/tabs", [], headers={"Accept": accept})
        assert set(post.json) == {"modified", "success", "failed"}
        delete = two_records.delete("/storage/tabs/id3", headers={"Accept": accept})
        assert delete.content_type == "application/json"


def test_section_16_16_reads_never_write(client):
    """Section 16.16: GETs of unknown collections or records create nothing."""
    client.get("/storage/never")
    client.get("/storage/never?full=1&newer=1&sort=index&limit=5")
    client.get("/storage/never/record", status=404)
    client.get("/storage/never", headers={"Accept": "application/whoisi"})
    assert client.collections() == {}
    stamp = client.put_record("tabs", "a", {"payload": "x"})
    wait_past(stamp)
    client.get("/storage/tabs/a")
    client.get("/storage/tabs?full=1")
    client.get("/storage/tabs/missing", status=404)
    assert client.collections() == {"tabs": float(stamp)}
    assert client.record("tabs", "a")["modified"] == float(stamp)
