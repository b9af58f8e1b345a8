"""Response headers and the timestamp format (spec sections 3.3, 3.4 and 12)."""
from __future__ import annotations

import re

from storage11_support import TIMESTAMP, SyncClient, timestamp_of

TWO_DECIMALS = rb"-?\d+\.\d{2}"


def every_kind_of_response(client: SyncClient, other: SyncClient) -> dict:
    """One response of each status the 1.1 API produces (503 is in test_errors)."""
    stamp = client.put_record("col", "a", {"payload": "x"})
    return {
        "200 GET": client.get("/storage/col"),
        "200 PUT": client.put("/storage/col/b", {"payload": "y"}),
        "200 POST": client.post("/storage/col", [{"id": "c", "payload": "z"}]),
        "200 DELETE": client.delete("/storage/col/c"),
        "200 info": client.get("/info/collections"),
        "400 code": client.put("/storage/col/a", b"nope", status=400),
        "400 text": client.get("/storage/col?newer=x", status=400),
        "400 header": client.put("/storage/col/a", {"payload": "x"},
                                 headers={"X-If-Unmodified-Since": "x"}, status=400),
        "401 none": client.get("/info/collections", auth=False, status=401),
        "401 other": client.get("/info/collections", auth=False, headers=other.auth,
                                status=401),
        "404 route": client.get("/nothing", status=404),
        "404 record": client.get("/storage/col/missing", status=404),
        "404 path bytes": client.get("/storage/col/%FF%FE", status=404),
        "405": client.request("POST", "/info/quota", status=405),
        "412": client.put("/storage/col/a", {"payload": "x"},
                          headers={"X-If-Unmodified-Since": str(stamp - 1)}, status=412),
    }


def test_st_h1_timestamp_on_every_response(client, other_client):
    """ST-H1 / ST-T3 / section 16.15: X-Weave-Timestamp on 2xx and on every error."""
    for name, response in every_kind_of_response(client, other_client).items():
        assert TIMESTAMP.match(response.headers.get("X-Weave-Timestamp", "")), name
    assert TIMESTAMP.match(client.testapp.get("/__heartbeat__").headers["X-Weave-Timestamp"])


def test_st_h1_timestamp_follows_the_clock(client):
    """ST-T1 / ST-T2: seconds since the epoch, rounded to centiseconds, non-decreasing."""
    import time
    before = time.time()
    stamp = timestamp_of(client.get("/info/collections"))
    after = time.time()
    assert before - 0.01 <= float(stamp) <= after + 0.01
    assert timestamp_of(client.get("/info/collections")) >= stamp


def test_st_t3_json_bodies_carry_two_decimal_number_literals(client):
    """ST-T3: timestamps in JSON bodies are numbers with exactly two decimals."""
    for i in range(20):  # enough writes that some timestamps end in 0
        client.put(f"/storage/col/{i}", {"payload": "x"})
        client.post("/storage/other", [{"id": str(i), "payload": "x"}])
    collections = client.get("/info/collections").body
    assert re.fullmatch(rb'\{"col":' + TWO_DECIMALS + rb',"other":' + TWO_DECIMALS + rb"\}",
                        collections) or re.fullmatch(
        rb'\{"other":' + TWO_DECIMALS + rb',"col":' + TWO_DECIMALS + rb"\}", collections)
    listing = client.get("/storage/col?full=1").body
    assert len(re.findall(rb'"modified":' + TWO_DECIMALS + rb"[,}]", listing)) == 20
    record = client.get("/storage/col/0").body
    assert re.search(rb'"modified":' + TWO_DECIMALS + rb"[,}]", record)
    post = client.post("/storage/col", [])
    assert re.match(rb'\{"modified":' + TWO_DECIMALS + rb",", post.body)
    assert post.json["modified"] == float(post.headers["X-Weave-Timestamp"])
    assert b'"' + post.headers["X-Weave-Timestamp"].encode() not in post.body  # not a string


def test_st_h2_backoff_header_when_configured(make_client):
    """ST-H2: with server.backoff_seconds set, X-Weave-Backoff is on every response."""
    client = make_client(**{"server.backoff_seconds": 900})
    responses = [client.get("/info/collections"), client.put("/storage/c/a", {"payload": "x"}),
                 client.put("/storage/c/a", b"bad", status=400),
                 client.get("/info/quota", auth=False, status=401),
                 client.get("/storage/c/missing", status=404)]
    for response in responses:
        assert response.headers["X-Weave-Backoff"] == "900"


def test_st_h2_no_backoff_header_by_default(client, other_client):
    """ST-H2: X-Weave-Backoff only when the server wants clients to slow down."""
    for name, response in every_kind_of_response(client, other_client).items():
        assert "X-Weave-Backoff" not in response.headers, name


def test_st_h3_no_alert_header_by_default(client, other_client):
    """ST-H3: X-Weave-Alert is optional; the server sends none unless told to."""
    for name, response in every_kind_of_response(client, other_client).items():
        assert "X-Weave-Alert" not in response.headers, name


def test_st_h4_content_types(client, other_client):
    """ST-H4: application/json for JSON bodies; text pages for the other errors."""
    responses = every_kind_of_response(client, other_client)
    for name, response in responses.items():
        if name.startswith("200") or name == "400 code":
            assert response.content_type == "application/json", name
        else:
            assert response.content_type == "text/plain", name
            assert response.body.startswith(response.status.encode("ascii")), name
