"""Quotas (spec section 10): applications built with ``storage.quota_kb``."""
from __future__ import annotations

import pytest
from storage11_support import error_code

QUOTA = "storage.quota_kb"


def test_st_q5_reference_header_example(make_client):
    """ST-Q5: quota 0.1 KB with 24 bytes used -> X-Weave-Quota-Remaining: 0.0765625."""
    client = make_client(**{QUOTA: 0.1})
    first = client.put("/storage/col/a", {"payload": "x" * 24})
    assert first.headers["X-Weave-Quota-Remaining"] == "0.1"
    second = client.put("/storage/col/b", {"payload": "y"})
    assert second.headers["X-Weave-Quota-Remaining"] == "0.0765625"
    # the integer part is what Firefox shows
    assert int(float(second.headers["X-Weave-Quota-Remaining"])) == 0


def test_st_q5_header_only_when_at_most_1024_kb_are_left(make_client):
    """ST-Q5 / ST-PUT10: no header while more than 1024 KB remain; sent on E7 and E8
    below that."""
    roomy = make_client(**{QUOTA: 1025})
    response = roomy.put("/storage/col/a", {"payload": "x" * 1024})
    assert "X-Weave-Quota-Remaining" not in response.headers
    response = roomy.post("/storage/col", [{"id": "b", "payload": "x"}])
    assert response.headers["X-Weave-Quota-Remaining"] == "1024.0"
    response = roomy.post("/storage/col", {"id": "c", "payload": "x"})
    assert response.headers["X-Weave-Quota-Remaining"] == "1023.9990234375"
    response = roomy.put("/storage/col/d", {"sortindex": 1})
    assert response.headers["X-Weave-Quota-Remaining"] == "1023.998046875"
    for path in ("/info/quota", "/storage/col", "/storage/col/a", "/info/collections"):
        assert "X-Weave-Quota-Remaining" not in roomy.get(path).headers
    assert "X-Weave-Quota-Remaining" not in roomy.delete("/storage/col/a").headers


def test_st_q5_header_is_a_plain_decimal(make_client):
    """ST-Q5: a decimal float, never an exponent, whatever the remaining amount."""
    client = make_client(**{QUOTA: 0.001})  # 1.024 bytes
    response = client.put("/storage/col/a", {"payload": "x"})
    value = response.headers["X-Weave-Quota-Remaining"]
    assert value == "0.001"
    assert "e" not in value.lower()


def test_st_q1_q6_info_quota_reports_the_quota(make_client):
    """ST-Q1 / ST-Q6 / section 14: [used KB, quota KB] when quotas are enabled."""
    client = make_client(**{QUOTA: 5120})
    assert client.get("/info/quota").json == [0.0, 5120]
    assert client.get("/info/quota").body == b"[0.0, 5120]"
    client.put("/storage/col2/abc", {"payload": "xxxx"})
    assert client.get("/info/quota").json == [0.00390625, 5120]
    fractional = make_client(**{QUOTA: 0.5})
    assert fractional.get("/info/quota").json == [0.0, 0.5]


def test_st_q3_usage_counts_payload_bytes_only(make_client):
    """ST-Q3: usage is UTF-8 payload bytes of live records, no per-record overhead."""
    client = make_client(**{QUOTA: 10})
    client.post("/storage/col", [{"id": "a", "payload": "é" * 100, "sortindex": 5,
                                  "parentid": "p" * 64},
                                 {"id": "b"},
                                 {"id": "c", "payload": "x", "ttl": 0}])
    assert client.get("/info/quota").json == [200 / 1024, 10]


