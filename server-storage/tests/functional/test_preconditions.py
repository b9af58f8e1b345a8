"""X-If-Unmodified-Since and 412 (spec section 9), and where the 412 ranks
among the 400s of PUT and POST (ST-PUT1..5, ST-B1..B6)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from storage11_support import error_code, timestamp_of, wait_past

CENTI = Decimal("0.01")


def since(value) -> dict[str, str]:
    return {"X-If-Unmodified-Since": str(value)}


def assert_412(response) -> None:
    assert response.status_int == 412, response.status
    assert b"412 Precondition Failed" in response.body


WRITES = [
    ("PUT", "/storage/col/a", {"payload": "new"}),
    ("POST", "/storage/col", [{"id": "a", "payload": "new"}]),
    ("PUT", "/storage/col", [{"id": "a", "payload": "new"}]),
    ("POST", "/storage/col", {"id": "a", "payload": "new"}),
    ("DELETE", "/storage/col/a", None),
    ("DELETE", "/storage/col", None),
    ("DELETE", "/storage/col?ids=a", None),
]


@pytest.fixture
def stale(client):
    """Collection 'col' written at t1 and again at t2 > t1."""
    t1 = client.put_record("col", "a", {"payload": "one"})
    wait_past(t1)
    t2 = client.put_record("col", "b", {"payload": "two"})
    return t1, t2


@pytest.mark.parametrize("method,path,body", WRITES)
def test_st_u1_changed_collection_is_412_and_nothing_changes(client, stale, method, path, body):
    """ST-U1 / ST-U5 / ST-PUT2 / ST-B1 / ST-D1 / ST-DI1: stale value -> 412, no change."""
    t1, _ = stale
    before = client.snapshot("col")
    assert_412(client.request(method, path, body, headers=since(t1), status=None))
    assert_412(client.request(method, path, body, headers=since(t1 - 1000), status=None))
    assert client.snapshot("col") == before


@pytest.mark.parametrize("method,path,body", WRITES)
def test_st_u1_equal_or_later_value_proceeds(client, stale, method, path, body):
    """ST-U1 / ST-U5: a value equal to (or after) the collection timestamp proceeds."""
    _, t2 = stale
    client.request(method, path, body, headers=since(t2))
    client.put_record("col", "a", {"payload": "again"})
    last = Decimal(str(client.collections()["col"]))
    client.request(method, path, body, headers=since(last + CENTI))


def test_st_u5_reference_shapes(client):
    """ST-U5: PUT at T1, then T1+0.01 -> 200; after T2 > T1, T1 (or T1+0.01) -> 412."""
    t1 = client.put_record("col", "x", {"payload": "1"})
    client.put("/storage/col/x", {"payload": "2"}, headers=since(t1 + CENTI))
    t2 = Decimal(str(client.collections()["col"]))
    wait_past(t2)
    t3 = client.put_record("col", "x", {"payload": "3"})
    assert t3 >= t2 + CENTI
    assert_412(client.put("/storage/col/x", {"payload": "4"}, headers=since(t2), status=None))
    if t3 >= t2 + 2 * CENTI:
        assert_412(client.put("/storage/col/x", {"payload": "4"},
                              headers=since(t2 + CENTI), status=None))
    assert_412(client.put("/storage/col/x", {"payload": "4"}, headers=since(t3 - 1000),
                          status=None))
    assert client.record("col", "x")["payload"] == "3"


def test_st_u1_collection_without_timestamp_proceeds(client):
    """ST-U1: a collection with no timestamp never fails the check, whatever the value."""
    client.put("/storage/col/a", {"payload": "x"}, headers=since(0))
    client.post("/storage/other", [{"id": "a", "payload": "x"}], headers=since(-5))
    client.delete("/storage/ghost", headers=since(1))
    assert sorted(client.collections()) == ["col", "other"]


def test_st_u2_check_covers_the_whole_collection(client):
    """ST-U2: a PUT to A fails when B of the same collection changed later."""
    t1 = client.put_record("col", "a", {"payload": "a"})
    wait_past(t1)
    client.put_record("col", "b", {"payload": "b"})
    assert_412(client.put("/storage/col/a", {"payload": "A"}, headers=since(t1), status=None))
    client.put("/storage/other/a", {"payload": "A"}, headers=since(t1))  # other collection


def test_st_u2_deletes_and_metadata_writes_also_count(client):
    """ST-U2 / ST-C1: any change of the collection timestamp makes older values stale."""
    t1 = client.put_record("col", "a", {"payload": "a", "sortindex": 1})
    wait_past(t1)
    client.put("/storage/col/a", {"sortindex": 2})
    assert_412(client.put("/storage/col/a", {"payload": "x"}, headers=since(t1), status=None))
    t2 = Decimal(str(client.collections()["col"]))
    wait_past(t2)
    client.delete("/storage/col/missing")
    assert_412(client.put("/storage/col/a", {"payload": "x"}, headers=since(t2), status=None))


def test_st_u3_reads_and_delete_storage_ignore_the_header(client, stale):
    """ST-U3: GETs and E11 ignore X-If-Unmodified-Since, even an unparseable one."""
    t1, _ = stale
    for value in (t1, "garbage"):
        for path in ("/info/collections", "/info/quota", "/storage/col", "/storage/col/a",
                     "/info/collection_counts", "/info/collection_usage"):
            client.get(path, headers=since(value))
    client.delete("/storage", headers={**since(t1), "X-Confirm-Delete": "1"})
    assert client.collections() == {}


UNPARSEABLE = ["abc", "", " ", "nan", "inf", "1_0", "0x10", "1,5", "1e30", "-1e30", "1e999999",
               "12.34.56", "١٢٣".encode().decode("latin-1")]  # raw UTF-8 bytes in a header


@pytest.mark.parametrize("method,path,body", WRITES)
def test_st_u4_unparseable_value_is_400(client, method, path, body):
    """ST-U4 / section 16.3: an unparseable or absurd value -> 400 (never a 500), no change."""
    client.put_record("col", "a", {"payload": "one"})
    before = client.snapshot("col")
    for value in UNPARSEABLE:
        response = client.request(method, path, body, headers=since(value), status=400)
        assert b"400 Bad Request" in response.body, value
    assert client.snapshot("col") == before


def test_st_t4_incoming_values_are_rounded_half_even(client):
    """ST-T4: the value is rounded to centiseconds (half-even) before comparing."""
    t = client.put_record("col", "a", {"payload": "x"})
    # T - 0.004 rounds to T: equal, so the write proceeds (unrounded it would be < T).
    client.put("/storage/col/a", {"payload": "y"}, headers=since(t - Decimal("0.004")))
    t = Decimal(str(client.collections()["col"]))
    # T - 0.005 rounds half-even: to T when T's last digit is even, else to T - 0.01.
    response = client.put("/storage/col/a", {"payload": "z"},
                          headers=since(t - Decimal("0.005")), status=None)
    last_digit_even = int(t * 100) % 2 == 0
    assert response.status_int == (200 if last_digit_even else 412)
    t = Decimal(str(client.collections()["col"]))
    assert client.ids("col", f"newer={t - Decimal('0.004')}") == []
    assert client.ids("col", f"older={t + Decimal('0.004')}") == []
    assert client.ids("col", f"older={t + Decimal('0.0051')}") == ["a"]
    assert client.ids("col", f"newer={t - Decimal('0.0051')}") == ["a"]


# -- where 412 ranks among other errors ------------------------------------------------------

@pytest.mark.parametrize("body", [b"not json", b'"string"', b'{"payload": 5}',
                                  b'{"payload": "x", "ttl": -1}', b'{"a": [1]}'])
def test_st_put2_412_comes_before_body_errors(client, stale, body):
    """ST-PUT2 before ST-PUT3/4/5: a stale precondition wins over a bad body."""
    t1, _ = stale
    assert_412(client.put("/storage/col/a", body, headers=since(t1), status=None))
    # with a current value the body error shows
    response = client.put("/storage/col/a", body, headers=since(stale[1]), status=400)
    assert error_code(response) in (6, 8)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_st_b1_412_comes_before_the_body_is_read(client, stale, method):
    """ST-B1: for E8 the precondition is checked first, even for bodies that fail
    or write nothing."""
    t1, _ = stale
    before = client.snapshot("col")
    for body in (b"not json", b'"string"', b"null", b"12", b'{"payload": "no id"}',
                 b'{"id": "a/b", "payload": "x"}', b'{"id": "a", "payload": 5}', b'["junk"]',
                 b'[{"id": "a", "sortindex": "bad"}]', b"[]", b'[{"id": "c", "payload": "x"}]'):
        assert_412(client.request(method, "/storage/col", body, headers=since(t1),
                                  status=None))
    assert client.snapshot("col") == before


def test_st_put1_quota_comes_before_412_for_put(make_client):
    """ST-PUT1: on E7 the quota check is the very first step (before 412 and body errors)."""
    client = make_client(**{"storage.quota_kb": 1})
    t1 = client.put_record("col", "a", {"payload": "x" * 1024})
    wait_past(t1)
    client.delete("/storage/col/missing")  # bumps the collection (ST-C1.3), no quota check
    for body in ({"payload": "x"}, b"not json", {"payload": 5}):
        assert error_code(client.put("/storage/col/c", body, headers=since(t1),
                                     status=400)) == 14


def test_st_b1_412_comes_before_quota_for_post(make_client):
    """ST-B1 / ST-B6: on E8 the precondition ranks before the quota check."""
    client = make_client(**{"storage.quota_kb": 1})
    t1 = client.put_record("col", "a", {"payload": "x" * 1024})
    wait_past(t1)
    client.delete("/storage/col/missing")
    for body in ([{"id": "b", "payload": "x"}], {"id": "b", "payload": "x"}):
        assert_412(client.post("/storage/col", body, headers=since(t1), status=None))
        current = {"X-If-Unmodified-Since": str(client.collections()["col"])}
        assert error_code(client.post("/storage/col", body, headers=current,
                                      status=400)) == 14
    assert client.ids("col") == ["a"]


def test_412_response_carries_the_timestamp_header(client, stale):
    """ST-H1: the 412 also carries X-Weave-Timestamp."""
    response = client.put("/storage/col/a", {"payload": "x"}, headers=since(stale[0]),
                          status=412)
    assert timestamp_of(response) >= stale[1]
