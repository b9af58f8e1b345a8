"""GET /storage/{collection}: selection, order, paging, formats
(storage-1.5 §5.7, §11 "Items & collections")."""
from __future__ import annotations

import json

import pytest
from storage15_support import seconds, stamp


def post(client, collection: str, ids, **fields) -> int:
    """POST items with one timestamp; return it in centiseconds."""
    response = client.post(f"/storage/{collection}",
                           [{"id": item, "payload": f"p-{item}", **fields} for item in ids])
    assert not response.json["failed"], response.json
    return round(response.json["modified"] * 100)


@pytest.fixture
def three_times(client) -> list[int]:
    """12 items sharing 3 timestamps: a0-a3, b0-b3, c0-c3."""
    return [post(client, "h", [f"{prefix}{n}" for n in range(4)]) for prefix in "abc"]


def test_ids_only_and_full(client, three_times):
    """§5.7: ids without full; BSO objects with full; X-Weave-Records counts them."""
    ids = client.get("/storage/h")
    assert ids.json == ["c0", "c1", "c2", "c3", "b0", "b1", "b2", "b3",
                        "a0", "a1", "a2", "a3"]
    assert ids.headers["X-Weave-Records"] == "12"
    assert stamp(ids) == three_times[2]
    full = client.get("/storage/h?full=1")
    assert full.json[0] == {"id": "c0", "modified": three_times[2] / 100, "payload": "p-c0"}
    assert all(set(item) == {"id", "modified", "payload"} for item in full.json)
    assert client.get("/storage/h?full=").json == full.json  # presence counts


def test_newer_and_older_are_strict(client, three_times):
    """§5.7, §11: newer means modified > newer, older means modified < older."""
    first, second, third = three_times
    assert client.get(f"/storage/h?newer={seconds(second)}").json == \
        ["c0", "c1", "c2", "c3"]
    assert client.get(f"/storage/h?older={seconds(second)}").json == \
        ["a0", "a1", "a2", "a3"]
    assert client.get(f"/storage/h?newer={seconds(first)}&older={seconds(third)}") \
        .json == ["b0", "b1", "b2", "b3"]
    assert client.get(f"/storage/h?newer={seconds(third)}").json == []
    assert client.get(f"/storage/h?newer={seconds(first - 1)}&sort=oldest").json[0] == "a0"


def test_ids_filter(client, three_times):
    """§5.7: only the listed ids; spaces around them trimmed; unknown ids ignored."""
    response = client.get("/storage/h?ids=a1,%20b2%20,zz&sort=oldest")
    assert response.json == ["a1", "b2"]


def test_sort_orders(client):
    """§5.7: newest (default), oldest, index (items without sortindex last)."""
    post(client, "s", ["x"], sortindex=5)
    post(client, "s", ["y"], sortindex=50)
    post(client, "s", ["z"])
    post(client, "s", ["w"], sortindex=-3)
    assert client.get("/storage/s").json == ["w", "z", "y", "x"]
    assert client.get("/storage/s?sort=newest").json == ["w", "z", "y", "x"]
    assert client.get("/storage/s?sort=oldest").json == ["x", "y", "z", "w"]
    assert client.get("/storage/s?sort=index").json == ["y", "x", "w", "z"]


def test_limit_and_offset(client, three_times):
    """§5.7: limit caps the page and X-Weave-Next-Offset continues it."""
    first = client.get("/storage/h?limit=5")
    assert first.json == ["c0", "c1", "c2", "c3", "b0"]
    offset = first.headers["X-Weave-Next-Offset"]
    assert set(offset) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789-_")  # urlsafe-base64 alphabet (§5.7)
    second = client.get(f"/storage/h?limit=5&offset={offset}")
    assert second.json == ["b1", "b2", "b3", "a0", "a1"]
    third = client.get(f"/storage/h?limit=5&offset={second.headers['X-Weave-Next-Offset']}")
    assert third.json == ["a2", "a3"]
    assert "X-Weave-Next-Offset" not in third.headers
    # Exactly a full last page: no offset either.
    assert "X-Weave-Next-Offset" not in client.get("/storage/h?limit=12").headers


@pytest.mark.parametrize(("query", "expected_order"), [
    ("sort=oldest&newer={first_minus}", "oldest"),
    ("sort=newest&older={third_plus}", "newest"),
    ("sort=index", "index"),
    ("full=1&sort=oldest", "oldest"),
    ("sort=newest&ids=a0,a1,a2,b0,b1,b2,c0,c1,c2,c3,a3,b3", "newest"),
])
def test_paging_returns_every_item_once(client, three_times, query, expected_order):
    """§11: 12 items sharing 3 timestamps, limit 5: every item exactly once."""
    query = query.format(first_minus=seconds(three_times[0] - 1),
                         third_plus=seconds(three_times[2] + 1))
    whole = client.get(f"/storage/h?{query}").json
    seen, offset, pages = [], None, 0
    while True:
        url = f"/storage/h?{query}&limit=5" + (f"&offset={offset}" if offset else "")
        page = client.get(url)
        seen += page.json
        pages += 1
        offset = page.headers.get("X-Weave-Next-Offset")
        if offset is None:
            break
    assert seen == whole
    assert len(seen) == 12 and pages == 3


