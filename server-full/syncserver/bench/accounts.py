"""Per-account set-up before the load, and the stored-records check after it."""
from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from syncserver.bench.client import Recorder, SyncClient
from syncserver.bench.scenarios import META_GLOBAL
from syncserver.bench.server import RunningServer


def seed_accounts(server: RunningServer, fresh_connections: int) -> Recorder:
    """Give every account a meta/global, and get its password verified by the workers.

    A password check is a deliberately slow hash, remembered per process by
    the credential cache. Several fresh connections per account reach the
    different worker processes, so measurements see the steady state.
    """
    recorder = Recorder()

    def prepare(account: tuple[str, str]) -> None:
        client = SyncClient(server.host, server.port, *account, recorder)
        client.request("PUT", "/storage/meta/global", META_GLOBAL)
        client.close()
        for _ in range(fresh_connections):
            client.request("GET", "/info/collections")
            client.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(prepare, server.accounts))
    return recorder


def stored_records(server: RunningServer) -> dict[str, int]:
    """Records stored per account, as ``info/collection_counts`` reports them."""
    recorder = Recorder()
    counts = {}
    for account in server.accounts:
        client = SyncClient(server.host, server.port, *account, recorder)
        counts[account[0]] = sum(client.request("GET", "/info/collection_counts")
                                 .json().values())
        client.close()
    return counts


def expected_records(accounts: Sequence[tuple[str, str]],
                     written: dict[str, list[int]]) -> dict[str, int]:
    """meta/global plus created minus deleted records, per account."""
    expected = {}
    for username, _password in accounts:
        inserted, deleted = written.get(username, (0, 0))
        expected[username] = 1 + inserted - deleted
    return expected
