"""Deletes: a collection or a selection of it (E9), one record (E10), everything (E11)."""
from __future__ import annotations

import pytest
from storage11_support import error_code, timestamp_of, wait_past


@pytest.fixture
def four(client):
    """ids 1..4 written in that order at increasing timestamps, sortindex = id."""
    stamps = []
    for i in range(1, 5):
        stamps.append(client.put_record("bookmarks", str(i), {
            "payload": "x" * i, "sortindex": i, "parentid": "odd" if i % 2 else "even",
            "predecessorid": str(i - 1)}))
        wait_past(stamps[-1])
    return stamps


# -- E9 ----------------------------------------------------------------------------------

def test_st_d2_without_parameters_everything_goes(client, four):
    """ST-D2 / ST-D3: the whole collection; body is the bare request timestamp."""
    client.put_record("other", "keep", {"payload": "x"})
    response = client.delete("/storage/bookmarks")
    assert response.body == response.headers["X-Weave-Timestamp"].encode("ascii")
    assert response.content_type == "application/json"
    assert client.ids("bookmarks") == []
    assert client.ids("other") == ["keep"]
    assert client.get("/info/collection_counts").json == {"other": 1}


@pytest.mark.parametrize("query,remaining", [
    ("ids=1,3", ["2", "4"]), ("ids=", ["1", "2", "3", "4"]), ("ids=9", ["1", "2", "3", "4"]),
    ("parentid=odd", ["2", "4"]), ("predecessorid=2", ["1", "2", "4"]),
    ("index_above=2", ["1", "2"]), ("index_below=3", ["3", "4"]),
    ("index_above=1&index_below=4", ["1", "4"]),
    ("sort=oldest&limit=1", ["2", "3", "4"]), ("sort=newest&limit=1", ["1", "2", "3"]),
    ("sort=index&limit=2", ["1", "2"]), ("sort=index&limit=2&offset=1", ["1", "4"]),
    ("limit=3", ["4"]), ("limit=2&offset=2", ["1", "2"]), ("limit=-1", []),
    ("sort=oldest&offset=1", []), ("limit=1&offset=10", ["1", "2", "3", "4"]),
    ("ids=1,2,3&parentid=odd", ["2", "4"]), ("full=1", []), ("sort=bogus", []),
    ("ids=4,3&sort=index&limit=1", ["1", "2", "3"]), ("blabla=1", [])])
def test_st_d2_selection_equals_what_get_returns(client, four, query, remaining):
    """ST-D2 / section 16.7: exactly the records a GET with the same parameters returns."""
    selected = [item if isinstance(item, str) else item["id"]
                for item in client.ids("bookmarks", query)]
    client.delete(f"/storage/bookmarks?{query}")
    assert client.ids("bookmarks") == remaining
    assert sorted(selected + remaining) == ["1", "2", "3", "4"]


def test_st_d2_newer_and_older(client, four):
    """ST-D2 / ST-P1: newer and older select strictly and together."""
    client.delete(f"/storage/bookmarks?newer={four[0]}&older={four[3]}")
    assert client.ids("bookmarks") == ["1", "4"]
    client.delete(f"/storage/bookmarks?older={four[3]}")
    assert client.ids("bookmarks") == ["4"]
    client.delete(f"/storage/bookmarks?newer={four[3]}")
    assert client.ids("bookmarks") == ["4"]


def test_st_d2_deleting_updates_counts_and_usage(client, four):
    """ST-D2 / ST-CC1 / ST-CU1: counts and sizes follow a partial delete."""
    client.delete("/storage/bookmarks?ids=2,3")
    assert client.get("/info/collection_counts").json == {"bookmarks": 2}
    assert client.get("/info/collection_usage").json == {"bookmarks": 5 / 1024}


def test_st_d3_missing_collection_or_no_match_is_200(client):
    """ST-D3 / section 15: never 404; the body is the request timestamp."""
    response = client.delete("/storage/nothing")
    assert response.body == response.headers["X-Weave-Timestamp"].encode("ascii")
    client.delete("/storage/nothing?ids=a,b")
    client.put_record("tabs", "a", {"payload": "x"})
    response = client.delete("/storage/tabs?ids=zzz")
    assert response.body == response.headers["X-Weave-Timestamp"].encode("ascii")
    assert client.ids("tabs") == ["a"]


