"""What one simulated sync session does, and how its answers are checked.

Three scenarios:

* ``sync-mix``: a desktop client's periodic sync. GET info/collections and
  storage/meta/global, then 0-4 fetches of changed collections
  (``?newer=<last sync>&full=1``), 0-4 uploads of 10 records of about 1 KB,
  and now and then the deletion of one record.
* ``4-request``: GET info/collections, POST 10 records of about 1 KB, GET
  ``?newer=<before>&full=1`` (which must return them) and GET one of them.
* ``1.5-sync-mix``: ``sync-mix`` against Storage 1.5 with a token from the
  token server, Hawk-signed requests, and every upload a batch
  (``?batch=true``, an append, ``commit=true``).

Record ids are random, so a client knows exactly which records it created
and deleted; ``verify_stored`` reads a sample back at the end.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from syncserver.bench.client import RequestFailedError, SyncClient

COLLECTIONS = ("bookmarks", "history", "forms", "passwords", "prefs", "tabs", "clients")
BATCH_RECORDS = 10
DELETE_PROBABILITY = 0.2
META_GLOBAL = json.dumps({"id": "global", "payload": json.dumps(
    {"syncID": "benchmarksyncid", "storageVersion": 5})}).encode("utf-8")
# Records of each collection a client remembers for deletion and read-back.
TRACKED_PER_COLLECTION = 40
VERIFY_SAMPLE = 20


def encrypted_payload(rng: random.Random) -> str:
    """About 1 KB shaped like a Sync payload: an encrypted JSON envelope."""
    ciphertext = base64.b64encode(rng.randbytes(720)).decode("ascii")
    iv = base64.b64encode(rng.randbytes(16)).decode("ascii")
    return json.dumps({"ciphertext": ciphertext, "IV": iv, "hmac": rng.randbytes(32).hex()})


def new_id(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(9)).decode("ascii")


@dataclass
class ClientState:
    """What one simulated device remembers between its sessions."""
    rng: random.Random
    last_seen: dict[str, float] = field(default_factory=dict)
    # collection -> record id -> payload, newest last.
    tracked: dict[str, OrderedDict[str, str]] = field(default_factory=dict)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    inserted_count: int = 0
    deleted_count: int = 0

    def track(self, collection: str, records: dict[str, str]) -> None:
        known = self.tracked.setdefault(collection, OrderedDict())
        known.update(records)
        while len(known) > TRACKED_PER_COLLECTION:
            known.popitem(last=False)


def stamp(value: float) -> str:
    return f"{value:.2f}"


def post_batch(client: SyncClient, state: ClientState, collection: str) -> tuple[float, dict]:
    """POST ``BATCH_RECORDS`` new records; their ``modified`` and payloads by id."""
    rng = state.rng
    records = {new_id(rng): encrypted_payload(rng) for _ in range(BATCH_RECORDS)}
    body = json.dumps([{"id": record_id, "sortindex": rng.randrange(1000), "payload": payload}
                       for record_id, payload in records.items()]).encode("utf-8")
    answer = client.request("POST", f"/storage/{collection}", body).json()
    client.check(sorted(answer.get("success", [])) == sorted(records)
                 and not answer.get("failed"), f"POST {collection}: {answer!r:.200}")
    state.track(collection, records)
    state.inserted_count += len(records)
    return float(answer["modified"]), records


def post_batch15(client: SyncClient, state: ClientState, collection: str) -> None:
    """Upload ``BATCH_RECORDS`` new records as a 1.5 batch: open, append, commit.

    Nothing is visible until the commit; the commit's answer gives the
    collection's new timestamp.
    """
    rng = state.rng
    records = {new_id(rng): encrypted_payload(rng) for _ in range(BATCH_RECORDS)}
    items = [{"id": record_id, "sortindex": rng.randrange(1000), "payload": payload}
             for record_id, payload in records.items()]
    half = len(items) // 2
    path = f"/storage/{collection}"
    opened = client.request("POST", path + "?batch=true", json.dumps(items[:half]).encode(),
                            expect=(202,)).json()
    batch = urllib.parse.quote(str(opened.get("batch", "")), safe="")
    appended = client.request("POST", f"{path}?batch={batch}",
                              json.dumps(items[half:]).encode(), expect=(202,)).json()
    committed = client.request("POST", f"{path}?batch={batch}&commit=true", b"[]").json()
    success = opened.get("success", []) + appended.get("success", [])
    client.check(sorted(success) == sorted(records) and not opened.get("failed")
                 and not appended.get("failed") and "modified" in committed,
                 f"batch POST {collection}: {opened!r:.100} {appended!r:.100} "
                 f"{committed!r:.100}")
    state.track(collection, records)
    state.inserted_count += len(records)


def start15(client: SyncClient, state: ClientState) -> None:
    """As ``start``; the first device of an account also uploads its meta/global."""
    start(client, state)
    if "meta" not in state.last_seen:
        client.request("PUT", "/storage/meta/global", META_GLOBAL)


def start(client: SyncClient, state: ClientState) -> None:
    """A device that has synced before: it knows every collection's timestamp."""
    state.last_seen.update(client.request("GET", "/info/collections").json())


