"""Record expiry (ST-W11, ST-W12, section 11). ``ttl: 0`` expires at once;
one test per engine waits (under a second) for a ``ttl: 1`` record to lapse."""
from __future__ import annotations

import time

from storage11_support import timestamp_of


def test_st_w11_ttl_zero_hides_the_record_at_once(client):
    """ST-W11 / ST-W12 / ST-G3: ttl 0 -> invisible to E2-E6 immediately."""
    client.put_record("tabs", "live", {"payload": "x" * 10})
    client.put("/storage/tabs/dead", {"payload": "y" * 100, "ttl": 0})
    client.post("/storage/tabs", [{"id": "dead2", "payload": "z" * 50, "ttl": 0}])
    client.get("/storage/tabs/dead", status=404)
    client.get("/storage/tabs/dead2", status=404)
    assert client.ids("tabs") == ["live"]
    assert client.ids("tabs", "ids=dead,dead2") == []
    assert client.get("/info/collection_counts").json == {"tabs": 1}
    assert client.get("/info/collection_usage").json == {"tabs": 10 / 1024}
    assert client.get("/info/quota").json == [10 / 1024, None]


def test_st_w12_expired_id_can_be_written_again(client):
    """ST-W12: the reference writes ttl 0, sees 404, then PUTs again successfully."""
    client.put("/storage/tabs/a", {"payload": "old", "ttl": 0})
    client.get("/storage/tabs/a", status=404)
    stamp = client.put_record("tabs", "a", {"payload": "new"})
    assert client.record("tabs", "a") == {"id": "a", "modified": float(stamp), "payload": "new"}
    assert client.get("/info/collection_counts").json == {"tabs": 1}
    assert client.get("/info/collection_usage").json == {"tabs": 3 / 1024}


def test_st_w12_expired_payload_never_resurfaces(client):
    """ST-W12 / section 16.12: a metadata-only write to an expired id creates a new,
    payload-less record; none of the old fields come back."""
    client.put("/storage/tabs/a", {"payload": "secret", "sortindex": 1, "parentid": "p",
                                   "ttl": 0})
    response = client.put("/storage/tabs/a", {"predecessorid": "q"})
    assert response.body == b"null"  # a new record without payload (ST-W10)
    assert client.record("tabs", "a") == {"id": "a", "predecessorid": "q"}
    result = client.post_batch("tabs", [{"id": "b", "payload": "old", "ttl": 0}])
    assert result["success"] == ["b"]
    client.post_batch("tabs", [{"id": "b", "sortindex": 4}])
    assert client.record("tabs", "b") == {"id": "b", "sortindex": 4}
    assert client.get("/info/collection_usage").json == {"tabs": 0.0}  # two empty records


def test_st_w12_expired_records_are_not_deleted_or_counted(client):
    """ST-W12: selections (GET and DELETE) and counts skip expired records."""
    client.post_batch("tabs", [{"id": "a", "payload": "x", "sortindex": 5},
                               {"id": "b", "payload": "x", "sortindex": 5, "ttl": 0}])
    assert client.ids("tabs", "index_above=1") == ["a"]
    assert client.ids("tabs", "sort=index&limit=1") == ["a"]
    client.delete("/storage/tabs?sort=index&limit=1")
    assert client.ids("tabs") == []
    assert client.get("/info/collection_counts").json == {}


def test_st_w11_expiry_after_the_ttl_and_reset_by_later_writes(client):
    """ST-W11: ttl 1 lapses within 1-2 s; a later write without ttl makes a record
    non-expiring again (including a metadata-only write); a new ttl replaces the old."""
    # Every write below must land in one wall-clock second, or the ttl-1
    # records lapse before the writes meant to reset them: start just after
    # a second begins.
    time.sleep(1.01 - time.time() % 1)
    response = client.post("/storage/tabs", [
        {"id": "lapses", "payload": "x", "ttl": 1},
        {"id": "reset-by-payload", "payload": "x", "ttl": 1},
        {"id": "reset-by-metadata", "payload": "x", "ttl": 1},
        {"id": "longer", "payload": "x", "ttl": 1},
        {"id": "shorter", "payload": "x", "ttl": 3600}])
    assert int(timestamp_of(response)) >= 0
    client.put("/storage/tabs/reset-by-payload", {"payload": "y"})
    response = client.post("/storage/tabs", [{"id": "reset-by-metadata", "sortindex": 3},
                                             {"id": "longer", "payload": "x", "ttl": 3600},
                                             {"id": "shorter", "sortindex": 1, "ttl": 1}])
    last_write_second = int(timestamp_of(response))
    assert client.get("/info/collection_counts").json == {"tabs": 5}
    # A ttl-1 record is visible while floor(now) < floor(its write time) + 1.
    time.sleep(max(0.0, last_write_second + 1 - time.time()) + 0.02)
    assert client.ids("tabs") == ["longer", "reset-by-metadata", "reset-by-payload"]
    client.get("/storage/tabs/lapses", status=404)
    assert client.record("tabs", "reset-by-metadata")["payload"] == "x"
    assert client.get("/info/collection_counts").json == {"tabs": 3}
