"""Helpers of the Storage API 1.1 functional tests: a client for one account
and checks shared by several test modules (imported by name: the conftest
puts this directory on ``sys.path``)."""
from __future__ import annotations

import json
import re
import time
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from webtest import TestApp, TestResponse

from synccore.testing import basic_auth

# A password with a colon (ST-A3) and non-ASCII characters (ST-A5), so every
# test exercises both.
PASSWORD = "s3cret:pässwörd ✓"
TIMESTAMP = re.compile(r"^-?\d+\.\d{2}$")


def as_body(body: Any) -> bytes:
    """Request bodies: bytes as given, str as UTF-8, anything else as JSON."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def timestamp_of(response: TestResponse) -> Decimal:
    """The response's ``X-Weave-Timestamp``, checked against ST-T3."""
    value = response.headers["X-Weave-Timestamp"]
    assert TIMESTAMP.match(value), value
    return Decimal(value)


def wait_past(timestamp: Decimal) -> None:
    """Sleep (at most ~10 ms) until the server clock rounds past ``timestamp``.

    Two requests within the same centisecond may share a timestamp (ST-T2);
    tests that need a strictly later write call this first.
    """
    while Decimal(repr(time.time())).quantize(Decimal("0.01"), ROUND_HALF_EVEN) <= timestamp:
        time.sleep(0.002)


class SyncClient:
    """One account talking Storage 1.1 to the application under test."""

    def __init__(self, testapp: TestApp, username: str, password: str = PASSWORD,
                 version: str = "1.1"):
        self.testapp = testapp
        self.username = username
        self.password = password
        self.version = version
        self.auth = basic_auth(username, password)

    def url(self, rest: str) -> str:
        return f"/{self.version}/{self.username}{rest}"

    def request(self, method: str, rest: str, body: Any = None, *, status: int | None = 200,
                headers: dict[str, str] | None = None, auth: bool = True) -> TestResponse:
        """Send a request; assert its status unless ``status`` is None."""
        all_headers = {**(self.auth if auth else {}), **(headers or {})}
        response = self.testapp.request(self.url(rest), method=method, body=as_body(body),
                                        headers=all_headers, expect_errors=True)
        if status is not None:
            assert response.status_int == status, (
                f"{method} {rest}: expected {status}, got {response.status}: "
                f"{response.body[:300]!r}")
        return response

    def get(self, rest: str, **kwargs) -> TestResponse:
        return self.request("GET", rest, **kwargs)

    def put(self, rest: str, body: Any = None, **kwargs) -> TestResponse:
        return self.request("PUT", rest, body, **kwargs)

    def post(self, rest: str, body: Any = None, **kwargs) -> TestResponse:
        return self.request("POST", rest, body, **kwargs)

    def delete(self, rest: str, **kwargs) -> TestResponse:
        return self.request("DELETE", rest, **kwargs)

    # -- conveniences -------------------------------------------------------
    def put_record(self, collection: str, record_id: str, record: dict, **kwargs) -> Decimal:
        """PUT one record; return the request timestamp."""
        return timestamp_of(self.put(f"/storage/{collection}/{record_id}", record, **kwargs))

    def post_batch(self, collection: str, records: list, **kwargs) -> dict:
        return self.post(f"/storage/{collection}", records, **kwargs).json

    def ids(self, collection: str, query: str = "", **kwargs) -> list:
        return self.get(f"/storage/{collection}" + (f"?{query}" if query else ""), **kwargs).json

    def records(self, collection: str, query: str = "") -> list[dict]:
        return self.ids(collection, "full=1" + (f"&{query}" if query else ""))

    def record(self, collection: str, record_id: str) -> dict:
        return self.get(f"/storage/{collection}/{record_id}").json

    def collections(self) -> dict:
        return self.get("/info/collections").json

    def snapshot(self, *collections: str) -> tuple:
        """Everything the account exposes about ``collections``: for proving
        that a refused request changed nothing."""
        listed = self.get("/info/collections").body
        usage = self.get("/info/collection_usage").body
        listings = tuple(self.get(f"/storage/{name}?full=1").body for name in collections)
        return listed, usage, listings


def error_code(response: TestResponse) -> int:
    """The numeric protocol code of a 400 (ST-E1: a bare integer, JSON type)."""
    assert response.status_int == 400, response.status
    assert response.content_type == "application/json", response.content_type
    assert re.fullmatch(rb"\d+", response.body), response.body
    return int(response.body)