def test_paging_is_stable_while_items_change(client, three_times):
    """Offsets are cursors: deleting a seen item does not make the next page skip one."""
    first = client.get("/storage/h?sort=oldest&limit=5")
    client.delete("/storage/h?ids=a0,a1")
    rest = client.get(f"/storage/h?sort=oldest&limit=20"
                      f"&offset={first.headers['X-Weave-Next-Offset']}").json
    assert first.json + rest == ["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3",
                                 "c0", "c1", "c2", "c3"]


def test_limit_zero(client, three_times):
    """§5.7: limit=0 → [] and no offset."""
    response = client.get("/storage/h?limit=0")
    assert response.json == []
    assert "X-Weave-Next-Offset" not in response.headers


def test_only_limit_may_change_between_pages(client, three_times):
    offset = client.get("/storage/h?limit=2").headers["X-Weave-Next-Offset"]
    assert client.get(f"/storage/h?limit=20&offset={offset}").json[0] == "c2"


@pytest.mark.parametrize("query", [
    "newer=abc", "older=abc", "newer=-1", "older=-0.5", "newer=nan", "newer=1e400",
    "limit=abc", "limit=-1", "limit=1.5", "sort=sideways", "offset=%%%",
    "offset=bm90IG91cnM", "ids=" + ",".join(f"i{n}" for n in range(101)),
    "ids=ok,tab%09id", "ids=" + "x" * 65,
])
def test_bad_parameters(client, query):
    """§5.7, §11: malformed parameters → 400 (code 1)."""
    response = client.get(f"/storage/h?{query}", status=400)
    assert response.body == b"1"
    assert response.content_type == "application/json"


def test_offset_must_match_the_query(client, three_times):
    """§5.7: an offset for another sort order, or contradicting newer/older → 400."""
    offset = client.get("/storage/h?limit=5&sort=oldest").headers["X-Weave-Next-Offset"]
    client.get(f"/storage/h?limit=5&sort=newest&offset={offset}", status=400)
    # The offset's position (the 5th oldest, in the second POST) is not newer than this:
    client.get(f"/storage/h?limit=5&sort=oldest&newer={seconds(three_times[1])}"
               f"&offset={offset}", status=400)
    client.get(f"/storage/h?limit=5&sort=oldest&older={seconds(three_times[1])}"
               f"&offset={offset}", status=400)


def test_hundred_ids_are_fine(client):
    """§11: 100 ids are accepted."""
    ids = ",".join(f"i{n}" for n in range(100))
    assert client.get(f"/storage/h?ids={ids}").json == []


def test_unknown_parameters_are_ignored(client, three_times):
    assert len(client.get("/storage/h?blabla=1&parentid=x&index_above=3").json) == 12


def test_if_modified_since_zero_on_a_new_collection(client):
    """§7.3: a missing collection has timestamp 0 → IMS 0 gives 304."""
    assert client.get("/storage/new", headers={"X-If-Modified-Since": "0"}) \
        .status_int == 304


def test_if_modified_since_on_a_collection(client, three_times):
    last = seconds(three_times[2])
    response = client.get("/storage/h", headers={"X-If-Modified-Since": last})
    assert response.status_int == 304
    assert response.headers["X-Last-Modified"] == last
    assert client.get("/storage/h", headers={
        "X-If-Modified-Since": seconds(three_times[2] - 1)}).status_int == 200


def test_newlines_format(client, three_times):
    """§5.7, §11: application/newlines → one JSON item per line, each ending in \\n."""
    post(client, "n", ["multi"])
    client.put("/storage/n/multi", {"payload": "line one\nline two"})
    response = client.get("/storage/n?full=1", headers={"Accept": "application/newlines"})
    assert response.content_type == "application/newlines"
    lines = response.body.decode().split("\n")
    assert lines[-1] == "" and len(lines) == 2
    assert json.loads(lines[0])["payload"] == "line one\nline two"
    ids = client.get("/storage/h", headers={"Accept": "application/newlines"})
    assert ids.body.decode().endswith('"a3"\n')
    assert ids.headers["X-Weave-Records"] == "12"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/*",
                                    "text/html, application/json;q=0.9"])
def test_json_format(client, three_times, accept):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/storage/h", headers=headers)
    assert response.content_type == "application/json"
    assert len(response.json) == 12


@pytest.mark.parametrize("accept", ["x/yy", "text/html", "application/whoisi"])
def test_unacceptable_format(client, accept):
    """§5.7, §11: an Accept we cannot satisfy → 406 (JSON body 0, §6.2)."""
    response = client.get("/storage/h", headers={"Accept": accept}, status=406)
    assert response.body == b"0"
    assert response.content_type == "application/json"


def test_if_unmodified_since_on_get_collection(client, three_times):
    """§5.7, §11: XIUS on a collection GET → 412 once the collection changed."""
    response = client.get("/storage/h", status=412,
                          headers={"X-If-Unmodified-Since": seconds(three_times[1])})
    assert stamp(response) == three_times[2]
    assert response.body == b"0"
    assert client.get("/storage/h", headers={
        "X-If-Unmodified-Since": seconds(three_times[2])}).status_int == 200


def test_expired_items_are_not_listed(client):
    """§3.1: expired items are invisible to listings."""
    client.post("/storage/e", [{"id": "live", "payload": "x"},
                               {"id": "dead", "payload": "x", "ttl": 0}])
    assert client.get("/storage/e").json == ["live"]
    assert client.get("/storage/e?ids=dead").json == []
