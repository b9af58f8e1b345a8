"""Property-based fuzzing of the 1.1 API with random bodies, paths, query
parameters and headers, on every engine.

Properties: no request ever gets a 5xx; a request that fails (4xx), and every
GET, leaves everything the account exposes exactly as it was.
"""
from __future__ import annotations

import json
import os
import re
import string
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storage11_support import SyncClient

COLLECTIONS = ("fz", "sentinel", "tabs")
SENTINEL = [{"id": "s1", "payload": "sentinel one", "sortindex": 5, "parentid": "p"},
            {"id": "s2", "payload": "sentinel two", "predecessorid": "s1"},
            {"id": "{guid-s3}", "payload": "ü" * 40}]
PARAMS = ("ids", "parentid", "predecessorid", "newer", "older", "index_above", "index_below",
          "limit", "offset", "sort", "full", "v", "bogus")

printable = st.characters(min_codepoint=32, max_codepoint=126)
header_text = st.text(printable, max_size=20)
numbers_as_text = st.one_of(
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str))
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8)
odd_strings = st.sampled_from([
    "", "x" * 64, "x" * 65, "a/b", "nul\x00", "lone \ud800", "{guid}", "s1", "a b ", "a b",
    "12", "ü", "\U0001F600", "\\", "?#"])
identifiers = st.one_of(odd_strings, st.text(max_size=70), st.integers(-10**70, 10**70),
                        st.floats(allow_nan=False, allow_infinity=False))
# Valid TTLs are 0 (expires at once) or long, so nothing expires during a run.
ttls = st.one_of(
    st.sampled_from([0, 3600, 31_536_000, "86400", -1, 31_536_001, 1e20, "5.5", "x"]),
    st.text(string.ascii_letters, max_size=5))
payloads = st.one_of(st.text(max_size=60), json_scalars, odd_strings,
                     st.sampled_from(["p" * 262_144, "p" * 262_145]))
sortindexes = st.one_of(st.integers(-2 * 10**9, 2 * 10**9), numbers_as_text, json_scalars)
wbos = st.fixed_dictionaries({}, optional={
    "id": identifiers, "payload": payloads, "sortindex": sortindexes,
    "parentid": identifiers, "predecessorid": identifiers, "ttl": ttls,
    "modified": json_scalars, "username": json_scalars, "extra": json_values})


def as_json(value) -> bytes:
    return json.dumps(value).encode("utf-8")


bodies = st.one_of(
    wbos.map(as_json),
    st.lists(st.one_of(wbos, wbos, json_values), max_size=8).map(as_json),
    json_values.map(as_json),
    st.tuples(st.lists(wbos, max_size=3).map(as_json), st.integers(0, 200))
    .map(lambda pair: pair[0][:pair[1]]),  # truncated JSON
    st.binary(max_size=100),
    st.text(max_size=60).map(lambda text: text.encode("utf-8")))
collections = st.one_of(st.sampled_from(COLLECTIONS),
                        st.sampled_from(["c" * 33, "bad@name", "%FF", "", "a%2Fb"]))
items = st.one_of(st.sampled_from(["s1", "s2", "%7Bguid-s3%7D", "a", "%FF", "%00", "x" * 65]),
                  st.text(max_size=20).map(lambda text: quote(text, safe="")))
paths = st.one_of(
    st.tuples(st.just("/storage/"), collections).map("".join),
    st.tuples(st.just("/storage/"), collections, st.just("/"), items).map("".join),
    st.sampled_from(["/storage", "/info/collections", "/info/quota", "/info/collection_counts",
                     "/info/collection_usage", "/info/nothing", "/storage/fz/a/b"]))
queries = st.one_of(
    st.dictionaries(st.sampled_from(PARAMS), st.one_of(header_text, numbers_as_text,
                                                       st.text(max_size=10)), max_size=4)
    .map(lambda params: urlencode(params, quote_via=quote)),
    st.sampled_from(["", "%FF=1", "ids=%FF", "newer=%00", "full=1&sort=index&limit=2"]))
headers = st.fixed_dictionaries({}, optional={
    "X-If-Unmodified-Since": st.one_of(numbers_as_text, header_text),
    "Content-Type": st.sampled_from(["application/json", "text/plain", "nonsense",
                                     "application/x-www-form-urlencoded",
                                     "multipart/form-data; boundary=x"]),
    "Accept": st.one_of(st.sampled_from(["application/newlines", "application/whoisi",
                                         "application/json;q=0.1, application/whoisi",
                                         "*/*"]), header_text),
    "X-Confirm-Delete": st.just("1")})
requests = st.tuples(st.sampled_from(["GET", "PUT", "POST", "DELETE", "PATCH"]), paths, queries,
                     bodies, headers)

NUMBER = re.compile(rb"-?\d+\.\d{2}")


def current_state(client: SyncClient) -> tuple:
    """What the account exposes, remembered between examples (only requests of this
    test change it); the sentinel records are written again whenever they are gone."""
    state = getattr(client, "fuzz_state", None)
    if state is None or state[2][COLLECTIONS.index("sentinel")] == b"[]":
        client.post("/storage/sentinel", SENTINEL)
        state = client.snapshot(*COLLECTIONS)
    return state


def check_success(method: str, path: str, response) -> None:
    """Light shape checks of successful answers."""
    body = response.body
    if method == "PUT" and path.rstrip("/").count("/") == 3 and body != b"null":
        assert NUMBER.fullmatch(body), body
    if method == "DELETE":
        assert body == response.headers["X-Weave-Timestamp"].encode("ascii")
    if method in ("GET", "PUT", "POST") and response.content_type == "application/json":
        json.loads(body)


@settings(max_examples=200, deadline=None, database=None,
          derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(call=requests)
def test_random_requests_never_fail_the_server_or_corrupt_data(client, call):
    """Section 3.1 / ST-E1..E3 / ST-B5 / section 16.16: no 5xx for any input; failed
    requests and reads change nothing (every engine)."""
    method, path, query, body, extra_headers = call
    before = current_state(client)
    client.fuzz_state = None  # unknown until this example completes
    response = client.request(method, path + (f"?{query}" if query else ""), body,
                              headers=extra_headers, status=None)
    assert response.status_int < 500, (response.status, response.body[:200])
    assert "X-Weave-Timestamp" in response.headers
    after = client.snapshot(*COLLECTIONS)
    if response.status_int >= 400 or method == "GET":
        assert after == before, (method, path, response.status)
    else:
        check_success(method, path, response)
    client.fuzz_state = after
