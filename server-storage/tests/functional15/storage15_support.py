"""Helpers shared by the Storage 1.5 test modules (the conftest puts this
directory on ``sys.path``)."""
from __future__ import annotations

import re
import time

from webtest import TestResponse

from synccore.timestamps import now_centis, parse_centis

TIMESTAMP = re.compile(r"^\d+\.\d{2}$")


def stamp(response: TestResponse, header: str = "X-Last-Modified") -> int:
    """A timestamp header in centiseconds, checked to have exactly two decimals."""
    value = response.headers[header]
    assert TIMESTAMP.match(value), value
    return parse_centis(value)


def seconds(centis: int) -> str:
    """Centiseconds as the protocol writes them (``1700000000.12``)."""
    return f"{centis // 100}.{centis % 100:02d}"


def wait_past(centis: int) -> None:
    """Sleep until the clock is past ``centis`` (a few ms at most for a recent one)."""
    while now_centis() <= centis:
        time.sleep(0.002)


def wait_for_next_second() -> None:
    """Sleep until the wall clock enters its next whole second (at most 1 s)."""
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(max(0.001, start + 1 - time.time()))


def storage(client) -> object:
    """The app's storage backend (for direct checks and set-ups)."""
    return client.app.app.registry.storage