def sync_mix(client: SyncClient, state: ClientState,
             upload: Callable[[SyncClient, ClientState, str], Any] = post_batch) -> None:
    rng = state.rng
    stamps = client.request("GET", "/info/collections").json()
    client.request("GET", "/storage/meta/global")
    for collection in rng.sample(COLLECTIONS, rng.randint(0, 4)):
        since = state.last_seen.get(collection, 0.0)
        items = client.request("GET", f"/storage/{collection}?newer={stamp(since)}&full=1")
        client.check(isinstance(items.json(), list), f"GET {collection}: not a list")
        state.last_seen[collection] = stamps.get(collection, since)
    for _ in range(rng.randint(0, 4)):
        upload(client, state, rng.choice(COLLECTIONS))
    if rng.random() < DELETE_PROBABILITY:
        candidates = [name for name in COLLECTIONS if state.tracked.get(name)]
        if candidates:
            collection = rng.choice(candidates)
            record_id = next(iter(state.tracked[collection]))
            client.request("DELETE", f"/storage/{collection}/{record_id}")
            del state.tracked[collection][record_id]
            state.deleted.append((collection, record_id))
            del state.deleted[:-VERIFY_SAMPLE]
            state.deleted_count += 1


def four_requests(client: SyncClient, state: ClientState) -> None:
    rng = state.rng
    collection = rng.choice(COLLECTIONS)
    before = client.request("GET", "/info/collections").json().get(collection, 0.0)
    modified, records = post_batch(client, state, collection)
    # 1.1 allows two writes in one 10 ms tick to share a timestamp, so ask
    # for everything after the tick before this write at the latest.
    since = min(before, modified - 0.01)
    items = client.request("GET", f"/storage/{collection}?newer={stamp(since)}&full=1").json()
    returned = {item["id"]: item.get("payload") for item in items}
    client.check(all(returned.get(record_id) == payload for record_id, payload in records.items()),
                 f"GET {collection}?newer: {len(records)} records written, "
                 f"{sum(record_id in returned for record_id in records)} returned")
    record_id = rng.choice(list(records))
    item = client.request("GET", f"/storage/{collection}/{record_id}").json()
    client.check(item.get("payload") == records[record_id], f"GET {collection}/{record_id}")


def sync15_mix(client: SyncClient, state: ClientState) -> None:
    """``sync-mix`` over Storage 1.5: Hawk-signed, uploads in batches."""
    sync_mix(client, state, upload=post_batch15)


SCENARIOS: dict[str, Callable[[SyncClient, ClientState], None]] = {
    "sync-mix": sync_mix,
    "4-request": four_requests,
    "1.5-sync-mix": sync15_mix,
}
# Scenarios run by Storage 1.5 clients (credentials from the token server),
# and how such a client starts.
STORAGE15_SCENARIOS = frozenset({"1.5-sync-mix"})


def verify_stored(client: SyncClient, state: ClientState) -> int:
    """Read back a sample of the records written and deleted; return how many were checked."""
    written = [(collection, record_id, payload)
               for collection, records in state.tracked.items()
               for record_id, payload in records.items()]
    checked = 0
    for collection, record_id, payload in state.rng.sample(
            written, min(VERIFY_SAMPLE, len(written))):
        try:
            item = client.request("GET", f"/storage/{collection}/{record_id}").json()
            client.check(item.get("payload") == payload,
                         f"stored {collection}/{record_id} differs")
        except RequestFailedError:
            pass
        checked += 1
    for collection, record_id in state.deleted:
        with contextlib.suppress(RequestFailedError):
            client.request("GET", f"/storage/{collection}/{record_id}", expect=(404,))
        checked += 1
    return checked


def seed() -> int:
    return int.from_bytes(os.urandom(4), "big")
