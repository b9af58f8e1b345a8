"""One simulated Sync client: a keep-alive HTTP/1.1 connection with timing.

Every request is timed and handed to a ``Recorder``, which keeps latencies
only inside the measurement window but counts errors at any time, so a
failure during warm-up still fails the run.
"""
from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import hawkauthlib
import webob

MAX_ERROR_SAMPLES = 5


class RequestFailedError(Exception):
    """A request did not get the expected answer; the session is abandoned."""


@dataclass
class Recorder:
    """Counters of one client thread (merged by the parent afterwards)."""
    window_start: float = float("inf")
    window_end: float = float("inf")
    requests: int = 0
    sessions: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def in_window(self, finished: float) -> bool:
        return self.window_start <= finished <= self.window_end

    def request_done(self, started: float, finished: float) -> None:
        if self.in_window(finished):
            self.requests += 1
            self.latencies_ms.append((finished - started) * 1000)

    def session_done(self, finished: float) -> None:
        if self.in_window(finished):
            self.sessions += 1

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(message)


@dataclass
class Reply:
    status: int
    body: bytes
    timestamp: str | None

    def json(self) -> Any:
        return json.loads(self.body)


class SyncClient:
    """Storage 1.1 requests for one account over one persistent connection."""

    def __init__(self, host: str, port: int, username: str, password: str,
                 recorder: Recorder, timeout_seconds: float = 30.0):
        self.host, self.port = host, port
        self.username = username
        self.prefix = f"/1.1/{username}"
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self._post_headers = {**self._headers, "Content-Type": "application/json"}
        self.recorder = recorder
        self.timeout_seconds = timeout_seconds
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: bytes | None = None,
                expect: tuple[int, ...] = (200,)) -> Reply:
        """Send one request under ``/1.1/<username>``; RequestFailedError unless ``expect``ed."""
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port,
                                                    timeout=self.timeout_seconds)
        headers = self.headers_for(method, path, body)
        started = time.perf_counter()
        try:
            self._conn.request(method, self.prefix + path, body=body, headers=headers)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            self.recorder.error(f"{method} {path}: {type(exc).__name__}: {exc}")
            raise RequestFailedError(str(exc)) from exc
        finished = time.perf_counter()
        self.recorder.request_done(started, finished)
        if response.status not in expect:
            self.recorder.error(f"{method} {path}: HTTP {response.status} {data[:200]!r}")
            raise RequestFailedError(f"HTTP {response.status}")
        return Reply(response.status, data, response.getheader("X-Weave-Timestamp"))

    def headers_for(self, method: str, path: str, body: bytes | None) -> dict[str, str]:
        return self._headers if body is None else self._post_headers

    def check(self, condition: bool, message: str) -> None:
        """Count a wrong answer (a 2xx with the wrong content) as an error."""
        if not condition:
            self.recorder.error(f"{self.username}: {message}")
            raise RequestFailedError(message)


class Sync15Client(SyncClient):
    """Storage 1.5 requests for one account, Hawk-signed with a token server's credentials.

    ``connect`` asks the token server once (an OAuth bearer JWT plus the
    key id, as Firefox does); every later request is signed with the token's
    id and key over the host and port it is actually sent to.
    """

    def __init__(self, host: str, port: int, username: str, recorder: Recorder,
                 token: dict[str, Any], timeout_seconds: float = 30.0):
        super().__init__(host, port, username, "", recorder, timeout_seconds)
        self.prefix = urllib.parse.urlsplit(token["api_endpoint"]).path.rstrip("/")
        self.token_id, self.token_key = token["id"], token["key"]
        self._base_url = f"http://{host}:{port}"

    @classmethod
    def connect(cls, host: str, port: int, username: str, recorder: Recorder,
                bearer: str, key_id: str) -> Sync15Client:
        conn = http.client.HTTPConnection(host, port, timeout=30.0)
        try:
            conn.request("GET", "/1.0/sync/1.5", headers={
                "Authorization": f"Bearer {bearer}", "X-KeyID": key_id,
                "Accept": "application/json"})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            recorder.error(f"GET /1.0/sync/1.5: {type(exc).__name__}: {exc}")
            raise RequestFailedError(str(exc)) from exc
        finally:
            conn.close()
        if response.status != 200:
            recorder.error(f"GET /1.0/sync/1.5: HTTP {response.status} {data[:200]!r}")
            raise RequestFailedError(f"HTTP {response.status}")
        return cls(host, port, username, recorder, json.loads(data))

    def headers_for(self, method: str, path: str, body: bytes | None) -> dict[str, str]:
        signed = webob.Request.blank(self.prefix + path, base_url=self._base_url,
                                     method=method)
        if body is not None:
            signed.body = body
            signed.content_type = "application/json"
        hawkauthlib.sign_request(signed, self.token_id, self.token_key)
        headers = super().headers_for(method, path, body)
        return {**headers, "Authorization": signed.headers["Authorization"]}
