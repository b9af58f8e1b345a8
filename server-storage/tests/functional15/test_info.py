"""The info/* endpoints (storage-1.5 §5.1-§5.5, §11 "Info")."""
from __future__ import annotations

import json
import time

import pytest
from storage15_support import seconds, stamp, storage

from syncstorage.testing15 import HawkClient

INFO_VIEWS = ("/info/collections", "/info/collection_counts", "/info/collection_usage",
              "/info/quota", "/info/configuration")


def items(count: int, prefix: str = "i", payload: str = "x") -> list[dict]:
    return [{"id": f"{prefix}{n}", "payload": payload} for n in range(count)]


def test_new_user(client):
    """§11: a new user has empty maps, quota [0.0, null] and X-Last-Modified 0.00."""
    expected = {"/info/collections": "{}", "/info/collection_counts": "{}",
                "/info/collection_usage": "{}", "/info/quota": "[0.0,null]"}
    for path, body in expected.items():
        response = client.get(path)
        assert response.status_int == 200
        assert response.content_type == "application/json"
        assert response.body.decode() == body
        assert response.headers["X-Last-Modified"] == "0.00"


def test_counts_and_timestamps_after_posts(client):
    """§11: 3 items to c1, 5 to c2 → counts; collection times equal the POST modified."""
    first = client.post("/storage/c1", items(3)).json["modified"]
    second = client.post("/storage/c2", items(5)).json["modified"]
    counts = client.get("/info/collection_counts")
    assert counts.json == {"c1": 3, "c2": 5}
    assert counts.headers["X-Weave-Records"] == "2"
    collections = client.get("/info/collections")
    assert collections.json == {"c1": first, "c2": second}
    assert collections.headers["X-Weave-Records"] == "2"
    assert stamp(collections) == round(second * 100)
    # The timestamps are number literals with exactly two decimals (§5.1).
    raw = collections.body.decode()
    assert f'"c1":{seconds(round(first * 100))}' in raw


def test_usage_and_quota_in_kilobytes(client):
    """§5.2, §5.3: payload bytes / 1024, UTF-8 bytes counted."""
    client.post("/storage/c1", [{"id": "a", "payload": "x" * 1024},
                                {"id": "b", "payload": "é" * 512}])
    client.post("/storage/c2", [{"id": "a", "payload": "y" * 512}])
    usage = client.get("/info/collection_usage")
    assert usage.json == {"c1": 2.0, "c2": 0.5}
    assert usage.headers["X-Weave-Records"] == "2"
    assert client.get("/info/quota").json == [2.5, None]


def test_quota_when_configured(make_app15):
    """§5.2: the second element is the configured quota in KB."""
    client = HawkClient(make_app15(**{"storage.quota_kb": 5120}), 42)
    assert client.get("/info/quota").json == [0.0, 5120]


def test_over_quota_is_400_code_14(make_app15):
    """§6.2: with quotas on, a write over quota → 400 body 14."""
    client = HawkClient(make_app15(**{"storage.quota_kb": 1}), 42)
    response = client.put("/storage/c/a", {"payload": "x" * 1100})
    assert "X-Weave-Quota-Remaining" in response.headers
    response = client.put("/storage/c/b", {"payload": "x"}, status=400)
    assert response.body == b"14"


def test_configuration_has_all_six_keys(client):
    """§4, §5.5, §11: all six limits as numbers, with the [Rs] defaults."""
    response = client.get("/info/configuration")
    assert response.json == {
        "max_request_bytes": 2_625_536, "max_post_records": 100,
        "max_post_bytes": 2_621_440, "max_total_records": 10_000,
        "max_total_bytes": 262_144_000, "max_record_payload_bytes": 2_621_440}


def test_configuration_is_configurable(make_app15):
    """Limits come from the storage15.* settings."""
    app = make_app15(**{"storage15.max_post_records": 7, "storage15.max_total_bytes": 1234})
    config = HawkClient(app, 42).get("/info/configuration").json
    assert config["max_post_records"] == 7
    assert config["max_total_bytes"] == 1234
    assert len(config) == 6


@pytest.mark.parametrize("path", INFO_VIEWS)
def test_if_modified_since_on_info_views(client, path):
    """§11: IMS ts-1 → 200, ts → 304 (empty body), after another write old ts → 200."""
    modified = round(client.post("/storage/c1", items(1)).json["modified"] * 100)
    response = client.get(path, headers={"X-If-Modified-Since": seconds(modified - 1)})
    assert response.status_int == 200
    response = client.get(path, headers={"X-If-Modified-Since": seconds(modified)})
    assert response.status_int == 304
    assert response.body == b""
    assert stamp(response) == modified
    # A write to another collection may share the first write's centisecond
    # (only its own collection's timestamp must be older): wait one out.
    time.sleep(0.02)
    client.post("/storage/c2", items(1))
    response = client.get(path, headers={"X-If-Modified-Since": seconds(modified)})
    assert response.status_int == 200


@pytest.mark.parametrize("path", INFO_VIEWS)
def test_if_unmodified_since_on_info_views(client, path):
    """§7.3: info/* compare X-If-Unmodified-Since with the storage timestamp."""
    modified = round(client.post("/storage/c1", items(1)).json["modified"] * 100)
    response = client.get(path, status=412,
                          headers={"X-If-Unmodified-Since": seconds(modified - 1)})
    assert response.body == b"0"
    assert stamp(response) == modified
    assert client.get(path, headers={"X-If-Unmodified-Since": seconds(modified)}) \
        .status_int == 200


def test_if_modified_since_zero_for_a_new_user(client):
    """§7.3: a new user's storage timestamp is 0, so IMS 0 → 304."""
    assert client.get("/info/collections",
                      headers={"X-If-Modified-Since": "0"}).status_int == 304


def test_collections_with_only_expired_items_are_listed(client):
    """§5.1: a collection stays in info/collections when its items expired."""
    client.put("/storage/c1/a", {"payload": "x" * 1024, "ttl": 0})
    assert list(client.get("/info/collections").json) == ["c1"]
    assert client.get("/info/collection_counts").json == {}
    # §3.1: expired items count for neither usage nor quota.
    assert client.get("/info/collection_usage").json == {}
    assert client.get("/info/quota").json == [0.0, None]


def test_storage_timestamp_advances_on_collection_delete(client):
    """§3.3, §11: deleting a collection advances the storage timestamp."""
    client.post("/storage/c1", items(1))
    later = client.post("/storage/c2", items(1)).json["modified"]
    deleted = client.delete("/storage/c2").json["modified"]
    assert deleted > later
    response = client.get("/info/collections")
    assert "c2" not in response.json
    assert stamp(response) == round(deleted * 100)
    assert client.get("/info/collections", headers={
        "X-If-Modified-Since": seconds(round(later * 100))}).status_int == 200


def test_info_views_are_per_user(client, other_client):
    client.post("/storage/c1", items(2))
    assert other_client.get("/info/collections").json == {}
    assert other_client.get("/info/collection_counts").json == {}


def test_storage_timestamp_of_the_backend(client):
    """The contract's storage_timestamp: max of collections and deletions."""
    backend = storage(client)
    assert backend.storage_timestamp(42) == 0
    modified = round(client.post("/storage/c1", items(1)).json["modified"] * 100)
    assert backend.storage_timestamp(42) == modified
    body = json.loads(client.delete("/storage").body)
    assert body == {}
    assert backend.storage_timestamp(42) > modified