@pytest.mark.parametrize("query", [
    "newer=abc", "older=", "index_above=x", "index_below=1e999", "limit=2.0", "offset=x",
    "limit=1&offset=1.5", "ids=%FF", "newer=1e30"])
def test_st_d4_invalid_parameters_are_400(client, four, query):
    """ST-D4 / ST-E3: an invalid parameter -> 400 text page; nothing deleted or bumped."""
    before = client.snapshot("bookmarks")
    response = client.delete(f"/storage/bookmarks?{query}", status=400)
    assert b"400 Bad Request" in response.body
    assert client.snapshot("bookmarks") == before


def test_st_d4_delete_timestamps_follow_st_c1(client, four):
    """ST-D4 / ST-C1.2: a delete moves the collection timestamp to the request time."""
    response = client.delete("/storage/bookmarks?ids=1")
    assert client.collections() == {"bookmarks": float(timestamp_of(response))}


# -- E10 ---------------------------------------------------------------------------------

def test_st_di2_delete_one_record(client, four):
    """ST-DI2: 200 with the request timestamp; the record is gone (404), others stay."""
    response = client.delete("/storage/bookmarks/2")
    assert response.body == response.headers["X-Weave-Timestamp"].encode("ascii")
    client.get("/storage/bookmarks/2", status=404)
    assert client.ids("bookmarks") == ["1", "3", "4"]


def test_st_di2_delete_of_a_missing_record_is_200(client):
    """ST-DI2 / section 15: deleting a never-written id answers 200 and a timestamp."""
    response = client.delete("/storage/bookmarks/never")
    assert response.body == response.headers["X-Weave-Timestamp"].encode("ascii")
    client.get("/storage/bookmarks/never", status=404)
    for path_id in ("%00", "x" * 65, "%7Bbrace%7D", "%F0%9F%98%80"):
        client.delete(f"/storage/bookmarks/{path_id}")
    assert client.collections() == {}


# -- E11 ---------------------------------------------------------------------------------

def test_st_ds1_confirmation_header_is_required(client, four):
    """ST-DS1: without X-Confirm-Delete -> 400 code 4 and nothing is deleted."""
    before = client.snapshot("bookmarks")
    assert error_code(client.delete("/storage", status=400)) == 4
    assert client.snapshot("bookmarks") == before


@pytest.mark.parametrize("value", ["1", "true", "", "no", "0"])
def test_st_ds1_any_confirmation_value_works(client, four, value):
    """ST-DS1: the header's presence is what counts, even empty or 'no'."""
    client.delete("/storage", headers={"X-Confirm-Delete": value})
    assert client.collections() == {}


def test_st_ds2_everything_of_the_user_goes(client, other_client):
    """ST-DS2 / ST-DS3: every record and timestamp; meta/global 404; other users untouched."""
    for name in ("meta", "crypto", "clients", "tabs", "bookmarks"):
        client.put_record(name, "global" if name == "meta" else "x", {"payload": "p"})
    other_client.put_record("tabs", "x", {"payload": "bob"})
    response = client.delete("/storage", headers={"X-Confirm-Delete": "1"})
    assert response.body == response.headers["X-Weave-Timestamp"].encode("ascii")
    assert client.collections() == {}
    client.get("/storage/meta/global", status=404)
    assert client.ids("tabs") == []
    assert other_client.record("tabs", "x")["payload"] == "bob"
    # the account itself is untouched: it can write again at once
    client.put_record("meta", "global", {"payload": "fresh start"})


def test_st_ds3_delete_storage_ignores_x_if_unmodified_since(client, four):
    """ST-DS3 / ST-U3: no precondition check on E11, even with a stale or bad value."""
    for value in ("1", "not a number"):
        client.put_record("bookmarks", "x", {"payload": "x"})
        client.delete("/storage", headers={"X-Confirm-Delete": "1",
                                           "X-If-Unmodified-Since": value})
        assert client.collections() == {}
