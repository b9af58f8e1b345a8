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
from dataclasses import dataclass, field
from typing import Any

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
        headers = self._headers if body is None else self._post_headers
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

    def check(self, condition: bool, message: str) -> None:
        """Count a wrong answer (a 2xx with the wrong content) as an error."""
        if not condition:
            self.recorder.error(f"{self.username}: {message}")
            raise RequestFailedError(message)