def test_st_q4_put_is_refused_once_no_space_is_left(make_client):
    """ST-Q4 / ST-PUT1 / ST-E2: quota - used <= 0 -> 400 code 14; nothing changes."""
    client = make_client(**{QUOTA: 1})
    client.put("/storage/col/a", {"payload": "x" * 1000})
    client.put("/storage/col/b", {"payload": "x" * 24})  # exactly full now
    before = client.snapshot("col")
    for body in ({"payload": "x"}, {"sortindex": 1}, {"payload": ""}):
        assert error_code(client.put("/storage/col/c", body, status=400)) == 14
        assert error_code(client.put("/storage/col/a", body, status=400)) == 14
    assert client.snapshot("col") == before


def test_st_b6_post_over_quota_writes_nothing(make_client):
    """ST-B6 / ST-Q4: over quota a batch answers 400 code 14 and stores none of its items."""
    client = make_client(**{QUOTA: 1})
    client.put("/storage/col/a", {"payload": "x" * 1024})
    before = client.snapshot("col", "other")
    for collection in ("col", "other"):
        response = client.post(f"/storage/{collection}",
                               [{"id": "b", "payload": "x"}, {"id": "c", "sortindex": 2}],
                               status=400)
        assert error_code(response) == 14
        assert error_code(client.post(f"/storage/{collection}", {"id": "d", "payload": "x"},
                                      status=400)) == 14
    assert client.snapshot("col", "other") == before


def test_st_b6_quota_is_checked_after_validation(make_client):
    """ST-B6: a batch where nothing validates answers 200 with its failures, even over quota."""
    client = make_client(**{QUOTA: 1})
    client.put("/storage/col/a", {"payload": "x" * 1024})
    result = client.post("/storage/col", [{"id": "b", "sortindex": "bad"}, "junk"]).json
    assert result["success"] == []
    assert result["failed"] == {"b": ["invalid sortindex"], "": ["invalid wbo"]}
    assert client.post("/storage/col", []).json["success"] == []


def test_st_q4_a_write_may_overshoot(make_client):
    """ST-Q4 / section 16.17: the check ignores the incoming size; the next write is refused."""
    client = make_client(**{QUOTA: 1})
    result = client.post("/storage/col", [{"id": str(i), "payload": "x" * 1000}
                                          for i in range(5)]).json
    assert len(result["success"]) == 5
    assert client.get("/info/quota").json == [5000 / 1024, 1]
    assert error_code(client.put("/storage/col/z", {"payload": "x"}, status=400)) == 14


def test_st_q4_deleting_frees_space(make_client):
    """ST-Q4: after deletes (and expiry) bring usage under the quota, writes work again."""
    client = make_client(**{QUOTA: 1})
    client.post("/storage/col", [{"id": "a", "payload": "x" * 1024},
                                 {"id": "gone", "payload": "y" * 10, "ttl": 0}])
    error_code(client.put("/storage/col/b", {"payload": "x"}, status=400))
    client.delete("/storage/col/a")
    response = client.put("/storage/col/b", {"payload": "x"})
    assert response.headers["X-Weave-Quota-Remaining"] == "1.0"
    client.delete("/storage", headers={"X-Confirm-Delete": "1"})
    assert client.get("/info/quota").json == [0.0, 1]


def test_st_q4_quota_is_per_user(make_client):
    """ST-Q3 / ST-Q4: one user's usage does not count against another's quota."""
    alice = make_client(**{QUOTA: 1})
    bob = make_client(**{QUOTA: 1})
    alice.put("/storage/col/a", {"payload": "x" * 2048})
    error_code(alice.put("/storage/col/b", {"payload": "x"}, status=400))
    response = bob.put("/storage/col/a", {"payload": "x"})
    assert response.headers["X-Weave-Quota-Remaining"] == "1.0"


@pytest.mark.parametrize("quota", [0, "0"])
def test_quota_zero_means_disabled(make_client, quota):
    """ST-Q3 / ST-Q6: quota 0 disables quotas: no header, null in info/quota."""
    client = make_client(**{QUOTA: quota})
    response = client.put("/storage/col/a", {"payload": "x" * 5000})
    assert "X-Weave-Quota-Remaining" not in response.headers
    assert client.get("/info/quota").json == [5000 / 1024, None]
